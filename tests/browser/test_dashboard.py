"""The dashboard in headless Chromium against the real API (uvicorn, a temporary SQLite
database migrated with Alembic and seeded): sign in, an emergency created through the API
appears in the queue without a reload, acknowledge it, open it, see the rules that fired,
close it with an outcome. Screenshots go to tests/artifacts/ (git-ignored).

Needs Debian's chromium (/usr/bin/chromium) and the Python playwright package; never runs
`playwright install`. Skips without them, unless HELPLINE_REQUIRE_CHROMIUM=1 (CI), when it fails.
"""
from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from tests.support.processes import api_process, free_port

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = os.environ.get("HELPLINE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]

pytestmark = pytest.mark.slow


def _need(reason: str) -> None:
    if os.environ.get("HELPLINE_REQUIRE_CHROMIUM") == "1":
        pytest.fail(f"browser test required but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def playwright_api():
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        _need("Debian's chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need("the playwright package is not installed (requirements/api.txt)")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """uvicorn on a free loopback port over a migrated, seeded temporary database."""
    tmp = tmp_path_factory.mktemp("browser")
    db_url = f"sqlite:///{tmp / 'helpline.db'}"
    port = free_port()
    env = {
        **os.environ,
        "ENVIRONMENT": "test", "DATABASE_URL": db_url, "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "HELPLINE_API_TOKEN": secrets.token_urlsafe(24), "SESSION_SECRET": secrets.token_urlsafe(32),
        # Never the developer's Twilio account, whatever .env says: pages go to the outbox and the log.
        "TWILIO_ACCOUNT_SID": "", "TWILIO_AUTH_TOKEN": "", "TWILIO_FROM_NUMBER": "",
        "RASA_URL": "http://127.0.0.1:9", "LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT),
    }
    subprocess.run([sys.executable, "-m", "alembic", "upgrade", "head"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    seeded = subprocess.run([sys.executable, "-c", _SEED], cwd=ROOT, env=env, check=True, capture_output=True,
                            text=True)
    email, password = seeded.stdout.strip().splitlines()[-1].split(" ", 1)
    proc = api_process(port, env=env, log=tmp / "uvicorn.log")
    base = f"http://127.0.0.1:{port}"
    try:
        proc.start()
        yield {"base": base, "token": env["HELPLINE_API_TOKEN"], "email": email, "password": password,
               "db_url": db_url}
    finally:
        proc.stop()


_SEED = """
from datetime import datetime, timezone
from api.core.config import Settings
from api.core.db import make_engine, make_session_factory
from api.seed import seed
from api.services.accounts import seed_accounts
settings = Settings()
engine = make_engine(settings.database_url)
with make_session_factory(engine)() as session:
    now = datetime.now(timezone.utc)
    seed(session, now=now)
    made = seed_accounts(session, now, environment=settings.environment)
    session.commit()
engine.dispose()
print(*made["practitioner"])
"""


def _api(server, method: str, path: str, **kwargs) -> httpx.Response:
    r = httpx.request(method, server["base"] + path, headers={"Authorization": f"Bearer {server['token']}"},
                      timeout=10, **kwargs)
    assert r.status_code < 300, r.text
    return r


def _add_transcript(db_url: str, conversation_id: str, turns: list[tuple[str, str]], start: datetime) -> None:
    from api.core.db import make_engine, make_session_factory
    from api.models import ConversationMessage

    engine = make_engine(db_url)
    with make_session_factory(engine)() as session:
        for i, (direction, text) in enumerate(turns):
            session.add(ConversationMessage(conversation_id=conversation_id, channel="sms", direction=direction,
                                            text=text, status="relayed", details={},
                                            created_at=start + timedelta(seconds=8 * i)))
        session.commit()
    engine.dispose()


def test_emergency_reaches_the_queue_live_and_is_handled(server, playwright_api):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    now = datetime.now(timezone.utc)
    # Some work already waiting, so the queue looks like a real night.
    _api(server, "POST", "/api/cases", json={
        "line": "manager", "kind": "referral", "channel": "web", "organisation_code": "FA001",
        "contact": {"name": "Jo Manager", "phone": "07700 900456"},
        "answers": {"employee_name": "R. Patel", "consent": True, "consent_reason_explained": True,
                    "reason": "musculoskeletal"}})
    _api(server, "POST", "/api/cases", json={
        "line": "sharps", "channel": "voice", "organisation_code": "Y00002",
        "contact": {"name": "Nurse B", "phone": "07700 900457"},
        "answers": {"exposure_type": "mucocutaneous", "fluid": "blood", "source": {"identified": False},
                    "occurred_at": (now - timedelta(hours=2)).isoformat()}})

    browser = playwright_api.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    try:
        context = browser.new_context(viewport={"width": 1440, "height": 900}, device_scale_factor=1)
        page = context.new_page()
        page.set_default_timeout(20_000)

        # Anonymous: sent to sign in.
        page.goto(server["base"] + "/dashboard")
        assert "/login" in page.url
        page.fill("input[name=email]", server["email"])
        page.fill("input[name=password]", server["password"])
        page.click("button[type=submit]")
        page.wait_for_url("**/dashboard")
        page.wait_for_selector("#queue table.queue")
        page.evaluate("window.__noReload = true")

        # An emergency arrives through the API while the page is open.
        created = _api(server, "POST", "/api/cases", json={
            "line": "sharps", "channel": "sms", "conversation_id": "browser-conv-1", "organisation_code": "Y00001",
            "contact": {"name": "Sam", "phone": "07700 900555"},
            "answers": {"exposure_type": "percutaneous", "fluid": "blood",
                        "device": {"kind": "hollow_bore_needle", "used": True, "visible_blood": True},
                        "source": {"identified": True, "hiv": "positive"},
                        "occurred_at": (now - timedelta(minutes=25)).isoformat()}}).json()
        ref = created["ref"]
        assert created["urgency"] == "emergency"
        _add_transcript(server["db_url"], "browser-conv-1", [
            ("inbound", "I've just had a needlestick from a patient who is HIV positive"),
            ("outbound", "I'm sorry that happened. First, let the wound bleed and wash it under running water."),
            ("inbound", "done. it was a used hollow needle with blood on it"),
            ("outbound", "Go to the emergency department now: you may need HIV PEP. An OH nurse will call you."),
        ], now - timedelta(minutes=5))

        row = page.wait_for_selector(f'tr.q-row[data-ref="{ref}"]')
        assert page.evaluate("window.__noReload") is True, "the queue reloaded the page"
        assert "alarm" in (row.get_attribute("class") or "")
        first_ref = page.get_attribute("tr.q-row >> nth=0", "data-ref")
        assert first_ref == ref, "the emergency is not at the top"
        page.wait_for_timeout(1500)  # let the ages tick
        page.screenshot(path=str(ARTIFACTS / "dashboard-queue.png"), full_page=True)

        # One click to acknowledge, still without a reload.
        page.click(f'tr.q-row[data-ref="{ref}"] button[data-action="acknowledge"]')
        page.wait_for_selector(f'tr.q-row[data-ref="{ref}"] .tag-green:has-text("acknowledged")')
        assert page.evaluate("window.__noReload") is True
        page.screenshot(path=str(ARTIFACTS / "dashboard-acknowledged.png"), full_page=True)

        # Open it: the rules that fired, with their sources.
        page.click(f'tr.q-row[data-ref="{ref}"] a.ref')
        page.wait_for_url(f"**/cases/{ref}")
        rules = page.inner_text("#rules-fired")
        assert "hiv_pep" in rules
        assert "BHIVA" in rules or "PEP" in rules
        assert "HIV positive" in page.inner_text("#transcript")
        page.screenshot(path=str(ARTIFACTS / "case-page.png"), full_page=True)

        # Close with an outcome and a follow-up date.
        page.select_option("#close-form select[name=outcome]", "pep_started")
        page.fill("#close-form input[name=follow_up_on]", (now + timedelta(days=42)).date().isoformat())
        page.fill("#close-form textarea[name=note]", "Started PEP in ED within 1 hour; bloods taken.")
        page.click("#close-form button[type=submit]")
        page.wait_for_selector(".alert-ok:has-text('Case closed')")
        body = _api(server, "GET", f"/api/cases/{ref}").json()
        assert (body["status"], body["outcome"]) == ("closed", "pep_started")

        _api(server, "POST", f"/api/cases/{ref}/events", json={"note": "end-of-conversation rating", "actor": "bot",
                                                               "rating": 5})
        page.goto(server["base"] + "/reports")
        page.wait_for_selector("svg.chart")
        page.screenshot(path=str(ARTIFACTS / "reports.png"), full_page=True)
        page.goto(server["base"] + "/rota")
        page.screenshot(path=str(ARTIFACTS / "rota.png"), full_page=True)
        context.close()
    finally:
        browser.close()
