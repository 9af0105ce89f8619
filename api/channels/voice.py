"""Twilio voice: a spoken conversation with the bot.

    POST /twilio/voice                       a call comes in: turn 0 (the greeting, or carrying on)
    POST /twilio/voice/gather?turn=N&...     what the caller said or pressed, or silence: turn N
    POST /twilio/voice/offer?turn=N          after an emergency: put through now, or carry on
    POST /twilio/voice/text-me?turn=N        nobody took the call: text the reference, or not

The transfer itself (dial-status, whisper, accept) is in voice_transfer.py.

Each turn's idempotency key is CallSid + turn number (the turn is in the Gather's action
URL), so a retried request gets the stored TwiML and never a second turn or case. A caller
with a number has one conversation with the helpline whatever the channel (the same id as
their texts), so a call that dropped mid-questions carries on when they call or text again.
Silence, star and "repeat" are never relayed; every answer said or pressed is stored as a
turn with what was heard, the key and the recogniser's confidence. Calls are not recorded.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool
from twilio.twiml.voice_response import VoiceResponse

from api.channels import outcome, spoken, texts
from api.channels.adapter import OfflineAnswer
from api.channels.security import TwilioParams, twilio_params
from api.channels.voice_twiml import GOODBYE_AFTER, SILENCE_TEXT, XML, CallState, Voice
from api.core import phones
from api.core.config import Settings, get_settings
from api.deps import SessionDep, SettingsDep
from api.services import call_transfer, door_limits, paging, relay, turn_store
from api.services.door_limits import Check
from api.services.identities import phone_or_none, sms_conversation_id
from api.services.messages import Button, Inbound, Reply
from api.services.relay import ToRelay
from api.services.safe_answer import SAFE_ANSWER_NOT_PAGED, open_case_for
from api.services.turn_store import Turn

if TYPE_CHECKING:  # for annotations only: a channel runs no SQL of its own (.importlinter)
    from sqlalchemy.orm import Session

log = logging.getLogger("helpline.channels.voice")

router = APIRouter(prefix="/twilio/voice", tags=["twilio"], include_in_schema=False)

GREETING_TEXT = "(call started)"
PERSON_PAYLOAD = "/request_human"
# Inside Rasa's 60-minute session (domain.yml session_config): after that the bot has
# forgotten the questions, so a new call starts afresh.
RESUME_WINDOW = timedelta(minutes=55)

YES_NO = (Button("yes", "1"), Button("no", "2"))
OFFER_TEXT = ("To be connected to the on-call practitioner now, say yes, or press 1. "
              "To answer a few more questions first, say no, or press 2. "
              "If you say nothing, I will put you through.")
PUTTING_THROUGH_TEXT = "I am putting you through now."
TEXT_ME_TEXT = ("Can I send a text to this mobile with your case reference and the time to expect a call? "
                "Say yes, or press 1. Say no, or press 2.")
TEXTED_TEXT = "I have sent the text."
CONTINUE_TEXT = "If you want to tell me more, say it now. Otherwise you can hang up."
RESUME_TEXT = "Welcome back. This call carries on from your earlier conversation about case {ref}."
RESUME_OPEN_TEXT = "Please tell me what you would like to add."
SILENT_GOODBYE_TEXT = (
    "I have not heard anything, so I will end the call. If you have had a needlestick or splash, "
    "let it bleed, wash it with soap and running water, and if in doubt go to the emergency department now. "
    "If a life is at risk, call 999. You can also text this number. Goodbye."
)


def conversation_of(settings: Settings, params: dict[str, str]) -> str:
    """The caller's conversation: the same as their texts' (never their number), or the call itself
    when the number is withheld."""
    phone = phone_or_none(params.get("From"))
    return sms_conversation_id(settings.session_secret, phone) if phone else params.get("CallSid", "")


def read(params: dict[str, str], settings: Settings, now: datetime, *, number: int, text: str,
         details: dict[str, Any], message: str | None = None) -> Inbound:
    """Turn `number` of a call as an Inbound (CallSid + turn the key)."""
    call_sid = params.get("CallSid", "")
    return Inbound(channel="voice", conversation_id=conversation_of(settings, params), text=text, received_at=now,
                   provider_sid=f"{call_sid}:{number}", phone=phone_or_none(params.get("From")), message=message,
                   details={"call_sid": call_sid, **details})


def read_gather(params: dict[str, str], settings: Settings, now: datetime, number: int) -> Inbound:
    """What the caller said or pressed (an empty text: silence), with the recogniser's confidence."""
    speech = (params.get("SpeechResult") or "").strip()
    digits = (params.get("Digits") or "").strip()
    details: dict[str, Any] = {"speech": speech or None, "digits": digits or None}
    if speech and params.get("Confidence"):
        try:
            details["confidence"] = round(float(params["Confidence"]), 3)
        except ValueError:
            pass
    return read(params, settings, now, number=number, text=speech or digits, details=details)


