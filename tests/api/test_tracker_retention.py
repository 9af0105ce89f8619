"""Rasa's tracker store: retention prunes it by the transcripts' rule, subject access exports it, and
a tracker database that is missing, empty or unreachable never stops the API's own housekeeping.

The tracker is a temporary SQLite file with the `events` table exactly as Rasa 3.6's
SQLTrackerStore creates it (DDL and event JSON captured from rasa.core.tracker_store with
.venv-bot), whichever database the API's own tests run on.
"""
from __future__ import annotations

import json
import socket
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from api import retention as retention_cli
from api.core.config import REPO_ROOT, Settings
from api.models import Case, ConversationMessage
from api.services import audit, identities, retention, tracker_store
from api.services import cases as case_service
from api.services.tracker_store import TrackerNotCreated, TrackerStore, TrackerUnavailable
from tests.api.conftest import T0, TEST_DATABASE
from tests.api.factories import HIV_NEEDLESTICK, standard_rota

PHONE = "+447700900555"
OTHER_PHONE = "+447700900999"
DAYS = 548
CALL = "CA" + "1" * 32
WEB = "web-" + "b" * 32

# sqlite_master after SQLTrackerStore(dialect="sqlite", db=...) in Rasa 3.6.
RASA_DDL = (
    "CREATE TABLE events (\n\tid INTEGER NOT NULL, \n\tsender_id VARCHAR(255) NOT NULL, \n\t"
    "type_name VARCHAR(255) NOT NULL, \n\ttimestamp FLOAT, \n\tintent_name VARCHAR(255), \n\t"
    "action_name VARCHAR(255), \n\tdata TEXT, \n\tPRIMARY KEY (id)\n)",
    "CREATE INDEX ix_events_sender_id ON events (sender_id)",
)
# The same table compiled for PostgreSQL (CreateTable(SQLTrackerStore.SQLEvent.__table__)).
RASA_DDL_POSTGRES = (
    "CREATE TABLE events (id SERIAL NOT NULL, sender_id VARCHAR(255) NOT NULL, type_name VARCHAR(255) NOT NULL, "
    "timestamp FLOAT, intent_name VARCHAR(255), action_name VARCHAR(255), data TEXT, PRIMARY KEY (id))",
    "CREATE INDEX ix_events_sender_id ON events (sender_id)",
)


class RasaTracker:
    """A Rasa tracker database, written the way SQLTrackerStore.save writes it: a SQLite file, or
    (`postgres_url`) a PostgreSQL database."""

    def __init__(self, path: Path, *, create: bool = True, postgres_url: str | None = None):
        self.path = path
        self.postgres_url = postgres_url
        if postgres_url:
            self._run(RASA_DDL_POSTGRES)
        elif create:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._run(RASA_DDL)

    def _run(self, statements, params=(), *, fetch: bool = False) -> list[tuple]:
        if self.postgres_url:
            import psycopg

            with psycopg.connect(self.postgres_url) as con:
                rows = []
                for sql in statements:
                    cur = con.execute(sql.replace("?", "%s"), params)
                    rows = cur.fetchall() if fetch else []
                return rows
        con = sqlite3.connect(self.path)
        try:
            with con:
                rows = []
                for sql in statements:
                    cur = con.execute(sql, params)
                    rows = cur.fetchall() if fetch else []
                return rows
        finally:
            con.close()

    def _save(self, sender: str, events: list[dict]) -> None:
        for e in events:
            intent = e.get("parse_data", {}).get("intent", {}).get("name")
            self._run(["INSERT INTO events (sender_id, type_name, timestamp, intent_name, action_name, data) "
                       "VALUES (?, ?, ?, ?, ?, ?)"],
                      (sender, e["event"], e["timestamp"], intent, e.get("name"), json.dumps(e)))

    def conversation(self, sender: str, at: datetime, text: str, *, phone: str | None = None,
                     channel: str = "sms", slot: tuple[str, object] | None = None) -> int:
        """One session: start, the person's message, the bot's answer, a slot. Returns events written."""
        ts = at.timestamp()
        meta = {"channel": channel, "phone": phone}
        events = [
            {"event": "action", "timestamp": ts, "name": "action_session_start", "policy": None, "confidence": None,
             "action_text": None, "hide_rule_turn": False},
            {"event": "session_started", "timestamp": ts, "metadata": meta},
            {"event": "action", "timestamp": ts, "name": "action_listen", "policy": None, "confidence": None,
             "action_text": None, "hide_rule_turn": False},
            {"event": "user", "timestamp": ts + 1, "metadata": meta, "text": text,
             "parse_data": {"intent": {"name": "report_sharps_injury", "confidence": 0.93}, "entities": [],
                            "text": text, "message_id": None, "metadata": meta},
             "input_channel": None, "message_id": None},
            {"event": "bot", "timestamp": ts + 2, "text": "Let it bleed and wash it with soap and water.",
             "data": {"buttons": []}, "metadata": {}},
        ]
        if slot:
            events.append({"event": "slot", "timestamp": ts + 3, "name": slot[0], "value": slot[1]})
        self._save(sender, events)
        return len(events)

    def counts(self) -> dict[str, int]:
        return dict(self._run(["SELECT sender_id, count(*) FROM events GROUP BY sender_id"], fetch=True))

    def times(self, sender: str) -> list[float]:
        return [t for (t,) in self._run(["SELECT timestamp FROM events WHERE sender_id = ? ORDER BY id"], (sender,),
                                        fetch=True)]

    def first_types(self, sender: str, n: int) -> list[str]:
        rows = self._run(["SELECT type_name FROM events WHERE sender_id = ? ORDER BY id"], (sender,), fetch=True)
        return [t for (t,) in rows[:n]]


