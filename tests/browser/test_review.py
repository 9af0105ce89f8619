"""The practitioner's review in Chromium (issue #17): the clinical lead records their own urgency on
a case through the form (a refused form first), sees the under-triage flag, and finds the case in
the reports page's concordance section; axe-core on each page (no serious or critical violation).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tests.browser import axe
from tests.browser.stack import ARTIFACTS, DESKTOP, api, sign_in

pytestmark = pytest.mark.slow
HIGHER = {"routine": "urgent", "urgent": "emergency"}


def _case(server: dict[str, Any]) -> dict[str, Any]:
    """A sharps case the rules call urgent (source's HIV status unknown, 90 minutes ago)."""
    occurred = (datetime.now(timezone.utc) - timedelta(minutes=90)).isoformat()
    return api(server, "POST", "/api/cases", json={
        "line": "sharps", "channel": "sms", "conversation_id": "review-1", "organisation_code": "Y00001",
        "answers": {"exposure_type": "percutaneous", "fluid": "blood",
                    "device": {"kind": "hollow_bore_needle", "used": True, "visible_blood": True},
                    "source": {"identified": True, "hiv": "unknown"}, "occurred_at": occurred}}).json()



def test_the_clinical_lead_records_a_review_and_sees_the_flag_and_the_report(server, chromium):
    case = _case(server)
    ref, rules = case["ref"], case["urgency"]
    assert rules in HIGHER, f"the rules called {ref} {rules}: nothing is higher to review it as"
    said = HIGHER[rules]
    failures: list[str] = []
    context = chromium.new_context(viewport=DESKTOP, bypass_csp=True, locale="en-GB")
    try:
        page = context.new_page()
        page.set_default_timeout(20_000)
        sign_in(page, server, "clinical_lead")  # the demo accounts' clinical lead (lead@...)
        page.goto(f"{server['base']}/cases/{ref}")
        card = page.locator("#review-card")
        assert "Your review" in card.inner_text()
        axe.collect(page, "case-review", failures)

        # Sent with no urgency chosen: the error summary, the note kept.
        card.locator("#review-note").fill("Spoke to her at the ward: the source is on the HIV clinic list.")
        card.locator("button[type=submit]").click()
        page.wait_for_selector(".error-summary")
        assert "Choose the urgency you judge this case to be" in page.locator(".error-summary").inner_text()
        assert "HIV clinic list" in page.locator("#review-note").input_value()
        axe.collect(page, "case-review-error", failures)
        # The summary's link leads to the first radio of the group (the GOV.UK pattern).
        assert page.locator(".error-summary a[href='#review-urgency']").count() == 1
        assert page.locator("#review-urgency").get_attribute("type") == "radio"

        # Chosen by its label, as a person would, and sent.
        page.locator("#review-card").get_by_label(said.capitalize(), exact=True).check()
        page.locator("#review-card button[type=submit]").click()
        page.wait_for_selector("#under-triage-flag")
        flag = page.locator("#under-triage-flag").inner_text()
        assert f"Under-triaged: the rules said {rules}, the practitioner said {said}" in flag
        assert "for the clinical lead" in flag
        assert "Your review is recorded." in page.inner_text("main")
        page.screenshot(path=str(ARTIFACTS / "case-review.png"), full_page=True)
        axe.collect(page, "case-under-triaged", failures)

        # The reports page: the concordance section lists the case for the clinical lead.
        page.goto(f"{server['base']}/reports#concordance")
        section = page.locator("#concordance")
        assert ref in section.locator("#concordance-under").inner_text()
        assert ref in section.locator("#concordance-versions").inner_text()
        assert section.locator("svg[role=img]").count() == 1
        assert ref in page.locator("#under-triage-alert").inner_text()
        section.locator(f"#concordance-under a[href='/cases/{ref}']").click()
        page.wait_for_selector("#under-triage-flag")
        page.goto(f"{server['base']}/reports#concordance")
        section.screenshot(path=str(ARTIFACTS / "reports-concordance.png"))
        axe.collect(page, "reports-concordance", failures)
    finally:
        context.close()
    assert not failures, "\n\n".join(failures)
