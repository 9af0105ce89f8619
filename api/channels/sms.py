"""Twilio SMS: inbound texts (POST /twilio/sms) and delivery status callbacks (POST /twilio/status)."""
from __future__ import annotations

import logging
from functools import partial

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool
from twilio.twiml.messaging_response import MessagingResponse

from api.channels import texts
from api.channels.security import TwilioParams
from api.deps import SessionDep, SettingsDep
from api.services import paging, relay
from api.services.relay import Reply, ToRelay, Turn
from api.services.summary import case_summary

log = logging.getLogger("helpline.channels.sms")

router = APIRouter(prefix="/twilio", tags=["twilio"], include_in_schema=False)

XML = "application/xml"


def _twiml(replies: list[Reply]) -> str:
    response = MessagingResponse()
    for chunk in texts.split_sms(texts.sms_body(replies)):
        response.message(chunk)
    return str(response)


def _ack_text(page, now) -> str:
    case = page.case
    callback = (case.contact or {}).get("phone")
    parts = [f"Acknowledged {case.ref} ({case.urgency or 'urgency not set'}).", case_summary(case, now=now)]
    parts.append(f"Call back: {callback}." if callback else "No call-back number yet: see the case.")
    return " ".join(parts)


@router.post("/sms")
async def inbound_sms(params: TwilioParams, request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """Async so that a turn waiting for Rasa holds no threadpool thread (relay.relay_async):
    under load those threads are what the API needs to answer the action server, which Rasa
    is waiting on. Everything that touches the database runs on the threadpool, in order."""
    step = await run_in_threadpool(_receive, params, request, session, settings)
    if isinstance(step, Response):
        return step
    turn = await relay.relay_if_needed(session, step, settings=settings, clock=request.app.state.clock)
    return await run_in_threadpool(partial(_respond, session, turn))


def _respond(session, turn: Turn) -> Response:
    twiml = _twiml(turn.replies)
    relay.remember_response(session, turn, "twiml", twiml)
    return Response(twiml, media_type=XML)


def _receive(params: dict[str, str], request: Request, session, settings) -> Response | Turn | ToRelay:
    """Store the turn and answer what needs no Rasa; otherwise what to relay."""
    clock = request.app.state.clock
    now = clock()
    message_sid = params.get("MessageSid") or params.get("SmsSid") or ""
    body = params.get("Body", "")
    phone = relay.phone_or_none(params.get("From"))
    if phone:
        conversation_id = relay.sms_conversation_id(settings.session_secret, phone)
    else:
        conversation_id = relay.anonymous_conversation_id(settings.session_secret, message_sid or body)

    turn = relay.start_turn(session, provider_sid=f"sms:{message_sid}" if message_sid else None,
                            conversation_id=conversation_id, channel="sms", text=body, now=now,
                            details={"num_media": params.get("NumMedia", "0")})
    if not turn.new:
        stored = (turn.inbound.details or {}).get("twiml")
        if stored is not None:
            return Response(stored, media_type=XML)
        turn = relay.settle(session, turn, settings=settings, clock=clock, phone=phone)
        return Response(_twiml(turn.replies), media_type=XML)

    word = texts.keyword(body)
    ref = texts.ack_ref(body)
    if word == "stop":
        # Twilio opts the number out and confirms; a reply from us would not be delivered.
        turn = relay.answer(session, turn, [], now=now, details={"keyword": "stop"})
    elif word == "start":
        turn = relay.answer(session, turn, [Reply(texts.START_TEXT)], now=now, details={"keyword": "start"})
    elif word == "help":
        turn = relay.answer(session, turn, [Reply(texts.HELP_TEXT)], now=now, details={"keyword": "help"})
    elif not body.strip():
        turn = relay.answer(session, turn, [Reply(texts.EMPTY_TEXT)], now=now, details={"empty": True})
    elif ref and phone and (page := paging.acknowledge_by_reply(session, ref=ref, from_number=phone, now=now)):
        # Only the paged practitioner, from their registered number, gets here.
        text = _ack_text(page, now)
        turn = relay.answer(session, turn, [Reply(text)], now=now, details={"ack": ref, "page_id": page.id})
    else:
        if ref:
            session.rollback()  # not theirs to acknowledge: an ordinary message to the bot
        buttons = relay.last_buttons(session, conversation_id, before_id=turn.inbound.id)
        chosen = texts.pick(buttons, texts.choice_number(body))
        message = chosen.payload if chosen else None
        if chosen:
            turn.inbound.details = {**(turn.inbound.details or {}), "choice": chosen.as_dict()}
            session.commit()
        return ToRelay(turn, phone, message)
    return turn


@router.post("/status")
def sms_status(params: TwilioParams, request: Request, session: SessionDep) -> Response:
    """Delivery reports for the texts the notifier sent (pages to practitioners)."""
    sid = params.get("MessageSid") or params.get("SmsSid")
    status = params.get("MessageStatus") or params.get("SmsStatus") or ""
    if sid and status:
        relay.record_sms_status(session, message_sid=sid, status=status, error_code=params.get("ErrorCode"),
                                now=request.app.state.clock())
    return Response(status_code=204)
