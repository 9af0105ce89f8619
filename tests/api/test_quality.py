"""The annual quality report (issue #18): every figure checked against a known set of cases,
conversations, pages, reviews, follow-ups, ratings, equality answers and poster contacts, built
here with explicit times around the period's London edges (summer time at the start, winter
time at the end); then the page (who may read it, its definitions, GOV.UK errors for bad dates)
and the PDF made from it (a real A4 PDF whose text carries the period and the figures)."""
from __future__ import annotations

import io
from datetime import date, datetime, timedelta, timezone

import pytest
from pypdf import PdfReader

from api.domain.quality import default_period
from api.models import Case, ConversationOrigin, EqualityResponse, FollowUp
from api.services import quality, reviews
from api.triage.ruleset import available_versions
from tests.api.factories import organisation
from tests.api.staff_browsers import StaffBrowsers
from tests.api.web.builders import case_row, message, rating

UTC = timezone.utc
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
START, END = date(2026, 6, 1), date(2026, 10, 31)
PERIOD = {"from": "2026-06-01", "to": "2026-10-31"}
# 1 June 2026 begins at 23:00 UTC on 31 May (BST); 31 October 2026 ends at midnight UTC (GMT since 25 October).
JUNE_FIRST = datetime(2026, 5, 31, 23, 0, tzinfo=UTC)
NOVEMBER_FIRST = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
LIVE = {line: available_versions(line)[-1] for line in ("sharps", "manager")}


@pytest.fixture
def browsers(app, session, clock, monkeypatch):
    made = StaffBrowsers(app, session, clock.now, monkeypatch)
    yield made
    made.close()


def _conversation(session, cid: str, at: datetime, *, reply_after: float | None, channel: str = "web") -> None:
    message(session, cid, "inbound", at, channel=channel)
    if reply_after is not None:
        message(session, cid, "outbound", at + timedelta(seconds=reply_after), channel=channel)


def _follow_up(session, case: Case, due_on: date, status: str, closed_at: datetime | None = None) -> None:
    session.add(FollowUp(case_id=case.id, due_on=due_on, what="Blood test", remind_by_sms=False, status=status,
                         created_by="test", created_at=JUNE_FIRST, closed_at=closed_at,
                         closed_by="test" if closed_at else None))


