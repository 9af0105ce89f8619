"""The crisis guard forces `crisis` on the caller's crisis words and leaves other messages alone.

Whose words: the shared table tests/data/crisis_owner_cases.yml (also run
against the API's reader) says, for each text, whose crisis it is and whether
the guard forces `crisis`.
"""

from pathlib import Path

import pytest
import yaml
from rasa.shared.nlu.training_data.message import Message

from bot.components.crisis_guard import (
    CrisisKeywordGuard,
    crisis_matches,
    find_phrase,
    load_lexicon,
    normalise,
    owner_of,
    resolve_lexicon_path,
)

REPO = Path(__file__).resolve().parents[2]
CASES = yaml.safe_load((REPO / "tests/data/crisis_owner_cases.yml").read_text(encoding="utf-8"))["cases"]
LEXICON = """\
version: test-1
source: test
phrases:
  - end it all
  - cant go on
  - od
  - self-harm
"""


def make_guard(path: Path) -> CrisisKeywordGuard:
    return CrisisKeywordGuard.create({"lexicon_path": str(path)}, None, None, None)


@pytest.fixture
def guard(tmp_path):
    path = tmp_path / "crisis.yml"
    path.write_text(LEXICON)
    return make_guard(path)


def classified(text, intent="inform", confidence=0.8):
    """A message as the classifiers before the guard would leave it."""
    message = Message(data={"text": text})
    message.set("intent", {"name": intent, "confidence": confidence}, add_to_output=True)
    message.set(
        "intent_ranking",
        [{"name": intent, "confidence": confidence}, {"name": "crisis", "confidence": 0.1},
         {"name": "greet", "confidence": 0.1}],
        add_to_output=True,
    )
    return message


@pytest.mark.parametrize(
    "text, phrase",
    [
        ("I just want to END IT ALL.", "end it all"),
        ("i can't go on", "cant go on"),  # apostrophe dropped
        ("i can\u2019t go on!!", "cant go on"),  # phone keyboards type a curly apostrophe
        ("took an OD last night", "od"),
        ("been self harming... self harm again", "self harm"),  # lexicon's "self-harm" normalised
        ("i keep thinking i'll end-it-all", "end it all"),
    ],
)
def test_match_forces_crisis_with_full_confidence(guard, text, phrase):
    [message] = guard.process([classified(text)])
    assert message.get("intent") == {"name": "crisis", "confidence": 1.0}
    ranking = message.get("intent_ranking")
    assert ranking[0] == {"name": "crisis", "confidence": 1.0}
    assert [r["name"] for r in ranking].count("crisis") == 1
    assert [r["name"] for r in ranking[1:]] == ["inform", "greet"]
    # The test lexicon has no whose-words lists: every match is unclear, and
    # without sharps words unclear is forced.
    assert message.get("crisis_guard") == {"phrase": phrase, "lexicon_version": "test-1", "whose": "unclear"}
    assert "crisis_guard" in message.as_dict(only_output_properties=True)


@pytest.mark.parametrize(
    "text",
    ["good morning", "the end of it all went fine", "cant go", "odd", "i need a nod", "", None],
)
def test_no_whole_word_match_leaves_the_classifier_result(guard, text):
    message = classified(text) if text is not None else Message(data={})
    before = message.get("intent")
    [after] = guard.process([message])
    assert after.get("intent") == before
    assert after.get("crisis_guard") is None


def test_overrides_nlu_fallback(guard):
    [message] = guard.process([classified("i cant go on", intent="nlu_fallback", confidence=0.3)])
    assert message.get("intent")["name"] == "crisis"


def test_processes_every_message_in_a_batch(guard):
    messages = guard.process([classified("hello"), classified("i want to end it all")])
    assert [m.get("intent")["name"] for m in messages] == ["inform", "crisis"]


def test_missing_lexicon_fails_loudly(tmp_path):
    with pytest.raises(FileNotFoundError):
        make_guard(tmp_path / "nope.yml")