def read_call_start(params: dict[str, str], settings: Settings, now: datetime) -> Inbound:
    return read(params, settings, now, number=0, text=GREETING_TEXT, message="/greet",
                details={"withheld": phone_or_none(params.get("From")) is None})


class VoiceAdapter:
    channel = "voice"
    message_paths = frozenset({"/twilio/voice", "/twilio/voice/gather", "/twilio/voice/offer",
                               "/twilio/voice/text-me"})

    async def inbound(self, request: Request, settings: Settings, now: datetime) -> Inbound | None:
        try:
            params = await twilio_params(request, settings)  # the form is cached: checked again, cheaply
        except HTTPException:
            return None
        if request.url.path == "/twilio/voice":
            return read_call_start(params, settings, now)
        try:
            number = int(request.query_params.get("turn", "1"))
        except ValueError:
            number = 1
        return read_gather(params, settings, now, number)

    def offline(self, inbound: Inbound) -> OfflineAnswer:
        # Silence is answered the same way, but there is nothing to keep.
        return OfflineAnswer(replies=[Reply(SAFE_ANSWER_NOT_PAGED)], keep=bool(inbound.text))

    def render_offline(self, inbound: Inbound, answer: OfflineAnswer) -> Response:
        voice = Voice(get_settings())  # no request settings on the offline path
        response = VoiceResponse()
        for reply in answer.replies:
            voice.say(response, reply.text)
        response.hangup()
        return Response(str(response), media_type=XML)


ADAPTER = VoiceAdapter()


def twiml(response: VoiceResponse) -> Response:
    return Response(str(response), media_type=XML)


# --- a turn -----------------------------------------------------------------------------------

async def _voice_turn(request: Request, session: Session, settings: Settings, params: dict[str, str],
                      inbound: Inbound, state: CallState) -> Response:
    """One turn of a call. Async, like the SMS webhook: the database work on the threadpool, in
    order, and the wait for Rasa on relay_async's own threads, so a turn waiting for Rasa never
    holds a threadpool thread (the API needs those to answer the action server, which Rasa is
    waiting on)."""
    clock = request.app.state.clock
    step = await run_in_threadpool(partial(_receive, session, settings, clock, inbound))
    if isinstance(step, Response):
        return step
    if isinstance(step, ToRelay):
        limits = door_limits.of(request.app.state, settings)
        if limited := await run_in_threadpool(partial(_over_limit, session, settings, limits, step, state, clock())):
            return limited
    turn = await relay.relay_if_needed(session, step, settings=settings, clock=clock)
    return await run_in_threadpool(partial(_respond, session, settings, turn, params, now=clock(), state=state))


def _receive(session: Session, settings: Settings, clock: Callable[[], datetime],
             inbound: Inbound) -> Response | Turn | ToRelay:
    """Store the turn: a retry gets the stored TwiML (or the first request's answer); a new turn
    is what to relay (a key or a spoken option as the choice it picks, 0 as asking for a person)."""
    turn = turn_store.start_turn(session, inbound)
    if not turn.new:
        stored = (turn.inbound.details or {}).get("twiml")
        if stored is not None:
            return Response(stored, media_type=XML)
        return relay.settle(session, turn, settings=settings, clock=clock, phone=inbound.phone)
    if inbound.message is None:
        digits = inbound.details.get("digits")
        if digits == spoken.PERSON_KEY:
            return ToRelay(turn, replace(inbound, message=PERSON_PAYLOAD))
        buttons = turn_store.last_buttons(session, inbound.conversation_id, before_id=turn.inbound.id)
        if digits:
            chosen = texts.pick(buttons, texts.choice_number(digits))
        else:
            chosen = spoken.matching_button(buttons, inbound.text) or texts.pick(
                buttons, texts.choice_number(inbound.text, spoken=True))
        if chosen:
            turn.inbound.details = {**(turn.inbound.details or {}), "choice": chosen.as_dict()}
            session.commit()
            inbound = replace(inbound, message=chosen.payload)
    return ToRelay(turn, inbound)