@pytest.fixture
def rasa(settings) -> RasaTracker:
    return RasaTracker(settings.rasa_tracker_sqlite_path)


@pytest.fixture
def store(settings) -> TrackerStore:
    return TrackerStore.from_settings(settings)


@pytest.fixture
def postgres_tracker(database_factory, settings) -> tuple[RasaTracker, Settings]:
    """Rasa's tracker store on PostgreSQL (only with HELPLINE_TEST_DATABASE=postgres): the table in a
    fresh database of the throwaway server, the settings pointing at it as RASA_TRACKER_* would."""
    if TEST_DATABASE != "postgres":
        pytest.skip("needs HELPLINE_TEST_DATABASE=postgres")
    url = make_url(database_factory())
    tracker = RasaTracker(Path("unused"), postgres_url=url.set(drivername="postgresql").render_as_string(False))
    return tracker, settings.model_copy(update={
        "rasa_tracker_dialect": "postgresql", "rasa_tracker_url": f"{url.host}:{url.port}",
        "rasa_tracker_db": url.database, "rasa_tracker_username": url.username or "",
        "rasa_tracker_password": url.password or ""})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _unreachable(settings: Settings) -> Settings:
    """A PostgreSQL tracker store on a port nobody listens on."""
    return settings.model_copy(update={"rasa_tracker_dialect": "postgresql", "rasa_tracker_db": "rasa",
                                       "rasa_tracker_url": f"127.0.0.1:{_free_port()}",
                                       "rasa_tracker_username": "rasa", "rasa_tracker_password": "pw-0123456789"})


# --- retention ------------------------------------------------------------------------------

