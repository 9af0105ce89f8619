"""Pure text handling for the phone channels: keywords, numbered choices, splitting, ACK.

No I/O here: the routes and tests call these directly.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

from api.services.messages import Button, Reply

SMS_LIMIT = 1600  # Twilio's limit for one message body (it concatenates the segments)

# Twilio's default keywords (exact, single word, any case). Twilio itself opts the number
# out or in and sends its own confirmation; a TwiML reply to an opt-out is not delivered.
OPT_OUT = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
# YES is also an opt-in word at Twilio, but here it is an answer to the bot: it is relayed.
OPT_IN = frozenset({"START", "UNSTOP"})
HELP = frozenset({"HELP", "INFO"})

# HELP fits 2 SMS segments, START and EMPTY 1 (tests/api/channels/test_sms_responses.py).
HELP_TEXT = (
    "NHS occupational health (OH) helpline: text us about a needlestick, cut, bite or "
    "splash at work and we will guide you and alert the on-call OH practitioner. "
    "If a life is at risk, call 999. After a needlestick or splash, if in doubt go to the emergency "
    "department now. Reply STOP to stop texts."
)
START_TEXT = (
    "You can text the NHS occupational health helpline again. Tell us what happened. "
    "If a life is at risk, call 999."
)

EMPTY_TEXT = ("Sorry, I can only read text messages. Please type what happened. "
              "If a life is at risk, call 999.")

_ACK = re.compile(r"^\s*ACK\s+(SH|MA)\s*-?\s*(\d{1,6})\s*$", re.IGNORECASE)
_CHOICE = re.compile(r"^\s*(?:no\.?|number|option)?\s*(\d{1,2})\s*[.)]?\s*$", re.IGNORECASE)
_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "to": 2, "too": 2, "for": 4,
}
_SPOKEN_CHOICE = re.compile(r"^(?:number|option|press(?:ed)?)?\s*([a-z]+|\d{1,2})$")


def keyword(text: str) -> str | None:
    """'stop', 'start' or 'help' for a message that is only one of Twilio's keywords."""
    word = text.strip().upper()
    if word in OPT_OUT:
        return "stop"
    if word in OPT_IN:
        return "start"
    if word in HELP:
        return "help"
    return None


def ack_ref(text: str) -> str | None:
    """'ACK SH-000123' (or 'ack sh123') -> 'SH-000123'."""
    match = _ACK.match(text)
    if not match:
        return None
    return f"{match.group(1).upper()}-{int(match.group(2)):06d}"


def choice_number(text: str, *, spoken: bool = False) -> int | None:
    """The choice a bare reply picks: '2', '2.', 'option 2'; on a call also 'two'."""
    match = _CHOICE.match(text)
    if match:
        return int(match.group(1))
    if spoken:
        cleaned = re.sub(r"[^a-z0-9 ]", "", text.lower()).strip()
        match = _SPOKEN_CHOICE.match(cleaned)
        if match:
            word = match.group(1)
            return int(word) if word.isdigit() else _NUMBER_WORDS.get(word)
    return None


def pick(buttons: Sequence[Button], number: int | None) -> Button | None:
    if number is None or not 1 <= number <= len(buttons):
        return None
    return buttons[number - 1]


def numbered_choices(buttons: Sequence[Button]) -> str:
    """'Reply 1 for Yes, 2 for No or 3 for Don't know.'"""
    items = [f"{i} for {b.title}" for i, b in enumerate(buttons, start=1)]
    if len(items) == 1:
        return f"Reply {items[0]}."
    return f"Reply {', '.join(items[:-1])} or {items[-1]}."


def keypad_choices(buttons: Sequence[Button]) -> str:
    """'Press 1 for Yes. Press 2 for No.' (spoken; every choice has a key)."""
    return " ".join(f"Press {i} for {b.title}." for i, b in enumerate(buttons, start=1))


def sms_body(replies: Sequence[Reply]) -> str:
    """The bot's messages as one text; only the last set of buttons is numbered (a bare
    number always means a choice from the latest question)."""
    last_with_buttons = max((i for i, r in enumerate(replies) if r.buttons), default=None)
    parts = []
    for index, reply in enumerate(replies):
        if reply.text.strip():
            parts.append(reply.text.strip())
        if index == last_with_buttons:
            parts.append(numbered_choices(reply.buttons))
    return plain_punctuation("\n\n".join(parts))


# Phones type "smart" punctuation; one such character sends a whole text as UCS-2 (70 characters
# a segment instead of 160: docs/sms-segments.md), so a name echoed back must not carry it.
_SMART = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-",
                        "\u2014": "-", "\u2026": "...", "\u00a0": " "})


def plain_punctuation(text: str) -> str:
    return text.translate(_SMART)


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def _atoms(text: str, limit: int) -> list[tuple[str, str]]:
    """(piece, joiner-before-it): paragraphs, or sentences of long paragraphs, or words."""
    atoms: list[tuple[str, str]] = []
    for paragraph in (p.strip() for p in re.split(r"\n\s*\n", text)):
        if not paragraph:
            continue
        if len(paragraph) <= limit:
            atoms.append((paragraph, "\n\n"))
            continue
        joiner = "\n\n"
        for sentence in _SENTENCE_END.split(paragraph):
            if len(sentence) <= limit:
                atoms.append((sentence, joiner))
                joiner = " "
                continue
            for word in sentence.split():
                rest = word
                while len(rest) > limit:  # no space to break on at all
                    atoms.append((rest[:limit], joiner))
                    rest, joiner = rest[limit:], ""
                atoms.append((rest, joiner))
                joiner = " "
            joiner = " "
    return atoms


def split_sms(text: str, limit: int = SMS_LIMIT) -> list[str]:
    """Split a long text into messages of at most `limit` characters, on paragraph, then
    sentence, then word boundaries."""
    text = text.strip()
    if len(text) <= limit:
        return [text] if text else []
    chunks: list[str] = []
    current = ""
    for piece, joiner in _atoms(text, limit):
        if not current:
            current = piece
        elif len(current) + len(joiner) + len(piece) <= limit:
            current += joiner + piece
        else:
            chunks.append(current)
            current = piece
    if current:
        chunks.append(current)
    return chunks


_MARKUP = re.compile(r"[*_`#>]+")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]+\)")


def speakable(text: str) -> str:
    """Markdown and symbols that a voice would read aloud, removed."""
    text = _LINK.sub(r"\1", text)
    text = _MARKUP.sub("", text)
    return re.sub(r"\s+", " ", text).strip()


def spell_ref(ref: str) -> str:
    """'SH-000123' -> 'S H 0 0 0 1 2 3', so a voice reads it character by character."""
    return " ".join(ch for ch in ref if ch.isalnum())
