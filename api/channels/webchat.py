"""The web chat: GET /chat (the page), POST /chat/messages (one turn, relayed like SMS) and
GET /chat/history (this conversation's turns and outcome, for a reload).

No login: a signed session cookie (itsdangerous, SESSION_SECRET) holds only a random
conversation id. The page is served by the API, so it is same-origin and not under /api/.
Every answer carries the conversation's case as a confirmation panel (api/channels/outcome.py),
read from the database: only a case whose conversation_id is the cookie's conversation.
"""
from __future__ import annotations

import json
import re
import secrets
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

from api.channels import outcome as outcome_panel
from api.channels.adapter import OfflineAnswer
from api.core.config import Settings
from api.deps import SessionDep, SettingsDep
from api.enums import TurnStatus
from api.models import Case
from api.services import cases, relay, turn_store
from api.services.messages import Inbound, Reply
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


class ChatIn(BaseModel):
    text: str = Field(..., min_length=1, max_length=2000, description="What the person typed, or the button's title")
    payload: str | None = Field(None, max_length=500, description="The quick-reply button's payload")
    client_id: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{8,40}$", description="Per message, for retries")


def read(settings: Settings, cookie: str | None, *, text: str, payload: str | None, client_id: str | None,
         now: datetime) -> Inbound:
    """One chat message as an Inbound: the cookie's conversation (a new one without a valid
    cookie), the button's payload as what Rasa is sent, the client's id for retries."""
    cid = conversation(settings, cookie) or f"web-{secrets.token_hex(16)}"
    return Inbound(channel="web", conversation_id=cid, text=text, received_at=now,
                   provider_sid=f"web:{cid}:{client_id}" if client_id else None, message=payload,
                   details={"payload": payload} if payload else {})


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
        return read(settings, request.cookies.get(COOKIE), text=text, payload=payload and payload[:500],
                    client_id=client_id[:40] if client_id else None, now=now)

    def offline(self, inbound: Inbound) -> OfflineAnswer:
        return OfflineAnswer(replies=[Reply(SAFE_ANSWER_NOT_PAGED)])

    def render_offline(self, inbound: Inbound, answer: OfflineAnswer) -> Response:
        return JSONResponse(render(answer.replies, status=TurnStatus.safe_answer, outcome=None),
                            headers={"Cache-Control": "no-store"})


ADAPTER = WebChatAdapter()


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.session_secret, salt=SALT)


def conversation(settings: Settings, cookie: str | None) -> str | None:
    if not cookie:
        return None
    try:
        data = _serializer(settings).loads(cookie, max_age=COOKIE_MAX_AGE)
    except BadSignature:
        return None
    cid = data.get("cid") if isinstance(data, dict) else None
    return cid if isinstance(cid, str) and re.fullmatch(r"web-[0-9a-f]{32}", cid) else None


def _set_cookie(response: Response, settings: Settings, cid: str) -> None:
    response.set_cookie(
        COOKIE, _serializer(settings).dumps({"cid": cid}), max_age=COOKIE_MAX_AGE, httponly=True,
        samesite="lax", secure=settings.environment == "production", path="/chat",
    )


@router.get("/chat", response_class=HTMLResponse)
def chat_page(request: Request, settings: SettingsDep,
              oh_chat: Annotated[str | None, Cookie()] = None) -> HTMLResponse:
    response = templates.TemplateResponse(request, "chat.html", {"start_choices": START_CHOICES})
    if conversation(settings, oh_chat) is None:
        _set_cookie(response, settings, f"web-{secrets.token_hex(16)}")
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
    cid = inbound.conversation_id
    _set_cookie(response, settings, cid)
    response.headers["Cache-Control"] = "no-store"
    turn = await run_in_threadpool(partial(turn_store.start_turn, session, inbound))
    if turn.new:
        turn = await relay.relay_async(session, ToRelay(turn, inbound), settings=settings, clock=clock)
    else:
        turn = await run_in_threadpool(partial(relay.settle, session, turn, settings=settings, clock=clock,
                                               phone=None))
    found = await run_in_threadpool(partial(conversation_outcome, session, cid, turn.case_ref, clock()))
    return render(turn.replies, status=turn.status, outcome=found)


@router.get("/chat/history")
def chat_history(request: Request, response: Response, session: SessionDep, settings: SettingsDep,
                 oh_chat: Annotated[str | None, Cookie()] = None) -> dict[str, Any]:
    """The cookie's conversation only (nothing to name or guess: no parameters), newest
    HISTORY_TURNS turns; a missing, forged or expired cookie gets an empty history."""
    response.headers["Cache-Control"] = "no-store"
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