def test_empty_phrase_list_fails_loudly(tmp_path):
    path = tmp_path / "crisis.yml"
    path.write_text("version: x\nphrases: []\n")
    with pytest.raises(ValueError):
        make_guard(path)


def test_relative_path_is_resolved_from_the_repo_root(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # Rasa's working directory must not matter
    assert resolve_lexicon_path("lexicon/crisis.yml") == REPO / "lexicon/crisis.yml"
    assert resolve_lexicon_path(None) == REPO / "lexicon/crisis.yml"
    assert resolve_lexicon_path(str(tmp_path / "x.yml")) == tmp_path / "x.yml"


def test_lexicon_is_normalised_and_deduplicated(tmp_path):
    path = tmp_path / "crisis.yml"
    path.write_text("version: v\nsource: s\nphrases:\n  - self-harm\n  - self harm\n  - od\n")
    lexicon = load_lexicon(path)
    assert lexicon.version == "v" and lexicon.phrases == ("self harm", "od")
    assert lexicon.patient_words == () and lexicon.first_person_words == frozenset()  # optional lists
    assert find_phrase("an od and some self harm", ["self harm", "od"]) == "self harm"


def test_lexicon_is_read_afresh_on_every_load(tmp_path):
    path = tmp_path / "crisis.yml"
    path.write_text("version: v1\nsource: s\nphrases:\n  - od\n")
    assert load_lexicon(path).version == "v1"
    path.write_text("version: v2\nsource: s\nphrases:\n  - od\n")
    assert load_lexicon(path).version == "v2"


def test_normalise():
    assert normalise("  I CAN\u2019T   go-on!! ") == "i cant go on"
    assert normalise("\uff4b\uff4d\uff53") == "kms"  # full-width letters, as the API folds them


@pytest.mark.parametrize(
    "text",
    ["i want to kill myself", "thinking of suicide", "took an overdose", "self harm",
     "I don't want to be here anymore"],
)
def test_project_lexicon_catches_contract_examples(monkeypatch, tmp_path, text):
    monkeypatch.chdir(tmp_path)
    guard = CrisisKeywordGuard.create({}, None, None, None)  # default path, from the repo root
    [message] = guard.process([classified(text)])
    assert message.get("intent")["name"] == "crisis"


# --- whose words: the shared table -------------------------------------------

@pytest.fixture(scope="module")
def project_guard():
    return CrisisKeywordGuard.create({}, None, None, None)


def ranked(text, top):
    """A message the classifiers ranked `top` first, then the others."""
    names = [top] + [n for n in ("crisis", "inform", "greet") if n != top]
    message = Message(data={"text": text})
    message.set("intent", {"name": top, "confidence": 0.7}, add_to_output=True)
    message.set(
        "intent_ranking",
        [{"name": n, "confidence": c} for n, c in zip(names, (0.7, 0.2, 0.1), strict=False)],
        add_to_output=True,
    )
    return message


def test_case_table_is_big_and_well_formed():
    assert len(CASES) >= 60
    assert len({c["text"] for c in CASES}) == len(CASES)
    for case in CASES:
        assert case["owner"] in ("caller", "other", "unclear", "past", None), case
        assert isinstance(case["forced"], bool), case
        if case["owner"] == "caller":
            assert case["forced"], case
        if case["owner"] in (None, "other", "past"):
            assert not case["forced"], case
        if case["owner"] is not None and not case["forced"]:
            assert case["bot_intent"] in ("report_splash", "report_sharps_injury", "inform"), case


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["text"][:50])
def test_guard_follows_the_case_table(project_guard, case):
    for classifier_top in ("inform", "crisis"):
        [message] = project_guard.process([ranked(case["text"], classifier_top)])
        intent = message.get("intent")["name"]
        guard = message.get("crisis_guard")
        if case["owner"] is None:
            assert guard is None
            assert intent == classifier_top  # untouched
            continue
        assert guard["whose"] == case["owner"], (classifier_top, guard)
        assert guard["lexicon_version"] == project_guard._version
        if case["forced"]:
            assert intent == "crisis" and message.get("intent")["confidence"] == 1.0
        elif case["owner"] == "unclear" or classifier_top == "crisis":
            assert intent == case["bot_intent"], classifier_top
            names = [r["name"] for r in message.get("intent_ranking")]
            assert names[0] == intent and "crisis" not in names
        else:  # other or past, and the classifier did not say crisis: left alone
            assert intent == classifier_top