@pytest.fixture
def world(session, settings, clock, rasa):
    """At T0: an SMS sharps case (closed 2 h later) and an open voice case, each with its Rasa
    conversation; Rasa conversations the API never stored (old and recent); a texter with a
    conversation long ago and one within the period."""
    standard_rota(session, now=clock.now)
    sms = identities.sms_conversation_id(settings.session_secret, PHONE)
    other_sms = identities.sms_conversation_id(settings.session_secret, OTHER_PHONE)
    session.add(ConversationMessage(conversation_id=sms, channel="sms", direction="inbound", status="relayed",
                                    text="needle in my hand", details={}, created_at=clock.now - timedelta(minutes=5)))
    closed = case_service.create(session, data={
        "line": "sharps", "channel": "sms", "conversation_id": sms, "contact": {"name": "Sam", "phone": PHONE},
        "answers": HIV_NEEDLESTICK}, now=clock.now, settings=settings)
    case_service.change_status(session, closed, status="closed", actor="api", now=clock.now + timedelta(hours=2),
                               outcome="advice_only")
    kept = case_service.create(session, data={"line": "sharps", "channel": "voice", "conversation_id": CALL},
                               now=clock.now, settings=settings)
    session.commit()

    later = clock.now + timedelta(days=DAYS, hours=3)  # the SMS case closed just over DAYS ago
    written = {
        sms: rasa.conversation(sms, clock.now - timedelta(minutes=5), "needle in my hand", phone=PHONE,
                               slot=("contact_name", "Sam")),
        # The open case's call: a first call 3 days before the case (goes: older than the case
        # less a day), then the call that opened it (kept, however old).
        CALL: rasa.conversation(CALL, clock.now - timedelta(days=3), "an earlier call", channel="voice")
        + rasa.conversation(CALL, clock.now - timedelta(minutes=10), "splash in my eye", channel="voice"),
        "demo-1": rasa.conversation("demo-1", clock.now - timedelta(days=1), "straight to Rasa"),
        WEB: rasa.conversation(WEB, later - timedelta(days=1), "a question about fit notes", channel="web"),
        other_sms: rasa.conversation(other_sms, clock.now - timedelta(days=30), "long ago", phone=OTHER_PHONE)
        + rasa.conversation(other_sms, later - timedelta(days=2), "recently", phone=OTHER_PHONE),
    }
    return {"sms": sms, "other_sms": other_sms, "closed": closed.ref, "kept": kept.ref, "later": later,
            "written": written}


