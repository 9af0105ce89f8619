"""Crisis-word detection: many phrasings and misspellings caught, near-misses left alone.

Whose words: the shared table tests/data/crisis_owner_cases.yml (also run
against the bot's guard) says, for each text, whose crisis it is.
"""
from __future__ import annotations

import re
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
    mentions_crisis_history,
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
        ("version: x\nsource: y\nphrases: [od]\nnot_before: [od]\n", "mapping"),
        ("version: x\nsource: y\nphrases: [od]\nnot_before: {kms: [away]}\n", "not a crisis phrase"),
        ("version: x\nsource: y\nphrases: [od]\nnot_before: {od: [an hour]}\n", "single words"),
        ("version: x\nsource: y\nphrases: [od]\npresent_before_words: [right now]\n", "single words"),
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
    assert all(c["owner"] in ("caller", "other", "unclear", "past", None) for c in CASES)


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
    assert owner in ("caller", "other", "unclear", "past", None)
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


# --- crisis-2026.12.3: phrases the training data and British callers use --------------

NEW_PHRASES = [
    # from data/nlu/crisis.yml, which the word list used to miss
    ("I don't want to be alive", "dont want to be alive"),
    ("theres no point in living", "no point in living"),
    ("ive swallowed all my pills", "swallowed all my pills"),
    ("ive taken a load of tablets", "taken a load of tablets"),
    ("i have a plan to end it", "plan to end it"),
    ("i want to disappear and never wake up", "never wake up"),
    ("i dont see the point in carrying on", "dont see the point in carrying on"),
    ("i'm scared i'll do something to myself", "do something to myself"),
    ("ive had enough of life", "had enough of life"),
    ("life isnt worth living", "isnt worth living"),
    ("i keep thinking about ending things", "thinking about ending things"),
    ("i'm standing on the bridge", "standing on the bridge"),
    ("i want it to be over for good", "want it to be over for good"),
    ("i just want it all to stop forever", "want it all to stop"),
    ("od'd on paracetamol", "odd on paracetamol"),
    ("took too many tablets", "took too many tablets"),
    # British idioms, every inflection
    ("im going to top myself", "top myself"),
    ("she said she might top herself", "top herself"),
    ("he tried to do himself in", "do himself in"),
    ("thinking of topping myself", "topping myself"),
    ("nearly topped myself", "topped myself"),
    ("could top meself", "top meself"),
    ("might just do myself in", "do myself in"),
    ("doing myself in tonight", "doing myself in"),
    ("i almost did myself in", "did myself in"),
    ("ive nearly done myself in", "done myself in"),
    ("gonna do meself in", "do meself in"),
    # threats to someone else's life
    ("I'm going to kill him", "going to kill him"),
    ("im gonna kill her", "gonna kill her"),
    ("i want to kill them all", "want to kill them"),
    ("I'll kill him", "ill kill him"),
    ("I want to hurt someone", "want to hurt someone"),
    ("honestly going to hurt my manager", "going to hurt my manager"),
    ("i want to hurt him", "i want to hurt him"),
    ("I'm going to hurt her", "im going to hurt her"),
    ("i could kill somebody today", "kill somebody"),
    ("the patient threatened to kill me", "threatened to kill me"),
]


@pytest.mark.parametrize("text, phrase", NEW_PHRASES, ids=[p for _, p in NEW_PHRASES])
def test_new_phrase_is_caught_as_a_crisis(text, phrase):
    assert phrase in crisis_phrases_in(text)
    assert contains_crisis_words(text) is True
    assert phrase in load_crisis_lexicon().phrases


THREATS = [t for t, p in NEW_PHRASES if any(w in p.split() for w in ("kill", "hurt"))
           and not any(w in p.split() for w in ("myself", "meself"))]


@pytest.mark.parametrize("text", THREATS)
def test_a_threat_to_someone_else_is_the_callers_crisis(text):
    # A threat to another person's life is a risk to life (999): the caller's crisis,
    # whoever is named, routed exactly like their own.
    assert crisis_owner(text) == "caller"
    assert crisis_owner(f"the patient bit me and {text}") == "caller"


def test_every_threat_phrase_is_a_caller_phrase():
    lexicon = load_crisis_lexicon()
    threats = [p for p in lexicon.phrases
               if ({"kill", "hurt", "stab"} & set(p.split()))
               and not ({"myself", "meself", "himself", "herself", "themselves", "themself", "my"} & set(p.split()))]
    assert threats and set(threats) <= lexicon.caller_phrases


