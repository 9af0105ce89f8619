"""Fixtures for the API tests: a fresh database per test, a fixed clock, a client.

SQLite (a file under tmp_path) by default. With HELPLINE_TEST_DATABASE=postgres every test
gets a fresh database on one throwaway PostgreSQL server started for the session
(tests/support/postgres.py; `make test-api-postgres`).
"""
from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
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


@pytest.fixture(scope="session")
def database_factory(tmp_path_factory) -> Iterator[Callable[[], str]]:
    """new_url() -> the URL of a fresh, empty database (dropped at the end of the session)."""
    if TEST_DATABASE == "sqlite":
        yield lambda: f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        return
    import psycopg

    from tests.support import postgres

    server = postgres.start()
    admin = psycopg.connect(f"host=127.0.0.1 port={server.port} user=postgres dbname=postgres", autocommit=True)

    def new_url() -> str:
        name = f"t_{uuid.uuid4().hex[:16]}"
        admin.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{server.port}/{name}"

    try:
        yield new_url
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


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A SQLite file with every table, made once per worker: copying it takes a fraction of a
    millisecond where create_all takes about 50 ms, and most tests need the tables."""
    path = tmp_path_factory.mktemp("template") / "tables.db"
    _create_tables(f"sqlite:///{path}")
    return path


@pytest.fixture
def session_factory(settings, request):
    url = settings.database_url
    fresh_sqlite = url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists()
    if fresh_sqlite:
        shutil.copyfile(request.getfixturevalue("sqlite_template"), url.removeprefix("sqlite:///"))
    else:
        _create_tables(url)
    engine = make_engine(url)
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
