"""Signed-in staff browsers for the API tests outside tests/api/web (whose conftest has its own):
one account per call, in a role, signed in through /login like a person."""
from __future__ import annotations

from datetime import datetime

from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.services import accounts
from tests.api.web.conftest import PASSWORD, sign_in

NAMES = {"practitioner": "Alex Primary", "clinical_lead": "Dr Lee Lead", "admin": "Ada Admin",
         "manager": "Mo Manager"}


class StaffBrowsers:
    """browsers(role, organisation_id=None) -> a client signed in as a new account in that role."""

    def __init__(self, app, session: Session, now: datetime, monkeypatch) -> None:
        # Argon2id with small parameters: each account takes milliseconds.
        cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
        monkeypatch.setattr(accounts, "_hasher", lambda: cheap)
        self.app, self.session, self.now = app, session, now
        self.opened: list[TestClient] = []

    def __call__(self, role: str, organisation_id: int | None = None) -> TestClient:
        email = f"{role}{len(self.opened)}@example.nhs.uk"
        accounts.create_account(self.session, email=email, name=NAMES[role], role=role, password=PASSWORD,
                                now=self.now, organisation_id=organisation_id)
        self.session.commit()
        # A public https address makes the session cookie Secure: the browser must be on https too.
        secure = self.app.state.settings.public_base_url.startswith("https://")
        client = TestClient(self.app, base_url="https://testserver" if secure else "http://testserver")
        client.__enter__()
        self.opened.append(client)
        assert sign_in(client, email).status_code == 303
        return client

    def close(self) -> None:
        for client in self.opened:
            client.__exit__(None, None, None)
