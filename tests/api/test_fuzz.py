"""Schemathesis over the API's OpenAPI schema, in-process (ASGI), with the API token.

Every operation in the schema (the /api routes and /health: the Twilio webhooks, the chat
and the HTML pages are not in it) gets up to 25 generated requests, valid and invalid,
against a database seeded with the demo organisations, practitioners, rota and a few cases.
No answer may be a 5xx, and every 4xx body is `{"detail": ...}` (docs/contract.md, Errors).
Derandomised: the same requests every run, so a failure reproduces.
"""
from __future__ import annotations

import itertools

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from api.core.config import Settings
from api.core.db import make_engine, make_session_factory
from api.main import create_app
from api.models import Base, RefCounter
from api.seed import seed
from api.services import cases
from tests.api.conftest import TOKEN, FakeClock
from tests.api.factories import HIV_NEEDLESTICK

AUTH = {"Authorization": f"Bearer {TOKEN}"}
MAX_EXAMPLES = 25
_NUMBERS = itertools.count(7000)


def _settings(database_url: str, spool: str) -> Settings:
    return Settings(_env_file=None, environment="test", database_url=database_url, helpline_api_token=TOKEN,
                    session_secret="fuzz-session-secret-0123456789", worker_enabled=False, inbound_spool_dir=spool,
                    rasa_tracker_dialect="sqlite", rasa_tracker_db=f"{spool}/rasa-tracker.db")  # never var/'s


# The schema is read from the app at collection (schemathesis's lazy fixture loader does not work
# with this pytest). Building the app connects to nothing; the fixture below gives it its database.
CLOCK = FakeClock()
APP = create_app(_settings("sqlite:///:memory:", "var/spool-unused"), clock=CLOCK)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP, headers=AUTH)


@pytest.fixture(scope="module", autouse=True)
def seeded_database(database_factory, tmp_path_factory):
    settings = _settings(database_factory(), str(tmp_path_factory.mktemp("spool")))
    engine = make_engine(settings.database_url)
    Base.metadata.create_all(engine)
    factory = make_session_factory(engine)
    with factory() as session:
        session.add_all([RefCounter(prefix="SH", value=0), RefCounter(prefix="MA", value=0)])
        seed(session, now=CLOCK.now)
        for data in ({"line": "sharps", "answers": HIV_NEEDLESTICK, "contact": {"phone": "07700 900555"}},
                     {"line": "manager", "kind": "advice", "answers": {"topic": "fit_note", "question": "?"}},
                     {"line": "sharps", "organisation_code": "Y00001"}):
            cases.create(session, data=data, now=CLOCK.now, settings=settings)
        session.commit()
    APP.state.settings = settings
    APP.state.session_factory = factory
    yield
    engine.dispose()


@schema.parametrize()
@hypothesis_settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                     suppress_health_check=list(HealthCheck))
def test_no_server_error_and_every_error_is_detail(case):
    response = case.call(headers=AUTH)
    request = f"{case.method} {case.formatted_path} query={case.query} body={case.body!r}"
    assert response.status_code < 500, f"{request} -> {response.status_code} {response.text[:500]}"
    if 400 <= response.status_code < 500:
        body = response.json()
        assert isinstance(body, dict) and set(body) == {"detail"}, f"{request} -> {response.text[:500]}"


@pytest.mark.parametrize("method,path,body,expected", [
    # Found by the fuzzing above: each was a 500 (SQLite) or a 503 (PostgreSQL) before its fix.
    ("PATCH", "/api/practitioners/9223372036854775808", {}, 404),
    ("GET", "/api/organisations/3000000000", None, 404),
    ("POST", "/api/pages/9223372036854775808/ack", None, 404),
    ("POST", "/api/rota/shifts", {"practitioner_id": 2**40, "tier": "primary", "starts_at": "2026-11-23T08:00:00Z",
                                  "ends_at": "2026-11-23T20:00:00Z"}, 422),
    ("PATCH", "/api/rota/shifts/{shift}", {"ends_at": None}, 422),
    ("PATCH", "/api/rota/shifts/{shift}", {"starts_at": "2026-11-23T08:00:00"}, 422),
    ("PATCH", "/api/practitioners/{practitioner}", {"name": None}, 422),
    # PostgreSQL cannot store a NUL character in text (SQLite can): never a 5xx.
    ("POST", "/api/cases", {"line": "sharps", "summary": "a\u0000b"}, None),
    ("POST", "/api/organisations", {"code": "NUL1", "name": "a\u0000b", "type": "other"}, None),
])
def test_inputs_that_used_to_be_server_errors(method, path, body, expected):
    from fastapi.testclient import TestClient

    with TestClient(APP, headers=AUTH) as client:
        person = client.post("/api/practitioners", json={"name": "Fuzz Fixture", "role": "nurse",
                                                         "mobile": f"+44770090{next(_NUMBERS):04d}"})
        assert person.status_code == 201, person.text
        shift = client.post("/api/rota/shifts", json={"practitioner_id": person.json()["id"], "tier": "backup",
                                                      "starts_at": "2026-12-01T08:00:00Z",
                                                      "ends_at": "2026-12-01T20:00:00Z"})
        assert shift.status_code == 201, shift.text
        path = path.format(shift=shift.json()["id"], practitioner=person.json()["id"])
        r = client.request(method, path, json=body)
    assert r.status_code < 500, r.text
    if expected:
        assert r.status_code == expected, r.text
    if r.status_code >= 400:
        assert set(r.json()) == {"detail"}
