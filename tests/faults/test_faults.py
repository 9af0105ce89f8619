"""Fault tests with the real processes: the API (uvicorn), the action server and Rasa, on free
loopback ports with a temporary SQLite database and Rasa's SQL tracker store (bench/stack.py).

Each of them is killed with SIGKILL in the middle of a conversation and started again:
nothing already said is lost (the case's answers, the stored turns, Rasa's tracker), the
conversation picks up where it was (after a safe answer, the bot first asks its question
again: see relay.MISSED_REPLY), and a deadline that fell due while the API was dead
fires when it is back. Rasa down: the SMS webhook gives the safe answer and a case is
opened. API down: the bot, spoken to directly, still gives the safe advice.

    make faults      (.venv-api/bin/python -m pytest tests/faults/test_faults.py -v)

Needs the trained model (make train). Takes about three minutes: Rasa starts twice.
The tests share one set of processes and run in file order; each leaves them all running.
Every wait polls a condition with a generous limit (a loaded 2-core CI machine is slow, not
wrong); when a test fails, the end of each process's log is printed with the failure.
"""
from __future__ import annotations

import threading
import time
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from api.services.identities import sms_conversation_id
from bench.stack import MODEL, Stack
from tests.faults.helpers import SAFE, Texter, api_get, inbound_texts, rasa_say, rows, tracker_user_texts, \
    transcript
from tests.support.processes import logs_on_failure, paused, sleep_until, wait_until

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not MODEL.exists(), reason="no trained model (make train)"),
]

MISSED = "my last reply to you was held up"  # domain.yml: the form's notice after a missed reply
ACK_SECONDS = 15  # emergency acknowledgement deadline: outlasts a slow last turn, so the kill comes first
# Rasa's first turns after a restart are slow on a busy machine; a refused connection is
# still answered at once (test_rasa_killed_...), so a long timeout hides nothing.
RASA_TIMEOUT_SECONDS = 20


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Stack:
    workdir = tmp_path_factory.mktemp("faults")
    s = Stack(workdir, api_extra={"ACK_SECONDS_EMERGENCY": str(ACK_SECONDS), "WORKER_INTERVAL_SECONDS": "0.5",
                                  "RASA_TIMEOUT_SECONDS": str(RASA_TIMEOUT_SECONDS)})
    try:
        s.start()
        yield s
    finally:
        s.stop()


@pytest.fixture(autouse=True)
def _process_logs_on_failure(request, stack):
    with logs_on_failure(request, stack.procs.values):
        yield


@pytest.fixture(scope="module")
def texter(stack: Stack) -> Texter:
    return Texter(stack.keys.twilio_token)


def conversation(stack: Stack, phone: str) -> str:
    return sms_conversation_id(stack.keys.session_secret, phone)


