"""The spaCy pipeline built from a blank model finds the helpline's entities.

Builds into a temp dir and loads it back by path, exactly as Rasa's SpacyNLP does.
"""

from pathlib import Path

import pytest

from bot.build_pipeline import LABELS, load_patterns, main, render_synonyms, surface_forms, synonym_table

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def nlp(tmp_path_factory):
    spacy = pytest.importorskip("spacy")
    out = tmp_path_factory.mktemp("pipeline") / "en_helpline"
    assert main(["--out", str(out)]) == 0
    return spacy.load(out)


def ents(nlp, text):
    return [(e.text, e.label_, e.ent_id_) for e in nlp(text).ents]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("I stabbed myself with a Needle, pt has Hep-B",
         [("Needle", "device", "needle"), ("Hep-B", "virus", "hbv")]),
        ("needlestick from a butterfly after taking blood",
         [("needlestick", "device", "needle"), ("butterfly", "device", "hollow_bore_needle"),
          ("blood", "fluid", "blood")]),
        ("blood-stained saliva splashed in my eyes",
         [("blood-stained", "fluid", "blood_stained"), ("saliva", "fluid", "low_risk"),
          ("eyes", "body_site", "eye")]),
        ("got a cut on my thumb from a hollow bore needle",
         [("a cut", "body_site", "broken_skin"), ("thumb", "body_site", "thumb"),
          ("hollow bore needle", "device", "hollow_bore_needle")]),
        ("im the practice nurse, patient HIV positive hep c unknown",
         [("practice nurse", "staff_role", "practice_nurse"), ("HIV", "virus", "hiv"),
          ("hep c", "virus", "hcv")]),
        ("HCA here, stuck with an insulin pen", [("HCA", "staff_role", "healthcare_assistant"),
                                                 ("insulin pen", "device", "hollow_bore_needle")]),
        ("Suture needle went into my finger", [("Suture needle", "device", "solid_needle"),
                                              ("finger", "body_site", "finger")]),
        ("CSF splashed onto my eczema", [("CSF", "fluid", "high_risk_other"),
                                         ("eczema", "body_site", "broken_skin")]),
        ("a needle sticking out of the sharps bin", [("needle", "device", "needle"),
                                                     ("sharps bin", "device", "other")]),
        ("blood borne virus risk from a scalpel blade",
         [("blood borne virus", "virus", "bbv"), ("scalpel", "device", "scalpel"),
          ("blade", "device", "scalpel")]),
        ("im a pharmacy technician", [("pharmacy technician", "staff_role", "pharmacy_technician")]),
        ("the practice manager asked me to call", [("practice manager", "staff_role", "practice_manager")]),
        ("breast milk in my mouth", [("breast milk", "fluid", "high_risk_other"),
                                     ("mouth", "body_site", "mouth")]),
    ],
)
def test_entities_in_realistic_messages(nlp, text, expected):
    assert ents(nlp, text) == expected


@pytest.mark.parametrize("text", ["hello", "i cut myself shaving", "im off sick", "what is the weather"])
def test_no_entities_in_unrelated_messages(nlp, text):
    assert ents(nlp, text) == []


def test_pipeline_has_lookup_lemmatizer_and_ruler(nlp):
    assert nlp.pipe_names == ["lemmatizer", "entity_ruler"]
    assert [t.lemma_ for t in nlp("needles splashed")] == ["needle", "splash"]


def test_every_label_is_a_contract_entity():
    assert {p["label"] for p in load_patterns()} == set(LABELS)


def test_every_surface_form_has_exactly_one_canonical_value():
    seen = {}
    for pattern in load_patterns():
        for form in surface_forms(pattern):
            assert seen.setdefault(form, pattern["id"]) == pattern["id"], form


def test_surface_forms_expand_optional_hyphen():
    pattern = {"pattern": [{"LOWER": "hep"}, {"ORTH": "-", "OP": "?"}, {"LOWER": "b"}]}
    assert surface_forms(pattern) == ["hep b", "hep-b"]
    assert synonym_table([{**pattern, "id": "hbv"}]) == {"hbv": ["hep b", "hep-b"]}


def test_synonyms_file_is_generated_from_the_patterns():
    # Regenerate with: python -m bot.build_pipeline --synonyms data/nlu/synonyms.yml
    on_disk = (REPO / "data/nlu/synonyms.yml").read_text(encoding="utf-8")
    assert on_disk == render_synonyms(load_patterns())
