"""TwiML for a call, built with the twilio library's VoiceResponse (never strings).

Every question is one <Gather input="speech dtmf"> in British English with speechTimeout
"auto", hints from the answers the question expects, and actionOnEmptyResult, so silence
comes back to the API like any other turn (with the count of silences in the URL). After
two silences or two answers the bot did not understand, the question is asked for the
keypad only; after three, the caller is offered a person (0). Star repeats the question.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from twilio.twiml.voice_response import VoiceResponse

from api.channels import spoken
from api.core.config import Settings
from api.services.messages import Button, Reply

XML = "application/xml"
KEYPAD_AFTER = 2        # silences, or answers not understood, before the keypad-only question
PERSON_AFTER = 3        # ... before the caller is offered a person
GOODBYE_AFTER = 4       # silences before the call ends (with the reference and what to do)
GATHER_TIMEOUT_SECONDS = 6
DIAL_TIMEOUT_SECONDS = 20  # ring a mobile this long: shorter than most voicemail pick-ups
MAX_HINTS_CHARS = 1000
# Heard on any question: the keys and words every caller can use.
ALWAYS_HINTS = ("talk to a person", "repeat", "don't know", "yes", "no")
# An open question (no choices, no hints from the bot): what callers to a sharps line say.
OPEN_HINTS = ("needlestick", "needle", "sharps injury", "scalpel", "lancet", "bite", "cut", "splash", "blood",
              "eye", "mouth", "broken skin", "HIV", "hepatitis B", "hepatitis C", "manager", "referral",
              "emergency")

SILENCE_TEXT = "Sorry, I did not hear anything."
KEYPAD_TEXT = "Let's use the keypad."
PERSON_TEXT = "If you would like to talk to a person, press 0."
REPEAT_TEXT = "To hear that again, press star."


@dataclass(frozen=True)
class CallState:
    """Where a call is on the question now open: the turn it answers, and how it is going."""
    turn: int
    silence: int = 0
    miss: int = 0

    @property
    def keypad_only(self) -> bool:
        return self.silence >= KEYPAD_AFTER or self.miss >= KEYPAD_AFTER

    @property
    def offer_person(self) -> bool:
        return self.silence >= PERSON_AFTER or self.miss >= PERSON_AFTER

    def query(self) -> str:
        params = {"turn": self.turn, **({"silence": self.silence} if self.silence else {}),
                  **({"miss": self.miss} if self.miss else {})}
        return urlencode(params)

    def silent(self) -> CallState:
        return replace(self, silence=self.silence + 1)


class Voice:
    """The call's TwiML, in the configured voice and language, with absolute URLs."""

    def __init__(self, settings: Settings) -> None:
        self.base = settings.public_base_url.rstrip("/")
        self.voice = settings.twilio_voice
        self.language = settings.twilio_voice_language
        self.speech_model = settings.twilio_speech_model or None

    def url(self, path: str) -> str:
        return self.base + path

    def say(self, parent: Any, text: str) -> None:
        text = spoken.for_voice(text)
        if text:
            parent.say(text, voice=self.voice, language=self.language)

    def ask(self, response: VoiceResponse, *, replies: list[Reply], state: CallState,
            path: str = "/twilio/voice/gather", preface: str | None = None, say_options: bool = True) -> None:
        """The bot's messages and its question inside one Gather, in the mode the call is in
        (`say_options` False: the question already says its keys)."""
        buttons = _buttons(replies)
        keypad_only = state.keypad_only and bool(buttons)
        gather = response.gather(
            input="dtmf" if keypad_only else "speech dtmf", action=self.url(f"{path}?{state.query()}"),
            method="POST", language=self.language, hints=hints(replies, buttons), speech_timeout="auto",
            timeout=GATHER_TIMEOUT_SECONDS, num_digits=1, action_on_empty_result=True,
            speech_model=None if keypad_only else self.speech_model,
        )
        if preface:
            self.say(gather, preface)
        if keypad_only:
            self.say(gather, KEYPAD_TEXT)
        for reply in replies:
            self.say(gather, reply.text)
        if buttons and (say_options or keypad_only):
            self.say(gather, spoken.option_lines(buttons, keypad_only=keypad_only))
        if state.offer_person or (state.keypad_only and not buttons):
            self.say(gather, PERSON_TEXT)
        if state.silence or state.miss or has_advice(replies):
            self.say(gather, REPEAT_TEXT)

    def dial(self, response: VoiceResponse, *, target: dict[str, Any], ref: str, attempt: int,
             caller_id: str | None) -> None:
        dial = response.dial(
            action=self.url(f"/twilio/voice/dial-status?attempt={attempt}"), method="POST",
            timeout=DIAL_TIMEOUT_SECONDS, answer_on_bridge=True, caller_id=caller_id or None,
        )
        whisper = urlencode({"ref": ref, "attempt": attempt, "practitioner": target["id"], "tier": target["tier"]})
        dial.number(target["mobile"], url=self.url(f"/twilio/voice/whisper?{whisper}"), method="POST")


def _buttons(replies: list[Reply]) -> tuple[Button, ...]:
    for reply in reversed(replies):
        if reply.buttons:
            return reply.buttons[:9]
    return ()


def has_advice(replies: list[Reply]) -> bool:
    """The bot marks a spoken advice block (actions/render.py show_advice) so a caller can hear it again."""
    return any(isinstance(r.extra.get("custom"), dict) and r.extra["custom"].get("advice") for r in replies)


def hints(replies: list[Reply], buttons: tuple[Button, ...]) -> str:
    """Speech hints for this question: its options, the bot's own hints, and the words any caller
    may use; an open question also gets what callers to the line say."""
    words = [b.title for b in buttons]
    words += [str(h) for h in spoken.voice_data(replies).get("hints") or []]
    if not words:
        words += OPEN_HINTS
    words += ALWAYS_HINTS
    seen: list[str] = []
    for word in words:
        if word and len(word) <= 100 and word.lower() not in (s.lower() for s in seen):
            seen.append(word)
    text = ""
    for word in seen:
        candidate = f"{text}, {word}" if text else word
        if len(candidate) > MAX_HINTS_CHARS:
            break
        text = candidate
    return text
