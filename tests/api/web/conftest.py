"""Fixtures for the web pages: one account per role, and signed-in clients."""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from api.services import accounts
from tests.api.factories import organisation, standard_rota

PASSWORD = "correct horse battery staple"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(autouse=True)
def quick_hashes(monkeypatch):
    """Argon2id with small parameters, so each test's accounts take milliseconds (one test
    checks the real parameters)."""
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(accounts, "_hasher", lambda: cheap)


@pytest.fixture
def world(session, clock):
    """The standard rota, two organisations and one account per role (two managers)."""
    people = standard_rota(session, now=clock.now)
    org_a = organisation(session, "Y00001", name="Riverside Medical Practice", now=clock.now)
    org_b = organisation(session, "FA001", name="High Street Pharmacy", type="community_pharmacy", now=clock.now)
    users = {
        "practitioner": accounts.create_account(session, email="alex@example.nhs.uk", name="Alex Primary",
                                                role="practitioner", password=PASSWORD, now=clock.now,
                                                practitioner_id=people["primary"].id),
        "lead": accounts.create_account(session, email="lee@example.nhs.uk", name="Dr Lee Lead",
                                        role="clinical_lead", password=PASSWORD, now=clock.now,
                                        practitioner_id=people["lead"].id),
        "admin": accounts.create_account(session, email="admin@example.nhs.uk", name="Ada Admin", role="admin",
                                         password=PASSWORD, now=clock.now),
        "manager": accounts.create_account(session, email="manager@riverside.example", name="Mo Manager",
                                           role="manager", password=PASSWORD, now=clock.now,
                                           organisation_id=org_a.id),
        "other_manager": accounts.create_account(session, email="manager@pharmacy.example", name="Pat Pharmacy",
                                                 role="manager", password=PASSWORD, now=clock.now,
                                                 organisation_id=org_b.id),
    }
    session.commit()
    return {"people": people, "orgs": {"a": org_a, "b": org_b}, "users": users}


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def sign_in(client: TestClient, email: str, password: str = PASSWORD, next: str = "/"):
    page = client.get("/login")
    assert page.status_code == 200
    return client.post("/login", data={"email": email, "password": password, "csrf_token": csrf_from(page.text),
                                       "next": next}, follow_redirects=False)


@pytest.fixture
def web(app) -> Iterator[TestClient]:
    """An anonymous browser: no API token."""
    with TestClient(app, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def browser_for(app, world) -> Iterator[Callable[[str], TestClient]]:
    """browser_for(role) -> a client signed in as that role's account."""
    opened: list[TestClient] = []

    def make(role: str) -> TestClient:
        client = TestClient(app, base_url="http://testserver")
        client.__enter__()
        opened.append(client)
        r = sign_in(client, world["users"][role].email)
        assert r.status_code == 303, r.text
        return client

    yield make
    for client in opened:
        client.__exit__(None, None, None)


def token_of(client: TestClient, path: str = "/dashboard") -> str:
    return csrf_from(client.get(path).text)


def confirm_organisation(practitioner: TestClient, ref: str, code: str):
    """A practitioner binds a referral to an organisation on its case page (then its managers see it)."""
    return practitioner.post(f"/cases/{ref}/organisation", data={"code": code, "csrf_token": token_of(practitioner)},
                             follow_redirects=False)
