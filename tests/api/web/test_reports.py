"""Report figures checked against a known set of cases on a fixed clock (now: Mon 23 Nov 2026
14:00 UTC, ISO week 2026-W48; two weeks shown: W47 and W48)."""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from api.models import Organisation, Practitioner
from api.services import queue, reports
from tests.api.factories import organisation, practitioner
from tests.api.web.builders import case_row, message, rating


def _one(session, model, where):
    return session.scalar(select(model).where(where))


def at(day: int, hh: int, mm: int = 0, ss: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hh, mm, ss, tzinfo=timezone.utc)


@pytest.fixture
def known(session, clock):
    now = clock.now
    r = _one(session, Organisation, Organisation.code == "Y00001") or organisation(
        session, "Y00001", name="Riverside Medical Practice", now=now)
    p = _one(session, Organisation, Organisation.code == "FA001") or organisation(
        session, "FA001", name="High Street Pharmacy", type="community_pharmacy", now=now)
    nurse = _one(session, Practitioner, Practitioner.mobile == "+447700900201") or practitioner(
        session, "Alex Primary", mobile="+447700900201", now=now)
    cases = {}
    # A: emergency, closed; page after 60 s, acknowledged 120 s later; first reply 5 s.
    cases["A"] = case_row(session, ref="SH-000001", urgency="emergency", channel="web", org=r, conversation_id="ca",
                          created_at=at(17, 10), status="closed", closed_at=at(17, 12), outcome="pep_started",
                          pages=[{"sent_after": 60, "acked_after": 120}], to=nurse)
    message(session, "ca", "inbound", at(17, 9, 59, 0))
    message(session, "ca", "outbound", at(17, 9, 59, 5))
    # B: urgent, closed; page 300 s, ack 600 s; reply 20 s (by SMS).
    cases["B"] = case_row(session, ref="SH-000002", urgency="urgent", channel="sms", org=r, conversation_id="cb",
                          created_at=at(18, 9), status="closed", closed_at=at(18, 12), outcome="bloods_taken",
                          pages=[{"sent_after": 300, "acked_after": 600}], to=nurse)
    message(session, "cb", "inbound", at(18, 8, 58, 0), channel="sms")
    message(session, "cb", "outbound", at(18, 8, 58, 20), channel="sms")
    # C: emergency, acknowledged in time (page 30 s, ack 240 s); two inbound then a reply 12 s after the first.
    cases["C"] = case_row(session, ref="SH-000003", urgency="emergency", channel="voice", org=p, conversation_id="cc",
                          created_at=at(23, 13), status="acknowledged",
                          pages=[{"sent_after": 30, "acked_after": 240}], to=nurse)
    message(session, "cc", "inbound", at(23, 12, 59, 0), channel="voice")
    message(session, "cc", "inbound", at(23, 12, 59, 10), channel="voice")
    message(session, "cc", "outbound", at(23, 12, 59, 12), channel="voice")
    # D: urgent, entered through the API (no conversation), paged after 90 s, never acknowledged: past its clock.
    cases["D"] = case_row(session, ref="SH-000004", urgency="urgent", channel="api", org=r, created_at=at(23, 13, 30),
                          status="escalated", pages=[{"sent_after": 90}], to=nurse)
    # E: routine manager advice from Thursday, not closed by Monday 10:00 (2 working days): past its clock.
    cases["E"] = case_row(session, ref="MA-000001", line="manager", urgency="routine", channel="web", org=p,
                          conversation_id="ce", created_at=at(19, 10), status="triaged")
    message(session, "ce", "inbound", at(19, 9, 59, 0))
    message(session, "ce", "outbound", at(19, 9, 59, 30))
    # F: emergency 3 minutes old, paged after 10 s, not yet acknowledged: inside its 5 minutes. No reply yet.
    cases["F"] = case_row(session, ref="SH-000005", urgency="emergency", channel="sms", org=r, conversation_id="cf",
                          created_at=at(23, 13, 57), status="escalated", pages=[{"sent_after": 10}], to=nurse)
    message(session, "cf", "inbound", at(23, 13, 56, 50), channel="sms")
    # A conversation that never became a case (a contact all the same).
    message(session, "cx", "inbound", at(20, 15))
    message(session, "cx", "outbound", at(20, 15, 0, 2))
    # G: before the period: counts towards repeated exposures (30 days) but nothing else.
    cases["G"] = case_row(session, ref="SH-000000", urgency="routine", channel="web", org=r, created_at=at(1, 9),
                          status="closed", closed_at=at(1, 10), outcome="advice_only")
    rating(session, cases["A"], 5, at(17, 10, 30))
    rating(session, cases["B"], 4, at(18, 9, 30))
    rating(session, cases["C"], 2, at(23, 13, 10))
    rating(session, cases["G"], 1, at(1, 9, 30))
    session.commit()
    return cases


