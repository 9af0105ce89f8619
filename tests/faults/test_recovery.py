"""No message left pending: each way a person's message could stay unanswered, with the real
failure (a process killed with SIGKILL, a database server killed), then the worker's tick.

1. The API is killed while a turn waits for Rasa, and nobody retries (Twilio does not by
   default): the turn is finished with the safe answer, a case pages on call, and the texter,
   who got nothing, is texted the safe answer.
2. The database server is killed while a turn waits for Rasa: the person gets the safe answer
   from the spool; once the database is back the stored-but-pending turn is finished (case,
   page, the words the person was told), not left pending.
3. A process is killed after claiming a spool file and before storing it: the claim is put
   back once its lease is over, and the message is stored with its case.
4. A process is killed while sending a text (a page): the row left `sending` is queued again
   after its lease and sent.

Each was checked against the code before recovery existed: all four fail there (the README's
"Faults" section says how). No trained model needed: Rasa is a stub that never answers, or
answers only when told to.

    make faults      (.venv-api/bin/python -m pytest tests/faults -v)
"""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from api.core.config import Settings
from api.core.db import make_engine, make_session_factory
from api.main import create_app
from api.models import Case, ConversationMessage, OutboxMessage, Page
from api.notifier import LogNotifier
from api.services import outbox
from api.services.identities import sms_conversation_id
from api.worker import DeadlineWorker
from bench.stack import API_BIN, REPO, Secrets, api_proc, prepare_database
from tests.faults.helpers import Texter
from tests.support import postgres
from tests.support.processes import free_port, logs_on_failure, wait_until

pytestmark = pytest.mark.slow

SAFE_WORDS = "the assistant is not available"
CALLER = "+447700900901"


class StubRasa:
    """Rasa's REST channel that holds every turn until `release()` (or never)."""

    def __init__(self) -> None:
        self.released = threading.Event()
        self.received = threading.Event()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                stub.received.set()
                stub.released.wait(120)
                body = json.dumps([{"text": "What happened?"}]).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def release(self) -> None:
        self.released.set()

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()


def settings_for(database_url: str, keys: Secrets, spool: Path, **extra) -> Settings:
    return Settings(_env_file=None, environment="test", database_url=database_url, inbound_spool_dir=str(spool),
                    helpline_api_token=keys.api_token, session_secret=keys.session_secret,
                    twilio_auth_token=keys.twilio_token, worker_enabled=False, **extra)


def worker_at(settings: Settings, seconds_from_now: float) -> DeadlineWorker:
    """The worker as it runs later: its clock `seconds_from_now` ahead of the wall clock."""
    factory = make_session_factory(make_engine(settings.database_url))
    return DeadlineWorker(factory, settings, LogNotifier(),
                          lambda: datetime.now(UTC) + timedelta(seconds=seconds_from_now))


def tick_until_done(worker: DeadlineWorker) -> dict[str, int]:
    """The first tick after a database comes back may meet a dead pooled connection: tick again."""
    return wait_until(worker.tick, seconds=30, every=0.5, what="a clean worker tick",
                      ignore=(Exception,))


def inbound_turns(session_factory, conversation_id: str) -> list[ConversationMessage]:
    with session_factory() as s:
        return list(s.scalars(select(ConversationMessage).where(
            ConversationMessage.conversation_id == conversation_id, ConversationMessage.direction == "inbound")))


def post_in_background(texter: Texter, url: str, text: str) -> threading.Thread:
    def send() -> None:
        try:
            texter.post(url, texter.params(CALLER, text), timeout=60)
        except Exception:
            pass  # the process is killed under it: that is the point

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


def assert_finished_with_a_case(worker: DeadlineWorker, conversation_id: str, *, told: str | None = None) -> Case:
    factory = worker.session_factory
    turns = inbound_turns(factory, conversation_id)
    assert [t.status for t in turns] == ["safe_answer"], [(t.text, t.status) for t in turns]
    with factory() as s:
        case = s.scalar(select(Case).where(Case.conversation_id == conversation_id))
        assert case is not None, "no case: nobody would see what was said"
        assert case.contact.get("phone") == CALLER
        assert s.scalars(select(Page).where(Page.case_id == case.id)).first() is not None, "on call not paged"
        replies = list(s.scalars(select(ConversationMessage).where(ConversationMessage.reply_to_id == turns[0].id)))
        assert replies and SAFE_WORDS in replies[0].text
        if told is not None:
            assert replies[0].text == told, "the stored answer is not what the person was told"
        assert "reply_to" not in (turns[0].details or {}), "the call-back number stays on the turn"
        s.expunge(case)
    return case


