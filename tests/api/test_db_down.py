"""A database that refuses connections: 503 + Retry-After on /api, and no message from a person lost.

The messages (SMS, a call's speech, web chat) are answered with the safe answer and kept in
the spool; once the database answers again the worker stores them and opens the case.
"""
from __future__ import annotations

import json
import os
import socket
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from api.main import create_app
from api.models import Case, ConversationMessage, Page
from api.notifier import LogNotifier
from api.enums import TurnStatus
from api.services import identities, spool
from api.worker import DeadlineWorker, TickFailed
from tests.api.conftest import TEST_DATABASE, TOKEN
from tests.api.factories import standard_rota
from tests.support import postgres

TWILIO_TOKEN = "twilio-test-auth-token-0123456789ab"
PUBLIC = "https://helpline.example.nhs.uk"
CALLER = "+447700900123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when this returns: nothing listens there


def _signed(client: TestClient, path: str, params: dict[str, str]):
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC + path, params)
    return client.post(path, content=urlencode(params), headers={
        "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature})


@pytest.fixture
def down_settings(settings):
    return settings.model_copy(update={
        "database_url": f"postgresql+psycopg://postgres@127.0.0.1:{_dead_port()}/helpline",
        "twilio_auth_token": TWILIO_TOKEN, "public_base_url": PUBLIC,
        "rasa_url": "http://127.0.0.1:9", "rasa_timeout_seconds": 0.2, "rasa_timeout_seconds_voice": 0.2,
    })


@pytest.fixture
def down(down_settings, clock):
    with TestClient(create_app(down_settings, clock=clock)) as client:
        yield client


def test_the_suite_runs_on_the_database_it_was_asked_for(session):
    assert session.bind.dialect.name == ("postgresql" if TEST_DATABASE == "postgres" else "sqlite")


def test_api_routes_answer_503_with_retry_after(down):
    for method, path, body in (("GET", "/api/cases", None), ("POST", "/api/cases", {"line": "sharps"}),
                               ("GET", "/api/rota/now", None), ("GET", "/api/subject-access?phone=07700900123", None)):
        r = down.request(method, path, json=body, headers=AUTH)
        assert r.status_code == 503, (path, r.text)
        assert r.headers["Retry-After"] == "5"
        assert set(r.json()) == {"detail"}
    assert down.get("/health").status_code == 200  # the process is alive; the database is not


def test_metrics_still_answer_and_say_the_database_is_down(down):
    r = down.get("/metrics", headers=AUTH)
    assert r.status_code == 200
    assert "helpline_database_up 0.0" in r.text


def test_messages_are_answered_safely_and_kept_then_stored_when_the_database_is_back(
        down, down_settings, session_factory, session, clock):
    r = _signed(down, "/twilio/sms", {"MessageSid": "SM" + "1" * 32, "From": CALLER, "To": "+441134960000",
                                      "Body": "stabbed myself with a used needle"})
    assert r.status_code == 200 and "emergency department" in r.text and r.headers["content-type"].startswith(
        "application/xml")
    r = _signed(down, "/twilio/voice/gather?turn=2", {"CallSid": "CA" + "2" * 32, "From": "+447700900456",
                                                      "SpeechResult": "blood splashed in my eye"})
    assert r.status_code == 200 and "<Hangup" in r.text and "emergency department" in r.text
    r = down.post("/chat/messages", json={"text": "cut with a scalpel", "client_id": "abcdefgh12"})
    assert r.status_code == 200 and r.json()["status"] == "safe_answer"
    assert "emergency department" in r.json()["messages"][0]["text"]
    # A forged webhook is still refused, and nothing of it is kept.
    forged = down.post("/twilio/sms", content=urlencode({"Body": "x", "From": CALLER}),
                       headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "bad"})
    assert forged.status_code == 403

    files = spool.pending(down_settings)
    assert len(files) == 3
    assert all(oct(os.stat(f).st_mode & 0o777) == "0o600" for f in files)
    assert {json.loads(f.read_text())["inbound"]["channel"] for f in files} == {"sms", "voice", "web"}

    # The database is back: the worker's next tick stores the turns and opens the cases.
    standard_rota(session, now=clock.now)
    worker = DeadlineWorker(session_factory, down_settings, LogNotifier(), clock)
    worker.tick()
    assert spool.pending(down_settings) == []
    with session_factory() as s:
        inbound = list(s.scalars(select(ConversationMessage).where(ConversationMessage.direction == "inbound")
                                 .order_by(ConversationMessage.id)))
        assert sorted(m.text for m in inbound) == ["blood splashed in my eye", "cut with a scalpel",
                                                   "stabbed myself with a used needle"]
        assert all(m.status == TurnStatus.safe_answer and m.details.get("spooled") for m in inbound)
        sms = next(m for m in inbound if m.channel == "sms")
        assert sms.provider_sid == "sms:SM" + "1" * 32
        assert sms.conversation_id == identities.sms_conversation_id(down_settings.session_secret, CALLER)
        cases = list(s.scalars(select(Case).order_by(Case.id)))
        assert len(cases) == 3
        assert {c.contact.get("phone") for c in cases} == {CALLER, "+447700900456", None}
        assert s.scalars(select(Page)).first() is not None  # the on-call practitioner is paged

    # Twilio's retry of the same message, spooled again, is not a second turn.
    again = _signed(down, "/twilio/sms", {"MessageSid": "SM" + "1" * 32, "From": CALLER, "To": "+441134960000",
                                          "Body": "stabbed myself with a used needle"})
    assert again.status_code == 200
    worker.tick()
    with session_factory() as s:
        assert len(list(s.scalars(select(ConversationMessage).where(
            ConversationMessage.provider_sid == "sms:SM" + "1" * 32)))) == 1


def test_spool_stays_while_the_database_is_still_down(down, down_settings, clock):
    _signed(down, "/twilio/sms", {"MessageSid": "SM" + "3" * 32, "From": CALLER, "Body": "help me"})
    dead = create_app(down_settings, clock=clock)
    with pytest.raises(TickFailed):
        dead.state.worker.tick()
    assert len(spool.pending(down_settings)) == 1
    dead.state.engine.dispose()


def test_a_stopped_postgresql_server_gives_503(settings, clock):
    server = postgres.start_or_skip()
    try:
        url = server.create_database("stopped")
    finally:
        server.stop()
    app = create_app(settings.model_copy(update={"database_url": url}), clock=clock)
    with TestClient(app) as client:
        r = client.get("/api/cases", headers=AUTH)
    assert r.status_code == 503 and r.headers["Retry-After"] == "5"


def test_a_process_on_another_database_leaves_the_spool_alone(down, down_settings, settings, session_factory, clock):
    _signed(down, "/twilio/sms", {"MessageSid": "SM" + "4" * 32, "From": CALLER, "Body": "needle"})
    other = DeadlineWorker(session_factory, settings.model_copy(update={
        "inbound_spool_dir": down_settings.inbound_spool_dir}), LogNotifier(), clock)
    other.tick()
    assert len(spool.pending(down_settings)) == 1
