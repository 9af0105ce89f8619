"""The web chat: GET /chat (the page), POST /chat/messages (one turn, relayed like SMS) and
GET /chat/history (this conversation's turns and outcome, for a reload).

No login: a signed session cookie (itsdangerous, SESSION_SECRET) holds only a random
conversation id (and the organisation code of the poster link it was opened from, if any); a
missing, forged, tampered or expired cookie starts a new conversation, never someone else's.
The page is served by the API, so it is same-origin and not under /api/.
Every answer carries the conversation's case as a confirmation panel (api/channels/outcome.py),
read from the database: only a case whose conversation_id is the cookie's conversation.

Open to anyone, so limited (api/services/door_limits.py): messages per conversation, messages per
client address, and new conversations per client address (a POST without a cookie is one). A
message over a limit is stored and answered with the safety advice, not relayed, no case. A
button's payload reaches Rasa only if the bot offered that button (api/channels/intents.py).
"""
from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Cookie, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature, URLSafeTimedSerializer
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.channels import intents
from api.channels import outcome as outcome_panel
from api.channels.adapter import OfflineAnswer
from api.core import phones
from api.core.config import Settings
from api.deps import SessionDep, SettingsDep
from api.enums import TurnStatus
from api.models import Case
from api.services import cases, door_limits, origins, relay, turn_store
from api.services.abuse import CLIENT_DETAIL
from api.services.door_limits import Check, DoorLimits
from api.services.identities import web_client_id
from api.services.messages import Button, Inbound, Reply
from api.services.paging import callback_deadline
from api.services.relay import ToRelay
from api.services.safe_answer import SAFE_ANSWER_NOT_PAGED

if TYPE_CHECKING:  # for annotations only: a channel runs no SQL of its own (.importlinter)
    from sqlalchemy.orm import Session

HERE = Path(__file__).resolve().parent
COOKIE = "oh_chat"
COOKIE_MAX_AGE = 12 * 3600  # a conversation outlives a shift break, not a week
SALT = "helpline.chat.v1"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
       "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")

router = APIRouter(tags=["chat"], include_in_schema=False)
router.mount("/static/chat", StaticFiles(directory=HERE / "static"), name="chat-static")
templates = Jinja2Templates(directory=HERE / "templates")

# GET /chat/history returns at most this many stored turns (the newest), each text cut to
# HISTORY_TEXT_CHARS: a reload shows the conversation, never an unbounded answer.
HISTORY_TURNS = 200
HISTORY_TEXT_CHARS = 4000

# What the page offers before anyone has typed: the same choices as the bot's greeting.
START_CHOICES = [
    {"title": "I've had a needlestick, cut, bite or splash", "payload": "/choose_sharps_line"},
    {"title": "I'm a manager with a question", "payload": "/choose_manager_line"},
]
START_BUTTONS = tuple(Button(**choice) for choice in START_CHOICES)


class ChatIn(BaseModel):
    text: str = Field(..., min_length=1, max_length=2000, description="What the person typed, or the button's title")
    payload: str | None = Field(None, max_length=500, description="The quick-reply button's payload")
    client_id: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{8,40}$", description="Per message, for retries")


def read(settings: Settings, cookie: str | None, *, text: str, payload: str | None, client_id: str | None,
         now: datetime) -> Inbound:
    """One chat message as an Inbound: the cookie's conversation (a new one without a valid
    cookie), the button's payload kept (what Rasa is sent is decided once the turn is stored:
    `vet`), the client's id for retries."""
    cid = conversation(settings, cookie) or f"web-{secrets.token_hex(16)}"
    return Inbound(channel="web", conversation_id=cid, text=text, received_at=now,
                   provider_sid=f"web:{cid}:{client_id}" if client_id else None,
                   details={"payload": payload} if payload else {})


def client_address(request: Request, settings: Settings) -> str:
    """The client's address (X-Forwarded-For only from a trusted proxy: TRUSTED_PROXIES)."""
    return door_limits.client_address(request.client.host if request.client else None,
                                      request.headers.get("x-forwarded-for"), settings.trusted_proxy_networks)


def checks(session: Session, turn: turn_store.Turn, client: str) -> list[Check]:
    """The limits a new turn counts against: its conversation, its client, and (the conversation's
    first message that would reach the bot) new conversations from its client."""
    cid = turn.inbound.conversation_id
    found = [Check("chat_conversation", cid), Check("chat_client", client)]
    if not door_limits.established(session, cid, before_id=turn.inbound.id):
        found.append(Check("chat_new", client))
    return found


def vet(session: Session, turn: turn_store.Turn, inbound: Inbound) -> Inbound:
    """What Rasa is sent: the payload only if the bot's last answer offered it (the start choices
    before the bot has answered), else the person's words (intents.vetted)."""
    offered = turn_store.last_buttons(session, inbound.conversation_id, before_id=turn.inbound.id)
    if not offered and not turn_store.last_replies(session, inbound.conversation_id, before_id=turn.inbound.id):
        offered = START_BUTTONS
    message, refused = intents.vetted(inbound.text, inbound.details.get("payload"), offered)
    if refused:
        turn.inbound.details = {**(turn.inbound.details or {}), "payload_refused": True}
        session.commit()
    return replace(inbound, message=message)


