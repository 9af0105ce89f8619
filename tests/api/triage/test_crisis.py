"""Crisis-word detection: many phrasings and misspellings caught, near-misses left alone.

Whose words: the shared table tests/data/crisis_owner_cases.yml (also run
against the bot's guard) says, for each text, whose crisis it is.
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from api.triage import contains_crisis_words
from api.triage.crisis import (
    LEXICON_PATH,
    crisis_matches,
    crisis_owner,
    crisis_phrases_in,
    find_phrases,
    load_crisis_lexicon,
    load_lexicon,
    normalise_text,
)

REPO = Path(__file__).resolve().parents[3]
CASES = yaml.safe_load((REPO / "tests/data/crisis_owner_cases.yml").read_text(encoding="utf-8"))["cases"]


@pytest.mark.parametrize(
    "text",
    [
        "I want to kill myself",
        "i want to KILL MYSELF.",
        "honestly i might just kms",
        "kms",
        "feeling suicidal tonight",
        "im sucidal",
        "thinking about suicide",
        "I've been self harming again",
        "self-harm",
        "selfharm",
        "Self Harm!!",
        "i keep cutting myself",
        "I took too many pills",
        "i have taken an overdose",
        "took an OD last night",
        "i dont want to be here anymore",
        "I don't want to be here",
        "I don\u2019t want to be here any more",  # curly apostrophe
        "i just want to die",
        "i wanna die",
        "i want to hurt myself",
        "thinking of ending it all",
        "I'm going to end it all",
        "i want to end my life",
        "everyone would be better off without me",
        "there is a threat to life here",
        "i cant go on like this",
        "i can't go on anymore",
        "kill\nmyself",  # line break between words
        "kill   myself",
        "kill-myself",
        "SUICIDE",
        "my colleague said she is suicidal",
        "he said he wants to kill himself",
        "she has been harming herself",
        "she doesn't want to live any more",
        "he wants to die",
        "worried she might take her own life",
    ],
)
def test_crisis_words_are_caught(text):
    assert contains_crisis_words(text) is True


@pytest.mark.parametrize(
    "text",
    [
        "killed it at work today",
        "I'm dead tired after that shift",
        "needle cut on my finger",
        "I cut my finger on a scalpel",
        "I hurt myself on a needle",  # a sharps report, not a crisis
        "I stabbed myself with a needle",
        "overdue fit note",
        "the patient was overdue for a blood test",
        "drove 5 km to the surgery",
        "skills and kmsh",
        "i went to the dentist",
        "died down now thanks",
        "this rota is killing me",  # figure of speech, not in the list
        "self-certification covers 7 days",
        "selfish",
        "the sharps bin",
        "",
        "   ",
    ],
)
def test_near_misses_are_not_crisis(text):
    assert contains_crisis_words(text) is False


@pytest.mark.parametrize("value", [None, 12, ["kill myself"], {"text": "suicide"}, b"suicide"])
def test_non_text_is_never_crisis_and_never_raises(value):
    assert contains_crisis_words(value) is False


@given(st.text(max_size=200))
def test_never_raises_on_any_text(text):
    assert contains_crisis_words(text) in (True, False)


@given(st.text(alphabet=st.characters(categories=["Ll", "Lu", "Nd", "Zs", "Po"]), max_size=40))
def test_a_crisis_phrase_inside_any_sentence_is_caught(noise):
    assert contains_crisis_words(f"{noise} I want to kill myself. {noise}")


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Don't", "dont"),
        ("self-harm", "self harm"),
        ("  KILL\tmyself!! ", "kill myself"),
        ("\uff4b\uff4d\uff53", "kms"),  # full-width letters fold to plain ones
    ],
)
def test_normalise_text(raw, expected):
    assert normalise_text(raw) == expected


def test_lexicon_file_is_simple_and_valid():
    version, phrases = load_lexicon()
    assert version.startswith("crisis-")
    assert LEXICON_PATH.name == "crisis.yml" and LEXICON_PATH.parent.name == "lexicon"
    for required in ["suicide", "kill myself", "end it all", "self harm", "cutting myself", "overdose",
                     "took too many pills", "dont want to be here", "want to die", "threat to life",
                     "suicidal", "selfharm", "dont want to be alive", "no point in living", "no point living",
                     "swallowed all my pills", "took all my pills", "top myself", "topping myself",
                     "do myself in", "doing myself in", "want to hurt someone", "going to kill him",
                     "going to kill her", "going to kill them", "kill someone"]:
        assert required in phrases, required
    assert all(p == normalise_text(p) for p in phrases)
    # Bare "kms" is also kilometres: it is matched only with its guard.
    lexicon = load_crisis_lexicon()
    assert "kms" not in phrases and lexicon.not_after_number == ("kms",)
    assert lexicon.version == version


def test_matching_reports_which_phrases():
    assert set(crisis_phrases_in("I self-harm and want to die")) == {"self harm", "want to die"}
    # Every phrase present, whoever it is about; kms only with its guard.
    assert crisis_phrases_in("needlestick from a patient who had taken an overdose") == ("overdose",)
    assert crisis_phrases_in("honestly i might just kms") == ("kms",)
    assert crisis_phrases_in("I ran 5 kms today") == ()
    assert crisis_phrases_in("ran ten kms. kms") == ("kms",)


@pytest.mark.parametrize(
    "text, message",
    [
        ("version: x\nsource: y\nphrases: []\n", "non-empty list"),
        ("version: x\nphrases: [a]\n", "source"),
        ("source: y\nphrases: [a]\n", "version"),
        ("version: x\nsource: y\nphrases: [Suicide]\n", "lower-case"),
        ("version: x\nsource: y\nphrases: ['!!']\n", "not a non-empty string"),
        ("- a\n", "mapping"),
        ("version: x\nsource: y\nphrases: [od]\npatient_words: pt\n", "must be a list"),
        ("version: x\nsource: y\nphrases: [od]\npatient_words: [Patient]\n", "lower-case"),
        ("version: x\nsource: y\nphrases: [od]\ncaller_phrases: [kms]\n", "not crisis phrases"),
        ("version: x\nsource: y\nphrases: [od]\nsubject_words: [i]\n", "subject_words"),
        ("version: x\nsource: y\nphrases: [od]\nfirst_person_words: [i am]\n", "single words"),
    ],
)
def test_lexicon_validation(tmp_path, text, message):
    path = tmp_path / "crisis.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        load_lexicon(path)


# --- whose words: the shared table ----------------------------------------------

def test_case_table_is_big_and_well_formed():
    assert len(CASES) >= 60
    assert len({c["text"] for c in CASES}) == len(CASES)
    assert all(c["owner"] in ("caller", "other", "unclear", None) for c in CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["text"][:50])
def test_crisis_owner_follows_the_case_table(case):
    assert crisis_owner(case["text"]) == case["owner"]
    assert contains_crisis_words(case["text"]) is (case["owner"] in ("caller", "unclear"))
    # The bot forces crisis for caller, and for unclear without sharps words.
    sharps = bool(find_phrases(case["text"], load_crisis_lexicon().sharps_words))
    assert (case["owner"] == "caller" or (case["owner"] == "unclear" and not sharps)) is case["forced"]


def test_every_match_gets_an_owner_in_text_order():
    assert crisis_matches("the patient overdosed. i took an overdose too") == (
        ("overdosed", "other"), ("overdose", "caller"),
    )
    assert crisis_matches("suicidal pt, self harm") == (("suicidal", "other"), ("self harm", "other"))
    assert crisis_matches("hello") == ()


@pytest.mark.parametrize("value", [None, 12, ["kill myself"], {"text": "suicide"}, b"suicide", ""])
def test_crisis_owner_of_non_text_is_none(value):
    assert crisis_owner(value) is None
    assert crisis_matches(value) == ()


@given(st.text(alphabet=st.characters(categories=["Ll", "Lu", "Nd", "Zs", "Po"]), max_size=60))
def test_a_callers_own_sentence_always_wins(noise):
    # Whatever came before (patients, overdoses, needles), "I want to die" in
    # a sentence of its own is the caller's.
    assert crisis_owner(f"{noise}. I want to die.") == "caller"
    assert crisis_owner(f"{noise} patient bit me i want to die") == "caller"


@given(st.text(max_size=200))
def test_owner_never_raises_and_agrees_with_contains(text):
    owner = crisis_owner(text)
    assert owner in ("caller", "other", "unclear", None)
    assert contains_crisis_words(text) is (owner in ("caller", "unclear"))
    assert (owner is None) is (crisis_phrases_in(text) == ())


# --- the decisions that use it (api/services/decisions.py, api/triage/facts.py) ---

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)


def test_a_sharps_case_about_a_patients_overdose_is_not_a_crisis_case():
    from api.services.decisions import decide

    decision = decide(
        line="sharps", kind="exposure", now=NOW,
        answers={"source_notes": "the patient took an overdose"},
        summary="needlestick from a patient who had taken an overdose",
    )
    assert "crisis" not in decision["rules_fired"]
    assert "first_aid" in decision["rules_fired"]


@pytest.mark.parametrize(
    "answers, summary",
    [
        ({"notes": "needlestick, overdose"}, None),  # unclear: first aid and crisis
        ({"notes": "i got a needlestick and honestly i want to die"}, None),
        ({}, "patient bit me and i want to kill myself"),
    ],
)
def test_a_sharps_case_with_the_callers_crisis_words_adds_the_crisis_rule(answers, summary):
    from api.services.decisions import decide

    decision = decide(line="sharps", kind="exposure", answers=answers, summary=summary, now=NOW)
    assert "crisis" in decision["rules_fired"] and "first_aid" in decision["rules_fired"]
    assert decision["urgency"] == "emergency" and decision["page_on_call"] is True


def test_a_managers_report_about_staff_is_still_a_crisis():
    from api.services.decisions import decide

    decision = decide(
        line="manager", kind="referral", now=NOW, summary=None,
        answers={"questions": "my receptionist said she wants to end her life"},
    )
    assert decision["rules_fired"] == ["crisis"]
    assert contains_crisis_words("one of my nurses said she wants to kill herself")
