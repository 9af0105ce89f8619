"""Rasa's tracker store, as the API's privacy housekeeping sees it: find, delete and export events.

Rasa 3.6's SQLTrackerStore keeps every conversation in one table, `events` (id, sender_id,
type_name, timestamp as a unix float, intent_name, action_name, data = the event as JSON:
what the person typed, what the bot said, slot values, the metadata the API sent with each
turn). The sender id is the API's conversation id (api/services/identities.py: `sms-<HMAC>` of the
number for SMS and for calls from that number (one conversation per person), `anon-<HMAC>` for a
text from a withheld number, the Twilio CallSid for a call from one, `web-<random>` for the web
chat), so a case's `conversation_id` names its Rasa conversation.

Only SQLAlchemy core against a table declared here: Rasa owns the schema and creates it on its
first start; nothing here creates a table, or (SQLite) a database file. Where it is comes from
the same RASA_TRACKER_* settings as bot/endpoints.yml (`TrackerStore.from_settings`).

Every call opens a connection and closes it (NullPool): the retention job and a subject access
request are rare, and an idle pooled connection to Rasa's database helps nobody. Failures are
`TrackerNotCreated` (no database file or no `events` table yet: Rasa has stored nothing) and
`TrackerUnavailable` (cannot connect or query); callers report them, never crash on them.
Error messages here carry no sender ids, message text or password.
"""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import (Column, Connection, Engine, Float, Integer, MetaData, String, Table, Text, create_engine,
                        delete, func, inspect, select)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from api.core.config import Settings
from api.core.db import in_batches

TABLE = "events"
CONNECT_TIMEOUT_SECONDS = 5
BATCH = 200  # senders per statement / transaction: short write locks on Rasa's SQLite file

# Rasa 3.6 SQLTrackerStore.SQLEvent, column for column (rasa/core/tracker_store.py).
events = Table(
    TABLE, MetaData(),
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)

OK, NOT_CREATED, UNAVAILABLE = "ok", "not_created", "unavailable"


class TrackerStoreError(RuntimeError):
    status = UNAVAILABLE


class TrackerNotCreated(TrackerStoreError):
    """No database file or no `events` table: Rasa has not stored anything there yet."""
    status = NOT_CREATED


class TrackerUnavailable(TrackerStoreError):
    """The tracker database could not be reached or queried."""
    status = UNAVAILABLE