def case_of(stack: Stack, conversation_id: str) -> dict:
    found = rows(stack.db_path, 'SELECT ref FROM "case" WHERE conversation_id = ? ORDER BY id', conversation_id)
    assert found, f"no case for {conversation_id}"
    return api_get(stack.api_url, stack.keys.api_token, f"/api/cases/{found[-1]['ref']}")


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_api_killed_between_turns_keeps_answers_and_fires_the_deadline_on_restart(stack, texter):
    phone = "+447700900601"
    cid = conversation(stack, phone)
    said = ["i stabbed myself with a needle", "about 20 mins ago", "1", "yes", "1"]
    replies = [texter.send(stack.api_url, phone, text) for text in said]
    assert "When did it happen" in replies[0]
    assert "emergency department" in replies[-1]  # HIV source: emergency, primary paged
    before = case_of(stack, cid)
    assert before["urgency"] == "emergency"
    # The page waiting for an acknowledgement now (the ladder may have climbed already).
    pending = max((p for p in before["pages"] if p["status"] == "pending"), key=lambda p: p["id"])

    stack.api.kill9()
    killed_at = time.time()
    try:
        assert ts(pending["ack_deadline"]).timestamp() > killed_at, "deadline passed before the kill"
        # API down: the bot, spoken to directly (as the web chat would be), still answers with
        # the safe advice and says the OH system could not be reached.
        reply = rasa_say(stack.rasa_url, "faults-api-down", "i stabbed myself with a needle",
                         {"channel": "sms", "phone": "+447700900602"})
        assert "let the wound bleed" in reply
        assert "can't reach the OH case system" in reply
        # The pending page's deadline passes while nothing is there to fire it.
        sleep_until(ts(pending["ack_deadline"]).timestamp() + 1)
        assert rows(stack.db_path, "SELECT status FROM page WHERE id = ?", pending["id"])[0]["status"] == "pending"
    finally:
        restart_began = time.time()
        stack.api.start()

    # The restarted API fires the overdue deadline on its first ticks: the next step is paged.
    def escalated() -> dict | None:
        case = case_of(stack, cid)
        return case if any(p["id"] > pending["id"] for p in case["pages"]) else None

    after = wait_until(escalated, seconds=60, what="the next page after the restart")
    following = min((p for p in after["pages"] if p["id"] > pending["id"]), key=lambda p: p["id"])
    assert following["tier"] != pending["tier"] or pending["tier"] == "everyone"
    assert ts(following["sent_at"]).timestamp() >= killed_at
    events = api_get(stack.api_url, stack.keys.api_token, f"/api/cases/{after['ref']}/events")
    overdue = [e for e in events if e["type"] == "page_overdue" and e["details"].get("page_id") == pending["id"]]
    assert len(overdue) == 1  # fired once, by the restarted process (the page was still pending, dead, after it)
    assert ts(overdue[0]["created_at"]).timestamp() >= restart_began
    wait_until(lambda: rows(stack.db_path, "SELECT sent_at FROM outbox_message WHERE page_id = ? AND sent_at IS NOT "
                                           "NULL", following["id"]), seconds=30, what="the page text handed over")

    # Nothing already given is lost: the answers and every stored turn.
    assert after["answers"]["fluid"] == "blood"
    assert after["answers"]["source"]["hiv"] == "positive"
    assert after["answers"]["occurred_at"] == before["answers"]["occurred_at"]
    assert inbound_texts(stack.db_path, cid) == said
    assert all(r["status"] == "relayed" for r in transcript(stack.db_path, cid))

    # The conversation resumes where it was ("can you answer a few more questions?"); with no
    # more questions, the paged practitioner still needs the number.
    reply = texter.send(stack.api_url, phone, "no")
    assert SAFE not in reply
    assert "the best number to call you back on" in reply
    reply = texter.send(stack.api_url, phone, "yes")
    assert "Here's what I've recorded" in reply and "HIV" in reply


def test_api_killed_mid_turn_keeps_the_message_and_a_retry_is_answered(stack, texter):
    phone = "+447700900603"
    cid = conversation(stack, phone)
    assert "When did it happen" in texter.send(stack.api_url, phone, "blood splashed in my eye")

    # Rasa is frozen, so the turn is certainly in flight when the API dies.
    params = texter.params(phone, "10 mins ago")
    outcome: dict = {}

    def send() -> None:
        try:
            outcome["response"] = texter.post(stack.api_url, params)
        except httpx.HTTPError as exc:
            outcome["error"] = exc

    with paused(stack.rasa.pid):
        sender = threading.Thread(target=send)
        sender.start()
        wait_until(lambda: rows(stack.db_path, "SELECT id FROM conversation_message WHERE provider_sid = ?",
                                f"sms:{params['MessageSid']}"), seconds=60, what="the inbound turn stored")
        stack.api.kill9()
        sender.join(timeout=60)
        assert "error" in outcome  # Twilio saw the connection drop and will retry
        stack.api.start()

    # Twilio's retry (same MessageSid) finds the stored turn: one row, answered, never lost.
    retry = texter.post(stack.api_url, params)
    assert retry.status_code == 200
    stored = [r for r in transcript(stack.db_path, cid) if r["provider_sid"] == f"sms:{params['MessageSid']}"]
    assert len(stored) == 1 and stored[0]["status"] in ("relayed", "safe_answer")
    assert inbound_texts(stack.db_path, cid) == ["blood splashed in my eye", "10 mins ago"]

    # And the conversation goes on with the bot.
    reply = texter.send(stack.api_url, phone, "yes")
    assert SAFE not in reply
    assert any(p in reply for p in ("HIV, hepatitis B or hepatitis C", "which patient", "When did it happen"))