@pytest.fixture
def known(session, clock):
    """The known set. In the period (London days 1 June to 31 October 2026):
    - C1 sharps, web, emergency, Riverside: first reply 4 s; paged after 60 s, acknowledged 120 s later.
    - C2 sharps, text, urgent, High Street Pharmacy: first reply 10 s; paged after 30 s, acknowledged 300 s later.
    - C3 manager, web, routine, opened 00:30 on 1 June (BST) with no organisation, Riverside confirmed
      by a practitioner: first reply 2 s; not paged.
    - C4 sharps, entered by staff (no conversation), urgent, no organisation, opened 23:59 on
      31 October (GMT): paged after 100 s, acknowledged 60 s later.
    - a web chat with no case begun from High Street Pharmacy's poster.
    Outside it: C5 at 23:59 on 31 May (BST) and C6 at 00:00 on 1 November, both paged, reviewed and rated."""
    clock.now = NOW
    a = organisation(session, "Y00001", name="Riverside Medical Practice", now=NOW)
    b = organisation(session, "FA001", name="High Street Pharmacy", type="community_pharmacy", now=NOW)
    organisation(session, "FED01", name="North Federation", type="federation", now=NOW)

    def opened(ref, at, **kw):
        version = kw.pop("rule_version")
        c = case_row(session, ref=ref, created_at=at, **kw)
        c.rule_version = version
        return c

    c1_at = datetime(2026, 6, 10, 10, 0, tzinfo=UTC)
    _conversation(session, "conv-1", c1_at - timedelta(minutes=2), reply_after=4)
    c1 = opened("SH-000001", c1_at, urgency="emergency", channel="web", org=a, conversation_id="conv-1",
                pages=[{"sent_after": 60, "acked_after": 120}], rule_version="sharps-2026.11.1")
    c2_at = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    _conversation(session, "conv-2", c2_at - timedelta(minutes=1), reply_after=10, channel="sms")
    c2 = opened("SH-000002", c2_at, urgency="urgent", channel="sms", org=b, conversation_id="conv-2",
                pages=[{"sent_after": 30, "acked_after": 300}], rule_version="sharps-2026.12.1")
    c3_at = JUNE_FIRST + timedelta(minutes=30)
    _conversation(session, "conv-3", c3_at - timedelta(minutes=1), reply_after=2)
    c3 = opened("MA-000001", c3_at, line="manager", urgency="routine", channel="web", org=None,
                conversation_id="conv-3", rule_version="manager-2026.12.1")
    c3.confirmed_organisation_id = a.id
    opened("SH-000003", NOVEMBER_FIRST - timedelta(minutes=1), urgency="urgent", channel="api", org=None,
           pages=[{"sent_after": 100, "acked_after": 60}], rule_version="sharps-2026.12.1")
    _conversation(session, "conv-7", datetime(2026, 8, 1, 9, 0, tzinfo=UTC), reply_after=3)
    session.add(ConversationOrigin(conversation_id="conv-7", organisation_id=b.id, via="poster",
                                   created_at=datetime(2026, 8, 1, 9, 0, tzinfo=UTC)))
    # outside the period, on both edges
    c5_at = JUNE_FIRST - timedelta(minutes=1)
    _conversation(session, "conv-5", c5_at - timedelta(minutes=1), reply_after=1)
    c5 = opened("SH-000005", c5_at, urgency="emergency", channel="web", org=b, conversation_id="conv-5",
                pages=[{"sent_after": 5, "acked_after": 5}], rule_version="sharps-2026.11.1")
    c6 = opened("SH-000006", NOVEMBER_FIRST, urgency="emergency", channel="sms", org=b,
                pages=[{"sent_after": 5, "acked_after": 5}], rule_version="sharps-2026.12.1")
    session.add(ConversationOrigin(conversation_id="conv-8", organisation_id=a.id, via="poster",
                                   created_at=NOVEMBER_FIRST))

    for case, urgency in ((c1, "emergency"), (c2, "emergency"), (c5, "routine"), (c6, "urgent")):
        reviews.record(session, case, urgency=urgency, by="Dr Lee Lead", note=None, actor="test",
                       now=case.created_at + timedelta(days=1))
    for case, score in ((c1, 5), (c2, 4), (c3, 2)):
        rating(session, case, score, case.created_at + timedelta(minutes=10))
    rating(session, c5, 1, c5_at + timedelta(seconds=30))  # 23:59:30 on 31 May, London
    rating(session, c6, 1, NOVEMBER_FIRST + timedelta(minutes=5))

    _follow_up(session, c1, date(2026, 6, 15), "done", datetime(2026, 6, 15, 20, 0, tzinfo=UTC))  # 21:00 BST: on time
    _follow_up(session, c1, date(2026, 7, 10), "done", datetime(2026, 7, 10, 23, 30, tzinfo=UTC))  # 00:30 BST next day
    _follow_up(session, c2, date(2026, 8, 1), "cancelled", datetime(2026, 7, 20, 9, 0, tzinfo=UTC))
    _follow_up(session, c2, date(2026, 10, 31), "open")  # past its day by 1 December
    _follow_up(session, c2, date(2026, 11, 1), "done", datetime(2026, 11, 1, 9, 0, tzinfo=UTC))  # due after the period
    _follow_up(session, c5, date(2026, 5, 31), "open")  # due before it

    for day in (START, date(2026, 7, 1), date(2026, 8, 1), date(2026, 9, 1), date(2026, 10, 1), END):
        session.add(EqualityResponse(answered_on=day, line="sharps", channel="web", age_band="25-34"))
    session.add(EqualityResponse(answered_on=date(2026, 5, 31), line="sharps", channel="web"))
    session.commit()
    return {"a": a, "b": b}


def _annual(session) -> quality.QualityReport:
    return quality.annual(session, start=START, end=END, now=NOW, tz="Europe/London")


# --- the figures -----------------------------------------------------------------------------------------

def test_contacts_and_cases_by_line_and_channel(session, known):
    q = _annual(session)
    assert (q.contacts, q.cases) == (5, 4)
    assert {c.value: (c.contacts, c.cases) for c in q.by_line} == {
        "sharps": (3, 3), "manager": (1, 1), "(no case)": (1, 0)}
    assert {c.value: (c.contacts, c.cases) for c in q.by_channel} == {"web": (3, 2), "sms": (1, 1), "api": (1, 1)}