def _over_limit(session: Session, settings: Settings, limits: door_limits.DoorLimits, step: ToRelay,
                state: CallState, now: datetime) -> Response | None:
    """Calls from one number, and answers within one call, are limited (api/services/door_limits.py):
    over a limit the caller hears the safety advice and the call ends; nothing is relayed, no case."""
    inbound = step.inbound
    checks = [Check("voice_call", inbound.details.get("call_sid") or inbound.conversation_id)]
    if state.turn == 0:
        checks.insert(0, Check("voice_number", door_limits.phone_key(inbound.conversation_id, inbound.phone)))
    rule = limits.over(checks)
    if rule is None:
        return None
    turn = door_limits.answer(session, step.turn, rule=rule, now=now, text=door_limits.THROTTLED_SPOKEN)
    response = VoiceResponse()
    Voice(settings).say(response, door_limits.THROTTLED_SPOKEN)
    response.hangup()
    body = str(response)
    turn_store.remember_response(session, turn, "twiml", body)
    return Response(body, media_type=XML)


def _respond(session: Session, settings: Settings, turn: Turn, params: dict[str, str], *, now: datetime,
             state: CallState) -> Response:
    body = str(_answer_turn(session, settings, turn, params, now=now, state=state))
    turn_store.remember_response(session, turn, "twiml", body)
    return Response(body, media_type=XML)


def _answer_turn(session: Session, settings: Settings, turn: Turn, params: dict[str, str], *, now: datetime,
                 state: CallState) -> VoiceResponse:
    """The bot's words and its next question; after a turn that made the case an emergency, the
    emergency department first, then the offer to be put through now (the question waits)."""
    voice = Voice(settings)
    response = VoiceResponse()
    call_sid = params.get("CallSid", "")
    next_state = CallState(turn=state.turn + 1, miss=state.miss + 1 if spoken.misunderstood(turn.replies) else 0)
    case = open_case_for(session, turn.inbound.conversation_id)
    if case is not None and call_transfer.needs_offer(session, call_sid, case):
        said, question = spoken.question_of(turn.replies)
        if call_transfer.record_offer(session, call_sid=call_sid, turn=turn, case=case, pending=question,
                                      now=now):
            for reply in spoken.emergency_first(said):
                voice.say(response, reply.text)
            voice.ask(response, replies=[Reply(OFFER_TEXT, buttons=YES_NO)], state=CallState(next_state.turn),
                      path="/twilio/voice/offer", say_options=False)
            return response
    voice.ask(response, replies=turn.replies, state=next_state)
    return response


# --- routes -----------------------------------------------------------------------------------

@router.post("")
async def incoming_call(params: TwilioParams, request: Request, session: SessionDep,
                        settings: SettingsDep) -> Response:
    inbound = read_call_start(params, settings, request.app.state.clock())
    carried_on = await run_in_threadpool(partial(_carry_on, session, settings, inbound))
    if carried_on is not None:
        return carried_on
    return await _voice_turn(request, session, settings, params, inbound, CallState(turn=0))


def _carry_on(session: Session, settings: Settings, inbound: Inbound) -> Response | None:
    """A caller whose conversation is still open (a call that dropped, or texts) within the bot's
    session: welcomed back with the case reference and the question that was waiting, instead
    of a greeting that would start again."""
    if inbound.phone is None:
        return None
    since = inbound.received_at - RESUME_WINDOW
    if not turn_store.active_since(session, inbound.conversation_id, since):
        return None
    case = open_case_for(session, inbound.conversation_id)
    if case is None:
        return None
    turn = turn_store.start_turn(session, replace(inbound, message=None), details={"resumed": case.ref})
    if not turn.new:
        stored = (turn.inbound.details or {}).get("twiml")
        return Response(stored, media_type=XML) if stored else None
    last = turn_store.last_replies(session, inbound.conversation_id, channel="voice", before_id=turn.inbound.id)
    _, question = spoken.question_of(last)
    welcome = [Reply(RESUME_TEXT.format(ref=case.ref)), *(question or [Reply(RESUME_OPEN_TEXT)])]
    turn = turn_store.answer(session, turn, welcome, now=inbound.received_at)
    response = VoiceResponse()
    Voice(settings).ask(response, replies=welcome, state=CallState(turn=1))
    body = str(response)
    turn_store.remember_response(session, turn, "twiml", body)
    return Response(body, media_type=XML)


