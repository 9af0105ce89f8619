"""Request bodies are capped before anything parses them (api/core/body_limit.py)."""
from __future__ import annotations

import asyncio
import json
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select
from starlette.requests import Request

from api.core import body_limit
from api.core.body_limit import DEFAULT_LIMIT, BodyLimitMiddleware, limit_for
from api.models import ConversationMessage

KIB = 1024


@pytest.fixture
def parsed(monkeypatch) -> list[str]:
    """Every time a route (or an exception handler) reads or parses a request body."""
    calls: list[str] = []
    real_body, real_form = Request.body, Request.form

    async def body(self):
        calls.append(f"body {self.url.path}")
        return await real_body(self)

    def form(self, *args, **kwargs):
        calls.append(f"form {self.url.path}")
        return real_form(self, *args, **kwargs)

    monkeypatch.setattr(Request, "body", body)
    monkeypatch.setattr(Request, "form", form)
    return calls


def twilio_form(size: int) -> bytes:
    return urlencode({"MessageSid": "SM" + "1" * 32, "From": "+447700900123", "Body": "x" * size}).encode()


def test_the_limits_per_path():
    assert limit_for("/twilio/sms") == limit_for("/twilio/voice/gather") == 64 * KIB
    assert limit_for("/chat/messages") == 16 * KIB
    assert limit_for("/api/cases") == limit_for("/login") == DEFAULT_LIMIT == 1024 * KIB


def test_a_2_mib_twilio_form_is_refused_without_being_parsed(anon, session, parsed):
    r = anon.post("/twilio/sms", content=twilio_form(2 * 1024 * KIB),
                  headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "x"})
    assert r.status_code == 413 and "larger than 65536 bytes" in r.json()["detail"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert parsed == []
    assert session.scalar(select(func.count()).select_from(ConversationMessage)) == 0


def test_the_spy_sees_a_small_form_parsed(anon, parsed):
    # The control for the tests above: a form within the limit is read by the route.
    anon.post("/twilio/sms", content=twilio_form(100),
              headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "x"})
    assert parsed


def test_a_body_without_a_length_is_counted_as_it_streams(anon, parsed):
    def chunks():
        for _ in range(200):  # 200 x 1 KiB, no Content-Length: chunked
            yield b"Body=" + b"x" * 1019

    r = anon.post("/twilio/sms", content=chunks(), headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413
    assert parsed == []


def test_a_large_chat_body_is_refused_before_validation(anon, parsed):
    r = anon.post("/chat/messages", content=json.dumps({"text": "a" * (20 * KIB)}),
                  headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert parsed == []


def test_the_longest_message_the_chat_page_can_send_is_accepted(anon, settings, monkeypatch):
    # chat.html allows 2,000 characters and chat.js sends them as UTF-8: 4 bytes each at most.
    body = json.dumps({"text": "\U0001F489" * 2000, "payload": "/" + "p" * 499, "client_id": "c" * 40},
                      ensure_ascii=False).encode()
    assert len(body) < limit_for("/chat/messages")
    r = anon.post("/chat/messages", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code != 413


def test_the_api_takes_a_large_but_allowed_body_and_refuses_more(client):
    too_big = client.post("/api/cases", content=b'{"line": "sharps", "x": "' + b"y" * DEFAULT_LIMIT + b'"}',
                          headers={"Content-Type": "application/json"})
    assert too_big.status_code == 413
    ok = client.post("/api/cases", content=b'{"line": "sharps", "x": "' + b"y" * (64 * KIB) + b'"}',
                     headers={"Content-Type": "application/json"})
    assert ok.status_code != 413


def _run(app, path: str, chunks: list[bytes], headers: list[tuple[bytes, bytes]] = ()) -> tuple[list[dict], dict]:
    """Drive the middleware by hand: what it sent, and what the app under it saw."""
    seen: dict = {"called": False, "body": b""}

    async def inner(scope, receive, send):
        seen["called"] = True
        message = await receive()
        seen["body"] = message["body"]
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    incoming = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]
    read = {"count": 0}

    async def receive():
        read["count"] += 1
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": path, "headers": list(headers)}
    asyncio.run(BodyLimitMiddleware(inner)(scope, receive, send))
    seen["reads"] = read["count"]
    return sent, seen


def test_a_declared_length_over_the_limit_is_refused_before_a_byte_is_read():
    sent, seen = _run(None, "/chat/messages", [b"{}"], [(b"content-length", str(16 * KIB + 1).encode())])
    assert sent[0]["status"] == 413 and not seen["called"] and seen["reads"] == 0


def test_streaming_stops_at_the_first_chunk_past_the_limit(monkeypatch):
    monkeypatch.setattr(body_limit, "LIMITS", (("/small/", 10),))
    sent, seen = _run(None, "/small/x", [b"12345", b"67890", b"1", b"never read"])
    assert sent[0]["status"] == 413 and not seen["called"] and seen["reads"] == 3


def test_a_body_within_the_limit_reaches_the_app_whole(monkeypatch):
    monkeypatch.setattr(body_limit, "LIMITS", (("/small/", 10),))
    sent, seen = _run(None, "/small/x", [b"12345", b"67890"])
    assert sent[0]["status"] == 200 and seen["body"] == b"1234567890"