def test_action_server_killed_mid_conversation(stack, texter):
    phone = "+447700900604"
    cid = conversation(stack, phone)
    texter.send(stack.api_url, phone, "i stabbed myself with a needle")
    assert "What was on it" in texter.send(stack.api_url, phone, "about 20 mins ago")
    answered = case_of(stack, cid)["answers"]
    assert answered.get("occurred_at")

    stack.actions.kill9()
    try:
        # Rasa cannot run its actions: the person gets the safe answer, the words go on the case.
        reply = texter.send(stack.api_url, phone, "1")
        assert SAFE in reply
        case = case_of(stack, cid)
        assert "1" in (case["summary"] or "")
    finally:
        stack.actions.start()

    # The first text after the safe answer is not read as an answer to a question the person
    # did not see (missed_reply): the form says so and asks the question it was on again...
    reply = texter.send(stack.api_url, phone, "1")
    assert SAFE not in reply
    assert MISSED in reply and "What was on it" in reply
    # ...and the answer to it moves the form on.
    reply = texter.send(stack.api_url, phone, "1")
    assert SAFE not in reply and MISSED not in reply
    assert "Do you know which patient" in reply
    case = case_of(stack, cid)
    assert case["answers"]["occurred_at"] == answered["occurred_at"]
    assert case["answers"]["fluid"] == "blood"
    assert inbound_texts(stack.db_path, cid) == ["i stabbed myself with a needle", "about 20 mins ago",
                                                 "1", "1", "1"]


def test_rasa_killed_mid_conversation_safe_answer_then_tracker_kept(stack, texter):
    phone, stranger = "+447700900605", "+447700900606"
    cid = conversation(stack, phone)
    texter.send(stack.api_url, phone, "blood splashed in my eye")
    assert "which patient" in texter.send(stack.api_url, phone, "10 mins ago")
    kept = tracker_user_texts(Path(stack.workdir) / "rasa-tracker.db", cid)
    assert kept == ["blood splashed in my eye", "10 mins ago"]

    stack.rasa.kill9()
    try:
        # Rasa down: the safe answer, and the words go on the conversation's open case...
        started = time.monotonic()
        reply = texter.send(stack.api_url, phone, "yes")
        assert SAFE in reply
        assert time.monotonic() - started < 6  # a refused connection is not waited out
        assert "yes" in (case_of(stack, cid)["summary"] or "")
        # ...and someone new gets the safe answer and a case opened by the API's own triage.
        reply = texter.send(stack.api_url, stranger, "i cut my finger on a used needle")
        assert SAFE in reply
        opened = case_of(stack, conversation(stack, stranger))
        assert opened["line"] == "sharps" and opened["channel"] == "sms"
        assert opened["contact"]["phone"] == stranger
        assert "used needle" in opened["summary"]
        inbound = [r for r in transcript(stack.db_path, conversation(stack, stranger)) if r["direction"] == "inbound"]
        assert inbound[0]["status"] == "safe_answer" and inbound[0]["details"]["case_ref"] == opened["ref"]
    finally:
        stack.rasa.start()

    # Rasa's SQL tracker store kept the conversation: the form resumes at its question, asked
    # again because the person never saw it answered (missed_reply), then goes on.
    assert tracker_user_texts(Path(stack.workdir) / "rasa-tracker.db", cid)[:2] == kept
    reply = texter.send(stack.api_url, phone, "yes")
    assert SAFE not in reply
    assert MISSED in reply and "which patient" in reply
    reply = texter.send(stack.api_url, phone, "yes")
    assert SAFE not in reply and MISSED not in reply
    assert "HIV, hepatitis B or hepatitis C" in reply
    assert inbound_texts(stack.db_path, cid) == ["blood splashed in my eye", "10 mins ago", "yes", "yes", "yes"]