def receive(session: Session, settings: Settings, limits: DoorLimits, client: str,
            clock: Callable[[], datetime], inbound: Inbound, origin: str | None = None) -> turn_store.Turn | ToRelay:
    """Store the turn; a retry gets the first request's answer, a turn over a limit the safety
    advice (door_limits.answer); otherwise what to relay. The conversation's first turn keeps the
    organisation of the poster link it began from (`origin`, a code)."""
    turn = turn_store.start_turn(session, inbound)
    if not turn.new:
        return relay.settle(session, turn, settings=settings, clock=clock, phone=None)
    if origin:
        origins.record_first(session, conversation_id=inbound.conversation_id, code=origin, turn_id=turn.inbound.id,
                             now=inbound.received_at)
    if rule := limits.over(checks(session, turn, client)):
        return door_limits.answer(session, turn, rule=rule, now=clock())
    return ToRelay(turn, vet(session, turn, inbound))


def render(replies: list[Reply], *, status: str, outcome: dict[str, Any] | None) -> dict[str, Any]:
    """The JSON the chat page shows: the messages, and the case panel once there is a case."""
    result: dict[str, Any] = {"messages": [r.as_dict() for r in replies if r.text or r.buttons], "status": status,
                              "case_ref": outcome["ref"] if outcome else None}
    if outcome:
        result["outcome"] = outcome  # only once the conversation has a case: the shape before it is unchanged
    return result


class WebChatAdapter:
    channel = "web"
    message_paths = frozenset({"/chat/messages"})

    async def inbound(self, request: Request, settings: Settings, now: datetime) -> Inbound | None:
        try:
            body = json.loads(await request.body() or b"{}")
            text = str(body.get("text") or "")[:2000]
        except (ValueError, AttributeError):
            return None
        if not text:
            return None
        client_id = body.get("client_id") if isinstance(body.get("client_id"), str) else None
        payload = body.get("payload") if isinstance(body.get("payload"), str) else None
        inbound = read(settings, request.cookies.get(COOKIE), text=text, payload=payload and payload[:500],
                       client_id=client_id[:40] if client_id else None, now=now)
        # With no database nothing says whether the conversation is new: its own count and its client's.
        limits = door_limits.of(request.app.state, settings)
        rule = await run_in_threadpool(limits.over, [Check("chat_conversation", inbound.conversation_id),
                                                     Check("chat_client", client_address(request, settings))])
        return replace(inbound, details={**inbound.details, "throttled": rule}) if rule else inbound

    def offline(self, inbound: Inbound) -> OfflineAnswer:
        # Over a limit: the same answer, kept, but the spool opens no case for it when the database is back.
        return OfflineAnswer(replies=[Reply(SAFE_ANSWER_NOT_PAGED)], needs_case=not inbound.details.get("throttled"))

    def render_offline(self, inbound: Inbound, answer: OfflineAnswer) -> Response:
        return JSONResponse(render(answer.replies, status=TurnStatus.safe_answer, outcome=None),
                            headers={"Cache-Control": "no-store"})


ADAPTER = WebChatAdapter()


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.session_secret, salt=SALT)


def _cookie_data(settings: Settings, cookie: str | None) -> dict[str, Any]:
    if not cookie:
        return {}
    try:
        data = _serializer(settings).loads(cookie, max_age=COOKIE_MAX_AGE)
    except BadSignature:
        return {}
    return data if isinstance(data, dict) else {}


def conversation(settings: Settings, cookie: str | None) -> str | None:
    cid = _cookie_data(settings, cookie).get("cid")
    return cid if isinstance(cid, str) and re.fullmatch(r"web-[0-9a-f]{32}", cid) else None


def origin_code(settings: Settings, cookie: str | None) -> str | None:
    """The organisation code of the poster link the chat was opened from (checked when it was
    put in the signed cookie), if any."""
    code = _cookie_data(settings, cookie).get("org")
    return code if isinstance(code, str) and code else None


def _set_cookie(response: Response, settings: Settings, cid: str, org: str | None = None) -> None:
    response.set_cookie(
        COOKIE, _serializer(settings).dumps({"cid": cid, **({"org": org} if org else {})}), max_age=COOKIE_MAX_AGE,
        httponly=True,
        samesite="lax", secure=settings.environment == "production", path="/chat",
    )


def contact_number(number: str) -> dict[str, str] | None:
    """A configured number as a link target (E.164) and as people read it (0300 123 4567 for a UK
    number); None when none is set or it is no phone number (an alphanumeric SMS sender, say)."""
    parsed = phones.parse(number)
    return {"link": phones.link(parsed), "text": phones.readable(parsed)} if parsed is not None else None