@router.post("/gather")
async def gathered(params: TwilioParams, request: Request, session: SessionDep, settings: SettingsDep,
                   turn: int = 1, silence: int = 0, miss: int = 0) -> Response:
    state = CallState(turn=turn, silence=max(silence, 0), miss=max(miss, 0))
    inbound = read_gather(params, settings, request.app.state.clock(), turn)
    if not inbound.text:
        return await run_in_threadpool(partial(_silence, session, settings, inbound, state=state))
    if spoken.wants_repeat(inbound.text):
        return await run_in_threadpool(partial(_repeat, session, settings, inbound, state=state))
    return await _voice_turn(request, session, settings, params, inbound, state)


def _repeat(session: Session, settings: Settings, inbound: Inbound, *, state: CallState) -> Response:
    """Star or "repeat": the bot's last answer again (advice and question), the same turn still
    open. Never relayed."""
    response = VoiceResponse()
    Voice(settings).ask(response, replies=turn_store.last_replies(session, inbound.conversation_id), state=state)
    return twiml(response)


def _silence(session: Session, settings: Settings, inbound: Inbound, *, state: CallState) -> Response:
    """Nothing heard: the question again (for the keypad after two silences, with the offer of a
    person after three), or, after four, goodbye with what to do. Never relayed."""
    response = VoiceResponse()
    voice = Voice(settings)
    state = state.silent()
    if state.silence >= GOODBYE_AFTER:
        voice.say(response, _silent_goodbye(session, inbound.conversation_id, now=inbound.received_at))
        response.hangup()
        return twiml(response)
    _, question = spoken.question_of(turn_store.last_replies(session, inbound.conversation_id))
    voice.ask(response, replies=question, state=state, preface=SILENCE_TEXT if state.silence == 1 else None)
    return twiml(response)


def _silent_goodbye(session: Session, conversation_id: str, *, now: datetime) -> str:
    """Silence still ends with the case reference, the outcome so far and what to do (the same
    words as the web chat's panel, from the stored case)."""
    case = open_case_for(session, conversation_id)
    if case is None:
        return SILENT_GOODBYE_TEXT
    said = outcome.panel(case, call_by=paging.callback_deadline(case), now=now)
    steps = [*said["next_steps"], *([said["deadline"]] if said["deadline"] else [])]
    return (f"I have not heard anything, so I will end the call. Your case reference is "
            f"{case.ref}. {' '.join(steps)} If a life is at risk, call 999. "
            "You can also text this number. Goodbye.")


@router.post("/offer")
async def offer_answered(params: TwilioParams, request: Request, session: SessionDep, settings: SettingsDep,
                         turn: int = 1) -> Response:
    """After an emergency: yes (or silence) puts the caller through; no asks the question that was
    waiting; anything else is an answer, relayed like any turn."""
    inbound = read_gather(params, settings, request.app.state.clock(), turn)
    choice = True if not inbound.text else spoken.wants_connect(inbound.text)
    if choice is None:
        return await _voice_turn(request, session, settings, params, inbound, CallState(turn=turn))
    return await run_in_threadpool(partial(_offer_choice, session, settings, params, inbound, connect=choice,
                                           turn=turn))


def _offer_choice(session: Session, settings: Settings, params: dict[str, str], inbound: Inbound, *,
                  connect: bool, turn: int) -> Response:
    call_sid = params.get("CallSid", "")
    offer = call_transfer.offer_of(session, call_sid)
    if offer is None:  # no offer on this call: answer as the question now open
        response = VoiceResponse()
        Voice(settings).ask(response, replies=turn_store.last_replies(session, inbound.conversation_id),
                            state=CallState(turn))
        return twiml(response)
    stored = call_transfer.answered_offer(offer)
    if stored is not None:  # a retried request
        return Response(stored, media_type=XML)
    voice = Voice(settings)
    response = VoiceResponse()
    pending = call_transfer.pending_question(offer)
    case = call_transfer.case_by_ref(session, call_transfer.offer_ref(offer))
    if connect and case is not None:
        targets = paging.call_targets(session, inbound.received_at)
        call_transfer.start_transfer(session, call_sid=call_sid, conversation_id=inbound.conversation_id,
                                     reply_to_id=offer.reply_to_id, case=case, targets=targets,
                                     text=PUTTING_THROUGH_TEXT, now=inbound.received_at)
        if targets:
            voice.say(response, PUTTING_THROUGH_TEXT)
            voice.dial(response, target=targets[0], ref=case.ref, attempt=0, caller_id=params.get("To"))
        else:
            nobody_answered(voice, response, session, params, case=case, turn=turn, now=inbound.received_at)
    else:
        voice.ask(response, replies=pending or [Reply(CONTINUE_TEXT)], state=CallState(turn))
    body = str(response)
    call_transfer.answer_offer(session, offer, connect=connect, twiml=body, heard=inbound.details)
    return Response(body, media_type=XML)