def test_other_never_forces_and_reports_the_phrase(project_guard):
    [message] = project_guard.process([ranked("needlestick from a patient who had taken an overdose", "crisis")])
    assert message.get("intent") == {"name": "report_sharps_injury", "confidence": 1.0}
    assert message.get("intent_ranking") == [
        {"name": "report_sharps_injury", "confidence": 1.0},
        {"name": "inform", "confidence": 0.2},
        {"name": "greet", "confidence": 0.1},
    ]
    assert message.get("crisis_guard") == {
        "phrase": "overdose", "lexicon_version": project_guard._version, "whose": "other",
    }
    assert "crisis_guard" in message.as_dict(only_output_properties=True)


def test_other_keeps_the_ranked_confidence_of_the_best_non_crisis_intent(project_guard):
    [message] = project_guard.process([ranked("the patient said he wanted to die", "crisis")])
    assert message.get("intent") == {"name": "inform", "confidence": 0.2}
    assert [r["name"] for r in message.get("intent_ranking")] == ["inform", "greet"]


def test_past_history_with_only_a_near_zero_runner_up_is_a_statement_not_a_restart(project_guard):
    message = Message(data={"text": "she took an overdose last year"})
    message.set("intent", {"name": "crisis", "confidence": 0.98}, add_to_output=True)
    message.set("intent_ranking", [{"name": "crisis", "confidence": 0.98}, {"name": "restart", "confidence": 0.005},
                                   {"name": "out_of_scope", "confidence": 0.004}], add_to_output=True)
    [message] = project_guard.process([message])
    assert message.get("intent") == {"name": "inform", "confidence": 1.0}
    assert message.get("crisis_guard")["whose"] == "past"


def test_a_confident_runner_up_is_kept(project_guard):
    message = Message(data={"text": "she took an overdose last year, can I refer her"})
    message.set("intent", {"name": "crisis", "confidence": 0.4}, add_to_output=True)
    message.set("intent_ranking",
                [{"name": "crisis", "confidence": 0.4}, {"name": "start_referral", "confidence": 0.55}],
                add_to_output=True)
    [message] = project_guard.process([message])
    assert message.get("intent")["name"] == "start_referral"


def test_other_with_only_crisis_ranked_falls_back(project_guard):
    message = Message(data={"text": "my patient is suicidal"})
    message.set("intent", {"name": "crisis", "confidence": 0.9}, add_to_output=True)
    message.set("intent_ranking", [{"name": "crisis", "confidence": 0.9}], add_to_output=True)
    [message] = project_guard.process([message])
    assert message.get("intent")["name"] == "nlu_fallback"


def test_other_leaves_a_non_crisis_classification_alone(project_guard):
    message = ranked("the patient has hep b and was suicidal", "inform")
    before = (dict(message.get("intent")), [dict(r) for r in message.get("intent_ranking")])
    [message] = project_guard.process([message])
    assert (message.get("intent"), message.get("intent_ranking")) == before
    assert message.get("crisis_guard")["whose"] == "other"


def test_unclear_with_sharps_words_takes_the_injury_route_even_mid_form(project_guard):
    [message] = project_guard.process([ranked("needlestick, overdose", "inform")])
    assert message.get("intent") == {"name": "report_sharps_injury", "confidence": 1.0}
    assert message.get("crisis_guard")["whose"] == "unclear"


def test_caller_wins_over_other_in_one_message(project_guard):
    [message] = project_guard.process([ranked("the patient overdosed. i took an overdose too", "inform")])
    assert message.get("intent")["name"] == "crisis"
    assert message.get("crisis_guard") == {
        "phrase": "overdose", "lexicon_version": project_guard._version, "whose": "caller",
    }
    matches = crisis_matches("the patient overdosed. i took an overdose too", project_guard._lexicon)
    assert list(matches) == [("overdosed", "other"), ("overdose", "caller")]