@pytest.fixture
def keys() -> Secrets:
    return Secrets()


@pytest.fixture
def sqlite_world(tmp_path, keys):
    url = f"sqlite:///{tmp_path / 'helpline.db'}"
    prepare_database(url, keys, tmp_path / "prepare.log")
    return url


def test_api_killed_while_waiting_for_rasa_and_never_retried(tmp_path, keys, sqlite_world, request):
    rasa = StubRasa()  # never answers: the API is killed first
    api = api_proc("api", port=free_port(), database_url=sqlite_world, rasa_url=rasa.url, keys=keys,
                   workdir=tmp_path, extra={"WORKER_ENABLED": "false", "RASA_TIMEOUT_SECONDS": "60"})
    with logs_on_failure(request, lambda: [api]):
        try:
            api.start()
            post_in_background(Texter(keys.twilio_token), api.ready_url.removesuffix("/health"),
                               "needlestick from a used needle 5 minutes ago")
            assert rasa.received.wait(60), "the turn never reached Rasa"
            api.kill9()
        finally:
            api.stop()
            rasa.close()

    settings = settings_for(sqlite_world, keys, tmp_path / "spool-api")
    cid = sms_conversation_id(keys.session_secret, CALLER)
    soon = worker_at(settings, 5)
    tick_until_done(soon)
    assert [t.status for t in inbound_turns(soon.session_factory, cid)] == ["pending"], \
        "a turn a live request may still hold was taken"
    later = worker_at(settings, settings.stale_turn_seconds + 5)
    tick_until_done(later)
    assert_finished_with_a_case(later, cid)
    with later.session_factory() as s:
        texts = [m.body for m in s.scalars(select(OutboxMessage).where(OutboxMessage.to == CALLER))]
    assert len(texts) == 1 and SAFE_WORDS in texts[0], "the texter, who got no reply, was not texted"


def test_database_killed_while_waiting_for_rasa(tmp_path, keys, request):
    server = postgres.start_or_skip()
    rasa = StubRasa()
    try:
        url = server.create_database("helpline")
        prepare_database(url, keys, tmp_path / "prepare.log")
        api = api_proc("api", port=free_port(), database_url=url, rasa_url=rasa.url, keys=keys, workdir=tmp_path,
                       extra={"WORKER_ENABLED": "false", "RASA_TIMEOUT_SECONDS": "60"})
        replies: list[str] = []
        with logs_on_failure(request, lambda: [api]):
            try:
                api.start()
                texter = Texter(keys.twilio_token)

                def send() -> None:
                    from tests.faults.helpers import reply_text

                    response = texter.post(api.ready_url.removesuffix("/health"),
                                           texter.params(CALLER, "splash of blood in my eye"), timeout=60)
                    replies.append(reply_text(response))

                thread = threading.Thread(target=send, daemon=True)
                thread.start()
                assert rasa.received.wait(60), "the turn never reached Rasa"
                server.kill()  # while Rasa thinks: the turn is stored, its answer cannot be
                rasa.release()
                thread.join(60)
            finally:
                api.stop()
        assert replies and SAFE_WORDS in replies[0], f"the person was not given the safe answer: {replies}"
        server.start_again()
        settings = settings_for(url, keys, tmp_path / "spool-api")
        worker = worker_at(settings, 1)
        tick_until_done(worker)
        assert_finished_with_a_case(worker, sms_conversation_id(keys.session_secret, CALLER), told=replies[0])
        worker.session_factory.kw["bind"].dispose()
    finally:
        rasa.close()
        server.stop()


