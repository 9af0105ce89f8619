"""Fixtures for the channel tests: Twilio-signed requests, a fake Rasa (respx), XML helpers."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import respx
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from api.models import Case, ConversationMessage

TWILIO_TOKEN = "twilio-test-auth-token-0123456789ab"
PUBLIC = "https://helpline.example.nhs.uk"
RASA = "http://rasa.test:5005"
CALLER = "+447700900123"


@pytest.fixture
def settings(settings):
    """The API's test settings, with a Twilio token, a public URL and a fake Rasa."""
    return settings.model_copy(update={
        "twilio_auth_token": TWILIO_TOKEN, "public_base_url": PUBLIC, "rasa_url": RASA,
        "rasa_timeout_seconds": 0.5, "rasa_timeout_seconds_voice": 0.5,
    })


def sign(url: str, params: dict[str, str], token: str = TWILIO_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


@dataclass
class Twilio:
    """Posts webhooks as Twilio does: form-encoded, signed over PUBLIC + path + query."""

    client: TestClient
    counter: int = 0

    def post(self, path: str, params: dict[str, str], *, token: str = TWILIO_TOKEN, signed_url: str | None = None,
             signature: str | None = None, body: dict[str, str] | None = None) -> httpx.Response:
        url = signed_url or PUBLIC + path
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        sig = signature if signature is not None else sign(url, params, token)
        if sig:
            headers["X-Twilio-Signature"] = sig
        return self.client.post(path, content=urlencode(body if body is not None else params), headers=headers)

    def sms(self, text: str, *, sid: str | None = None, sender: str = CALLER, **kw: Any) -> httpx.Response:
        if sid is None:
            self.counter += 1
            sid = f"SM{self.counter:032d}"
        params = {"MessageSid": sid, "SmsSid": sid, "AccountSid": "AC" + "0" * 32, "From": sender,
                  "To": "+441134960000", "Body": text, "NumMedia": "0"}
        return self.post("/twilio/sms", params, **kw)


@pytest.fixture
def twilio(anon) -> Twilio:
    return Twilio(anon)


@dataclass
class FakeRasa:
    """Rasa's REST channel, scripted per test. `reply(body)` returns the bot's messages."""

    reply: Callable[[dict[str, Any]], Any] = lambda body: [{"recipient_id": body["sender"], "text": "Hello."}]
    calls: list[dict[str, Any]] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.calls.append(body)
        result = self.reply(body)
        if isinstance(result, httpx.Response):
            return result
        return httpx.Response(200, json=result)


@pytest.fixture
def rasa() -> Iterator[FakeRasa]:
    fake = FakeRasa()
    with respx.mock(assert_all_called=False, assert_all_mocked=False) as mock:
        mock.post(f"{RASA}/webhooks/rest/webhook").mock(side_effect=fake.handle)
        yield fake


def twiml(response: httpx.Response) -> ET.Element:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    return ET.fromstring(response.text)


def messages(response: httpx.Response) -> list[str]:
    return [m.text or "" for m in twiml(response).iter("Message")]


def count(session_factory, model, *where) -> int:
    with session_factory() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def turns(session_factory, **filters) -> list[ConversationMessage]:
    with session_factory() as s:
        query = select(ConversationMessage).order_by(ConversationMessage.id)
        for key, value in filters.items():
            query = query.where(getattr(ConversationMessage, key) == value)
        return list(s.scalars(query))


def all_cases(session_factory) -> list[Case]:
    with session_factory() as s:
        return list(s.scalars(select(Case).order_by(Case.id)))