@router.get("/chat", response_class=HTMLResponse)
def chat_page(request: Request, settings: SettingsDep, session: SessionDep,
              oh_chat: Annotated[str | None, Cookie()] = None, org: str | None = None) -> HTMLResponse:
    """`org`: a poster's link names its organisation; a code no organisation has is ignored."""
    response = templates.TemplateResponse(request, "chat.html", {
        "start_choices": START_CHOICES, "phone": contact_number(settings.helpline_phone_number),
        "sms": contact_number(settings.helpline_sms)})
    cid, code = conversation(settings, oh_chat), origins.known_code(session, org) if org else None
    if cid is None or code:
        _set_cookie(response, settings, cid or f"web-{secrets.token_hex(16)}", code or origin_code(settings, oh_chat))
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/chat/messages")
async def chat_message(body: ChatIn, request: Request, response: Response, session: SessionDep,
                       settings: SettingsDep, oh_chat: Annotated[str | None, Cookie()] = None) -> dict[str, Any]:
    """Async, like the SMS webhook: the database work on the threadpool, in order, and the wait
    for Rasa on relay_async's own threads, so a turn waiting for Rasa never holds a threadpool
    thread (the API needs those to answer the action server, which Rasa is waiting on)."""
    clock = request.app.state.clock
    inbound = read(settings, oh_chat, text=body.text, payload=body.payload, client_id=body.client_id, now=clock())
    address = client_address(request, settings)
    # The client, pseudonymous, on the turn: cases from one address are one source for page grouping.
    inbound = replace(inbound, details={**inbound.details,
                                        CLIENT_DETAIL: web_client_id(settings.session_secret, address)})
    cid = inbound.conversation_id
    origin = origin_code(settings, oh_chat) if conversation(settings, oh_chat) == cid else None
    _set_cookie(response, settings, cid, origin)
    response.headers["Cache-Control"] = "no-store"
    limits = door_limits.of(request.app.state, settings)
    step = await run_in_threadpool(partial(receive, session, settings, limits, address, clock, inbound, origin))
    turn = await relay.relay_if_needed(session, step, settings=settings, clock=clock)
    found = await run_in_threadpool(partial(conversation_outcome, session, cid, turn.case_ref, clock()))
    return render(turn.replies, status=turn.status, outcome=found)


@router.get("/chat/history", response_model=None)
def chat_history(request: Request, response: Response, session: SessionDep, settings: SettingsDep,
                 oh_chat: Annotated[str | None, Cookie()] = None) -> dict[str, Any] | JSONResponse:
    """The cookie's conversation only (nothing to name or guess: no parameters), newest
    HISTORY_TURNS turns; a missing, forged or expired cookie gets an empty history. Reads from one
    client address are limited: a reload needs one, a script hammering the database gets 429."""
    response.headers["Cache-Control"] = "no-store"
    limits = door_limits.of(request.app.state, settings)
    if limits.over([Check("chat_history", client_address(request, settings))]):
        return JSONResponse({"detail": "too many requests: wait a minute and reload"}, status_code=429,
                            headers={"Retry-After": "60", "Cache-Control": "no-store"})
    cid = conversation(settings, oh_chat)
    if cid is None:
        return {"turns": [], "truncated": False, "case_ref": None}
    rows, truncated = turn_store.transcript(session, cid, channel="web", newest=HISTORY_TURNS)
    turns = []
    for row in rows:
        details = row.details or {}
        if details.get("system"):
            continue
        item: dict[str, Any] = {"from": "user" if row.direction == "inbound" else "bot",
                                "text": row.text[:HISTORY_TEXT_CHARS]}
        if row.direction == "outbound":
            item["buttons"] = [{"title": str(b.get("title", ""))[:200], "payload": str(b.get("payload", ""))[:500]}
                               for b in (details.get("buttons") or [])[:10] if isinstance(b, dict)]
            if not (item["text"] or item["buttons"]):
                continue
        turns.append(item)
    found = conversation_outcome(session, cid, None, request.app.state.clock())
    result: dict[str, Any] = {"turns": turns, "truncated": truncated, "case_ref": found["ref"] if found else None}
    if found:
        result["outcome"] = found
    return result


def conversation_case(session: Session, cid: str, ref: str | None = None) -> Case | None:
    """The case this conversation's panel shows: the one the turn named (a safe answer's),
    else the conversation's newest. Never a case of another conversation."""
    session.expire_all()  # the action server wrote it in its own transaction, during the turn
    if ref:
        try:
            case = cases.get_by_ref(session, ref)
        except cases.CaseNotFound:
            case = None
        if case is not None and case.conversation_id == cid:
            return case
    return cases.latest_for_conversation(session, cid)


def conversation_outcome(session: Session, cid: str, ref: str | None, now: datetime) -> dict[str, Any] | None:
    case = conversation_case(session, cid, ref)
    if case is None:
        return None
    return outcome_panel.panel(case, call_by=callback_deadline(case), now=now)
