"""Rasa's REST channel: one user message in, the bot's messages out, or RasaUnavailable."""
from __future__ import annotations

import asyncio
import threading
import weakref
from typing import Any

import anyio
import httpx

from api.core.config import Settings
from api.services.messages import Button, Reply


class RasaUnavailable(RuntimeError):
    """Rasa did not give a usable answer in time (down, slow, error, or nothing said)."""


# Turns waiting for Rasa at once, per process. They wait on threads of their own, so a busy
# Rasa never takes the threadpool the API needs to answer the action server.
RASA_WAITERS = 200
# Idle connections to Rasa are dropped after this long: below Sanic's 5 s keep-alive
# timeout, so a turn is never sent on a connection Rasa is about to close.
RASA_KEEPALIVE_SECONDS = 2.0

_client: httpx.Client | None = None
_client_lock = threading.Lock()
_waiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = weakref.WeakKeyDictionary()


def replies_from_rasa(data: Any) -> list[Reply]:
    if not isinstance(data, list):
        raise RasaUnavailable("Rasa answered something that is not a list of messages")
    replies = []
    for item in data:
        if not isinstance(item, dict):
            continue
        buttons = tuple(
            Button(title=str(b.get("title") or b.get("payload") or ""),
                   payload=str(b.get("payload") or b.get("title") or ""))
            for b in item.get("buttons") or [] if isinstance(b, dict)
        )
        extra = {k: item[k] for k in ("image", "custom", "attachment") if item.get(k) is not None}
        text = str(item.get("text") or "")
        if text or buttons or extra:
            replies.append(Reply(text=text, buttons=buttons, extra=extra))
    if not any(r.text or r.buttons for r in replies):
        raise RasaUnavailable("Rasa said nothing")
    return replies


def rasa_client() -> httpx.Client:
    """One pooled client per process (thread-safe). A new httpx.Client per turn cost ~27 ms of
    CPU (it builds an SSL context) and a new TCP connection."""
    global _client
    with _client_lock:
        if _client is None or _client.is_closed:
            _client = httpx.Client(limits=httpx.Limits(
                max_connections=RASA_WAITERS, max_keepalive_connections=50, keepalive_expiry=RASA_KEEPALIVE_SECONDS))
        return _client


def waiting_limiter() -> anyio.CapacityLimiter:
    """The RASA_WAITERS threads of the running event loop."""
    loop = asyncio.get_running_loop()
    limiter = _waiters.get(loop)
    if limiter is None:
        limiter = _waiters[loop] = anyio.CapacityLimiter(RASA_WAITERS)
    return limiter


def post_to_rasa(settings: Settings, *, sender: str, message: str, metadata: dict[str, Any],
                 timeout: float) -> list[Reply]:
    """POST one user message to Rasa's REST channel; the bot's messages, or RasaUnavailable.

    Rasa 3.6's RestInput passes `metadata` on to the UserMessage, so it is stored on the
    tracker's `user` event (and in `session_started_metadata` when a session starts).
    """
    url = settings.rasa_url.rstrip("/") + "/webhooks/rest/webhook"
    body = {"sender": sender, "message": message, "metadata": metadata}
    try:
        response = rasa_client().post(url, json=body, timeout=timeout)
    except httpx.HTTPError as exc:
        raise RasaUnavailable(f"{type(exc).__name__} talking to Rasa") from exc
    if response.status_code != 200:
        raise RasaUnavailable(f"Rasa answered HTTP {response.status_code}")
    try:
        data = response.json()
    except ValueError as exc:
        raise RasaUnavailable("Rasa answered with something that is not JSON") from exc
    return replies_from_rasa(data)
