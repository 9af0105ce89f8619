"""Pure wording for a phone call: what a caller hears, and what their words pick.

A voice reads "SH-000123" as "S H minus one hundred and twenty-three" and "999" as "nine
hundred and ninety-nine", so references and phone numbers are spelled digit by digit, in
groups a caller can write down. Options are read as "Say blood, or press 1." from the
buttons of the bot's voice variant, so the spoken word and the key always agree.
No I/O here: the voice routes and the tests call these directly.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

import phonenumbers

from api.channels.texts import speakable
from api.services.messages import Button, Reply

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_REF = re.compile(r"\b(SH|MA)-?(\d{6})\b", re.IGNORECASE)
_E164 = re.compile(r"\+\d{10,15}\b")
_UK_NUMBER = re.compile(r"(?<![\d:/.])0\d{3,4} ?\d{3} ?\d{3,4}(?![\d:/])")
_SHORT_NUMBERS = re.compile(r"(?<![\d:/.£])(999|111|116 ?123)(?![\d:/])")
_AE_ASIDE = re.compile(r"\s*\(A&E\)")
_AE = re.compile(r"(?:\bthe )?\bA&E\b")
_OH = re.compile(r"\bOH\b")
_MESSAGE_US = re.compile(r"\bmessage us\b")
_WORD = re.compile(r"[^a-z0-9' ]+")

# Words that answer "Do you want me to put you through now?" (and the keys).
_CONNECT = {"1", "yes", "yeah", "yep", "yes please", "please", "connect", "connect me", "put me through",
            "yes put me through", "transfer", "transfer me", "ok", "okay", "go on"}
_CARRY_ON = {"2", "no", "nope", "no thanks", "no thank you", "not now", "carry on", "continue", "questions",
             "answer questions", "answer the questions", "later"}
# Said on any question on a call: what the caller wants rather than an answer.
PERSON_KEY = "0"
REPEAT_KEY = "*"
_REPEAT_WORDS = {"repeat", "repeat that", "say that again", "pardon", "sorry what", "what", "again"}


def digits(text: str) -> str:
    """'07700' -> 'zero seven seven zero zero'."""
    return " ".join(DIGIT_WORDS[int(ch)] for ch in text if ch.isdigit())


def spoken_ref(ref: str) -> str:
    """'SH-000123' -> 'S H, zero zero zero, one two three': letters, then the digits in threes."""
    match = _REF.fullmatch(ref.strip())
    if not match:
        return " ".join(ref)
    number = match.group(2)
    return f"{' '.join(match.group(1).upper())}, {digits(number[:3])}, {digits(number[3:])}"


def spoken_phone(number: str) -> str:
    """'+447700900123' -> 'zero seven seven zero zero, nine zero zero, one two three' (UK numbers in
    their national groups; others digit by digit after 'plus')."""
    try:
        parsed = phonenumbers.parse(number, "GB")
    except phonenumbers.NumberParseException:
        return digits(number)
    if parsed.country_code != 44:
        return "plus " + digits(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))
    national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    groups = national.split()
    if len(groups) == 2 and len(groups[1]) == 6:  # 07700 900123: say the six as three and three
        groups = [groups[0], groups[1][:3], groups[1][3:]]
    return ", ".join(digits(g) for g in groups)


def for_voice(text: str) -> str:
    """A bot message as it should be spoken: markup gone, abbreviations a listener may not know
    said in full, references and numbers spelled out."""
    text = speakable(text)
    text = _AE_ASIDE.sub("", text)
    text = _AE.sub("the emergency department", text)
    text = _OH.sub("occupational health", text)
    text = _MESSAGE_US.sub("call us", text)  # the rules' advice is written once, for every channel
    text = _REF.sub(lambda m: spoken_ref(m.group(0)), text)
    text = _E164.sub(lambda m: spoken_phone(m.group(0)), text)
    text = _UK_NUMBER.sub(lambda m: spoken_phone(m.group(0)), text)
    return _SHORT_NUMBERS.sub(lambda m: ", ".join(digits(part) for part in m.group(0).split()), text)


def option_lines(buttons: Sequence[Button], *, keypad_only: bool = False) -> str:
    """'Say blood, or press 1. Say don't know, or press 2.' (keypad only: 'For blood, press 1.')."""
    if keypad_only:
        return " ".join(f"For {b.title}, press {i}." for i, b in enumerate(buttons, start=1))
    return " ".join(f"Say {b.title}, or press {i}." for i, b in enumerate(buttons, start=1))


