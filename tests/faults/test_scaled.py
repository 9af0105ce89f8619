"""The scaled-out configuration (deploy/scaled/), run for real on loopback ports:

PostgreSQL (tests/support/postgres.py) for the API and for Rasa's tracker store, Redis
(Debian's redis-server, no persistence) for Rasa's lock store, two Rasa processes with
deploy/scaled/endpoints.yml, one action server, two API processes (api1 -> rasa1,
api2 -> rasa2) behind one public address.

Conversations alternate between the two APIs turn by turn, so each conversation moves
between the two Rasa processes: every reply must be the next step of its conversation
(the tracker is shared), and two texts of one conversation sent at once through different
processes are taken in the order they came (the Redis lock store). Both API processes run
the deadline worker on one database: nobody is paged twice for the same step.

    .venv-api/bin/python -m pytest tests/faults/test_scaled.py -v     (part of make faults)

Without redis-server or PostgreSQL's server binaries the tests skip, saying which is missing;
with HELPLINE_REQUIRE_SCALED=1 (CI: .ci/run installs both) they fail instead.
"""
from __future__ import annotations

import collections
import json
import os
import threading
import time
from pathlib import Path

import httpx
import pytest

from api.services.identities import sms_conversation_id
from bench.stack import MODEL, REPO, Secrets, actions_proc, api_proc, prepare_database, rasa_proc
from tests.faults.helpers import SAFE, Texter
from tests.support import postgres
from tests.support.redis import Redis
from tests.support.processes import free_port, logs_on_failure, wait_until

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not MODEL.exists(), reason="no trained model (make train)"),
]

PUBLIC = "https://helpline.test"  # what Twilio would call: the load balancer in front of both APIs
ACK_SECONDS = 2
ENDPOINTS = REPO / "deploy" / "scaled" / "endpoints.yml"
LOCK_DB = 1  # RASA_LOCK_REDIS_DB
LOCK_PREFIX = "helpline:lock:"  # endpoints.yml key_prefix "helpline" + Rasa's "lock:"


def _require(what: str, problem: str) -> None:
    """Skip (with the reason) on a machine without the server; fail when CI requires it."""
    if os.environ.get("HELPLINE_REQUIRE_SCALED"):
        pytest.fail(f"HELPLINE_REQUIRE_SCALED is set but {what} is missing: {problem}", pytrace=False)
    pytest.skip(f"{what}: {problem}")


class Scaled:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.keys = Secrets()
        self.pg = self.redis = None
        self.procs = []

    def start(self) -> "Scaled":
        try:
            self.pg = postgres.start()
        except FileNotFoundError as exc:
            _require("postgresql", str(exc))
        try:
            self.redis = Redis(self.workdir)
        except FileNotFoundError as exc:
            _require("redis", str(exc))
        self.database_url = self.pg.create_database("helpline")
        self.pg.create_database("rasa")
        prepare_database(self.database_url, self.keys, self.workdir / "prepare.log")
        rasa_ports, api_ports, actions_port = [free_port(), free_port()], [free_port(), free_port()], free_port()
        self.api_urls = [f"http://127.0.0.1:{p}" for p in api_ports]
        self.rasa_urls = [f"http://127.0.0.1:{p}" for p in rasa_ports]
        rasa_env = {
            "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{actions_port}/webhook",
            "RASA_TRACKER_URL": f"127.0.0.1:{self.pg.port}", "RASA_TRACKER_DB": "rasa",
            "RASA_TRACKER_USERNAME": "postgres", "RASA_TRACKER_PASSWORD": "",
            "RASA_LOCK_REDIS_HOST": "127.0.0.1", "RASA_LOCK_REDIS_PORT": str(self.redis.port),
            "RASA_LOCK_REDIS_PASSWORD": "", "RASA_LOCK_REDIS_DB": str(LOCK_DB),
        }
        # A long Rasa timeout: five processes share two cores here, and a turn may wait for the
        # conversation's lock (polled every second) before Rasa starts on it.
        api_env = {"ACK_SECONDS_EMERGENCY": str(ACK_SECONDS), "WORKER_INTERVAL_SECONDS": "0.2",
                   "RASA_TIMEOUT_SECONDS": "40"}
        self.procs = [
            *(rasa_proc(f"rasa{i + 1}", port=p, endpoints=ENDPOINTS, workdir=self.workdir, extra=rasa_env)
              for i, p in enumerate(rasa_ports)),
            actions_proc("actions", port=actions_port, api_url=self.api_urls[0], keys=self.keys, workdir=self.workdir),
            *(api_proc(f"api{i + 1}", port=p, database_url=self.database_url, rasa_url=self.rasa_urls[i],
                       keys=self.keys, workdir=self.workdir, extra=api_env, public_url=PUBLIC)
              for i, p in enumerate(api_ports)),
        ]
        for proc in self.procs:
            proc.start(wait=False)
        for proc in self.procs:
            proc.wait_ready()
        return self

    def processes(self) -> list:
        return [*self.procs, *([self.redis.proc] if self.redis else [])]

    def stop(self) -> None:
        for proc in self.procs:
            proc.stop()
        if self.redis:
            self.redis.stop()
        if self.pg:
            self.pg.stop()

    def sql(self, query: str, *params) -> list[tuple]:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.pg.port} user=postgres dbname=helpline") as connection:
            return connection.execute(query, params).fetchall()

    def tracker_user_texts(self, sender: str) -> list[str]:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.pg.port} user=postgres dbname=rasa") as connection:
            found = connection.execute("SELECT data FROM events WHERE sender_id = %s AND type_name = 'user' "
                                       "ORDER BY id", (sender,)).fetchall()
        return [json.loads(row[0]).get("text") for row in found]