def test_retention_prunes_rasa_conversations_by_the_transcript_rule(session, world, store, rasa):
    before = rasa.counts()
    report = retention.apply(session, now=world["later"], days=DAYS, tracker=store)
    session.commit()

    assert report.cases == [world["closed"]]
    assert report.tracker_store == "ok"
    left = rasa.counts()
    # Gone: the closed case's conversation, and the one Rasa had on its own.
    assert world["sms"] not in left and "demo-1" not in left
    # Kept: the open case's call (from a day before the case on), recent chats, the texter's recent session.
    assert left[CALL] == before[CALL] // 2
    assert min(rasa.times(CALL)) >= (T0 - timedelta(days=1)).timestamp()
    assert left[WEB] == before[WEB]
    assert left[world["other_sms"]] == before[world["other_sms"]] // 2
    assert min(rasa.times(world["other_sms"])) > (world["later"] - timedelta(days=DAYS)).timestamp()
    # ...and what is left of a conversation starts with a whole session, as Rasa reads it.
    assert rasa.first_types(world["other_sms"], 2) == ["action", "session_started"]

    deleted = sum(before.values()) - sum(left.values())
    assert report.tracker_events_deleted == deleted == (
        before[world["sms"]] + before["demo-1"] + before[CALL] // 2 + before[world["other_sms"]] // 2)
    assert report.tracker_conversations == 4
    assert report.as_dict()["tracker_events_deleted"] == deleted

    # The case's audit trail counts its own conversation's events (counts only).
    case = session.scalar(select(Case).where(Case.ref == world["closed"]))
    applied = audit.events_for(session, case)[-1]
    assert applied.type == "retention_applied"
    assert applied.details["tracker_events_deleted"] == before[world["sms"]]
    assert applied.details["tracker_store"] == "ok"
    assert "needle" not in json.dumps(applied.details) and world["sms"] not in json.dumps(applied.details)

    # The API's own transcript went too; running again removes nothing more.
    assert session.scalar(select(ConversationMessage).where(ConversationMessage.conversation_id == world["sms"])) \
        is None
    again = retention.apply(session, now=world["later"], days=DAYS, tracker=store)
    session.commit()
    assert again.tracker_events_deleted == 0 and rasa.counts() == left


def test_nothing_in_rasa_goes_before_the_period_ends(session, world, store, rasa, clock):
    before = rasa.counts()
    # The cutoff a day before the oldest event (the texter's, 30 days before T0).
    report = retention.apply(session, now=clock.now + timedelta(days=DAYS - 31), days=DAYS, tracker=store)
    session.commit()
    assert report.tracker_events_deleted == 0 and rasa.counts() == before


def test_dry_run_counts_rasa_events_and_deletes_none(session, settings, world, rasa, monkeypatch, capsys):
    before = rasa.counts()
    monkeypatch.setattr(retention_cli, "get_settings", lambda: settings)
    assert retention_cli.main(["--dry-run"], clock=lambda: world["later"]) == 0
    dry = json.loads(capsys.readouterr().out)
    assert dry["dry_run"] is True and dry["tracker_store"] == "ok" and dry["tracker_events_deleted"] > 0
    assert rasa.counts() == before

    assert retention_cli.main([], clock=lambda: world["later"]) == 0
    done = json.loads(capsys.readouterr().out)
    assert done["tracker_events_deleted"] == dry["tracker_events_deleted"]
    assert done["tracker_conversations"] == dry["tracker_conversations"] == 4
    assert sum(rasa.counts().values()) == sum(before.values()) - done["tracker_events_deleted"]


def test_without_a_tracker_database_file_the_api_data_still_goes(session, settings, world, clock, rasa):
    rasa.path.unlink()
    report = retention.apply(session, now=world["later"], days=DAYS, tracker=TrackerStore.from_settings(settings))
    session.commit()
    assert report.tracker_store == "not_created" and report.tracker_events_deleted == 0
    assert report.cases == [world["closed"]]
    assert not rasa.path.exists()  # never created by the API: that is Rasa's to do


def test_without_rasa_events_table_the_api_data_still_goes(session, settings, world, rasa):
    rasa.path.unlink()
    sqlite3.connect(rasa.path).close()  # an empty database, as before Rasa's first start
    report = retention.apply(session, now=world["later"], days=DAYS, tracker=TrackerStore.from_settings(settings))
    session.commit()
    assert report.tracker_store == "not_created" and report.cases == [world["closed"]]


def test_an_unreachable_tracker_store_is_reported_and_the_api_data_still_goes(
        session, settings, world, monkeypatch, capsys, caplog):
    down = _unreachable(settings)
    monkeypatch.setattr(retention_cli, "get_settings", lambda: down)
    assert retention_cli.main([], clock=lambda: world["later"]) == retention_cli.TRACKER_NOT_PRUNED
    report = json.loads(capsys.readouterr().out)
    assert report["tracker_store"] == "unavailable" and report["cases"] == 1
    session.expire_all()
    case = session.scalar(select(Case).where(Case.ref == world["closed"]))
    assert case.contact == {}  # committed despite Rasa's database being down
    applied = audit.events_for(session, case)[-1]
    assert applied.details["tracker_store"] == "unavailable" and applied.details["tracker_events_deleted"] == 0
    assert "pw-0123456789" not in caplog.text  # the password is never logged


def test_a_corrupt_tracker_file_is_unavailable(session, settings, world, rasa):
    rasa.path.write_bytes(b"this is not a database" * 100)
    report = retention.apply(session, now=world["later"], days=DAYS, tracker=TrackerStore.from_settings(settings))
    assert report.tracker_store == "unavailable" and report.cases == [world["closed"]]


def test_retention_without_a_tracker_store_skips_it(session, world, rasa):
    before = rasa.counts()
    report = retention.apply(session, now=world["later"], days=DAYS)
    assert report.tracker_store == "skipped" and rasa.counts() == before


# --- subject access -------------------------------------------------------------------------

def test_subject_access_includes_the_rasa_conversations(client, session, settings, clock, rasa):
    sms = identities.sms_conversation_id(settings.session_secret, PHONE)
    rasa.conversation(sms, clock.now - timedelta(minutes=5), "needle went into my hand", phone=PHONE,
                      slot=("contact_name", "Sam"))
    rasa.conversation(CALL, clock.now - timedelta(minutes=2), "a splash in my eye", phone=PHONE, channel="voice")
    rasa.conversation(identities.sms_conversation_id(settings.session_secret, OTHER_PHONE), clock.now,
                      "someone else's words", phone=OTHER_PHONE)
    rasa.conversation("demo-1", clock.now, "not tied to the number")
    standard_rota(session, now=clock.now)
    call_case = client.post("/api/cases", json={"line": "sharps", "channel": "voice", "conversation_id": CALL,
                                                "contact": {"phone": "07700 900555"}}).json()

    r = client.get("/api/subject-access", params={"phone": "07700 900555"})
    assert r.status_code == 200, r.text
    export = r.json()
    tracker = export["rasa_tracker"]
    assert tracker["status"] == "ok"
    assert [c["conversation_id"] for c in tracker["conversations"]] == sorted([CALL, sms])
    assert export["conversation_ids"] == sorted([CALL, sms])
    assert "someone else's words" not in r.text and "not tied to the number" not in r.text
    assert [c["ref"] for c in export["cases"]] == [call_case["ref"]]

    events = {c["conversation_id"]: c["events"] for c in tracker["conversations"]}[sms]
    assert [e["type"] for e in events] == ["action", "session_started", "action", "user", "bot", "slot"]
    user = events[3]
    assert user["text"] == "needle went into my hand" and user["intent"] == "report_sharps_injury"
    assert user["metadata"] == {"channel": "sms", "phone": PHONE}
    assert datetime.fromisoformat(user["timestamp"]) == clock.now - timedelta(minutes=5) + timedelta(seconds=1)
    assert events[4]["text"].startswith("Let it bleed")
    assert events[5]["slot"] == {"name": "contact_name", "value": "Sam"} and events[5]["action"] is None
    assert events[0]["action"] == "action_session_start" and events[0]["text"] is None
    assert set(user) == {"type", "timestamp", "intent", "action", "text", "slot", "metadata"}


def test_subject_access_for_a_texter_without_a_case(client, settings, clock, rasa):
    sms = identities.sms_conversation_id(settings.session_secret, PHONE)
    rasa.conversation(sms, clock.now, "just asking", phone=PHONE)
    export = client.get("/api/subject-access", params={"phone": PHONE}).json()
    assert export["cases"] == [] and export["conversation_ids"] == [sms]
    assert [c["conversation_id"] for c in export["rasa_tracker"]["conversations"]] == [sms]


def test_subject_access_without_a_tracker_database(client, settings):
    assert not settings.rasa_tracker_sqlite_path.exists()
    r = client.get("/api/subject-access", params={"phone": PHONE})
    assert r.status_code == 200
    assert r.json()["rasa_tracker"] == {"status": "not_created", "conversations": []}
    assert not settings.rasa_tracker_sqlite_path.exists()


def test_subject_access_with_the_tracker_store_down(app, client, settings):
    app.state.settings = _unreachable(settings)
    r = client.get("/api/subject-access", params={"phone": PHONE})
    assert r.status_code == 200, r.text
    assert r.json()["rasa_tracker"] == {"status": "unavailable", "conversations": []}


def test_subject_access_after_retention_has_nothing_from_rasa(client, session, settings, clock, rasa):
    sms = identities.sms_conversation_id(settings.session_secret, PHONE)
    rasa.conversation(sms, clock.now, "needle", phone=PHONE)
    later = clock.now + timedelta(days=DAYS + 1)
    retention.apply(session, now=later, days=DAYS, tracker=TrackerStore.from_settings(settings))
    session.commit()
    export = client.get("/api/subject-access", params={"phone": PHONE}).json()
    assert export["rasa_tracker"] == {"status": "ok", "conversations": []}


# --- the adapter ----------------------------------------------------------------------------

def test_a_postgresql_tracker_store_is_pruned_and_exported(session, postgres_tracker, clock):
    rasa, settings = postgres_tracker
    store = TrackerStore.from_settings(settings)
    sms = identities.sms_conversation_id(settings.session_secret, PHONE)
    rasa.conversation(sms, clock.now - timedelta(days=40), "long ago", phone=PHONE)
    rasa.conversation(sms, clock.now, "today", phone=PHONE, slot=("contact_name", "Sam"))
    rasa.conversation("demo-1", clock.now - timedelta(days=40), "straight to Rasa")
    report = retention.apply(session, now=clock.now, days=30, tracker=store)
    assert (report.tracker_store, report.tracker_events_deleted, report.tracker_conversations) == ("ok", 10, 2)
    assert rasa.counts() == {sms: 6}
    exported = retention.tracker_export(store, [sms, "demo-1"])
    assert exported["status"] == "ok"
    assert [e["text"] for e in exported["conversations"][0]["events"] if e["type"] == "user"] == ["today"]


def test_adapter_finds_and_deletes_old_events(store, rasa, clock):
    rasa.conversation("old", clock.now - timedelta(days=10), "old")
    rasa.conversation("mixed", clock.now - timedelta(days=10), "old")
    rasa.conversation("mixed", clock.now, "new")
    rasa.conversation("new", clock.now, "new")
    cutoff = clock.now - timedelta(days=1)
    assert store.senders_with_events_before(cutoff) == ["mixed", "old"]
    assert store.delete_events_before({"old": cutoff, "nobody": cutoff}) == {"old": 5}
    assert sorted(rasa.counts()) == ["mixed", "new"]
    assert store.delete_events_before({"mixed": cutoff}, dry_run=True) == {"mixed": 5}
    assert rasa.counts()["mixed"] == 10
    assert store.delete_events_before({"mixed": cutoff, "new": cutoff}) == {"mixed": 5}
    assert rasa.counts() == {"mixed": 5, "new": 5}
    assert store.export(["mixed", "nobody"])["mixed"][3]["text"] == "new"


def test_adapter_errors(settings, rasa, store):
    rasa.path.unlink()
    with pytest.raises(TrackerNotCreated):
        store.senders_with_events_before(T0)
    assert not rasa.path.exists()
    with pytest.raises(TrackerUnavailable) as raised:
        TrackerStore.from_settings(_unreachable(settings)).export(["sms-x"])
    assert raised.value.status == tracker_store.UNAVAILABLE
    assert "pw-0123456789" not in str(raised.value) and "sms-x" not in str(raised.value)


def test_settings_use_rasas_variables(monkeypatch):
    for name, value in {"RASA_TRACKER_DIALECT": "postgresql", "RASA_TRACKER_DB": "rasa",
                        "RASA_TRACKER_URL": "db.internal:5433", "RASA_TRACKER_USERNAME": "rasa",
                        "RASA_TRACKER_PASSWORD": "s3cret/with@chars", "POSTGRESQL_SCHEMA": "bot"}.items():
        monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None)
    store = TrackerStore.from_settings(settings)
    url = store.url
    assert (url.drivername, url.host, url.port, url.database, url.username, url.password) == \
        ("postgresql+psycopg", "db.internal", 5433, "rasa", "rasa", "s3cret/with@chars")
    assert dict(store.connect_args)["options"] == "-csearch_path=bot"
    assert "s3cret" not in store.describe() and "s3cret" not in repr(store.url)

    monkeypatch.setenv("RASA_TRACKER_URL", "postgresql://u:p@h:6543/rasa")
    assert TrackerStore.from_settings(Settings(_env_file=None)).url.drivername == "postgresql+psycopg"


def test_the_default_tracker_file_is_the_repositorys(monkeypatch):
    for name in ("RASA_TRACKER_DIALECT", "RASA_TRACKER_DB"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None)
    assert settings.rasa_tracker_dialect == "sqlite"
    assert settings.rasa_tracker_sqlite_path == REPO_ROOT / "var" / "rasa-tracker.db"
    assert TrackerStore.from_settings(settings).sqlite_path == REPO_ROOT / "var" / "rasa-tracker.db"
    assert Settings(_env_file=None, rasa_tracker_dialect="").rasa_tracker_dialect == "sqlite"
    assert Settings(_env_file=None, rasa_tracker_db="/srv/rasa.db").rasa_tracker_sqlite_path == Path("/srv/rasa.db")