@pytest.fixture
def report(session, clock, known):
    return reports.build(session, now=clock.now, weeks=2)


def test_period_is_whole_iso_weeks(report):
    assert report.weeks == ["2026-W47", "2026-W48"]
    assert report.start == at(16, 0)


@pytest.mark.parametrize("measure, group, n, median, p90", [
    ("first_reply", "all", 4, 16, 30),        # 5, 12, 20, 30
    ("first_reply", "emergency", 2, 8.5, 12),  # 5, 12
    ("first_reply", "urgent", 1, 20, 20),
    ("first_reply", "routine", 1, 30, 30),
    ("page", "all", 5, 60, 300),              # 10, 30, 60, 90, 300
    ("page", "emergency", 3, 30, 60),         # 10, 30, 60
    ("page", "urgent", 2, 195, 300),          # 90, 300
    ("page", "routine", 0, None, None),
    ("acknowledgement", "all", 3, 240, 600),  # 120, 240, 600
    ("acknowledgement", "emergency", 2, 180, 240),
    ("acknowledgement", "urgent", 1, 600, 600),
])
def test_response_times_median_and_p90(report, measure, group, n, median, p90):
    assert report.stats[(measure, group)] == {"n": n, "median": median, "p90": p90}


def test_percentile_is_nearest_rank():
    assert reports.p90(list(range(1, 11))) == 9
    assert reports.p90(list(range(1, 12))) == 10
    assert reports.p90([7]) == 7 and reports.p90([]) is None
    assert reports.median([1, 2, 3, 10]) == 2.5


def test_volume_by_week_and_dimension(report):
    rows = {(w, d, v): (contacts, cases) for w, d, v, contacts, cases in report.tables["volume"].rows}
    assert report.weekly == [{"week": "2026-W47", "contacts": 4, "cases": 3},
                             {"week": "2026-W48", "contacts": 3, "cases": 3}]
    assert rows[("2026-W47", "line", "sharps")] == (2, 2)
    assert rows[("2026-W47", "line", "manager")] == (1, 1)
    assert rows[("2026-W47", "line", reports.NO_CASE)] == (1, 0)
    assert rows[("2026-W47", "channel", "web")] == (3, 2)
    assert rows[("2026-W47", "channel", "sms")] == (1, 1)
    assert rows[("2026-W48", "channel", "api")] == (1, 1)
    assert rows[("2026-W48", "organisation", "Riverside Medical Practice")] == (2, 2)
    assert rows[("2026-W48", "organisation_type", "community_pharmacy")] == (1, 1)
    assert rows[("2026-W47", "organisation_type", "gp_practice")] == (2, 2)


def test_open_cases_with_clocks(report):
    table = report.tables["open_cases"]
    got = [(row[0], row[9]) for row in table.rows]
    assert got == [("SH-000004", "yes"), ("MA-000001", "yes"), ("SH-000003", "no"), ("SH-000005", "no")]
    ages = {row[0]: row[6] for row in table.rows}
    assert ages["SH-000004"] == 1800 and ages["SH-000005"] == 180
    due = {row[0]: row[8] for row in table.rows}
    assert due["MA-000001"] == "2026-11-23 10:00"  # Thursday 10:00 + 2 working days


def test_routine_clock_skips_bank_holidays_in_the_report_and_on_the_dashboard(session):
    # Tuesday 29 December 2026, noon. Friday 25 and Monday 28 December were bank holidays.
    now = at(29, 12, month=12)
    # Thursday 24 December 14:00 + 2 working days = Wednesday 30 December 14:00: not yet due
    # (weekdays alone would have made it Monday 28 December, past its clock).
    case_row(session, ref="MA-000010", line="manager", urgency="routine", channel="web", org=None,
             created_at=at(24, 14, month=12))
    # Wednesday 23 December 09:00 + 2 = Thursday 24, Tuesday 29 09:00: past its clock.
    case_row(session, ref="MA-000011", line="manager", urgency="routine", channel="web", org=None,
             created_at=at(23, 9, month=12))
    session.commit()
    table = reports.build(session, now=now, weeks=2).tables["open_cases"]
    rows = {row[0]: (row[7], row[8], row[9]) for row in table.rows}
    assert rows == {"MA-000010": ("close within 2 working days", "2026-12-30 14:00", "no"),
                    "MA-000011": ("close within 2 working days", "2026-12-29 09:00", "yes")}
    dashboard = {row.case.ref: (row.clock.due_at, row.clock.overdue) for row in queue.open_queue(session, now=now)}
    assert dashboard == {"MA-000010": (at(30, 14, month=12), False), "MA-000011": (at(29, 9, month=12), True)}