@pytest.fixture(scope="module")
def scaled(tmp_path_factory):
    system = Scaled(tmp_path_factory.mktemp("scaled"))
    try:
        yield system.start()
    finally:
        system.stop()


@pytest.fixture(autouse=True)
def _process_logs_on_failure(request, scaled):
    with logs_on_failure(request, scaled.processes):
        yield


# Each turn: what is texted, and a phrase its reply must contain (the next step of that conversation).
CONVERSATIONS = {
    "+447700900701": [
        ("i stabbed myself with a needle", "When did it happen"), ("about 20 mins ago", "What was on it"),
        ("1", "which patient"), ("yes", "HIV, hepatitis B or hepatitis C"), ("1", "emergency department"),
        ("no", "best number to call you back on"), ("yes", "Here's what I've recorded"),
    ],
    "+447700900702": [
        ("i want to refer a member of staff to OH", "has the employee agreed"), ("yes", "employee's name"),
        ("Alex Smith", "their job"), ("receptionist", "What hours"), ("3 days a week", "main reason"),
        ("1", "work-related"), ("no", "when did it start"), ("3 November", "other sickness absence"),
    ],
    "+447700900703": [
        ("blood splashed in my eye", "When did it happen"), ("10 mins ago", "which patient"),
        ("yes", "HIV, hepatitis B or hepatitis C"), ("5", "does any of this apply"),
        ("6", "best number to call you back on"), ("yes", "hepatitis B vaccine"),
    ],
}


def test_conversations_alternate_between_processes_and_stay_in_order(scaled):
    texter = Texter(scaled.keys.twilio_token)
    failures: list[str] = []

    def talk(offset: int, phone: str, turns: list[tuple[str, str]]) -> None:
        for number, (text, expected) in enumerate(turns):
            api = scaled.api_urls[(number + offset) % 2]  # api1 -> rasa1, api2 -> rasa2, turn by turn
            reply = texter.send(api, phone, text, public_url=PUBLIC)
            if expected.lower() not in reply.lower() or SAFE in reply:
                failures.append(f"{phone} turn {number + 1} {text!r} via {api}: {reply[:300]!r}")
                return

    threads = [threading.Thread(target=talk, args=(i, phone, turns))
               for i, (phone, turns) in enumerate(CONVERSATIONS.items())]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 600
    for t in threads:
        t.join(timeout=max(0.0, deadline - time.monotonic()))
    assert not failures, failures
    assert not any(t.is_alive() for t in threads), "conversations still going after 600s"

    for phone, turns in CONVERSATIONS.items():
        cid = sms_conversation_id(scaled.keys.session_secret, phone)
        said = [t for t, _ in turns]
        assert scaled.tracker_user_texts(cid) == said  # one tracker, both Rasa processes wrote to it
        inbound = [r[0] for r in scaled.sql("SELECT text FROM conversation_message WHERE conversation_id = %s "
                                            "AND direction = 'inbound' ORDER BY id", cid)]
        assert inbound == said
    assert int(scaled.redis.stats().get("total_commands_processed", "0")) > 0  # the lock store was used


