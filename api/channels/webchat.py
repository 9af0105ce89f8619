"""The web chat: GET /chat (the page) and POST /chat/messages (one turn, relayed like SMS).

No login: a signed session cookie (itsdangerous, SESSION_SECRET) holds only a random
conversation id. The page is served by the API, so it is same-origin and not under /api/.
"""
from __future__ import annotations

import re
import secrets
from functools import partial
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Cookie, Request, Response
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature, URLSafeTimedSerializer
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.core.config import Settings
from api.deps import SessionDep, SettingsDep
from api.services import relay

HERE = Path(__file__).resolve().parent
COOKIE = "oh_chat"
COOKIE_MAX_AGE = 12 * 3600  # a conversation outlives a shift break, not a week
SALT = "helpline.chat.v1"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
       "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")

router = APIRouter(tags=["chat"], include_in_schema=False)
router.mount("/static/chat", StaticFiles(directory=HERE / "static"), name="chat-static")
templates = Jinja2Templates(directory=HERE / "templates")

# What the page offers before anyone has typed: the same choices as the bot's greeting.
START_CHOICES = [
    {"title": "I've had a needlestick, cut, bite or splash", "payload": "/choose_sharps_line"},
    {"title": "I'm a manager with a question", "payload": "/choose_manager_line"},
]


class ChatIn(BaseModel):
    text: str = Field(..., min_length=1, max_length=2000, description="What the person typed, or the button's title")
    payload: str | None = Field(None, max_length=500, description="The quick-reply button's payload")
    client_id: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{8,40}$", description="Per message, for retries")


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.session_secret, salt=SALT)


def _conversation(settings: Settings, cookie: str | None) -> str | None:
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
    if _conversation(settings, oh_chat) is None:
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
    cid = _conversation(settings, oh_chat)
    if cid is None:
        cid = f"web-{secrets.token_hex(16)}"
    _set_cookie(response, settings, cid)
    response.headers["Cache-Control"] = "no-store"
    details: dict[str, Any] = {"payload": body.payload} if body.payload else {}
    turn = await run_in_threadpool(partial(
        relay.start_turn, session, provider_sid=f"web:{cid}:{body.client_id}" if body.client_id else None,
        conversation_id=cid, channel="web", text=body.text, now=clock(), details=details))
    if turn.new:
        turn = await relay.relay_async(session, turn, settings=settings, clock=clock, phone=None,
                                       message=body.payload)
    else:
        turn = await run_in_threadpool(partial(relay.settle, session, turn, settings=settings, clock=clock,
                                               phone=None))
    return {"messages": [r.as_dict() for r in turn.replies if r.text or r.buttons], "status": turn.status,
            "case_ref": turn.case_ref}
