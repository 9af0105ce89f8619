"""The annual quality report and the posters in Chromium (issue #18): the clinical lead follows the
reports page's link to the quality report, asks for a day that does not exist (the GOV.UK error summary), downloads
the PDF; prints it (the print styles hide the navigation and the period form); opens the posters'
index and one poster and downloads its PDF. axe-core finds no serious or critical violation on any
of them, and at 390 px neither page scrolls sideways."""
from __future__ import annotations


import pytest

from tests.browser import axe
from tests.browser.stack import ARTIFACTS, DESKTOP, PHONE, api, sign_in

pytestmark = pytest.mark.slow




def test_the_quality_report_and_a_poster(server, chromium):
    api(server, "POST", "/api/cases", json={"line": "manager", "channel": "web", "organisation_code": "Y00001",
                                            "summary": "Advice on a return to work"})
    failures: list[str] = []
    context = chromium.new_context(viewport=DESKTOP, bypass_csp=True, locale="en-GB", accept_downloads=True)
    try:
        page = context.new_page()
        page.set_default_timeout(20_000)
        sign_in(page, server, "clinical_lead")
        page.goto(f"{server['base']}/reports")
        page.click("#quality-report-link")
        page.wait_for_selector("#quality-title")
        assert "Period:" in page.inner_text(".quality-head")
        assert page.locator("#figure-contacts").inner_text() == "1"
        page.screenshot(path=str(ARTIFACTS / "quality-report.png"), full_page=True)
        axe.collect(page, "quality-report", failures)

        page.goto(f"{server['base']}/reports/quality?from=2026-02-30")  # a day February never has
        page.wait_for_selector(".error-summary")
        assert "Enter the start of the period as a real date" in page.inner_text(".error-summary")
        assert page.locator(".error-summary a[href='#quality-from']").count() == 1
        axe.collect(page, "quality-report-error", failures)

        page.goto(f"{server['base']}/reports/quality")
        with page.expect_download() as pdf:
            page.click("a[href^='/reports/quality.pdf']")
        assert pdf.value.suggested_filename.startswith("quality-report-")
        assert open(pdf.value.path(), "rb").read(5) == b"%PDF-"

        page.emulate_media(media="print")
        assert not page.locator(".topbar").is_visible() and not page.locator(".quality-tools").is_visible()
        assert page.locator("#figure-contacts").is_visible()
        page.emulate_media(media="screen")

        page.goto(f"{server['base']}/organisations/posters")
        axe.collect(page, "posters", failures)
        page.click("a[href='/organisations/Y00001/poster']")
        page.wait_for_selector(".poster")
        assert page.locator(".poster svg[role=img]").count() == 1
        assert "/chat?org=Y00001" in page.inner_text(".poster-link")
        page.screenshot(path=str(ARTIFACTS / "poster.png"), full_page=True)
        axe.collect(page, "poster", failures)
        with page.expect_download() as pdf:
            page.click("a[href='/organisations/Y00001/poster.pdf']")
        assert pdf.value.suggested_filename == "poster-Y00001.pdf"

        page.set_viewport_size(PHONE)
        for path, name in (("/reports/quality", "quality-report"), ("/organisations/Y00001/poster", "poster")):
            page.goto(f"{server['base']}{path}")
            axe.collect_sideways_scroll(page, name, failures)
    finally:
        context.close()
    assert not failures, "\n\n".join(failures)
