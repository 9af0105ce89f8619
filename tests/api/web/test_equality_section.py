"""The equality-of-access section of /reports (issue #18): a chart per question with suppressed
counts drawn as "<5" and no bar, each chart's figures in a table, the note on suppression, the
period with GOV.UK errors, and the CSV link; for the clinical readers only."""
from __future__ import annotations

import csv
import html as html_lib
import io
import re
from datetime import date, timedelta

import pytest

from api.models import EqualityResponse
from tests.api.web.builders import case_row

#: 9 responses on 20 November: 6 in 25-34, 3 in 35-44; all female; 6 GP practice, 3 pharmacy.
DAY = date(2026, 11, 20)


@pytest.fixture
def answers(session, world, clock):
    rows = [("25-34", "gp_practice")] * 6 + [("35-44", "community_pharmacy")] * 3
    for age, org_type in rows:
        session.add(EqualityResponse(answered_on=DAY, line="sharps", channel="web", age_band=age, sex="female",
                                     organisation_type=org_type))
    # A year and a day before: outside the default period (the last 12 months to 23 November 2026).
    session.add(EqualityResponse(answered_on=date(2025, 11, 23), line="sharps", channel="sms", age_band="65+"))
    # Cases: 6 of the GP practice's, 5 of the pharmacy's, 1 without an organisation.
    for i, org in enumerate([world["orgs"]["a"]] * 6 + [world["orgs"]["b"]] * 5 + [None]):
        case_row(session, ref=f"SH-{i + 1:06d}", urgency="urgent", channel="sms", org=org,
                 created_at=clock.now - timedelta(days=3))
    session.commit()


def _section(html: str) -> str:
    match = re.search(r'<section class="card" id="equality".*?</section>', html, re.S)
    assert match, "no equality section on the page"
    return match.group(0)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", html)))


def _table(section: str, question: str) -> list[list[str]]:
    table = re.search(rf'<table class="plain" id="equality-{question}">.*?</table>', section, re.S).group(0)
    return [[_text(c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)]


def test_the_section_shows_a_chart_and_a_table_per_question_with_small_counts_hidden(browser_for, answers):
    page = browser_for("lead").get("/reports")
    assert page.status_code == 200
    section = _section(page.text)
    words = _text(section)
    assert "Equality of access" in words
    assert "Counts below 5 are not shown: they appear as “<5”, zero included" in words
    assert "Where a hidden count of 1 to 4 could be worked out from a total" in words
    assert "one more count is hidden in the same way" in words
    assert "where everyone gave the same answer, that count is shown" in words
    assert "Answered from Monday 24 November 2025 to Monday 23 November, both days included" in words
    charts = re.findall(r'<svg[^>]*role="img"[^>]*aria-label="([^"]+)"', section)
    assert len(charts) == 6
    assert "Equality of access: age band, all responses (counts below 5 not shown)" in charts

    # Age band: 6 in 25-34 (shown), 3 in 35-44 and the rest hidden; the response of 2025 is not counted.
    age = _table(section, "age_band")
    assert age[0][:3] == ["Answer", "All responses", "%"] and "GP practice" in age[0]
    assert age[1][:3] == ["16 to 24", "<5", "—"]
    # All 6 are the GP practice's: the zeros beside them are known to be zeros, which names nobody.
    assert age[2][:4] == ["25 to 34", "6", "66.7", "6"]
    assert age[3][:3] == ["35 to 44", "<5", "—"]
    assert age[6][:3] == ["65 or over", "<5", "—"]
    # The chart draws a bar only for the count shown; each hidden one reads "<5".
    chart = re.search(r'<svg[^>]*aria-label="Equality of access: age band.*?</svg>', section, re.S).group(0)
    assert len(re.findall(r"<rect ", chart)) == 1
    assert "25 to 34: 6" in chart
    assert chart.count(">&lt;5</text>") == 7
    # Everyone said female: the count is shown, overall and for the GP practice (all 6 of its
    # responses); the pharmacy's 3 is hidden.
    sex = _table(section, "sex")
    assert [row[1] for row in sex[1:]] == ["9", "<5", "<5", "<5"]
    assert sex[1] == ["Female", "9", "100.0", "6", "<5", "<5", "<5", "<5", "<5"]
    ethnic = _table(section, "ethnic_group")
    assert ethnic[0][:2] == ["Broad group", "Answer"] and ethnic[1][:3] == ["White", "White British", "<5"]
    assert "Not stated or prefer not to say" in _text(section)
    uptake = _table(section, "uptake")
    assert uptake[1] == ["GP practice", "6", "50.0", "6", "66.7"]
    assert uptake[2] == ["Community pharmacy", "5", "41.7", "<5", "—"]
    assert 'href="/reports/equality.csv?from=2025-11-24&amp;to=2026-11-23"' in section


def test_the_csv_link_downloads_the_figures_with_less_than_5(browser_for, answers):
    lead = browser_for("lead")
    link = html_lib.unescape(re.search(r'id="equality-csv" href="([^"]+)"', lead.get("/reports").text).group(1))
    r = lead.get(link)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    counts = {(row["table"], row["organisation_type"], row["question"], row["answer"]): row["count"] for row in rows}
    assert counts[("responses", "all", "", "")] == "9"
    assert counts[("answers", "all", "age_band", "25-34")] == "6"
    assert counts[("answers", "all", "age_band", "35-44")] == "<5"
    assert not {"0", "1", "2", "3", "4"} & set(counts.values())


def test_the_period_can_be_chosen_and_a_bad_one_is_an_error_summary(browser_for, answers):
    lead = browser_for("lead")
    section = _section(lead.get("/reports?eq_from=2025-11-01&eq_to=2025-11-30").text)
    assert _table(section, "age_band")[6][:2] == ["65 or over", "<5"]
    assert "Answered from Saturday 1 November 2025 to Sunday 30 November 2025" in _text(section)
    assert 'value="2025-11-01"' in section
    # The other forms of the page keep the period.
    page = lead.get("/reports?eq_from=2025-11-01&eq_to=2025-11-30").text
    assert page.count('<input type="hidden" name="eq_from" value="2025-11-01">') == 2

    for query, field, words in (
        ("eq_from=2026-02-30", "equality-from", "Enter the start of the equality report&#39;s period as a real date"),
        ("eq_to=soon", "equality-to", "Enter the end of the equality report&#39;s period as a real date"),
        ("eq_from=2026-11-20&eq_to=2026-11-01", "equality-to", "must be the same as or after its start"),
    ):
        r = lead.get(f"/reports?{query}")
        assert r.status_code == 400, query
        assert f'<a href="#{field}">' in r.text and words in r.text
        section = _section(r.text)
        assert f'id="{field}-error"' in section and 'aria-invalid="true"' in section
        assert "Answered from" in _text(section)  # the section still shows figures (a period that works)
    assert lead.get("/reports?eq_from=2026-11-01&eq_to=2026-11-30").status_code == 200
    bad = lead.get("/reports/equality.csv?from=2026-11-30&to=2026-11-01")
    assert bad.status_code == 400 and "must be the same as or after its start" in bad.text


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_a_manager_or_an_admin_gets_403(browser_for, answers, role):
    client = browser_for(role)
    assert client.get("/reports").status_code == 403
    r = client.get("/reports/equality.csv")
    assert r.status_code == 403 and "<5" not in r.text


def test_signed_out_the_csv_asks_to_sign_in(web):
    r = web.get("/reports/equality.csv", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
