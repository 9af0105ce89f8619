"""The dashboard in headless Chromium against the real API (uvicorn, a temporary SQLite
database migrated with Alembic and seeded): sign in, an emergency created through the API
appears in the queue without a reload, acknowledge it, open it, see the rules that fired,
close it with an outcome. Screenshots go to tests/artifacts/ (git-ignored).

The server and Chromium come from tests/browser/conftest.py.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.browser.stack import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, api

pytestmark = pytest.mark.slow


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
    api(server, "POST", "/api/cases", json={
        "line": "manager", "kind": "referral", "channel": "web", "organisation_code": "FA001",
        "contact": {"name": "Jo Manager", "phone": "07700 900456"},
        "answers": {"employee_name": "R. Patel", "consent": True, "consent_reason_explained": True,
                    "reason": "musculoskeletal"}})
    api(server, "POST", "/api/cases", json={
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
        created = api(server, "POST", "/api/cases", json={
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
        body = api(server, "GET", f"/api/cases/{ref}").json()
        assert (body["status"], body["outcome"]) == ("closed", "pep_started")

        api(server, "POST", f"/api/cases/{ref}/events", json={"note": "end-of-conversation rating", "actor": "bot",
                                                               "rating": 5})
        page.goto(server["base"] + "/reports")
        page.wait_for_selector("svg.chart")
        page.screenshot(path=str(ARTIFACTS / "reports.png"), full_page=True)
        page.goto(server["base"] + "/rota")
        page.screenshot(path=str(ARTIFACTS / "rota.png"), full_page=True)
        context.close()
    finally:
        browser.close()
