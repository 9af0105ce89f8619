"""Sign-in under attack: the lock-out holds against parallel attempts, a stranger cannot keep an
account locked past the window, one address is throttled, and password checks stay off the
event loop and take the same path for unknown and locked accounts.

Runs on the test database: SQLite, or PostgreSQL with HELPLINE_TEST_DATABASE=postgres.
"""
from __future__ import annotations

import inspect
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from fastapi.testclient import TestClient
from limits.storage import MemoryStorage
from sqlalchemy import select

from api.core.config import Settings
from api.main import create_app
from api.models import UserAccount, UserEvent
from api.services import accounts
from api.web import throttle
from api.web.routes import auth
from tests.api.web.conftest import PASSWORD, csrf_from, sign_in

PARALLEL = 20
WRONG = "not the password at all"


@pytest.fixture
def checks(monkeypatch):
    """Which hashes passwords were checked against: the real ones, or the dummy."""
    seen: list[str] = []
    real = accounts.verify_password

    def counting(password_hash: str, password: str) -> bool:
        seen.append(password_hash)
        return real(password_hash, password)

    monkeypatch.setattr(accounts, "verify_password", counting)
    return seen


def _events(session, email: str) -> Counter:
    session.expire_all()
    return Counter(e.type for e in session.scalars(select(UserEvent).where(UserEvent.email == email)))


def _account(session, user_id: int) -> UserAccount:
    session.expire_all()
    return session.get(UserAccount, user_id)


def _attempt(session_factory, email: str, password: str, now: datetime) -> accounts.SignIn:
    with session_factory() as s:
        result = accounts.authenticate(s, email=email, password=password, now=now, ip="192.0.2.1")
        s.commit()
        return result


def test_twenty_parallel_wrong_passwords_lock_the_account(world, session, session_factory, clock, checks):
    user = world["users"]["practitioner"]
    start = threading.Barrier(PARALLEL)

    def attempt(_: int) -> str:
        start.wait()
        return str(_attempt(session_factory, user.email, WRONG, clock.now).event)

    with ThreadPoolExecutor(PARALLEL) as pool:
        outcomes = Counter(pool.map(attempt, range(PARALLEL)))

    # Each attempt got its own number: four failures, the fifth locked, fifteen refused unchecked.
    assert outcomes == {"sign_in_failed": 4, "locked_out": 1, "sign_in_refused_locked": 15}
    assert sum(1 for h in checks if h == user.password_hash) == accounts.MAX_FAILED_SIGN_INS
    locked = _account(session, user.id)
    assert locked.locked_until == clock.now + timedelta(minutes=accounts.LOCK_MINUTES)
    assert _events(session, user.email) == outcomes

    # The right password is refused while locked, and accepted once the window has passed.
    clock.advance(minutes=accounts.LOCK_MINUTES - 1)
    assert _attempt(session_factory, user.email, PASSWORD, clock.now).event == "sign_in_refused_locked"
    clock.advance(minutes=1)
    assert _attempt(session_factory, user.email, PASSWORD, clock.now).ok
    assert (_account(session, user.id).failed_logins, _account(session, user.id).locked_until) == (0, None)


def test_twenty_parallel_wrong_passwords_over_http(app, world, clock):
    """The same through /login, each attempt from its own address (so the per-address throttle
    is not what stops them)."""
    email = world["users"]["lead"].email
    browsers = [TestClient(app, client=(f"198.51.100.{i + 1}", 40000)) for i in range(PARALLEL + 1)]
    for browser in browsers:
        browser.__enter__()
    try:
        tokens = [csrf_from(b.get("/login").text) for b in browsers]
        start = threading.Barrier(PARALLEL)

        def attempt(i: int):
            start.wait()
            return browsers[i].post("/login", data={"email": email, "password": WRONG, "csrf_token": tokens[i]},
                                    follow_redirects=False)

        with ThreadPoolExecutor(PARALLEL) as pool:
            answers = list(pool.map(attempt, range(PARALLEL)))
        assert all(r.status_code == 401 and "oh_session" not in r.cookies for r in answers)
        assert sum("This account is locked" in r.text for r in answers) == PARALLEL - 4

        last = browsers[-1]
        refused = sign_in(last, email)
        assert refused.status_code == 401 and "This account is locked" in refused.text
        clock.advance(minutes=accounts.LOCK_MINUTES, seconds=1)
        assert sign_in(last, email).status_code == 303
    finally:
        for browser in browsers:
            browser.__exit__(None, None, None)


