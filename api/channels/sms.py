"""Twilio SMS: inbound texts (POST /twilio/sms) and delivery status callbacks (POST /twilio/status).

`SmsAdapter` owns the channel's ids (a conversation per texter's number, HMAC'd; one per
message when the number is withheld) and its wording (TwiML messages, Twilio's keywords).

Texts from one number are limited (api/services/door_limits.py): one over the limit is stored and
answered with the safety advice, but not relayed to the bot and opens no case. Keywords and
acknowledgements are answered here and are not counted.
"""
from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from functools import partial

from fastapi import APIRouter, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool
from twilio.twiml.messaging_response import MessagingResponse

from api.channels import intents, texts
from api.channels.adapter import OfflineAnswer
from api.channels.security import TwilioParams, twilio_params
from api.core.config import Settings
from api.deps import SessionDep, SettingsDep
from api.services import delivery_status, door_limits, paging, relay, turn_store
from api.services.door_limits import Check
from api.services.identities import anonymous_conversation_id, phone_or_none, sms_conversation_id
from api.services.messages import Inbound, Reply
from api.services.relay import ToRelay
from api.services.safe_answer import SAFE_ANSWER_NOT_PAGED
from api.services.turn_store import Turn

log = logging.getLogger("helpline.channels.sms")

router = APIRouter(prefix="/twilio", tags=["twilio"], include_in_schema=False)

XML = "application/xml"

# Twilio's keywords and an empty message are answered here, never by the bot, with or
# without a database. STOP gets no reply: Twilio opts the number out and confirms itself.
KEYWORD_REPLIES: dict[str, list[Reply]] = {
    "stop": [], "start": [Reply(texts.START_TEXT)], "help": [Reply(texts.HELP_TEXT)],
}


def render(replies: list[Reply]) -> Response:
    return Response(twiml(replies), media_type=XML)


def twiml(replies: list[Reply]) -> str:
    response = MessagingResponse()
    for chunk in texts.split_sms(texts.sms_body(replies)) if replies else []:
        response.message(chunk)
    return str(response)


def read(params: dict[str, str], settings: Settings, now: datetime) -> Inbound:
    """A signed webhook's form as an Inbound (keyword and media count in its details)."""
    message_sid = params.get("MessageSid") or params.get("SmsSid") or ""
    body = params.get("Body", "")
    phone = phone_or_none(params.get("From"))
    conversation_id = (sms_conversation_id(settings.session_secret, phone) if phone
                       else anonymous_conversation_id(settings.session_secret, message_sid or body))
    details: dict[str, str | bool] = {"num_media": params.get("NumMedia", "0")}
    if word := texts.keyword(body):
        details["keyword"] = word
    elif not body.strip():
        details["empty"] = True
    return Inbound(channel="sms", conversation_id=conversation_id, text=body, received_at=now,
                   provider_sid=f"sms:{message_sid}" if message_sid else None, phone=phone, details=details)


def prepared_reply(inbound: Inbound) -> list[Reply] | None:
    """The channel's own answer (a keyword, an empty message), or None: the bot's to answer."""
    word = inbound.details.get("keyword")
    if word:
        return KEYWORD_REPLIES[word]
    if inbound.details.get("empty"):
        return [Reply(texts.EMPTY_TEXT)]
    return None


class SmsAdapter:
    channel = "sms"
    message_paths = frozenset({"/twilio/sms"})

    async def inbound(self, request: Request, settings: Settings, now: datetime) -> Inbound | None:
        try:
            params = await twilio_params(request, settings)  # the form is cached: checked again, cheaply
        except HTTPException:
            return None
        inbound = read(params, settings, now)
        if prepared_reply(inbound) is not None or texts.ack_ref(inbound.text):
            return inbound
        limits = door_limits.of(request.app.state, settings)
        rule = await run_in_threadpool(limits.over, [number_check(inbound)])
        return replace(inbound, details={**inbound.details, "throttled": rule}) if rule else inbound

    def offline(self, inbound: Inbound) -> OfflineAnswer:
        prepared = prepared_reply(inbound)
        if prepared is not None:
            return OfflineAnswer(replies=prepared, needs_case=False)
        # An acknowledgement cannot be checked without the database: the page carries on
        # climbing, the practitioner is told the safe answer, and no case is opened for it;
        # nor for a text over the limit.
        return OfflineAnswer(replies=[Reply(SAFE_ANSWER_NOT_PAGED)],
                             needs_case=not (texts.ack_ref(inbound.text) or inbound.details.get("throttled")))

    def render_offline(self, inbound: Inbound, answer: OfflineAnswer) -> Response:
        return render(answer.replies)