def test_first_reply_page_and_acknowledgement_times_median_and_90th_percentile(session, known):
    times = _annual(session).times
    assert (times["first_reply"].n, times["first_reply"].median, times["first_reply"].p90) == (3, 4.0, 10.0)
    assert (times["page"].n, times["page"].median, times["page"].p90) == (3, 60.0, 100.0)
    assert (times["acknowledgement"].n, times["acknowledgement"].median, times["acknowledgement"].p90) == (
        3, 120.0, 300.0)


def test_cases_escalated_by_urgency(session, known):
    assert _annual(session).escalated == {"emergency": 1, "urgent": 2, "routine": 0, "not_triaged": 0, "all": 3}


def test_concordance_counts_the_cases_opened_in_the_period(session, known):
    conc = _annual(session).concordance
    assert (conc.totals.reviewed, conc.totals.agree, conc.totals.under_triage, conc.totals.over_triage) == (2, 1, 1, 0)
    assert [(v.rule_version, v.reviewed) for v in conc.by_rule_version] == [
        ("sharps-2026.11.1", 1), ("sharps-2026.12.1", 1)]


def test_follow_up_completion_on_london_days(session, known):
    fu = _annual(session).follow_ups
    assert (fu.due, fu.done, fu.done_on_time, fu.cancelled, fu.open, fu.overdue) == (4, 2, 1, 1, 1, 1)
    assert (fu.expected, fu.done_percent, fu.on_time_percent) == (3, 66.7, 33.3)


def test_satisfaction_counts_ratings_given_in_the_period(session, known):
    q = _annual(session)
    assert q.satisfaction == {"n": 3, "mean": 3.67, "satisfied_percent": 66.7}
    assert [row[:2] for row in q.ratings] == [[1, 0], [2, 1], [3, 0], [4, 1], [5, 1]]


def test_rule_versions_of_the_period_and_those_in_force(session, known):
    q = _annual(session)
    assert [(r.line, r.version, r.cases) for r in q.rule_versions] == [
        ("manager", "manager-2026.12.1", 1), ("sharps", "sharps-2026.11.1", 1), ("sharps", "sharps-2026.12.1", 2)]
    assert q.live_rules == LIVE


def test_uptake_by_organisation_and_type_with_poster_contacts(session, known):
    up = _annual(session).uptake
    assert [(o.code, o.cases, o.poster_contacts) for o in up.organisations] == [("Y00001", 2, 0), ("FA001", 1, 1)]
    assert {t.type: (t.organisations, t.reached, t.cases, t.poster_contacts) for t in up.by_type} == {
        "community_pharmacy": (1, 1, 1, 1), "federation": (1, 0, 0, 0), "gp_practice": (1, 1, 2, 0)}
    assert (up.cases_without_organisation, up.poster_contacts, up.reached) == (1, 1, 2)


def test_equality_of_access_comes_from_its_own_report_for_the_same_days(session, known):
    eq = _annual(session).equality
    assert (eq.start, eq.end) == (START, END)
    assert eq.responses.count == 6 and not eq.responses.suppressed


@pytest.mark.parametrize(("today", "first"), [(date(2026, 12, 1), date(2025, 12, 2)),
                                              (date(2028, 2, 29), date(2027, 3, 1)),  # no 29 February a year ago
                                              (date(2027, 3, 1), date(2026, 3, 2))])
def test_the_default_period_is_twelve_months_to_today(today, first):
    assert default_period(today) == (first, today)


def test_a_period_that_ends_today_is_cut_at_now(session, known, clock):
    q = quality.annual(session, start=date(2026, 11, 1), end=date(2026, 12, 1), now=NOW)
    assert (q.contacts, q.cases) == (1, 1)  # C6, opened at midnight on 1 November
    assert q.uptake.poster_contacts == 1


# --- the page ---------------------------------------------------------------------------------------------