def normalise(said: str) -> str:
    return re.sub(r"\s+", " ", _WORD.sub(" ", said.lower())).strip()


def matching_button(buttons: Sequence[Button], said: str) -> Button | None:
    """The option whose title the caller said, word for word (give or take 'please')."""
    heard = normalise(said)
    heard = re.sub(r"^(um|er|erm|it's|it is|it was|i'd say)\s+|\s+please$", "", heard).strip()
    for button in buttons:
        if normalise(button.title) == heard:
            return button
    return None


def wants_connect(said: str) -> bool | None:
    """True: put me through; False: carry on with questions; None: neither (something else said)."""
    heard = normalise(said)
    if heard in _CONNECT:
        return True
    if heard in _CARRY_ON:
        return False
    return None


def wants_repeat(said: str) -> bool:
    return said.strip() == REPEAT_KEY or normalise(said) in _REPEAT_WORDS


def voice_data(replies: Sequence[Reply]) -> dict:
    """The bot's notes for the call (a voice variant's `custom: {voice: {...}}`), merged."""
    merged: dict = {}
    for reply in replies:
        custom = reply.extra.get("custom")
        if isinstance(custom, dict) and isinstance(custom.get("voice"), dict):
            merged.update(custom["voice"])
    return merged


def misunderstood(replies: Sequence[Reply]) -> bool:
    """The bot asked again because it did not understand (marked on its voice variants)."""
    return bool(voice_data(replies).get("misunderstood"))


def question_of(replies: Sequence[Reply]) -> tuple[list[Reply], list[Reply]]:
    """(what was said, the question still open): the question is the last message with choices,
    or the last message when it asks something."""
    spoken = [r for r in replies if r.text.strip() or r.buttons]
    at = max((i for i, r in enumerate(spoken) if r.buttons), default=None)
    if at is None and spoken and spoken[-1].text.rstrip().endswith("?"):
        at = len(spoken) - 1
    if at is None:
        return list(replies), []
    question = spoken[at]
    said = [r for r in replies if r is not question]
    return said, [question]


def emergency_first(replies: Sequence[Reply]) -> list[Reply]:
    """The emergency-department instruction before anything else (first aid, case opened)."""
    first = [r for r in replies if "emergency department" in r.text.lower()]
    return first + [r for r in replies if r not in first]


_VIRUS = {"HIV": "HIV", "HBV": "hepatitis B", "HCV": "hepatitis C"}
_SOURCE = re.compile(r"source ((?:(?:HIV|HBV|HCV)[+?]/?)+)")
_HOURS_AGO = re.compile(r"(\d+(?:\.\d+)?)h ago")


def summary_for_voice(summary: str) -> str:
    """The dashboard's one-line case summary ("sharps injury, blood, source HIV+/HCV?, 0.2h ago.")
    as a practitioner hears it in the whisper."""
    def source(match: re.Match[str]) -> str:
        parts = [p for p in match.group(1).split("/") if p]
        said = [f"{_VIRUS[p[:-1]]} {'positive' if p.endswith('+') else 'suspected'}" for p in parts]
        return "source " + " and ".join(said)

    def ago(match: re.Match[str]) -> str:
        hours = float(match.group(1))
        if hours < 1:
            minutes = max(1, round(hours * 60))
            return f"{minutes} minute{'s' if minutes != 1 else ''} ago"
        whole = round(hours)
        return f"about {whole} hour{'s' if whole != 1 else ''} ago"

    text = _SOURCE.sub(source, summary)
    text = _HOURS_AGO.sub(ago, text)
    return text.replace("eyes/mouth/nose", "eyes, mouth or nose")