def test_owner_of():
    assert owner_of([]) is None
    assert owner_of(["other", "unclear"]) == "unclear"
    assert owner_of(["other", "unclear", "caller"]) == "caller"
    assert owner_of(["other", "other"]) == "other"


@pytest.mark.parametrize("text", ["I ran 5 kms today", "2.5 kms", "ten kms away"])
def test_kms_after_a_number_is_a_distance(project_guard, text):
    [message] = project_guard.process([classified(text)])
    assert message.get("intent")["name"] == "inform"
    assert message.get("crisis_guard") is None


def test_project_lexicon_has_the_whose_words(project_guard):
    lexicon = project_guard._lexicon
    assert "kms" not in lexicon.phrases and "kms" in lexicon.not_after_number
    for key, words in {
        "patient_words": ["patient", "pt", "service user", "the source", "the man i was treating"],
        "first_person_words": ["i", "im", "ive", "id", "me", "my", "myself", "mine"],
        "sharps_words": ["needlestick", "needle stick", "scalpel", "bit me", "blood in my eye"],
        "splash_words": ["splash", "eye", "mouth"],
    }.items():
        for word in words:
            assert word in getattr(lexicon, key), (key, word)
    for word in ["nurse", "colleague", "receptionist", "staff", "resident"]:
        assert word not in lexicon.patient_words  # staff are not patients


def test_missing_whose_lists_lean_to_crisis(guard):
    # The fixture lexicon has no patient words: nothing can be `other`.
    [message] = guard.process([classified("the patient wants to end it all")])
    assert message.get("intent")["name"] == "crisis"
    assert message.get("crisis_guard")["whose"] == "unclear"


def test_caller_phrases_must_be_crisis_phrases(tmp_path):
    path = tmp_path / "crisis.yml"
    path.write_text("version: x\nphrases: [od]\ncaller_phrases: [kms]\n")
    with pytest.raises(ValueError, match="caller_phrases"):
        make_guard(path)


def test_subject_words_must_be_first_person_words(tmp_path):
    path = tmp_path / "crisis.yml"
    path.write_text("version: x\nphrases: [od]\nsubject_words: [i]\n")
    with pytest.raises(ValueError, match="subject_words"):
        make_guard(path)


# --- past: a referral that mentions the employee's history goes on ----------------------

@pytest.mark.parametrize("text", [
    "she took an overdose last year",
    "she has a history of self-harm and has been off with stress since June",
    "he has tried to kill himself before",
])
@pytest.mark.parametrize("classifier_top", ["inform", "crisis", "start_referral"])
def test_past_is_never_forced_and_never_left_as_crisis(project_guard, text, classifier_top):
    [message] = project_guard.process([ranked(text, classifier_top)])
    mark = message.get("crisis_guard")
    assert (mark["whose"], mark["lexicon_version"]) == ("past", project_guard._version)
    intent = message.get("intent")["name"]
    if classifier_top == "crisis":
        assert intent == "inform"  # the best non-crisis intent ranked
        assert "crisis" not in [r["name"] for r in message.get("intent_ranking")]
    else:
        assert intent == classifier_top  # a form answer or start_referral stays what it was


@pytest.mark.parametrize("text", [
    "she said she'll kill herself tonight",
    "she has a history of self harm and is suicidal",
    "I took an overdose last year",
    "im going to kill him",
    "honestly going to hurt my manager",
])
def test_a_present_risk_or_a_threat_is_forced_to_crisis(project_guard, text):
    [message] = project_guard.process([ranked(text, "inform")])
    assert message.get("intent") == {"name": "crisis", "confidence": 1.0}
    assert message.get("crisis_guard")["whose"] in ("caller", "unclear")


def test_the_project_lexicon_version_is_the_one_reported(project_guard):
    assert project_guard._version == "crisis-2026.12.3"