def test_a_clinical_lead_reads_one_page_with_the_period_rules_figures_and_definitions(browsers, known):
    r = browsers("clinical_lead").get("/reports/quality", params=PERIOD)
    assert r.status_code == 200, r.text
    html = r.text
    assert "Period: 1 June 2026 to 31 October 2026" in html
    assert all(version in html for version in LIVE.values())
    assert "sharps-2026.11.1 (1 case)" in html and "sharps-2026.12.1 (2 cases)" in html
    assert '<span class="figure" id="figure-contacts">5</span>' in html
    assert '<span class="figure" id="figure-escalated">3</span>' in html
    assert '<span class="figure" id="figure-follow-ups">66.7%</span>' in html
    assert "High Street Pharmacy" in html and "North Federation" not in html
    for key in ("contacts", "cases", "first_reply", "acknowledgement", "escalated", "concordance", "follow_ups",
                "satisfaction", "equality", "uptake", "rules"):
        assert f'href="#def-{key}"' in html and f'id="def-{key}"' in html
    assert 'href="/static/web/quality.css"' in html
    assert 'href="/reports/quality.pdf?from=2026-06-01&amp;to=2026-10-31"' in html


def test_the_print_styles_give_an_a4_page_without_the_navigation(browsers, known):
    css = browsers("practitioner").get("/static/web/quality.css").text
    assert "size: A4" in css and "@media print" in css and ".topbar" in css


def test_the_default_period_is_the_last_twelve_months_to_today_in_london(browsers, known, clock):
    clock.now = datetime(2026, 6, 30, 23, 30, tzinfo=UTC)  # already 1 July in London
    html = browsers("practitioner").get("/reports/quality").text
    assert "Period: 2 July 2025 to 1 July 2026" in html


def test_the_reports_page_links_to_it(browsers, known):
    assert 'href="/reports/quality"' in browsers("clinical_lead").get("/reports").text


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_admins_and_managers_may_not_read_it(browsers, known, role):
    client = browsers(role, known["a"].id if role == "manager" else None)
    for path in ("/reports/quality", "/reports/quality.pdf"):
        assert client.get(path).status_code == 403


def test_signed_out_goes_to_sign_in(anon):
    r = anon.get("/reports/quality.pdf", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")


@pytest.mark.parametrize(("query", "field", "words"), [
    ({"from": "2026-13-01"}, "quality-from", "Enter the start of the period as a real date"),
    ({"to": "31/10/2026"}, "quality-to", "Enter the end of the period as a real date"),
    ({"from": "2026-10-31", "to": "2026-06-01"}, "quality-to", "must be the same as or after its start"),
    ({"from": "2026-12-02"}, "quality-from", "must be today or in the past"),
    ({"from": "2026-06-01", "to": "2027-01-01"}, "quality-to", "must be today or in the past"),
    ({"from": "2023-01-01", "to": "2026-10-31"}, "quality-to", "at most 2 years"),
    ({"from": "0001-01-01", "to": "0001-01-02"}, "quality-from", "2000 or later"),
])
def test_bad_dates_get_gov_uk_errors_and_the_default_period(browsers, known, query, field, words):
    client = browsers("clinical_lead")
    for path in ("/reports/quality", "/reports/quality.pdf"):
        r = client.get(path, params=query)
        assert r.status_code == 400 and r.headers["content-type"].startswith("text/html")
        assert f'<a href="#{field}">' in r.text and words in r.text
        assert f'id="{field}-error"' in r.text and 'aria-invalid="true"' in r.text
        assert "Period: 2 December 2025 to 1 December 2026" in r.text


# --- the PDF ----------------------------------------------------------------------------------------------

def test_the_pdf_is_a4_with_the_period_and_the_figures_and_no_navigation(browsers, known):
    r = browsers("clinical_lead").get("/reports/quality.pdf", params=PERIOD)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == 'attachment; filename="quality-report-2026-06-01-to-2026-10-31.pdf"'
    assert r.content.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(r.content))
    box = reader.pages[0].mediabox
    assert (round(float(box.width) * 25.4 / 72), round(float(box.height) * 25.4 / 72)) == (210, 297)  # mm
    text = " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)
    assert "Annual quality report" in text
    assert "Period: 1 June 2026 to 31 October 2026" in text
    assert "90th percentile 10s · 3 cases" in text  # time to first reply
    assert "1 emergency · 2 urgent · 0 routine" in text  # cases escalated
    assert "2 of 3 due" in text  # follow-ups
    assert "Sign out" not in text and "Download as PDF" not in text  # the print styles were applied
    assert LIVE["sharps"] in text