def nobody_answered(voice: Voice, response: VoiceResponse, session: Session, params: dict[str, str], *,
                    case: Any, turn: int, now: datetime) -> None:
    """Nobody took the call: what to do now and what happens next, then (to a mobile) the offer of
    the reference and the deadline by text; then the question that was waiting."""
    call_sid = params.get("CallSid", "")
    voice.say(response, nobody_text(case, call_by=paging.callback_deadline(case), now=now))
    caller = phone_or_none(params.get("From"))
    if caller and is_mobile(caller):
        voice.ask(response, replies=[Reply(TEXT_ME_TEXT, buttons=YES_NO)], state=CallState(turn),
                  path="/twilio/voice/text-me", say_options=False)
        return
    offer = call_transfer.offer_of(session, call_sid)
    pending = call_transfer.pending_question(offer)
    voice.ask(response, replies=pending or [Reply(CONTINUE_TEXT)], state=CallState(turn))


def nobody_text(case: Any, *, call_by: datetime | None, now: datetime) -> str:
    """What the caller hears when nobody on the ladder took the call: what to do now, what happens
    next, the reference to write down."""
    when = f" by {outcome.london_time(call_by, now=now)}" if call_by is not None else ""
    return (f"I could not reach a practitioner by phone. Go to your nearest emergency department now and tell them "
            f"about the injury. If a life is at risk, call 999. The on-call practitioner has been sent your details "
            f"and will call you back{when}. Your case reference is {case.ref}.")


def reference_text(case: Any, *, call_by: datetime | None, now: datetime) -> str:
    """The text a caller agreed to: the reference and the deadline, no clinical words (a phone
    screen may be read by anyone)."""
    when = f" If nobody has called you by {outcome.london_time(call_by, now=now)}, call NHS 111." if call_by else ""
    return (f"NHS occupational health helpline: your case reference is {case.ref}. "
            f"Go to the emergency department if you have not already. The on-call practitioner will call you "
            f"back.{when} If a life is at risk, call 999.")


def is_mobile(number: str) -> bool:
    """A UK mobile: a text can reach it."""
    return phones.is_uk_mobile(number)


@router.post("/text-me")
async def text_me(params: TwilioParams, request: Request, session: SessionDep, settings: SettingsDep,
                  turn: int = 1) -> Response:
    """The caller's answer to "can I text your reference?": yes sends it (the outbox), no or silence
    does not; either way the question that was waiting comes next."""
    inbound = read_gather(params, settings, request.app.state.clock(), turn)
    agreed = bool(inbound.text) and spoken.wants_connect(inbound.text) is True
    return await run_in_threadpool(partial(_text_me, session, settings, params, inbound, agreed=agreed, turn=turn))


def _text_me(session: Session, settings: Settings, params: dict[str, str], inbound: Inbound, *, agreed: bool,
             turn: int) -> Response:
    call_sid = params.get("CallSid", "")
    offer = call_transfer.offer_of(session, call_sid)
    case = call_transfer.case_by_ref(session, call_transfer.offer_ref(offer))
    response = VoiceResponse()
    voice = Voice(settings)
    caller = phone_or_none(params.get("From"))
    sent = False
    if agreed and case is not None and caller and is_mobile(caller):
        body = reference_text(case, call_by=paging.callback_deadline(case), now=inbound.received_at)
        sent = call_transfer.text_reference(session, case, call_sid=call_sid, to=caller, body=body,
                                            now=inbound.received_at)
    pending = call_transfer.pending_question(offer)
    voice.ask(response, replies=[*([Reply(TEXTED_TEXT)] if sent else []), *(pending or [Reply(CONTINUE_TEXT)])],
              state=CallState(turn))
    return twiml(response)
