"""The pure text rules of the phone channels."""
from __future__ import annotations

import re

import pytest

from api.channels import texts
from api.services.messages import Button, Reply

YES_NO = (Button("Yes", "/affirm"), Button("No", "/deny"), Button("Don't know", "/dont_know"))


@pytest.mark.parametrize("word,kind", [
    ("STOP", "stop"), ("stop", "stop"), (" Unsubscribe ", "stop"), ("QUIT", "stop"), ("STOPALL", "stop"),
    ("START", "start"), ("unstop", "start"), ("HELP", "help"), ("info", "help"),
    ("stop it", None), ("please stop", None), ("YES", None), ("help me", None),
])
def test_twilio_keywords_are_single_words(word, kind):
    assert texts.keyword(word) == kind


@pytest.mark.parametrize("text,ref", [
    ("ACK SH-000123", "SH-000123"), ("ack sh-123", "SH-000123"), ("  Ack  MA000045 ", "MA-000045"),
    ("ACK SH 7", "SH-000007"), ("ACK", None), ("ACK XX-000001", None), ("please ack SH-000001", None),
])
def test_ack_reference(text, ref):
    assert texts.ack_ref(text) == ref


@pytest.mark.parametrize("text,number", [("2", 2), (" 2. ", 2), ("2)", 2), ("option 3", 3), ("12", 12),
                                         ("2 days ago", None), ("two", None), ("", None)])
def test_choice_number_typed(text, number):
    assert texts.choice_number(text) == number


@pytest.mark.parametrize("text,number", [("two", 2), ("Two.", 2), ("number three", 3), ("1", 1),
                                         ("it was two days ago", None)])
def test_choice_number_spoken(text, number):
    assert texts.choice_number(text, spoken=True) == number


def test_pick_is_one_based_and_bounded():
    assert texts.pick(YES_NO, 2) == YES_NO[1]
    assert texts.pick(YES_NO, 0) is None
    assert texts.pick(YES_NO, 4) is None
    assert texts.pick((), 1) is None


def test_numbered_choices_read_naturally():
    assert texts.numbered_choices(YES_NO) == "Reply 1 for Yes, 2 for No or 3 for Don't know."
    assert texts.keypad_choices(YES_NO[:2]) == "Press 1 for Yes. Press 2 for No."


def test_only_the_last_buttons_are_numbered():
    body = texts.sms_body([Reply("Menu", (Button("A", "/a"),)), Reply("Was it used?", YES_NO)])
    assert "Reply 1 for Yes, 2 for No or 3 for Don't know." in body
    assert "1 for A" not in body


def test_short_text_is_one_message():
    assert texts.split_sms("Hello.") == ["Hello."]
    assert texts.split_sms("") == []


def _long_text(paragraphs=6, sentences=9):
    return "\n\n".join(
        " ".join(f"Paragraph {p} sentence {s} tells you something you should know about first aid."
                 for s in range(sentences))
        for p in range(paragraphs)
    )


def test_long_text_splits_on_paragraphs_then_sentences():
    text = _long_text()
    chunks = texts.split_sms(text)
    assert len(chunks) > 1
    assert all(len(c) <= texts.SMS_LIMIT for c in chunks)
    assert all(c.rstrip().endswith(".") for c in chunks)  # never mid-sentence
    assert " ".join(" ".join(chunks).split()) == " ".join(text.split())  # nothing lost


def test_one_huge_paragraph_splits_on_sentences():
    text = " ".join(f"Sentence number {i} is here." for i in range(200))
    chunks = texts.split_sms(text, limit=300)
    assert all(len(c) <= 300 for c in chunks)
    assert all(re.search(r"here\.$", c) for c in chunks)
    assert " ".join(chunks) == text


def test_text_without_spaces_is_cut_hard():
    chunks = texts.split_sms("x" * 3500)
    assert [len(c) for c in chunks] == [1600, 1600, 300]


def test_speakable_and_spelt_references():
    assert texts.speakable("**Go** to [ED](http://x) now") == "Go to ED now"
    assert texts.spell_ref("SH-000123") == "S H 0 0 0 1 2 3"


def test_smart_punctuation_a_phone_typed_never_makes_a_text_ucs2():
    from api.channels.segments import encoding

    body = texts.sms_body([Reply("Thanks, O\u2019Neill \u2013 \u201cnoted\u201d\u2026")])
    assert body == "Thanks, O'Neill - \"noted\"..." and encoding(body) == "GSM-7"
