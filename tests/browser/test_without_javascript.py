"""The staff pages and the chat page with JavaScript switched off in Chromium: every form is a
plain POST, so the on-call practitioner acknowledges from the queue and adds a note, an admin
removes a shift only after a confirmation page, a manager sends a referral, and the chat page
gives the helpline's phone and text numbers instead of the chat."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tests.browser.stack import DESKTOP, api, sign_in

pytestmark = pytest.mark.slow


@pytest.fixture
def no_js(chromium):
    context = chromium.new_context(viewport=DESKTOP, java_script_enabled=False, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def _emergency(server: dict[str, Any]) -> str:
    occurred = (datetime.now(timezone.utc) - timedelta(minutes=15)).isoformat()
    return api(server, "POST", "/api/cases", json={
        "line": "sharps", "channel": "sms", "conversation_id": "no-js-1", "organisation_code": "Y00001",
        "contact": {"name": "Sam", "phone": "07700 900559"},
        "answers": {"exposure_type": "percutaneous", "fluid": "blood", "occurred_at": occurred,
                    "device": {"kind": "hollow_bore_needle", "used": True},
                    "source": {"identified": True, "hiv": "positive"}}}).json()["ref"]


def test_practitioner_acknowledges_from_the_queue_and_adds_a_note(server, no_js):
    ref = _emergency(server)
    sign_in(no_js, server, "practitioner")
    no_js.goto(server["base"] + "/dashboard")
    assert no_js.locator("a:has-text('Refresh the queue')").count() == 1
    no_js.locator(f'tr.q-row[data-ref="{ref}"] button[data-action="acknowledge"]').click()
    no_js.wait_for_load_state()
    assert "acknowledged" in no_js.inner_text("main").lower()
    pages = api(server, "GET", f"/api/cases/{ref}").json()["pages"]
    assert any(p["status"] == "acknowledged" for p in pages)

    no_js.goto(f"{server['base']}/cases/{ref}")
    no_js.fill("#note", "Called back; going to the emergency department now.")
    no_js.locator("#note").locator("xpath=ancestor::form").locator("[type=submit]").click()
    no_js.wait_for_load_state()
    assert "Note added" in no_js.inner_text("main")
    assert "going to the emergency department now" in no_js.inner_text("#timeline")


def test_admin_removes_a_shift_only_after_a_confirmation_page(server, no_js):
    sign_in(no_js, server, "admin")
    no_js.goto(server["base"] + "/rota")
    before = no_js.locator("#shifts tbody tr").count()
    no_js.locator("#shifts a:has-text('Remove')").first.click()
    no_js.wait_for_load_state()
    assert re.search(r"/rota/shifts/\d+/remove$", no_js.url), no_js.url
    assert no_js.locator("#shifts tbody tr").count() == 0, "the confirmation page is not the rota"
    no_js.locator("main form [type=submit]").click()
    no_js.wait_for_load_state()
    assert no_js.locator("#shifts tbody tr").count() == before - 1


def test_manager_sends_a_referral(server, no_js):
    sign_in(no_js, server, "manager")
    no_js.goto(server["base"] + "/referrals/new")
    no_js.fill("#employee_name", "Tom Hughes")
    no_js.select_option("#reason", "mental_health")
    no_js.check("input[name=consent]")
    no_js.check("input[name=consent_reason_explained]")
    no_js.locator("main form [type=submit]").first.click()
    no_js.wait_for_load_state()
    ref = no_js.inner_text(".panel-ref").strip()
    assert re.fullmatch(r"MA-\d{6}", ref)


def test_the_chat_page_gives_the_numbers_instead(server, no_js):
    no_js.goto(server["base"] + "/chat")
    text = no_js.inner_text("main")
    assert "needs JavaScript" in text
    assert "0306 999 0123" in text and "07700 900123" in text
    assert no_js.locator("main a[href^='tel:']").count() >= 1
    assert no_js.locator("main a[href^='sms:']").count() >= 1
