"""Every text response in domain.yml and data/responses/*.yml can be spoken on a phone call (issue #14).

On a call, action_session_start sets the slot `channel` to "voice" (and `numbered_choices`
to false), and each text response has one variant for that, conditioned on channel == voice.
The API speaks the variant's text, then reads its buttons itself ("Say blood, or press 1. ..."),
and reads `custom.voice` (speech hints, and `misunderstood` to count misheard turns).

The retrieval responses in data/responses/*.yml (the manager FAQ answers, utter_manager_faq/<topic>)
are merged into the domain by Rasa and chosen the same way, so they get the same checks; an FAQ answer's
voice variant also ends with one sentence naming its source in plain words ("This comes from ...").

HELPLINE_VOICE_DOMAIN=<path> checks another copy of the domain (default: domain.yml); the responses
files are always data/responses/*.yml.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DOMAIN = Path(os.environ.get("HELPLINE_VOICE_DOMAIN") or REPO / "domain.yml")
RESPONSE_FILES = sorted((REPO / "data" / "responses").glob("*.yml"))

VOICE_CONDITION = [{"type": "slot", "name": "channel", "value": "voice"}]
# What a phone call's slots are; any other slot a condition names may hold anything on a call.
VOICE_SLOTS = {"channel": "voice", "numbered_choices": False}

# Never in a voice variant's text (checked case-insensitively, whole words):
BANNED_WORDS = (
    # screen and keyboard words: a caller has no screen, and the API reads the choices itself
    "reply", "replies", "replied", "tap", "click", "button", "buttons", "type", "typed", "typing", "link",
    "below", "above", "menu", "emoji", "emojis",
    # texting words that make no sense on a call
    "message us", "text back",
    # read out badly or not understood when heard: say "for example", "the emergency department",
    # "occupational health"
    "e.g.", "A&E", "OH",
)
# Characters the voice would read out or that only mean something on a screen: markdown,
# brackets, slashes, and quotes used to show what to type (say: you can say talk to a person).
BANNED_CHARACTERS = ("*", "_", "`", "[", "]", "(", ")", "<", ">", "/", "\\", "\"", "\u201c", "\u201d")
# The API adds "press N" itself, one line per button: a text never lists keypad numbers.
# ("press 0" for a person and "press star" to repeat are the call's own keys, so they are fine;
# so is another service's menu: "call NHS 111 and choose option 2 for urgent mental health help".)
KEYPAD_NUMBERS = re.compile(
    r"\bpress\s+(?:[1-9]|one|two|three|four|five|six|seven|eight|nine)\b|(?<![\d.])(?<!option )\b[1-9]\s+for\b",
    re.IGNORECASE)
# Sorry-I-didn't-understand responses besides utter_reask_*: two in a row switch the call to keypad only.
MISUNDERSTOOD = {"utter_default", "utter_ask_rephrase", "utter_ask_affirmation", "utter_number_unclear",
                 "utter_rating_unreadable", "utter_correction_unclear", "utter_marked_unknown"}
MAX_BUTTONS = 9  # one keypad key each
MAX_SENTENCE_WORDS = 30
# A manager FAQ answer on a call: a caller cannot scroll back, so it is short, and its written
# "Source: A / B" line becomes one last spoken sentence ("This comes from the GOV.UK fit note guidance.").
FAQ_PREFIX = "utter_manager_faq/"
FAQ_MAX_WORDS = 90
FAQ_SOURCE_SENTENCE = "This comes from "
PLACEHOLDER = re.compile(r"\{(\w+)\}")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def _load() -> Dict[str, List[Dict[str, Any]]]:
    """The domain's responses and those of data/responses/*.yml, merged as Rasa merges them."""
    found = dict(yaml.safe_load(DOMAIN.read_text(encoding="utf-8"))["responses"])
    for path in RESPONSE_FILES:
        extra = yaml.safe_load(path.read_text(encoding="utf-8")).get("responses") or {}
        # a domain that already holds them (one exported from a trained model) must hold the same
        clash = sorted(name for name in set(extra) & set(found) if extra[name] != found[name])
        assert not clash, f"{path.name}: responses defined differently in {DOMAIN.name}: {clash}"
        found.update(extra)
    return found


RESPONSES = _load()
FAQ_RESPONSES = sorted(name for name in RESPONSES if name.startswith(FAQ_PREFIX))
TEXT_RESPONSES = sorted(name for name, variants in RESPONSES.items() if any("text" in v for v in variants))


def _is_voice(variant: Dict[str, Any]) -> bool:
    return any(c.get("type") == "slot" and c.get("name") == "channel" and c.get("value") == "voice"
               for c in variant.get("condition") or [])


def voice_variant(name: str) -> Dict[str, Any]:
    found = [v for v in RESPONSES[name] if _is_voice(v)]
    assert len(found) == 1, f"{name}: {len(found)} voice variants, expected exactly one"
    return found[0]


def default_variant(name: str) -> Optional[Dict[str, Any]]:
    return next((v for v in RESPONSES[name] if not v.get("condition")), None)


def sentences(text: str) -> List[str]:
    return [s for s in SENTENCE_END.split(text.strip()) if s]


def may_match_a_call(condition: List[Dict[str, Any]]) -> bool:
    """True unless some condition is false on every call (e.g. numbered_choices true)."""
    for c in condition:
        if c.get("type") == "slot" and c.get("name") in VOICE_SLOTS and c.get("value") != VOICE_SLOTS[c["name"]]:
            return False
    return True