def test_attempts_during_a_lock_never_lengthen_it(world, session, session_factory, clock):
    user = world["users"]["admin"]
    for _ in range(accounts.MAX_FAILED_SIGN_INS):
        _attempt(session_factory, user.email, WRONG, clock.now)
    until = _account(session, user.id).locked_until
    assert until == clock.now + timedelta(minutes=accounts.LOCK_MINUTES)
    for _ in range(3):  # a stranger keeps trying through the lock
        clock.advance(minutes=4)
        assert _attempt(session_factory, user.email, WRONG, clock.now).event == "sign_in_refused_locked"
        assert _account(session, user.id).locked_until == until
    clock.now = until  # the lock ends by time alone
    assert _attempt(session_factory, user.email, PASSWORD, clock.now).ok


def test_after_a_lock_the_count_starts_again(world, session, session_factory, clock):
    user = world["users"]["admin"]
    for _ in range(accounts.MAX_FAILED_SIGN_INS):
        _attempt(session_factory, user.email, WRONG, clock.now)
    clock.advance(minutes=accounts.LOCK_MINUTES)
    # One wrong password after the lock is one failure, not a sixth that locks again.
    assert _attempt(session_factory, user.email, WRONG, clock.now).event == "sign_in_failed"
    account = _account(session, user.id)
    assert (account.failed_logins, account.locked_until) == (1, None)
    assert _attempt(session_factory, user.email, PASSWORD, clock.now).ok


def test_unknown_locked_and_wrong_each_check_one_password(world, session_factory, clock, checks):
    """Every refusal costs one argon2 check, so the time taken does not say whether an account exists."""
    user = world["users"]["admin"]
    _attempt(session_factory, "nobody@example.nhs.uk", WRONG, clock.now)
    assert len(checks) == 1 and checks[-1] != user.password_hash  # the dummy
    _attempt(session_factory, user.email, WRONG, clock.now)
    assert len(checks) == 2 and checks[-1] == user.password_hash
    for _ in range(accounts.MAX_FAILED_SIGN_INS - 1):
        _attempt(session_factory, user.email, WRONG, clock.now)
    checks.clear()
    assert _attempt(session_factory, user.email, PASSWORD, clock.now).event == "sign_in_refused_locked"
    assert len(checks) == 1 and checks[-1] != user.password_hash


# --- per-address throttle -------------------------------------------------------------------

@pytest.fixture
def strict_app(settings, clock, session_factory):
    """The app with a throttle of 3 failures per 15 minutes per address."""
    application = create_app(settings.model_copy(update={"sign_in_ip_limit": "3/15minutes"}), clock=clock)
    application.state.session_factory = session_factory
    return application


def _from(app, address: str) -> TestClient:
    return TestClient(app, client=(address, 40000))


def test_one_address_is_throttled_after_its_failures(strict_app, world, session, checks):
    users = world["users"]
    with _from(strict_app, "203.0.113.7") as sprayer, _from(strict_app, "203.0.113.8") as colleague:
        # A few guesses each on several accounts (and one that does not exist): no account locks...
        for email in (users["practitioner"].email, users["lead"].email, "nobody@example.nhs.uk"):
            assert sign_in(sprayer, email, password=WRONG).status_code == 401
        # ...but the address is refused now, even with a right password, and nothing is checked.
        checks.clear()
        r = sign_in(sprayer, users["admin"].email)
        assert r.status_code == 429 and "oh_session" not in r.cookies
        assert "Too many failed sign-ins from your network" in r.text
        assert 0 < int(r.headers["retry-after"]) <= 15 * 60
        assert checks == []
        assert _events(session, users["admin"].email) == {"sign_in_throttled": 1}
        # Another address is not affected, and no account was locked by the spraying.
        assert sign_in(colleague, users["practitioner"].email).status_code == 303


def test_forged_forwarded_for_does_not_escape_the_throttle(strict_app, world):
    with _from(strict_app, "203.0.113.11") as sprayer:
        for _ in range(3):
            sign_in(sprayer, "nobody@example.nhs.uk", password=WRONG)
        # Without TRUSTED_PROXIES the header is the client's own word: ignored.
        sprayer.headers["X-Forwarded-For"] = "192.0.2.99"
        assert sign_in(sprayer, world["users"]["lead"].email).status_code == 429