REPLAY_SCRIPT = """
import sys
from datetime import UTC, datetime
from api.core.config import Settings
from api.core.db import make_engine, make_session_factory
from api.services import spool
settings = Settings(_env_file=None, environment="test", database_url=sys.argv[1], inbound_spool_dir=sys.argv[2],
                    helpline_api_token="x" * 32, session_secret="y" * 32, worker_enabled=False)
spool.replay(make_session_factory(make_engine(settings.database_url)), settings, lambda: datetime.now(UTC))
"""


def test_process_killed_between_claiming_a_spool_file_and_storing_it(tmp_path, keys):
    db_file = tmp_path / "later" / "helpline.db"
    url = f"sqlite:///{db_file}"
    settings = settings_for(url, keys, tmp_path / "spool", public_base_url="https://helpline.example.nhs.uk")
    # The database refuses the turn (it has no tables until it is restored below): the message is spooled.
    params = Texter(keys.twilio_token).params(CALLER, "cut by a scalpel used on a patient")
    signature = RequestValidator(keys.twilio_token).compute_signature(
        "https://helpline.example.nhs.uk/twilio/sms", params)
    with TestClient(create_app(settings)) as client:
        r = client.post("/twilio/sms", content=urlencode(params), headers={
            "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature})
    assert r.status_code == 200 and SAFE_WORDS in r.text
    spooled = sorted((tmp_path / "spool").glob("*.json"))
    assert len(spooled) == 1

    prepare_database(url, keys, tmp_path / "prepare.log")
    # Hold the database's write lock so the replaying process blocks right after its claim.
    lock = sqlite3.connect(db_file, isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    proc = subprocess.Popen([str(API_BIN / "python"), "-c", REPLAY_SCRIPT, url, str(tmp_path / "spool")],
                            cwd=REPO, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        claimed = wait_until(lambda: list((tmp_path / "spool").glob(".*.claimed")), seconds=60, every=0.005,
                             what="the replay to claim the file")
        proc.kill()
        proc.wait(10)
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    assert not list((tmp_path / "spool").glob("*.json")), "the claim did not happen before the kill"

    worker = worker_at(settings, 1)
    tick_until_done(worker)
    cid = sms_conversation_id(keys.session_secret, CALLER)
    assert inbound_turns(worker.session_factory, cid) == [], "stored while a live claim could still be working"
    for path in claimed:  # the lease runs out (the claim's time is the file's mtime)
        old = time.time() - 3600
        os.utime(path, (old, old))
    tick_until_done(worker)
    assert_finished_with_a_case(worker, cid)
    assert list((tmp_path / "spool").iterdir()) == [], "the spool file was left behind"


SEND_SCRIPT = """
import sys, time
from datetime import UTC, datetime
from api.core.db import make_engine, make_session_factory
from api.services import outbox

class Hangs:
    def send_sms(self, *, to, body):
        time.sleep(600)

with make_session_factory(make_engine(sys.argv[1]))() as session:
    outbox.deliver_pending(session, Hangs(), now=datetime.now(UTC))
"""


def test_process_killed_while_sending_a_text(tmp_path, keys, sqlite_world):
    settings = settings_for(sqlite_world, keys, tmp_path / "spool")
    factory = make_session_factory(make_engine(sqlite_world))
    with factory() as s:
        message = outbox.enqueue_sms(s, to="+447700900555", body="Emergency page SH-000001", now=datetime.now(UTC))
        s.commit()
        message_id = message.id
    proc = subprocess.Popen([str(API_BIN / "python"), "-c", SEND_SCRIPT, sqlite_world], cwd=REPO,
                            start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def status() -> str:
        with factory() as s:
            return s.get(OutboxMessage, message_id).status

    try:
        wait_until(lambda: status() == "sending", seconds=60, every=0.05, what="the text to be taken to send")
    finally:
        proc.kill()
        proc.wait(10)

    tick_until_done(worker_at(settings, 5))
    assert status() == "sending", "a text a live process may still be sending was taken"
    tick_until_done(worker_at(settings, settings.sending_lease_seconds + 5))
    with factory() as s:
        row = s.get(OutboxMessage, message_id)
        assert row.status in ("sent", "logged"), f"the text was never sent: {row.status}"
        assert row.attempts == 2
