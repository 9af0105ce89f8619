"""Follow-ups in Chromium (issue #18): a practitioner opens a sharps case, adds follow-ups from the
sharps template (a refused row first: the date they must choose), finds them on /follow-ups as
due, marks one done and finds it under Done; a follow-up past its day shows as overdue. axe-core
on the case page and the list (no serious or critical violation), and neither page scrolls
sideways on a 390 px phone.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.browser import axe
from tests.browser.stack import ARTIFACTS, DESKTOP, PHONE, api, sign_in

pytestmark = pytest.mark.slow


def _case(server: dict[str, Any]) -> str:
    """A hepatitis B exposure (source positive, worker unvaccinated) just now, so the course's
    first dose is due today (or on the next working day); the worker agreed to reminder texts."""
    occurred = (datetime.now(timezone.utc) - timedelta(minutes=2)).isoformat()
    ref = api(server, "POST", "/api/cases", json={
        "line": "sharps", "channel": "sms", "conversation_id": "follow-ups-1", "organisation_code": "Y00001",
        "contact": {"name": "Sam", "phone": "07700 900557"},
        "answers": {"exposure_type": "percutaneous", "fluid": "blood",
                    "device": {"kind": "hollow_bore_needle", "used": True, "visible_blood": True},
                    "source": {"identified": True, "hbv": "positive"}, "recipient": {"hbv_status": "unvaccinated"},
                    "occurred_at": occurred}}).json()["ref"]
    api(server, "POST", f"/api/cases/{ref}/reminder-consent", json={"agreed": True, "words": "yes"})
    return ref




def test_a_practitioner_plans_follow_ups_from_the_template_and_works_the_list(server, chromium):
    ref = _case(server)
    today = datetime.now(ZoneInfo("Europe/London")).date()
    # A follow-up of another case, three days past its day.
    other = api(server, "POST", "/api/cases", json={
        "line": "sharps", "channel": "web", "answers": {"exposure_type": "percutaneous", "fluid": "blood"}}).json()
    late = api(server, "POST", f"/api/cases/{other['ref']}/follow-ups", json={
        "due_on": (today - timedelta(days=3)).isoformat(), "what": "Chase the source's results",
        "remind_by_sms": False}).json()
    failures: list[str] = []
    context = chromium.new_context(viewport=DESKTOP, bypass_csp=True, locale="en-GB")
    try:
        page = context.new_page()
        page.set_default_timeout(20_000)
        sign_in(page, server, "practitioner")
        page.goto(f"{server['base']}/cases/{ref}")
        card = page.locator("#follow-ups")
        assert "No follow-ups yet." in card.inner_text()
        template = card.locator("#follow-up-template")
        assert template.get_attribute("open") is not None
        rows = template.locator("fieldset")
        assert rows.count() == 6
        assert "Second dose, accelerated hepatitis B vaccine course" in rows.nth(2).inner_text()
        assert "UKHSA Green Book chapter 18" in rows.nth(2).inner_text()
        axe.collect(page, "case-follow-ups", failures)

        # The blood tests have no date: sent as they are, the row is refused and nothing is added.
        template.get_by_label("What is to be done").nth(0).fill("Chase the source's results with the ward")
        rows.nth(4).get_by_label("Add this follow-up").uncheck()  # no fourth dose planned yet
        template.locator("button[data-action=follow-up-template]").click()
        page.wait_for_selector(".error-summary")
        summary = page.locator(".error-summary")
        assert "Choose the date for “Follow-up blood tests”" in summary.inner_text()
        assert summary.locator("a[href='#tpl-5-due_on']").count() == 1
        assert page.locator("#tpl-0-what").input_value() == "Chase the source's results with the ward"
        assert not page.locator("#tpl-4-add").is_checked()
        axe.collect(page, "case-follow-ups-error", failures)
        summary.locator("a[href='#tpl-5-due_on']").click()
        assert page.evaluate("document.activeElement.id") == "tpl-5-due_on"

        page.locator("#tpl-5-due_on").fill((today + timedelta(days=42)).isoformat())
        page.locator("button[data-action=follow-up-template]").click()
        page.wait_for_selector("text=Follow-ups added from the template.")
        listed = page.locator("#follow-up-list tbody tr")
        assert listed.count() == 5
        assert "Chase the source's results with the ward" in page.locator("#follow-up-list").inner_text()
        assert "Fourth dose" not in page.locator("#follow-up-list").inner_text()
        assert "Reminder text on" in page.locator("#follow-up-list").inner_text()
        page.screenshot(path=str(ARTIFACTS / "case-follow-ups.png"), full_page=True)
        axe.collect(page, "case-follow-ups-added", failures)

        # The list: the late one overdue, this case's first dose due (today or the next working day).
        page.locator("nav[aria-label=Main] a[href='/follow-ups']").click()
        page.wait_for_selector("#overdue")
        overdue = page.locator("#overdue-list")
        assert other["ref"] in overdue.inner_text() and "Overdue" in overdue.inner_text()
        assert page.locator(f"#follow-up-{late['id']}").get_attribute("data-state") == "overdue"
        due = page.locator("#due-list")
        assert ref in due.inner_text() and "First dose" in due.inner_text() and "Due" in due.inner_text()
        axe.collect(page, "follow-ups-list", failures)

        # Done from the list: it leaves the due list and is first under Done.
        first = due.locator("tbody tr", has_text="First dose").first
        row_id = first.get_attribute("id")
        first.locator("button[data-action=follow-up-done]").click()
        page.wait_for_selector("text=Follow-up marked as done.")
        assert page.locator(f"#due-list #{row_id}").count() == 0
        page.locator("#follow-up-tabs a", has_text="Done").click()
        page.wait_for_selector("#done-list")
        assert page.locator("#done-list tbody tr").first.get_attribute("id") == row_id
        assert "Done" in page.locator(f"#{row_id}").inner_text()
        axe.collect(page, "follow-ups-done", failures)

        # A phone: neither page scrolls sideways.
        page.set_viewport_size(PHONE)
        page.goto(f"{server['base']}/follow-ups")
        axe.collect_sideways_scroll(page, "the follow-ups list", failures)
        page.screenshot(path=str(ARTIFACTS / "follow-ups-phone.png"), full_page=True)
        page.goto(f"{server['base']}/cases/{ref}#follow-ups")
        axe.collect_sideways_scroll(page, "the case page", failures)
        page.locator("#follow-up-template summary").click()  # closed now that follow-ups exist
        axe.collect_sideways_scroll(page, "the case page with the template open", failures)
        axe.collect(page, "case-follow-ups-phone", failures)
    finally:
        context.close()
    assert not failures, "\n\n".join(failures)