def test_behind_a_trusted_proxy_each_client_has_its_own_count(settings, clock, session_factory, world, session):
    application = create_app(settings.model_copy(update={"sign_in_ip_limit": "3/15minutes",
                                                         "trusted_proxies": "10.0.0.1"}), clock=clock)
    application.state.session_factory = session_factory
    with _from(application, "10.0.0.1") as proxy:
        proxy.headers["X-Forwarded-For"] = "203.0.113.20"
        for _ in range(3):
            sign_in(proxy, "nobody@example.nhs.uk", password=WRONG)
        assert sign_in(proxy, world["users"]["lead"].email).status_code == 429
        proxy.headers["X-Forwarded-For"] = "203.0.113.21"  # another client behind the same proxy
        assert sign_in(proxy, world["users"]["lead"].email).status_code == 303
    session.expire_all()
    addresses = {e.ip for e in session.scalars(select(UserEvent))}
    assert addresses == {"203.0.113.20", "203.0.113.21"}  # the audit names the client, not the proxy


def test_successes_do_not_count_towards_the_throttle(strict_app, world):
    with _from(strict_app, "203.0.113.9") as office:
        for role in ("practitioner", "lead", "admin", "manager", "other_manager"):
            office.cookies.clear()
            assert sign_in(office, world["users"][role].email).status_code == 303, role


def test_the_throttle_lets_the_address_try_again_after_the_window(strict_app, world):
    email = world["users"]["lead"].email
    start = datetime.now(timezone.utc)
    with time_machine.travel(start, tick=False), _from(strict_app, "203.0.113.10") as browser:
        for _ in range(3):
            sign_in(browser, "nobody@example.nhs.uk", password=WRONG)
        assert sign_in(browser, email).status_code == 429
        with time_machine.travel(start + timedelta(minutes=15, seconds=1), tick=False):
            assert sign_in(browser, email).status_code == 303


def test_an_unreachable_throttle_store_lets_staff_sign_in(world, app, monkeypatch):
    """Staff must reach the dashboard in an emergency: a store that fails lets the attempt through
    (the account lock-out still holds)."""
    broken = throttle.SignInThrottle("3/15minutes", MemoryStorage(), b"secret")

    def fail(*_args, **_kwargs):
        raise ConnectionError("store down")

    monkeypatch.setattr(broken.limiter, "test", fail)
    monkeypatch.setattr(broken.limiter, "hit", fail)
    app.state.sign_in_throttle = broken
    with TestClient(app) as browser:
        assert sign_in(browser, world["users"]["lead"].email, password=WRONG).status_code == 401
        assert sign_in(browser, world["users"]["lead"].email).status_code == 303


def test_the_limit_must_be_a_rate():
    with pytest.raises(ValueError, match="SIGN_IN_IP_LIMIT"):
        Settings(_env_file=None, sign_in_ip_limit="twenty")
    with pytest.raises(ValueError, match="SIGN_IN_IP_LIMIT"):
        Settings(_env_file=None, sign_in_ip_limit="0/minute")
    assert Settings(_env_file=None, sign_in_ip_limit="10/5minutes").sign_in_ip_limit == "10/5minutes"


# --- off the event loop ---------------------------------------------------------------------

def test_sign_in_runs_in_the_threadpool():
    for handler in (auth.login, auth.login_form, auth.logout):
        assert not inspect.iscoroutinefunction(handler), handler.__name__


def test_other_requests_are_answered_while_a_password_is_checked(app, world, monkeypatch):
    """A password check that waits for another request to finish: if it ran on the event loop,
    that request could never be served."""
    served = threading.Event()
    seen: list[bool] = []
    real = accounts.verify_password

    def waiting(password_hash: str, password: str) -> bool:
        seen.append(served.wait(timeout=10))
        return real(password_hash, password)

    with TestClient(app) as browser:
        token = csrf_from(browser.get("/login").text)
        monkeypatch.setattr(accounts, "verify_password", waiting)
        with ThreadPoolExecutor(1) as pool:
            signing_in = pool.submit(browser.post, "/login", data={
                "email": world["users"]["lead"].email, "password": PASSWORD, "csrf_token": token},
                follow_redirects=False)
            assert browser.get("/health").status_code == 200
            served.set()
            assert signing_in.result().status_code == 303
    assert seen == [True]
