"""Request bodies are capped before anything parses them (413 Payload Too Large).

A declared Content-Length over the path's limit is refused without reading a byte; a body sent
without one (chunked) is read and counted up to the limit, and refused as soon as it passes it.
Within the limit the body is handed on unchanged. The reverse proxy should refuse the same sizes
first (README: nginx `client_max_body_size 1m`, Caddy `request_body { max_size 1MB }`).

The limits are far above anything a person can send: a text is at most 1,600 characters (Twilio
posts about 2 KB of form fields with it), a chat message 2,000 characters, so a message that
should be answered with the safe advice is never refused here.
"""
from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

KIB = 1024
# (path prefix, bytes), the first match wins.
LIMITS: tuple[tuple[str, int], ...] = (
    ("/twilio/", 64 * KIB),     # Twilio's form posts (texts, calls, status callbacks)
    ("/chat/", 16 * KIB),       # the web chat's JSON: 2,000 characters and a button's payload
)
DEFAULT_LIMIT = 1024 * KIB      # the JSON API and the staff pages' forms


def limit_for(path: str) -> int:
    return next((size for prefix, size in LIMITS if path.startswith(prefix)), DEFAULT_LIMIT)


class BodyTooLarge(Exception):
    pass


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = limit_for(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, limit)
            return
        try:
            body, ended = await _read(receive, limit)
        except BodyTooLarge:
            await _refuse(send, limit)
            return
        await self.app(scope, _replay(body, ended, receive), send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed length; counting still holds
    return None


async def _read(receive: Receive, limit: int) -> tuple[bytes, Message | None]:
    """The whole body, at most `limit` bytes; or the disconnect that ended it early."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), message
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), None


def _replay(body: bytes, ended: Message | None, receive: Receive) -> Receive:
    """The body read already, in one message; after it, the server's own messages (a disconnect)."""
    first: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
    if ended is not None:
        first = [ended]

    async def replay() -> Message:
        if first:
            return first.pop()
        return await receive()

    return replay


async def _refuse(send: Send, limit: int) -> None:
    body = json.dumps({"detail": f"request body larger than {limit} bytes"}).encode()
    await send({"type": "http.response.start", "status": 413, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"), (b"cache-control", b"no-store"),
    ]})
    await send({"type": "http.response.body", "body": body})
