"""Fixtures for the API tests: a fresh database per test, a fixed clock, a client.

SQLite (a file under tmp_path) by default. With HELPLINE_TEST_DATABASE=postgres every test
gets a fresh database on one throwaway PostgreSQL server started for the session
(tests/support/postgres.py; `make test-api-postgres`).
"""
from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import settings as hypothesis_settings
from sqlalchemy.orm import Session

from api.core.config import Settings
from api.core.db import make_engine, make_session_factory
from api.main import create_app
from api.models import Base, RefCounter

# Property tests draw the same examples on every run and keep no example database: a failure
# is reproducible, and a run never differs from the last (the project's fixed seeds).
hypothesis_settings.register_profile("fixed", derandomize=True, database=None)
hypothesis_settings.load_profile("fixed")

TOKEN = "test-token-0123456789abcdef"
TEST_DATABASE = os.environ.get("HELPLINE_TEST_DATABASE", "sqlite").strip().lower() or "sqlite"
if TEST_DATABASE not in ("sqlite", "postgres"):
    raise pytest.UsageError(f"HELPLINE_TEST_DATABASE must be sqlite or postgres, not {TEST_DATABASE!r}")
T0 = datetime(2026, 11, 23, 14, 0, tzinfo=timezone.utc)  # a Monday afternoon


@dataclass
class FakeClock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now = self.now + timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


class Databases:
    """Called, the URL of a fresh, empty database; with_tables(url) fills one such database
    with every table and the reference counters, copied from a template made once per worker
    (create_all takes about 50 ms on SQLite and several times that on PostgreSQL; a copy, a
    fraction of that)."""

    def __init__(self, tmp_path_factory, admin=None, port: int | None = None) -> None:
        self._tmp = tmp_path_factory
        self._admin, self._port = admin, port
        self._template: str | None = None
        self._fresh: set[str] = set()

    def __call__(self) -> str:
        if self._admin is None:
            url = f"sqlite:///{self._tmp.mktemp('db') / 'test.db'}"
        else:
            url = self._postgres_url(f"t_{uuid.uuid4().hex[:16]}")
            self._admin.execute(f'CREATE DATABASE "{url.rsplit("/", 1)[1]}"')
        self._fresh.add(url)
        return url

    def _postgres_url(self, name: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self._port}/{name}"

    def with_tables(self, url: str) -> None:
        sqlite_file = Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite:///") else None
        if url not in self._fresh or (sqlite_file and sqlite_file.exists()):
            _create_tables(url)  # not one of ours, or already opened: the tables made in place
            return
        self._fresh.discard(url)
        if sqlite_file:
            if self._template is None:
                self._template = str(self._tmp.mktemp("template") / "tables.db")
                _create_tables(f"sqlite:///{self._template}")
            shutil.copyfile(self._template, sqlite_file)
            return
        if self._template is None:
            self._template = "template_tables"
            self._admin.execute(f'CREATE DATABASE "{self._template}"')
            _create_tables(self._postgres_url(self._template))
        name = url.rsplit("/", 1)[1]
        # Nobody has connected to the empty database yet: it is swapped for a copy of the template.
        self._admin.execute(f'DROP DATABASE "{name}"')
        self._admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self._template}"')


@pytest.fixture(scope="session")
def database_factory(tmp_path_factory) -> Iterator[Databases]:
    """database_factory() -> the URL of a fresh, empty database (PostgreSQL's dropped at the end of
    the session); database_factory.with_tables(url) gives it every table."""
    if TEST_DATABASE == "sqlite":
        yield Databases(tmp_path_factory)
        return
    import psycopg

    from tests.support import postgres

    server = postgres.start()
    admin = psycopg.connect(f"host=127.0.0.1 port={server.port} user=postgres dbname=postgres", autocommit=True)
    try:
        yield Databases(tmp_path_factory, admin, server.port)
    finally:
        admin.close()
        server.stop()


@pytest.fixture
def database_url(database_factory) -> Iterator[str]:
    url = database_factory()
    yield url
    if url.startswith("postgresql"):
        import psycopg

        host, name = url.rsplit("@", 1)[1].split("/")
        with psycopg.connect(f"host=127.0.0.1 port={host.split(':')[1]} user=postgres dbname=postgres",
                             autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def settings(database_url, tmp_path) -> Settings:
    return Settings(
        _env_file=None,
        environment="test",
        database_url=database_url,
        inbound_spool_dir=str(tmp_path / "spool"),
        # Never the developer's var/rasa-tracker.db: retention deletes from the tracker store.
        rasa_tracker_dialect="sqlite",
        rasa_tracker_db=str(tmp_path / "rasa-tracker.db"),
        helpline_api_token=TOKEN,
        session_secret="test-session-secret-0123456789",
        worker_enabled=False,
        ack_seconds_emergency=300,
        ack_seconds_urgent=900,
        provisional_hold_seconds=600,
    )


def _create_tables(url: str) -> None:
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    with make_session_factory(engine)() as s:
        s.add_all([RefCounter(prefix="SH", value=0), RefCounter(prefix="MA", value=0)])
        s.commit()
    engine.dispose()


@pytest.fixture
def session_factory(settings, database_factory):
    database_factory.with_tables(settings.database_url)
    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine)
    yield factory
    engine.dispose()


@pytest.fixture
def session(session_factory) -> Iterator[Session]:
    with session_factory() as s:
        yield s


@pytest.fixture
def app(settings, clock, session_factory):
    application = create_app(settings, clock=clock)
    # Share the tables the fixture made (same file URL), and let tests run the worker by hand.
    application.state.session_factory = session_factory
    application.state.worker.session_factory = session_factory
    return application


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"}) as c:
        yield c


@pytest.fixture
def anon(app) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c
