"""Crisis-word detection: many phrasings and misspellings caught, near-misses left alone."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.triage import contains_crisis_words
from api.triage.crisis import LEXICON_PATH, crisis_phrases_in, load_lexicon, normalise_text


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
                     "kms", "suicidal", "selfharm"]:
        assert required in phrases, required
    assert all(p == normalise_text(p) for p in phrases)


def test_matching_reports_which_phrases():
    assert set(crisis_phrases_in("I self-harm and want to die")) == {"self harm", "want to die"}


@pytest.mark.parametrize(
    "text, message",
    [
        ("version: x\nsource: y\nphrases: []\n", "non-empty list"),
        ("version: x\nphrases: [a]\n", "source"),
        ("source: y\nphrases: [a]\n", "version"),
        ("version: x\nsource: y\nphrases: [Suicide]\n", "lower-case"),
        ("version: x\nsource: y\nphrases: ['!!']\n", "not a non-empty string"),
        ("- a\n", "mapping"),
    ],
)
def test_lexicon_validation(tmp_path, text, message):
    path = tmp_path / "crisis.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        load_lexicon(path)
