"""Twilio voice: a spoken conversation with the bot, and a warm transfer for an emergency.

    POST /twilio/voice                 a call comes in: turn 0 (the greeting)
    POST /twilio/voice/gather?turn=N   what the caller said or pressed: turn N
    POST /twilio/voice/dial-status     the transfer's Dial ended (answered, or try the next)
    POST /twilio/voice/whisper?ref=    read to the practitioner before connecting
    POST /twilio/voice/whisper/accept  the practitioner pressed a key: connect

Each turn's idempotency key is CallSid + turn number (the turn is in the Gather's action
URL), so a retried request gets the stored TwiML and never a second turn or case.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool
from twilio.twiml.voice_response import VoiceResponse

from api.channels import outcome, texts
from api.channels.adapter import OfflineAnswer
from api.channels.security import TwilioParams, twilio_params
from api.core.config import Settings
from api.deps import SessionDep, SettingsDep
from api.enums import Urgency
from api.services import call_transfer, paging, relay, turn_store
from api.services.identities import phone_or_none
from api.services.messages import Button, Inbound, Reply
from api.services.relay import ToRelay
from api.services.safe_answer import SAFE_ANSWER_NOT_PAGED, open_case_for
from api.services.summary import case_summary
from api.services.turn_store import Turn

if TYPE_CHECKING:  # for annotations only: a channel runs no SQL of its own (.importlinter)
    from sqlalchemy.orm import Session

log = logging.getLogger("helpline.channels.voice")

router = APIRouter(prefix="/twilio/voice", tags=["twilio"], include_in_schema=False)

XML = "application/xml"
VOICE = "Polly.Amy"  # British English (Amazon Polly, offered by Twilio)
LANGUAGE = "en-GB"
SILENCES_BEFORE_GOODBYE = 3
DIAL_TIMEOUT_SECONDS = 20  # ring a mobile this long: shorter than most voicemail pick-ups
HINTS = (
    "needlestick, needle, sharps, scalpel, lancet, bite, cut, splash, blood, eye, mouth, nose, "
    "broken skin, HIV, hepatitis B, hepatitis C, vaccinated, yes, no, don't know, not sure, "
    "nurse, doctor, pharmacist, manager, emergency, repeat, start again, stop, talk to a person"
)

GREETING_TEXT = "(call started)"
TRANSFER_TEXT = ("I am now putting you through to the on-call occupational health practitioner. "
                 "Please stay on the line.")
BACKUP_TEXT = "The on-call practitioner did not answer. I am trying the backup practitioner now."
LEAD_TEXT = "Nobody has answered yet. I am trying the clinical lead now."
NEXT_TEXT = {"backup": BACKUP_TEXT, "clinical_lead": LEAD_TEXT}
NOBODY_TEXT = (
    "I could not reach a practitioner by phone. Please go to your nearest emergency department now "
    "and tell them about the injury. If a life is at risk, call 999. The on-call practitioner has been "
    "sent a text with your details and will call you back."
)
CONTINUE_TEXT = "If you want to tell me more, say it now. Otherwise you can hang up."
GOODBYE_TEXT = ("Thank you for calling the occupational health helpline. If anything changes, call or "
                "text this number again. Goodbye.")
SILENCE_TEXT = "Sorry, I did not hear anything."
SILENT_GOODBYE_TEXT = (
    "I have not heard anything, so I will end the call. If you have had a needlestick or splash, "
    "let it bleed, wash it with soap and running water, and if in doubt go to the emergency department now. "
    "If a life is at risk, call 999. You can also text this number. Goodbye."
)


def read(params: dict[str, str], now: datetime, *, number: int, text: str, details: dict[str, Any],
         message: str | None = None) -> Inbound:
    """Turn `number` of a call as an Inbound (the call is the conversation; CallSid + turn the key)."""
    call_sid = params.get("CallSid", "")
    return Inbound(channel="voice", conversation_id=call_sid, text=text, received_at=now,
                   provider_sid=f"{call_sid}:{number}", phone=phone_or_none(params.get("From")), message=message,
                   details=details)


def read_gather(params: dict[str, str], now: datetime, number: int) -> Inbound:
    """What the caller said or pressed (an empty text: silence)."""
    speech = (params.get("SpeechResult") or "").strip()
    digits = (params.get("Digits") or "").strip()
    details: dict[str, Any] = {"speech": speech or None, "digits": digits or None}
    if params.get("Confidence"):
        details["confidence"] = params["Confidence"]
    return read(params, now, number=number, text=speech or digits, details=details)


def read_call_start(params: dict[str, str], now: datetime) -> Inbound:
    return read(params, now, number=0, text=GREETING_TEXT, message="/greet",
                details={"withheld": phone_or_none(params.get("From")) is None})


class VoiceAdapter:
    channel = "voice"
    message_paths = frozenset({"/twilio/voice", "/twilio/voice/gather"})

    async def inbound(self, request: Request, settings: Settings, now: datetime) -> Inbound | None:
        try:
            params = await twilio_params(request, settings)  # the form is cached: checked again, cheaply
        except HTTPException:
            return None
        if request.url.path == "/twilio/voice":
            return read_call_start(params, now)
        try:
            number = int(request.query_params.get("turn", "1"))
        except ValueError:
            number = 1
        return read_gather(params, now, number)

    def offline(self, inbound: Inbound) -> OfflineAnswer:
        # Silence is answered the same way, but there is nothing to keep.
        return OfflineAnswer(replies=[Reply(SAFE_ANSWER_NOT_PAGED)], keep=bool(inbound.text))

    def render_offline(self, inbound: Inbound, answer: OfflineAnswer) -> Response:
        response = VoiceResponse()
        for reply in answer.replies:
            _say(response, reply.text)
        response.hangup()
        return Response(str(response), media_type=XML)


ADAPTER = VoiceAdapter()


def _url(settings: Settings, path: str) -> str:
    return settings.public_base_url.rstrip("/") + path


def _say(parent: Any, text: str) -> None:
    text = texts.speakable(text)
    if text:
        parent.say(text, voice=VOICE, language=LANGUAGE)


def _buttons(replies: list[Reply]) -> tuple[Button, ...]:
    for reply in reversed(replies):
        if reply.buttons:
            return reply.buttons
    return ()


REPEAT_KEY = "*"
REPEAT_TEXT = "To hear the advice again, press star."


def has_advice(replies: list[Reply]) -> bool:
    """The bot marks a spoken advice block (actions/render.py show_advice) so a caller can hear it again."""
    return any(isinstance(r.extra.get("custom"), dict) and r.extra["custom"].get("advice") for r in replies)


def _gather(response: VoiceResponse, settings: Settings, *, replies: list[Reply], turn: int, silence: int = 0,
            preface: str | None = None) -> None:
    """Ask (the bot's messages inside a Gather), then re-prompt on silence."""
    buttons = _buttons(replies)
    hints = ", ".join([b.title for b in buttons if len(b.title) <= 100] + [HINTS])
    gather = response.gather(
        input="speech dtmf", action=_url(settings, f"/twilio/voice/gather?turn={turn}"), method="POST",
        language=LANGUAGE, hints=hints, speech_timeout="auto", timeout=6,
        num_digits=1 if 0 < len(buttons) <= 9 else None,
    )
    if preface:
        _say(gather, preface)
    for reply in replies:
        _say(gather, reply.text)
    if buttons:
        _say(gather, texts.keypad_choices(buttons) + " Or say your answer.")
    if has_advice(replies):
        _say(gather, REPEAT_TEXT)
    response.redirect(_url(settings, f"/twilio/voice/gather?turn={turn}&silence={silence + 1}"), method="POST")


def _dial(response: VoiceResponse, settings: Settings, *, target: dict[str, Any], ref: str, attempt: int,
          caller_id: str | None) -> None:
    dial = response.dial(
        action=_url(settings, f"/twilio/voice/dial-status?attempt={attempt}"), method="POST",
        timeout=DIAL_TIMEOUT_SECONDS, answer_on_bridge=True, caller_id=caller_id or None,
    )
    dial.number(target["mobile"], url=_url(settings, f"/twilio/voice/whisper?ref={quote(ref)}"), method="POST")


def _answer_turn(session: Session, settings: Settings, turn: Turn, params: dict[str, str], *, now: datetime,
                 next_turn: int) -> str:
    """The TwiML after a turn: the bot's words and the next question, or, for an emergency,
    the bot's words (first aid, emergency department) and a warm transfer."""
    call_sid = turn.inbound.conversation_id
    response = VoiceResponse()
    case = open_case_for(session, call_sid)
    if case is not None and case.urgency == Urgency.emergency and call_transfer.transfer_of(session, call_sid) is None:
        targets = paging.call_targets(session, now)
        if call_transfer.start_transfer(session, turn, case, targets=targets, text=TRANSFER_TEXT, now=now) is not None:
            for reply in turn.replies:
                _say(response, reply.text)
            if targets:
                _say(response, TRANSFER_TEXT)
                _dial(response, settings, target=targets[0], ref=case.ref, attempt=0, caller_id=params.get("To"))
            else:
                _gather(response, settings, replies=[], turn=next_turn, preface=f"{NOBODY_TEXT} {CONTINUE_TEXT}")
            return str(response)
    _gather(response, settings, replies=turn.replies, turn=next_turn)
    return str(response)


async def _voice_turn(request: Request, session: Session, settings: Settings, params: dict[str, str],
                      inbound: Inbound, number: int) -> Response:
    """One turn of a call. Async, like the SMS webhook: the database work on the threadpool, in
    order, and the wait for Rasa on relay_async's own threads, so a turn waiting for Rasa never
    holds a threadpool thread (the API needs those to answer the action server, which Rasa is
    waiting on)."""
    clock = request.app.state.clock
    step = await run_in_threadpool(partial(_receive, session, settings, clock, inbound))
    if isinstance(step, Response):
        return step
    turn = await relay.relay_if_needed(session, step, settings=settings, clock=clock)
    return await run_in_threadpool(partial(_respond, session, settings, turn, params, now=clock(),
                                           next_turn=number + 1))


def _receive(session: Session, settings: Settings, clock: Callable[[], datetime],
             inbound: Inbound) -> Response | Turn | ToRelay:
    """Store the turn: a retry gets the stored TwiML (or the first request's answer); a new turn
    is what to relay (a keypad or spoken number as the choice it picks)."""
    turn = turn_store.start_turn(session, inbound)
    if not turn.new:
        stored = (turn.inbound.details or {}).get("twiml")
        if stored is not None:
            return Response(stored, media_type=XML)
        return relay.settle(session, turn, settings=settings, clock=clock, phone=inbound.phone)
    if inbound.message is None:
        buttons = turn_store.last_buttons(session, inbound.conversation_id, before_id=turn.inbound.id)
        digits = inbound.details.get("digits")
        chosen = texts.pick(buttons, texts.choice_number(digits) if digits else
                            texts.choice_number(inbound.text, spoken=True))
        if chosen:
            turn.inbound.details = {**(turn.inbound.details or {}), "choice": chosen.as_dict()}
            session.commit()
            inbound = replace(inbound, message=chosen.payload)
    return ToRelay(turn, inbound)


def _respond(session: Session, settings: Settings, turn: Turn, params: dict[str, str], *, now: datetime,
             next_turn: int) -> Response:
    twiml = _answer_turn(session, settings, turn, params, now=now, next_turn=next_turn)
    turn_store.remember_response(session, turn, "twiml", twiml)
    return Response(twiml, media_type=XML)


@router.post("")
async def incoming_call(params: TwilioParams, request: Request, session: SessionDep,
                        settings: SettingsDep) -> Response:
    return await _voice_turn(request, session, settings, params, read_call_start(params, request.app.state.clock()),
                             number=0)


@router.post("/gather")
async def gathered(params: TwilioParams, request: Request, session: SessionDep, settings: SettingsDep,
                   turn: int = 1, silence: int = 0) -> Response:
    inbound = read_gather(params, request.app.state.clock(), turn)
    if not inbound.text:
        return await run_in_threadpool(partial(_silence, session, settings, params, turn=turn, silence=silence,
                                               now=request.app.state.clock()))
    if inbound.details.get("digits") == REPEAT_KEY:
        return await run_in_threadpool(partial(_repeat, session, settings, params, turn=turn))
    return await _voice_turn(request, session, settings, params, inbound, number=turn)


def _repeat(session: Session, settings: Settings, params: dict[str, str], *, turn: int) -> Response:
    """Star: the bot's last answer again (advice and question), the same turn still open. Never relayed."""
    response = VoiceResponse()
    _gather(response, settings, replies=turn_store.last_replies(session, params.get("CallSid", "")), turn=turn)
    return Response(str(response), media_type=XML)


def _silent_goodbye(session: Session, call_sid: str, *, now: datetime) -> str:
    """Silence still ends with the case reference, the outcome so far and what to do (the same
    words as the web chat's panel, from the stored case)."""
    case = open_case_for(session, call_sid)
    if case is None:
        return SILENT_GOODBYE_TEXT
    said = outcome.panel(case, call_by=paging.callback_deadline(case), now=now)
    steps = [*said["next_steps"], *([said["deadline"]] if said["deadline"] else [])]
    return (f"I have not heard anything, so I will end the call. Your case reference is "
            f"{texts.spell_ref(case.ref)}. {' '.join(steps)} If a life is at risk, call 999. "
            "You can also text this number. Goodbye.")


def _silence(session: Session, settings: Settings, params: dict[str, str], *, turn: int, silence: int,
             now: datetime) -> Response:
    """Nothing heard: ask again (the bot's last question), or say goodbye. Never relayed."""
    response = VoiceResponse()
    silence = max(silence, 1)
    if silence >= SILENCES_BEFORE_GOODBYE:
        _say(response, _silent_goodbye(session, params.get("CallSid", ""), now=now))
        response.hangup()
    else:
        replies = turn_store.last_replies(session, params.get("CallSid", ""))
        _gather(response, settings, replies=replies, turn=turn, silence=silence, preface=SILENCE_TEXT)
    return Response(str(response), media_type=XML)


@router.post("/dial-status")
def dial_status(params: TwilioParams, request: Request, session: SessionDep, settings: SettingsDep,
                attempt: int = 0) -> Response:
    call_sid = params.get("CallSid", "")
    status = (params.get("DialCallStatus") or "").lower()
    now = request.app.state.clock()
    transfer = call_transfer.transfer_of(session, call_sid)
    info = (transfer.details or {}).get("transfer", {}) if transfer else {}
    targets: list[dict[str, Any]] = info.get("targets") or []
    response = VoiceResponse()
    if status in ("completed", "answered"):
        _say(response, GOODBYE_TEXT)
        response.hangup()
        said = GOODBYE_TEXT
    elif attempt + 1 < len(targets):
        target = targets[attempt + 1]
        said = NEXT_TEXT.get(target["tier"], BACKUP_TEXT)
        _say(response, said)
        _dial(response, settings, target=target, ref=info["ref"], attempt=attempt + 1, caller_id=params.get("To"))
    else:
        # Nobody took the call: the caller is told what to do; the text pages carry on.
        _gather(response, settings, replies=[], turn=turn_store.highest_turn(session, call_sid) + 1,
                preface=f"{NOBODY_TEXT} {CONTINUE_TEXT}")
        said = NOBODY_TEXT
    row, new = call_transfer.record_dial_result(session, call_sid=call_sid, attempt=attempt,
                                                dial_status=status or "unknown", text=said, now=now)
    if not new and (row.details or {}).get("twiml"):
        return Response(row.details["twiml"], media_type=XML)
    twiml = str(response)
    row.details = {**(row.details or {}), "twiml": twiml}
    session.commit()
    return Response(twiml, media_type=XML)


@router.post("/whisper")
def whisper(params: TwilioParams, request: Request, session: SessionDep, settings: SettingsDep,
            ref: str = "") -> Response:
    """Read to the practitioner who answered, before the caller is connected."""
    now = request.app.state.clock()
    case = call_transfer.case_by_ref(session, ref)
    response = VoiceResponse()
    gather = response.gather(input="dtmf", num_digits=1, timeout=10, method="POST",
                             action=_url(settings, f"/twilio/voice/whisper/accept?ref={quote(ref)}"))
    if case is None:
        _say(gather, "Occupational health helpline: an emergency caller is waiting. Press 1 to take the call.")
    else:
        ed = bool((case.decision or {}).get("go_to_emergency_department"))
        _say(gather, (
            f"Occupational health helpline: an {case.urgency or 'urgent'} caller is waiting. "
            f"Case {texts.spell_ref(case.ref)}. {case_summary(case, now=now)} "
            + ("The caller has been told to go to the emergency department. " if ed else "")
            + "Press 1 to take the call."
        ))
    _say(response, "No key pressed. The call will go to the next practitioner. Goodbye.")
    response.hangup()
    return Response(str(response), media_type=XML)


@router.post("/whisper/accept")
def whisper_accept(params: TwilioParams, request: Request, session: SessionDep, ref: str = "") -> Response:
    response = VoiceResponse()
    if not params.get("Digits"):
        response.hangup()
        return Response(str(response), media_type=XML)
    to = phone_or_none(params.get("To") or params.get("Called"))
    call_transfer.log_case_event(session, ref, type="call_accepted", now=request.app.state.clock(),
                         description="on-call practitioner took the transferred call",
                         details={"to_last4": to[-4:] if to else None, "call_sid": params.get("CallSid")})
    _say(response, "Connecting you now.")
    return Response(str(response), media_type=XML)