ADAPTER = SmsAdapter()


def number_check(inbound: Inbound) -> Check:
    return Check("sms_number", door_limits.phone_key(inbound.conversation_id, inbound.phone))


def _ack_text(page, now) -> str:
    """Names the page acknowledged ("Page 12 for SH-000123 acknowledged ...")."""
    return paging.ack_reply_text(page, now=now)


@router.post("/sms")
async def inbound_sms(params: TwilioParams, request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """Async so that a turn waiting for Rasa holds no threadpool thread (relay.relay_async):
    under load those threads are what the API needs to answer the action server, which Rasa
    is waiting on. Everything that touches the database runs on the threadpool, in order."""
    inbound = read(params, settings, request.app.state.clock())
    step = await run_in_threadpool(_receive, inbound, request, session, settings)
    if isinstance(step, Response):
        return step
    turn = await relay.relay_if_needed(session, step, settings=settings, clock=request.app.state.clock)
    return await run_in_threadpool(partial(_respond, session, turn))


def _respond(session, turn: Turn) -> Response:
    body = twiml(turn.replies)
    turn_store.remember_response(session, turn, "twiml", body)
    return Response(body, media_type=XML)


def _receive(inbound: Inbound, request: Request, session, settings) -> Response | Turn | ToRelay:
    """Store the turn and answer what needs no Rasa; otherwise what to relay."""
    clock = request.app.state.clock
    now = inbound.received_at
    turn = turn_store.start_turn(session, inbound)
    if not turn.new:
        stored = (turn.inbound.details or {}).get("twiml")
        if stored is not None:
            return Response(stored, media_type=XML)
        turn = relay.settle(session, turn, settings=settings, clock=clock, phone=inbound.phone)
        return render(turn.replies)

    prepared = prepared_reply(inbound)
    ref = texts.ack_ref(inbound.text)
    if prepared is not None:
        return turn_store.answer(session, turn, prepared, now=now)
    if ref and inbound.phone:
        ack = paging.ack_by_reply(session, ref=ref, from_number=inbound.phone, now=now)
        if ack.page is not None:
            # Only an active practitioner holding a live page of the case, from their registered number.
            return turn_store.answer(session, turn, [Reply(ack.text)], now=now,
                                     details={"ack": ref, "page_id": ack.page.id})
        session.rollback()
        # The same neutral answer whatever the reason: nothing about the case or the number.
        return turn_store.answer(session, turn, [Reply(ack.text)], now=now, details={"ack_refused": True})
    if rule := door_limits.of(request.app.state, settings).over([number_check(inbound)]):
        return door_limits.answer(session, turn, rule=rule, now=now)
    buttons = turn_store.last_buttons(session, inbound.conversation_id, before_id=turn.inbound.id)
    chosen = texts.pick(buttons, texts.choice_number(inbound.text))
    if chosen:
        turn.inbound.details = {**(turn.inbound.details or {}), "choice": chosen.as_dict()}
        session.commit()
        return ToRelay(turn, replace(inbound, message=chosen.payload))
    # A text that starts with "/" reaches Rasa as an intent only if it is an offered button's payload.
    message, refused = intents.vetted(inbound.text, None, buttons)
    if refused:
        turn.inbound.details = {**(turn.inbound.details or {}), "payload_refused": True}
        session.commit()
    return ToRelay(turn, replace(inbound, message=message))


@router.post("/status")
def sms_status(params: TwilioParams, request: Request, session: SessionDep) -> Response:
    """Delivery reports for the texts the notifier sent (pages to practitioners)."""
    sid = params.get("MessageSid") or params.get("SmsSid")
    status = params.get("MessageStatus") or params.get("SmsStatus") or ""
    if sid and status:
        delivery_status.record_sms_status(session, message_sid=sid, status=status,
                                          error_code=params.get("ErrorCode"), now=request.app.state.clock())
    return Response(status_code=204)
