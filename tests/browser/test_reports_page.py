"""The reports page's equality-of-access section in Chromium (issue #18): with 13 equality responses
and 12 cases seeded through the API, the clinical lead finds a chart and a table per question with
small counts shown as "<5", downloads the CSV (no small number in it), axe-core finds no serious or
critical violation, and on a 390 px phone the page does not scroll sideways."""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from tests.browser import axe
from tests.browser.stack import ARTIFACTS, DESKTOP, PHONE, api, sign_in

pytestmark = pytest.mark.slow
QUESTIONS = ("age_band", "sex", "ethnic_group", "disability", "staff_group", "organisation_type")
#: 13 responses: 7 in 25-34, 5 in 35-44, 1 unanswered; 7 female, 3 male, 3 unanswered; 7 GP practice,
#: 5 pharmacy, 1 unanswered
RESPONSES = ([{"age_band": "25-34", "sex": "female", "ethnic_group": "A", "disability": "no",
               "staff_group": "nurse_or_midwife", "organisation_type": "gp_practice"}] * 7
             + [{"age_band": "35-44", "sex": "male", "ethnic_group": "prefer_not_to_say",
                 "organisation_type": "community_pharmacy"}] * 3
             + [{"age_band": "35-44", "organisation_type": "community_pharmacy"}] * 2
             + [{"disability": "yes"}])


def _seed(server: dict[str, Any]) -> None:
    for answers in RESPONSES:
        api(server, "POST", "/api/equality", json={"line": "sharps", "channel": "web", "answers": answers})
    for code in ["Y00001"] * 6 + ["FA001"] * 5 + [None]:
        api(server, "POST", "/api/cases", json={"line": "manager", "channel": "web", "organisation_code": code,
                                                "summary": "Advice on a return to work"})


def _first_count(table: Any, label: str) -> str:
    """The first count of the table's row labelled exactly `label` (all responses, or cases)."""
    return table.locator(f"tr:has(th:text-is('{label}')) td").first.inner_text()



def test_the_clinical_lead_reads_equality_of_access_and_downloads_it(server, chromium):
    _seed(server)
    failures: list[str] = []
    context = chromium.new_context(viewport=DESKTOP, bypass_csp=True, locale="en-GB", accept_downloads=True)
    try:
        page = context.new_page()
        page.set_default_timeout(20_000)
        sign_in(page, server, "clinical_lead")
        page.goto(f"{server['base']}/reports#equality")
        section = page.locator("#equality")
        assert "Counts below 5 are not shown" in section.inner_text()
        assert section.locator("svg[role=img]").count() == len(QUESTIONS)
        for question in QUESTIONS:
            assert section.locator(f"#equality-{question}").count() == 1, question
        age = section.locator("#equality-age_band")
        assert _first_count(age, "25 to 34") == "7"
        assert _first_count(age, "35 to 44") == "5"
        assert _first_count(age, "16 to 24") == "<5"
        sex = section.locator("#equality-sex")
        assert _first_count(sex, "Female") == "7"
        assert _first_count(sex, "Male") == "<5"
        uptake = section.locator("#equality-uptake")
        assert _first_count(uptake, "GP practice") == "6"
        assert "<5" in (section.locator("svg[aria-label*='sex']").text_content() or "")
        section.screenshot(path=str(ARTIFACTS / "reports-equality.png"))
        axe.collect(page, "reports-equality", failures)

        with page.expect_download() as download:
            section.locator("#equality-csv").click()
        saved = Path(download.value.path())
        rows = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8"))))
        counts = [row["count"] for row in rows]
        assert "<5" in counts and "7" in counts
        assert not {"0", "1", "2", "3", "4"} & set(counts)
        assert download.value.suggested_filename.startswith("equality-")

        # A clinical lead's phone: the whole page fits across; wide tables scroll in their own box.
        phone = context.new_page()
        phone.set_viewport_size(PHONE)
        phone.goto(f"{server['base']}/reports#equality")
        phone.wait_for_selector("#equality-age_band")
        width = phone.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], f"the reports page scrolls sideways on a phone: {width}"
        phone.locator("#equality").screenshot(path=str(ARTIFACTS / "reports-equality-phone.png"))
        axe.collect(phone, "reports-equality-phone", failures)
    finally:
        context.close()
    assert not failures, "\n\n".join(failures)
