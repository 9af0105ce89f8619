"""A turn waiting for Rasa holds no threadpool thread, on every channel that relays to Rasa.

Under load the threadpool is what the API needs to answer the action server, which Rasa is
waiting on: if turns waiting for Rasa held those threads, the pool would starve and every
turn would end in a timeout. Here the pool has TOKENS threads, a fake Rasa holds every turn
until released, and TURNS > TOKENS turns wait at once while routes that need the threadpool
(GET /health, an /api call as the action server makes) still answer.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import anyio.to_thread
import httpx
import pytest
from fastapi.testclient import TestClient

from api.models import ConversationMessage
from tests.api.channels.conftest import CALLER, Twilio, count, messages, twiml
from tests.api.conftest import TOKEN

TOKENS = 2
TURNS = 2 * TOKENS + 1
HELD_SECONDS = 10.0


@pytest.fixture
def settings(settings):
    """TURNS first messages from one address, and TURNS calls from one number, at once: what the
    door limits stop (tests/api/channels/test_limits.py), lifted for this test of threads."""
    return settings.model_copy(update={"door_limit_chat_new": "1000/second", "door_limit_voice_number": "1000/second"})


@pytest.fixture
def few_threads(app) -> Iterator[TestClient]:
    """A client whose app (one event loop for every request) has only TOKENS threadpool threads."""
    with TestClient(app) as client:
        limiter = client.portal.call(anyio.to_thread.current_default_thread_limiter)
        client.portal.call(setattr, limiter, "total_tokens", TOKENS)
        yield client


def while_rasa_waits(client: TestClient, rasa, send: Callable[[int], httpx.Response]) -> list[httpx.Response]:
    """Send TURNS turns at once; Rasa holds each until the threadpool has been shown free."""
    arrived = threading.Semaphore(0)
    release = threading.Event()

    def held(body):
        arrived.release()
        release.wait(HELD_SECONDS)
        return [{"text": "Hello."}]

    rasa.reply = held
    before = len(rasa.calls)
    with ThreadPoolExecutor(TURNS) as pool:
        try:
            futures = [pool.submit(send, i) for i in range(TURNS)]
            for waiting in range(TURNS):
                assert arrived.acquire(timeout=5), f"only {waiting} turns reached Rasa: the rest wait for a thread"
            assert client.get("/health").json() == {"status": "ok"}
            on_call = client.get("/api/rota/now", headers={"Authorization": f"Bearer {TOKEN}"})
            assert on_call.status_code == 200, on_call.text
        finally:
            release.set()
        responses = [f.result(timeout=HELD_SECONDS) for f in futures]
    assert len(rasa.calls) - before == TURNS
    return responses


def call(twilio: Twilio, i: int, path: str = "/twilio/voice", **params: str) -> httpx.Response:
    return twilio.post(path, {"CallSid": f"CA{i:032d}", "AccountSid": "AC" + "0" * 32, "From": CALLER,
                              "To": "+441134960000", "CallStatus": "in-progress", "Direction": "inbound", **params})


def test_web_chat_turns_waiting_for_rasa_leave_the_threadpool_free(few_threads, rasa, session_factory):
    responses = while_rasa_waits(few_threads, rasa, lambda i: few_threads.post(
        "/chat/messages", json={"text": f"hello {i}", "client_id": f"client-{i:04d}"}))
    for response in responses:
        assert response.status_code == 200, response.text
        assert response.json() == {"messages": [{"text": "Hello.", "buttons": []}], "status": "relayed",
                                   "case_ref": None}
    assert count(session_factory, ConversationMessage, ConversationMessage.status == "relayed",
                 ConversationMessage.direction == "inbound") == TURNS


def test_incoming_calls_waiting_for_rasa_leave_the_threadpool_free(few_threads, rasa, session_factory):
    twilio = Twilio(few_threads)
    responses = while_rasa_waits(few_threads, rasa, lambda i: call(twilio, i))
    for response in responses:
        assert [s.text for s in twiml(response).iter("Say")] == ["Hello."]
    assert count(session_factory, ConversationMessage, ConversationMessage.status == "relayed",
                 ConversationMessage.direction == "inbound") == TURNS


def test_spoken_turns_waiting_for_rasa_leave_the_threadpool_free(few_threads, rasa, session_factory):
    twilio = Twilio(few_threads)
    for i in range(TURNS):
        call(twilio, i)  # turn 0: answered at once
    responses = while_rasa_waits(few_threads, rasa, lambda i: call(
        twilio, i, "/twilio/voice/gather?turn=1", SpeechResult="a needle in my finger", Confidence="0.9"))
    for response in responses:
        assert [s.text for s in twiml(response).iter("Say")] == ["Hello."]
    assert {c["message"] for c in rasa.calls[TURNS:]} == {"a needle in my finger"}
    assert count(session_factory, ConversationMessage, ConversationMessage.status == "relayed",
                 ConversationMessage.direction == "inbound") == 2 * TURNS


def test_texts_waiting_for_rasa_leave_the_threadpool_free(few_threads, rasa):
    twilio = Twilio(few_threads)
    responses = while_rasa_waits(few_threads, rasa, lambda i: twilio.sms(
        f"hello {i}", sid=f"SM{i:032d}", sender=f"+4477009001{i:02d}"))
    for response in responses:
        assert messages(response) == ["Hello."]