@pytest.mark.parametrize("text", [
    "I ran 5 kms today", "drove 20kms to the surgery", "20kms", "2.5 kms", "ten kms", "how many kms is it",
    "its about 3kms away", "the practice is kms away", "a few kms", "km", "kmsh", "skms",
    "need to top myself up with coffee", "topping myself up on annual leave", "she tops herself up with tea",
    "i dont want to hurt her feelings", "being ill hurt her confidence",
    "the od dose", "odd on reflection", "an odd one", "took an odd turn",
])
def test_short_and_guarded_phrases_never_match_inside_other_words(text):
    assert crisis_phrases_in(text) == ()
    assert crisis_owner(text) is None


def test_every_short_phrase_is_guarded_or_longer_than_an_abbreviation():
    # Phrases of one short word are texting abbreviations: each must be guarded against
    # ordinary words (kms is kilometres after a number). Longer ones are matched as whole words.
    lexicon = load_crisis_lexicon()
    short = [p for p in lexicon.phrases if " " not in p and len(p) <= 4]
    assert short == []
    assert all(len(p) <= 4 for p in lexicon.not_after_number)


def _examples(path: Path):
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for item in data.get("nlu", []):
        if "intent" not in item:
            continue
        for raw in item["examples"].splitlines():
            line = raw.strip()
            if line.startswith("- "):
                # entity annotations: [text](entity) / [text]{"entity": ...} -> text
                text = re.sub(r"\[([^\]]*)\](\{[^}]*\}|\([^)]*\))", r"\1", line[2:])
                yield item["intent"], text


NON_CRISIS_NLU = ["sharps.yml", "manager.yml", "manager_faq.yml", "general.yml", "handoff.yml", "out_of_scope.yml"]


@pytest.mark.parametrize("name", NON_CRISIS_NLU)
def test_no_non_crisis_training_example_is_a_crisis(name):
    # No new false alarms: no example of any other intent is the caller's crisis, or one
    # the bot would force (a patient's overdose in a sharps report is `other`).
    examples = list(_examples(REPO / "data" / "nlu" / name))
    assert examples and all(intent != "crisis" for intent, _ in examples)
    callers = [text for _, text in examples if crisis_owner(text) == "caller"]
    assert callers == []
    crises = [text for _, text in examples if contains_crisis_words(text)]
    assert crises == []


# Crisis examples only the classifier catches: too broad for a word list ("going to jump"
# is also "going to jump on a call"). The classifier is trained on them.
CLASSIFIER_ONLY = {"i've written a note and said goodbye", "going to jump"}


def test_the_word_list_catches_the_crisis_training_examples():
    examples = [text for intent, text in _examples(REPO / "data" / "nlu" / "crisis.yml") if intent == "crisis"]
    missed = {text for text in examples if not contains_crisis_words(text)}
    assert missed == CLASSIFIER_ONLY


# --- past: history a clinician must see, not a crisis ------------------------------------

@pytest.mark.parametrize("text", [
    "she took an overdose last year",
    "she has a history of self-harm",
    "history of self harm",
    "he has tried to kill himself before",
    "he's tried to kill himself before and was admitted",
    "previous overdose in 2019, none since",
    "she self harmed as a teenager and is now off with anxiety",
    "she took an overdose last year and is now off with stress",
])
def test_past_self_harm_is_history_not_a_crisis(text):
    assert crisis_owner(text) == "past"
    assert contains_crisis_words(text) is False
    assert mentions_crisis_history(text) is True


@pytest.mark.parametrize("text", [
    "she said she'll kill herself tonight",
    "she has a history of self harm and is suicidal",
    "she overdosed last year and is self harming again",
    "he tried to kill himself before and says he wants to die",
    "she took an overdose last night",
    "he self harmed before his shift",
    "history of self harm, currently self harming",
    "she took an overdose last year. she is suicidal now",
])
def test_a_present_risk_is_a_crisis_whatever_the_history(text):
    assert crisis_owner(text) == "unclear"
    assert contains_crisis_words(text) is True


@pytest.mark.parametrize("text", [
    "I took an overdose last year",            # the writer's own: the crisis route
    "i have a history of self harm",
    "he threatened to kill her last year",     # a threat is always the caller's
])
def test_the_writers_own_history_and_threats_are_never_past(text):
    assert crisis_owner(text) == "caller"
    assert contains_crisis_words(text) is True


def test_past_does_not_outrank_a_present_crisis_in_the_same_message():
    text = "she took an overdose last year. she says she wants to die"
    assert crisis_matches(text) == (("overdose", "past"), ("wants to die", "unclear"))
    assert crisis_owner(text) == "unclear" and mentions_crisis_history(text) is True
    assert crisis_owner("the patient overdosed, she has a history of self harm") == "other"