def test_two_texts_at_once_through_different_processes_are_taken_in_order(scaled):
    """Three people each send two texts in quick succession; the first goes through api1/rasa1,
    the second through api2/rasa2 while the first is still being handled. With the Redis lock
    store the second waits its turn; without it (checked by hand with an in-memory lock store)
    at least one second text is lost from the tracker or answered against the old state."""
    texter = Texter(scaled.keys.twilio_token)
    phones = ["+447700900704", "+447700900705", "+447700900706"]
    for phone in phones:
        assert "When did it happen" in texter.send(scaled.api_urls[0], phone, "i cut myself on a used scalpel",
                                                   public_url=PUBLIC)
    cids = {phone: sms_conversation_id(scaled.keys.session_secret, phone) for phone in phones}
    replies: dict[tuple[str, str], str] = {}

    def send(api: str, phone: str, text: str) -> None:
        replies[(phone, text)] = texter.send(api, phone, text, public_url=PUBLIC)

    firsts = [threading.Thread(target=send, args=(scaled.api_urls[0], phone, "an hour ago")) for phone in phones]
    seconds = [threading.Thread(target=send, args=(scaled.api_urls[1], phone, "2")) for phone in phones]
    for t in firsts:
        t.start()
    # The second texts go once rasa1 is handling each first one (it holds the conversation's
    # lock), or has already answered it: they never overtake the first on the way in.
    wait_until(lambda: all(scaled.redis.exists(LOCK_PREFIX + cids[p], db=LOCK_DB) or (p, "an hour ago") in replies
                           for p in phones),
               seconds=120, every=0.02, what="rasa1 handling the first texts")
    for t in seconds:
        t.start()
    for t in firsts + seconds:
        t.join(timeout=180)
    for phone in phones:
        cid = cids[phone]
        assert "What was on it" in replies[(phone, "an hour ago")], replies
        assert "which patient" in replies[(phone, "2")], replies  # "2" answered "What was on it"
        assert scaled.tracker_user_texts(cid) == ["i cut myself on a used scalpel", "an hour ago", "2"]


def test_two_api_processes_never_page_the_same_step_twice(scaled):
    headers = {"Authorization": f"Bearer {scaled.keys.api_token}"}
    answers = {"exposure_type": "percutaneous", "fluid": "blood", "source": {"identified": True, "hiv": "positive"}}
    refs = []
    for i in range(8):
        response = httpx.post(f"{scaled.api_urls[i % 2]}/api/cases", headers=headers, timeout=30,
                              json={"line": "sharps", "answers": answers})
        assert response.status_code == 201, response.text
        refs.append(response.json()["ref"])

    # Primary, backup, clinical lead, everyone, ACK_SECONDS apart: both workers racing at each step.
    def everyone_paged() -> bool:
        done = scaled.sql('SELECT DISTINCT c.ref FROM page p JOIN "case" c ON c.id = p.case_id '
                          "WHERE p.tier = 'everyone' AND p.sent_at IS NOT NULL AND c.ref = ANY(%s)", refs)
        return {ref for (ref,) in done} == set(refs)

    wait_until(everyone_paged, seconds=120, every=0.5, what="every case's ladder to reach everyone")
    conversation_case = scaled.sql('SELECT ref FROM "case" WHERE conversation_id = %s',
                                   sms_conversation_id(scaled.keys.session_secret, "+447700900701"))
    for ref in refs + [r[0] for r in conversation_case]:
        pages = scaled.sql('SELECT p.id, p.attempt, p.practitioner_id, p.tier FROM page p JOIN "case" c '
                           "ON c.id = p.case_id WHERE c.ref = %s AND p.sent_at IS NOT NULL ORDER BY p.id", ref)
        assert pages, ref
        per_step = collections.Counter((attempt, who) for _, attempt, who, _ in pages)
        assert max(per_step.values()) == 1, (ref, per_step)
        rounds = sorted({attempt for _, attempt, _, _ in pages})
        assert rounds == list(range(rounds[0], rounds[0] + len(rounds))), (ref, rounds)
        for page_id, *_ in pages:
            texts = scaled.sql("SELECT count(*) FROM outbox_message WHERE page_id = %s", page_id)[0][0]
            assert texts == 1, (ref, page_id, texts)
        overdue = scaled.sql("SELECT e.details FROM case_event e JOIN \"case\" c ON c.id = e.case_id "
                             "WHERE c.ref = %s AND e.type = 'page_overdue'", ref)
        fired = collections.Counter((d if isinstance(d, dict) else json.loads(d))["page_id"] for (d,) in overdue)
        assert not fired or max(fired.values()) == 1, (ref, fired)
    for ref in refs:
        tiers = [t for (t,) in scaled.sql('SELECT p.tier FROM page p JOIN "case" c ON c.id = p.case_id '
                                          "WHERE c.ref = %s ORDER BY p.id", ref)]
        assert tiers[:3] == ["primary", "backup", "clinical_lead"], (ref, tiers)
