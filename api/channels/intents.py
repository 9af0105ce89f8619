"""What a person may send as an intent: only a button the bot has just offered.

Rasa reads a message that starts with "/" ("/affirm", a button's payload) as that intent and
skips its NLU pipeline, the crisis guard included. So a payload, or typed text that starts with
"/", goes to Rasa as an intent only when it is one of the buttons the bot offered in its last
answer in this conversation; anything else goes as the person's words, the slashes dropped.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from api.services.messages import Button

INTENT_PREFIX = "/"
_LEADING = re.compile(r"^[\s/]+")


def as_words(text: str) -> str:
    """Text Rasa reads as words, never as an intent. Only slashes is nothing to read: "?" asks
    the bot what it can do rather than sending it an empty message."""
    return _LEADING.sub("", text) or "?"


def vetted(text: str, payload: str | None, offered: Iterable[Button]) -> tuple[str | None, bool]:
    """What Rasa is sent instead of `text` (None: the text as it is), and whether a forced intent
    was refused. `offered`: the buttons of the bot's last answer (the start choices for a
    conversation the bot has not answered yet)."""
    payloads = {b.payload for b in offered}
    wanted = payload if payload else (text.strip() if text.lstrip().startswith(INTENT_PREFIX) else None)
    if wanted is not None and wanted in payloads:
        return wanted, False
    forced = wanted is not None
    if text.lstrip().startswith(INTENT_PREFIX):
        return as_words(text), forced
    return None, forced