def test_the_domain_has_text_responses():
    assert len(TEXT_RESPONSES) > 100
    assert RESPONSE_FILES and len(FAQ_RESPONSES) >= 15  # the manager FAQ answers were read too
    assert set(FAQ_RESPONSES) <= set(TEXT_RESPONSES)


@pytest.mark.parametrize("name", TEXT_RESPONSES)
def test_one_voice_variant_and_only_it_matches_a_call(name):
    variant = voice_variant(name)
    assert variant["condition"] == VOICE_CONDITION, name
    assert isinstance(variant.get("text"), str) and variant["text"].strip(), name
    others = [v for v in RESPONSES[name] if v is not variant and v.get("condition")]
    both = [v["condition"] for v in others if may_match_a_call(v["condition"])]
    assert not both, f"{name}: another variant also matches a call: {both}"


@pytest.mark.parametrize("name", TEXT_RESPONSES)
def test_the_words_can_be_spoken(name):
    text = PLACEHOLDER.sub("value", voice_variant(name)["text"])  # {case_ref} is filled in, not spoken as is
    for word in BANNED_WORDS:
        assert not re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text, re.IGNORECASE), f"{name}: {word!r}"
    for character in BANNED_CHARACTERS:
        assert character not in text, f"{name}: {character!r}"
    assert not KEYPAD_NUMBERS.search(text), f"{name}: lists keypad numbers itself"
    for sentence in sentences(text):
        assert len(sentence.split()) <= MAX_SENTENCE_WORDS, f"{name}: {sentence!r}"


@pytest.mark.parametrize("name", TEXT_RESPONSES)
def test_one_question_and_it_comes_last(name):
    text = voice_variant(name)["text"].strip()
    assert text.count("?") <= 1, name
    if "?" in text:
        assert text.endswith("?"), f"{name}: the question is not last"


@pytest.mark.parametrize("name", TEXT_RESPONSES)
def test_same_choices_as_the_other_variants(name):
    variant = voice_variant(name)
    others = [v for v in RESPONSES[name] if v is not variant and v.get("buttons")]
    buttons = variant.get("buttons") or []
    if others:
        reference = default_variant(name) if (default_variant(name) or {}).get("buttons") else others[0]
        assert {b["payload"] for b in buttons} == {b["payload"] for b in reference["buttons"]}, name
    assert len(buttons) <= MAX_BUTTONS, name
    titles = [b["title"] for b in buttons]
    assert len({t.lower() for t in titles}) == len(titles), f"{name}: two buttons with the same words"
    for title in titles:
        assert 1 <= len(title.split()) <= 4, f"{name}: {title!r}"
        assert not re.search(r"\d", title), f"{name}: {title!r}"


@pytest.mark.parametrize("name", TEXT_RESPONSES)
def test_keeps_every_slot_value(name):
    default = default_variant(name)
    if default is None or "text" not in default:
        pytest.skip("no default text")
    wanted = set(PLACEHOLDER.findall(default["text"]))
    assert wanted <= set(PLACEHOLDER.findall(voice_variant(name)["text"])), name


@pytest.mark.parametrize("name", TEXT_RESPONSES)
def test_call_data(name):
    """custom.voice: hints (words a caller may say) and misunderstood (a re-ask)."""
    voice = (voice_variant(name).get("custom") or {}).get("voice")
    misheard = name.startswith("utter_reask_") or name in MISUNDERSTOOD
    if misheard:
        assert isinstance(voice, dict) and voice.get("misunderstood") is True, f"{name}: not marked misunderstood"
    if voice is None:
        return
    assert isinstance(voice, dict) and set(voice) <= {"hints", "misunderstood"}, name
    if "hints" in voice:
        assert voice["hints"] and all(isinstance(h, str) and h.strip() for h in voice["hints"]), name
    if "misunderstood" in voice:
        assert voice["misunderstood"] is True, name
        # a question is not a misunderstanding: marking one would switch callers to keypad only
        assert misheard or not name.startswith("utter_ask_"), f"{name}: a question marked misunderstood"


def test_the_misunderstood_list_names_real_responses():
    assert MISUNDERSTOOD <= set(RESPONSES)


@pytest.mark.parametrize("name", [n for n in TEXT_RESPONSES if n.startswith("utter_sharps_emergency")])
def test_an_emergency_starts_with_the_emergency_department(name):
    for variant in RESPONSES[name]:
        if "text" in variant:
            first = sentences(variant["text"])[0].lower()
            assert "emergency department" in first, f"{name}: {first!r}"


@pytest.mark.parametrize("name", FAQ_RESPONSES)
def test_an_faq_answer_is_short_and_ends_naming_its_source(name):
    text = voice_variant(name)["text"].strip()
    assert len(text.split()) <= FAQ_MAX_WORDS, f"{name}: {len(text.split())} words, at most {FAQ_MAX_WORDS}"
    assert "source:" not in text.lower(), f"{name}: the written source line is read out"
    *advice, source = sentences(text)
    assert advice, f"{name}: no advice before the source"
    assert source.startswith(FAQ_SOURCE_SENTENCE) and source.endswith("."), f"{name}: ends {source!r}"
    assert not any(FAQ_SOURCE_SENTENCE in s for s in advice), f"{name}: the source is not the last sentence"
    assert "?" not in text, f"{name}: an answer, not a question"