def epoch(moment: datetime) -> float:
    """A datetime as Rasa's timestamps are stored (unix seconds); naive means UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    try:
        return datetime.fromtimestamp(float(timestamp), timezone.utc).isoformat()
    except (OverflowError, OSError, ValueError):
        return None


@dataclass(frozen=True)
class TrackerStore:
    """Where Rasa's tracker database is. Build with `from_settings`; nothing connects until used."""

    url: URL
    sqlite_path: Path | None = None  # set for SQLite: the file must already exist
    connect_args: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> "TrackerStore":
        if settings.rasa_tracker_dialect == "sqlite":
            path = settings.rasa_tracker_sqlite_path
            return cls(url=URL.create("sqlite", database=str(path)), sqlite_path=path)
        args: dict[str, Any] = {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
        if settings.postgresql_schema:
            args["options"] = f"-csearch_path={settings.postgresql_schema}"
        host = settings.rasa_tracker_url.strip()
        if "://" in host:  # Rasa accepts a complete URL as `url`; drive it with psycopg 3 here
            url = make_url(host).set(drivername="postgresql+psycopg")
        else:
            parts = urlsplit(f"scheme://{host}") if host else None
            url = URL.create(
                "postgresql+psycopg", username=settings.rasa_tracker_username or None,
                password=settings.rasa_tracker_password or None,
                host=(parts.hostname if parts else None) or None, port=parts.port if parts else None,
                database=settings.rasa_tracker_db or None)
        return cls(url=url, connect_args=tuple(args.items()))

    def describe(self) -> str:
        """For logs: the dialect and place, never the password."""
        if self.sqlite_path is not None:
            return f"sqlite {self.sqlite_path}"
        return f"postgresql {self.url.host or 'localhost'}:{self.url.port or 5432}/{self.url.database}"

    # --- connections ----------------------------------------------------------------------

    def _engine(self) -> Engine:
        if self.sqlite_path is not None:
            path = self.sqlite_path
            if not path.is_file():
                raise TrackerNotCreated(f"no tracker database file at {path}")
            # mode=rw: never create the file (Rasa does, with its table, on its first start).
            uri = f"{path.resolve().as_uri()}?mode=rw"
            return create_engine("sqlite://", poolclass=NullPool,
                                 creator=lambda: sqlite3.connect(uri, uri=True, timeout=CONNECT_TIMEOUT_SECONDS))
        return create_engine(self.url, poolclass=NullPool, connect_args=dict(self.connect_args))

    @contextmanager
    def _connect(self, *, write: bool = False) -> Iterator[Connection]:
        """A connection with the `events` table present, inside a transaction (committed if `write`)."""
        engine = self._engine()
        try:
            with engine.connect() as conn:
                if not inspect(conn).has_table(TABLE):
                    raise TrackerNotCreated(f"no `{TABLE}` table in the tracker database")
                yield conn
                if write:
                    conn.commit()
        except SQLAlchemyError as exc:
            raise TrackerUnavailable(f"tracker store ({self.describe()}): {type(exc).__name__}") from None
        except OSError as exc:
            raise TrackerUnavailable(f"tracker store ({self.describe()}): {type(exc).__name__}") from None
        finally:
            engine.dispose()

    # --- queries --------------------------------------------------------------------------

    def senders_with_events_before(self, cutoff: datetime) -> list[str]:
        """Sender ids with at least one event older than the cutoff."""
        with self._connect() as conn:
            return sorted(conn.scalars(
                select(events.c.sender_id).where(events.c.timestamp < epoch(cutoff)).distinct()))

    def delete_events_before(self, until: Mapping[str, datetime], *, dry_run: bool = False) -> dict[str, int]:
        """For each sender, delete its events older than its own cutoff. Returns events deleted (or,
        with `dry_run`, that would be) by sender, for senders that had any."""
        removed: dict[str, int] = {}
        senders = sorted(until)
        for chunk in in_batches(senders, BATCH):
            with self._connect(write=not dry_run) as conn:
                for sender in chunk:
                    old = (events.c.sender_id == sender) & (events.c.timestamp < epoch(until[sender]))
                    if dry_run:
                        count = conn.scalar(select(func.count()).select_from(events).where(old)) or 0
                    else:
                        count = conn.execute(delete(events).where(old)).rowcount or 0
                    if count:
                        removed[sender] = count
        return removed

    def export(self, sender_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
        """Each sender's events, oldest first (senders without events are left out)."""
        ids = sorted(set(sender_ids))
        found: dict[str, list[dict[str, Any]]] = {}
        with self._connect() as conn:
            for chunk in in_batches(ids, BATCH):
                rows = conn.execute(select(events).where(events.c.sender_id.in_(chunk))
                                    .order_by(events.c.sender_id, events.c.id))
                for row in rows:
                    found.setdefault(row.sender_id, []).append(export_event(row))
        return found


def export_event(row: Any) -> dict[str, Any]:
    """One stored event as a person can read it: what was said, understood, done and remembered."""
    try:
        data = json.loads(row.data) if row.data else {}
    except (TypeError, ValueError):
        data = {}
    if not isinstance(data, dict):
        data = {}
    kind = row.type_name or data.get("event")
    return {
        "type": kind,
        "timestamp": _iso(row.timestamp),
        "intent": row.intent_name,
        # Rasa fills action_name from the event's `name`, which for a slot event is the slot's name.
        "action": row.action_name if kind != "slot" else None,
        "text": data.get("text") if kind in ("user", "bot") else None,
        "slot": {"name": data.get("name"), "value": data.get("value")} if kind == "slot" else None,
        # What the API sent with the turn (channel, the caller's number) and session metadata.
        "metadata": data.get("metadata") or None,
    }