def test_outcomes_count_cases_closed_in_the_period(report):
    rows = {row[0]: row[1:] for row in report.tables["outcomes"].rows}
    assert rows["pep_started"] == [1, 0, 1]
    assert rows["bloods_taken"] == [1, 0, 1]
    assert rows["advice_only"] == [0, 0, 0]  # G closed before the period


def test_ratings(report):
    assert [row[:2] for row in report.tables["ratings"].rows] == [[1, 0], [2, 1], [3, 0], [4, 1], [5, 1]]
    assert report.rating_summary == {"n": 3, "mean": 3.67, "satisfied_percent": 66.7}


def test_repeated_exposures_flag_the_organisation(report):
    assert report.flags == [{"organisation": "Riverside Medical Practice", "exposures": 5, "first": "2026-11-01",
                             "last": "2026-11-23",
                             "cases": "SH-000000 SH-000001 SH-000002 SH-000004 SH-000005"}]


def test_repeated_exposures_need_three_within_thirty_days(session, clock):
    now = clock.now
    org = organisation(session, now=now)
    spread = [case_row(session, ref=f"SH-00010{i}", urgency="routine", channel="web", org=org, created_at=when)
              for i, when in enumerate([at(1, 9, month=9), at(5, 9, month=10), at(20, 9)])]
    table = reports.repeated_exposures(spread)
    assert table.rows == []  # 3 exposures, but never 3 inside 30 days
    assert len(reports.repeated_exposures(spread, window=reports.REPEAT_WINDOW * 3).rows) == 1


def test_reports_page_and_every_csv(browser_for, known, report):
    lead = browser_for("lead")
    page = lead.get("/reports?weeks=2")
    assert page.status_code == 200
    assert "Repeated exposures:" in page.text and "Riverside Medical Practice has had 5" in page.text
    assert page.text.count("<svg") >= 5
    assert "past clock" in page.text
    for name in reports.TABLE_NAMES:
        r = lead.get(f"/reports/{name}.csv?weeks=2")
        assert r.status_code == 200, name
        assert r.headers["content-type"].startswith("text/csv")
        assert "attachment" in r.headers["content-disposition"]
        rows = list(csv.reader(io.StringIO(r.text)))
        assert rows[0] == report.tables[name].columns
        assert len(rows) == len(report.tables[name].rows) + 1
    times = list(csv.reader(io.StringIO(lead.get("/reports/response_times.csv?weeks=2").text)))
    assert ["page", "all", "5", "60.0", "300.0"] in times
    assert lead.get("/reports/nonsense.csv").status_code == 404


def test_csv_cells_never_start_a_formula():
    table = reports.Table("t", "t", ["name"], [["=HYPERLINK(\"x\")"], ["+1"], ["plain"], [-3]])
    lines = reports.to_csv(table).splitlines()
    assert lines[1].startswith("\"'=HYPERLINK") and lines[2] == "'+1" and lines[3] == "plain" and lines[4] == "-3"


def test_reports_page_dates_in_words_and_accessible_charts(browser_for, known):
    html = browser_for("lead").get("/reports?weeks=2").text
    assert "from Monday 16 November to now" in html
    assert "(Sunday 1 November to Monday 23 November: SH-000000" in html  # the repeated-exposure alert
    assert '<option value="2" selected>' in html  # the period asked for stays chosen
    svgs = re.findall(r"<svg[^>]*>(?:<title>[^<]+</title>)?", html)
    assert len(svgs) >= 5
    for svg in svgs:
        assert 'role="img"' in svg and re.search(r'aria-label="[^"]+"', svg) and "<title>" in svg, svg
    # Under each chart: where its figures are as a table and as a CSV file.
    for table in ("volume", "response_times", "outcomes"):
        assert f'<a href="#table-{table}">in a table' in html and f'id="table-{table}"' in html
        assert f'<a href="/reports/{table}.csv?weeks=2">as a CSV file' in html
    assert 'id="weeks"' in html and '<label for="weeks">' in html


@pytest.mark.parametrize("weeks", ["0", "105", "many", ""])
def test_a_bad_period_is_an_error_summary_and_the_default_period_is_shown(browser_for, known, weeks):
    r = browser_for("lead").get(f"/reports?weeks={weeks}")
    assert r.status_code == 400
    assert "<title>Error: Reports" in r.text and 'class="error-summary"' in r.text
    assert '<a href="#weeks">Enter a number of weeks from 1 to 104</a>' in r.text
    assert '<option value="8" selected>' in r.text and 'aria-invalid="true"' in r.text
