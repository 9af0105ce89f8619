"""Fixtures for the API tests: a fresh SQLite database per test, a fixed clock, a client."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.core.config import Settings
from api.core.db import make_engine, make_session_factory
from api.main import create_app
from api.models import Base, RefCounter

TOKEN = "test-token-0123456789abcdef"
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


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(
        _env_file=None,
        environment="test",
        database_url=f"sqlite:///{tmp_path / 'test.db'}",
        helpline_api_token=TOKEN,
        session_secret="test-session-secret-0123456789",
        worker_enabled=False,
        ack_seconds_emergency=300,
        ack_seconds_urgent=900,
        provisional_hold_seconds=600,
    )


@pytest.fixture
def session_factory(settings):
    engine = make_engine(settings.database_url)
    Base.metadata.create_all(engine)
    factory = make_session_factory(engine)
    with factory() as s:
        s.add_all([RefCounter(prefix="SH", value=0), RefCounter(prefix="MA", value=0)])
        s.commit()
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
