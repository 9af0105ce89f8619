"""Sign-in: argon2 hashes, lock-out after 5 failures for 15 minutes, the audit of every attempt,
and the development-only demo accounts."""
from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from api.models import UserAccount, UserEvent
from api.services import accounts
from tests.api.factories import organisation, standard_rota
from tests.api.web.conftest import PASSWORD, csrf_from, sign_in


def _events(session, email=None):
    session.expire_all()
    query = select(UserEvent).order_by(UserEvent.id)
    if email:
        query = query.where(UserEvent.email == email)
    return [(e.type, e.details.get("reason")) for e in session.scalars(query)]


def test_passwords_are_argon2id_with_real_parameters(monkeypatch):
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher)  # undo the quick test hasher
    hashed = accounts.hash_password(PASSWORD)
    assert hashed.startswith("$argon2id$") and "m=65536,t=3" in hashed
    assert accounts.verify_password(hashed, PASSWORD) and not accounts.verify_password(hashed, PASSWORD + "x")
    assert not accounts.verify_password("not a hash", PASSWORD)
    with pytest.raises(accounts.AccountError):
        accounts.hash_password("short")


def test_sign_in_is_audited_with_where_from(web, world, session):
    r = sign_in(web, world["users"]["lead"].email.upper())  # email is case-insensitive
    assert (r.status_code, r.headers["location"]) == (303, "/dashboard")
    event = session.scalars(select(UserEvent)).one()
    assert (event.type, event.user_id, event.email, event.ip) == ("signed_in", world["users"]["lead"].id,
                                                                   "lee@example.nhs.uk", "testclient")
    session.refresh(world["users"]["lead"])
    assert world["users"]["lead"].last_login_at is not None


def test_manager_lands_on_referrals(web, world):
    assert sign_in(web, world["users"]["manager"].email).headers["location"] == "/referrals"


def test_unknown_account_and_wrong_password_are_audited_and_look_alike(web, world, session):
    a = sign_in(web, "nobody@example.nhs.uk")
    b = sign_in(web, world["users"]["admin"].email, password="wrong password here")
    assert a.status_code == b.status_code == 401
    assert "Email or password not recognised" in a.text and "Email or password not recognised" in b.text
    assert _events(session) == [("sign_in_failed", "unknown account"), ("sign_in_failed", "wrong password")]


def test_a_failed_sign_in_is_an_error_summary_that_keeps_the_email_never_the_password(web, world):
    r = sign_in(web, "Someone@Example.nhs.uk", password="a secret guess 123")
    html = r.text
    assert r.status_code == 401 and "<title>Error: Sign in" in html
    assert 'class="error-summary"' in html and '<a href="#email">Email or password not recognised' in html
    assert 'id="email"' in html and 'id="password"' in html and 'value="Someone@Example.nhs.uk"' in html
    assert 'aria-invalid="true" aria-describedby="email-error"' in html
    assert "a secret guess 123" not in html


def test_empty_fields_say_what_to_enter_and_count_as_no_attempt(web, world, session):
    page = web.get("/login")
    r = web.post("/login", data={"email": "", "password": "", "csrf_token": csrf_from(page.text), "next": "/"})
    assert r.status_code == 400
    assert '<a href="#email">Enter your email address</a>' in r.text
    assert '<a href="#password">Enter your password</a>' in r.text
    r = web.post("/login", data={"email": "alex@example.nhs.uk", "password": "", "csrf_token": csrf_from(r.text)})
    assert r.status_code == 400 and 'href="#email"' not in r.text and 'href="#password"' in r.text
    assert 'value="alex@example.nhs.uk"' in r.text
    assert _events(session) == []


def test_five_failures_lock_the_account_for_fifteen_minutes(web, world, session, clock):
    email = world["users"]["practitioner"].email
    for _ in range(4):
        assert sign_in(web, email, password="not the password").status_code == 401
    fifth = sign_in(web, email, password="not the password")
    assert fifth.status_code == 401 and "locked for 15 minutes" in fifth.text
    # Even the right password is refused while locked.
    clock.advance(minutes=14, seconds=59)
    locked = sign_in(web, email)
    assert locked.status_code == 401 and "locked" in locked.text and "oh_session" not in locked.cookies
    clock.advance(seconds=2)
    assert sign_in(web, email).status_code == 303
    assert [t for t, _ in _events(session, email)] == ["sign_in_failed"] * 4 + [
        "locked_out", "sign_in_refused_locked", "signed_in"]
    user = session.get(UserAccount, world["users"]["practitioner"].id)
    session.refresh(user)
    assert (user.failed_logins, user.locked_until) == (0, None)


def test_a_success_resets_the_failure_count(web, world, session):
    email = world["users"]["admin"].email
    for _ in range(4):
        sign_in(web, email, password="not the password")
    assert sign_in(web, email).status_code == 303
    web.cookies.clear()
    for _ in range(4):
        sign_in(web, email, password="not the password")
    assert sign_in(web, email).status_code == 303  # never reached five in a row


def test_inactive_account_cannot_sign_in(web, world, session):
    user = session.get(UserAccount, world["users"]["admin"].id)
    user.active = False
    session.commit()
    assert sign_in(web, user.email).status_code == 401
    assert _events(session)[-1] == ("sign_in_refused_inactive", None)


def test_deactivating_ends_a_live_session(browser_for, world, session):
    nurse = browser_for("practitioner")
    user = session.get(UserAccount, world["users"]["practitioner"].id)
    user.active = False
    session.commit()
    assert nurse.get("/dashboard", follow_redirects=False).status_code == 303


def test_sign_out_is_audited(browser_for, world, session):
    from tests.api.web.conftest import token_of

    lead = browser_for("lead")
    lead.post("/logout", data={"csrf_token": token_of(lead)})
    assert _events(session)[-1] == ("signed_out", None)


def test_demo_accounts_one_per_role_and_they_work(web, session, clock):
    standard_rota(session, now=clock.now)
    organisation(session, "Y00001", now=clock.now)
    session.commit()
    made = accounts.seed_accounts(session, clock.now)
    session.commit()
    assert set(made) == {"practitioner", "clinical_lead", "admin", "manager"}
    for email, password in made.values():
        web.cookies.clear()
        assert sign_in(web, email, password=password).status_code == 303, email
    # Running it again gives fresh passwords; the old ones stop working.
    again = accounts.seed_accounts(session, clock.now)
    session.commit()
    assert again["admin"][1] != made["admin"][1]
    web.cookies.clear()
    assert sign_in(web, made["admin"][0], password=made["admin"][1]).status_code == 401
    assert len(session.scalars(select(UserAccount)).all()) == 4


def test_demo_accounts_refused_in_production(session, clock):
    with pytest.raises(accounts.AccountError):
        accounts.seed_accounts(session, clock.now, environment="production")


def test_a_manager_account_needs_an_organisation(session, clock):
    with pytest.raises(accounts.AccountError):
        accounts.create_account(session, email="m@example.org", name="M", role="manager", password=PASSWORD,
                                now=clock.now)
