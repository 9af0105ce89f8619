"""The reports computed in SQL (issue #13): nearest-rank percentiles and medians picked by the
database, counts by GROUP BY, one table per CSV, and no report that reads every message.
Runs on SQLite and, with HELPLINE_TEST_DATABASE=postgres, on PostgreSQL."""
from __future__ import annotations

import csv
import io
import random
from datetime import datetime, timedelta, timezone

import pytest

from api.models import Case, CaseEvent, ConversationMessage
from api.services import reports
from tests.api.factories import organisation, practitioner
from tests.support.fetched import Fetched
from tests.api.web.builders import case_row, message, rating
from tests.api.web.conftest import browser_for, quick_hashes, world  # noqa: F401 - fixtures for the CSV route

NOW = datetime(2026, 11, 23, 14, 0, tzinfo=timezone.utc)  # the clock fixture's T0: Monday, ISO week 2026-W48


def at(day: int, hh: int, mm: int = 0, ss: float = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hh, mm, tzinfo=timezone.utc) + timedelta(seconds=ss)


@pytest.fixture
def nurse(session):
    return practitioner(session, "Alex Primary", mobile="+447700900201", now=NOW)


@pytest.fixture
def org(session):
    return organisation(session, "Y00001", name="Riverside Medical Practice", now=NOW)


def paged_cases(session, org, nurse, seconds: list[float], *, urgency: str = "urgent", prefix: str = "SH-1") -> None:
    for i, after in enumerate(seconds):
        case_row(session, ref=f"{prefix}{i:05d}", urgency=urgency, channel="api", org=org,
                 created_at=at(23, 9) + timedelta(minutes=i), pages=[{"sent_after": after}], to=nurse)
    session.commit()


# --- percentiles ------------------------------------------------------------------------------

@pytest.mark.parametrize("values, median, p90", [
    (list(range(1, 11)), 5.5, 9),   # nearest rank: ceil(0.9 x 10) = 9th
    (list(range(1, 12)), 6, 10),    # ceil(9.9) = 10th
    ([7], 7, 7),
    ([3, 1], 2, 3),
    (list(range(1, 21)), 10.5, 18),
    (list(range(1, 101)), 50.5, 90),
])
def test_percentiles_are_nearest_rank_in_sql(session, org, nurse, values, median, p90):
    shuffled = list(values)
    random.Random(7).shuffle(shuffled)  # stored in no particular order
    paged_cases(session, org, nurse, shuffled)
    stat = reports.build(session, now=NOW, weeks=1).stats[("page", "all")]
    assert stat == {"n": len(values), "median": median, "p90": p90}
    assert stat == {"n": len(values), "median": reports.median(values), "p90": reports.p90(values)}
    assert reports.build(session, now=NOW, weeks=1).stats[("page", "urgent")] == stat
    assert reports.build(session, now=NOW, weeks=1).stats[("page", "emergency")] == {"n": 0, "median": None,
                                                                                    "p90": None}


def test_rank_formulas_match_the_definitions():
    for n in range(1, 5000):
        assert reports.p90_rank(n) == -(-9 * n // 10)
        low, high = reports.median_ranks(n)
        assert (low == high) == (n % 2 == 1) and low + high == n + 1


def test_times_keep_every_microsecond(session, org, nurse):
    # Differences computed in SQL as whole microseconds give the floats Python's datetimes give.
    values = [0.000001, 1.999999, 12.345678, 59.5, 3600.000001]
    paged_cases(session, org, nurse, values)
    stat = reports.build(session, now=NOW, weeks=1).stats[("page", "all")]
    expected = [(timedelta(seconds=v) // timedelta(microseconds=1)) / 1e6 for v in values]
    assert stat == {"n": 5, "median": reports.median(expected), "p90": reports.p90(expected)}


def _expected_times(session, start, now):
    """The report's definitions, straight from the rows (as the report did before #13)."""
    cases = session.query(Case).filter(Case.created_at >= start, Case.created_at <= now).all()
    values: dict[tuple[str, str], list[float]] = {}
    for c in cases:
        times = {}
        stored = session.query(ConversationMessage).filter(ConversationMessage.conversation_id == c.conversation_id)
        msgs = sorted(stored.all(), key=lambda m: (m.created_at, m.id)) if c.conversation_id else []
        first_in = next((m for m in msgs if m.direction == "inbound"), None)
        reply = first_in and next((m for m in msgs if m.direction == "outbound"
                                   and (m.created_at, m.id) > (first_in.created_at, first_in.id)), None)
        times["first_reply"] = (reply.created_at - first_in.created_at).total_seconds() if reply else None
        sent = [p.sent_at for p in c.pages if p.sent_at]
        acked = [p.acknowledged_at for p in c.pages if p.acknowledged_at]
        times["page"] = (min(sent) - c.created_at).total_seconds() if sent else None
        times["acknowledgement"] = (min(acked) - min(sent)).total_seconds() if sent and acked else None
        for measure, value in times.items():
            if value is None:
                continue
            values.setdefault((measure, "all"), []).append(value)
            if c.urgency in reports.GROUPS:
                values.setdefault((measure, c.urgency), []).append(value)
    return {(m, g): {"n": len(v), "median": reports.median(v), "p90": reports.p90(v)}
            for (m, g), v in values.items()}


@pytest.mark.parametrize("seed", [1, 2])
def test_random_cases_match_the_definitions(session, org, nurse, seed):
    rng = random.Random(seed)
    other = organisation(session, "FA001", name="High Street Pharmacy", type="community_pharmacy", now=NOW)
    for i in range(60):
        created = at(2, 8) + timedelta(seconds=rng.randrange(0, 21 * 24 * 3600), microseconds=rng.randrange(10**6))
        cid = f"c{i}" if rng.random() < 0.8 else None
        pages = [{"sent_after": rng.choice([5, 30, 30, 61.5, rng.uniform(0, 900)]),
                  "acked_after": rng.choice([None, 60, rng.uniform(0, 1200)])} for _ in range(rng.choice([0, 1, 1, 2]))]
        case_row(session, ref=f"SH-{i:06d}", urgency=rng.choice(["emergency", "urgent", "routine", None]),
                 channel=rng.choice(["sms", "web", "voice"]), org=rng.choice([org, other, None]), created_at=created,
                 conversation_id=cid, pages=pages, to=nurse)
        if cid:
            t = created - timedelta(seconds=rng.uniform(0, 120))
            for _ in range(rng.randrange(0, 6)):
                message(session, cid, rng.choice(["inbound", "outbound"]), t)
                if rng.random() < 0.7:  # else the next turn has the same time: ties broken by id
                    t += timedelta(seconds=rng.uniform(0, 40))
    session.commit()
    report = reports.build(session, now=NOW, weeks=2)
    expected = _expected_times(session, report.start, NOW)
    for measure in reports.MEASURES:
        for group in reports.GROUPS:
            assert report.stats[(measure, group)] == expected.get(
                (measure, group), {"n": 0, "median": None, "p90": None}), (measure, group)
    # Repeated exposures: the SQL agrees with the rule written on a list of cases.
    exposures = session.query(Case).filter(Case.created_at >= min(report.start, NOW - reports.REPEAT_WINDOW),
                                           Case.created_at <= NOW).order_by(Case.id).all()
    for window, threshold in ((reports.REPEAT_WINDOW, 3), (timedelta(days=2), 2), (timedelta(hours=6), 2)):
        by_sql = reports.repeat_exposures(session, reports.period(NOW, 2, "Europe/London"), window=window,
                                          threshold=threshold)
        assert by_sql.rows == reports.repeated_exposures(exposures, window=window, threshold=threshold).rows
    assert report.tables["repeat_exposures"].rows  # 60 cases in 3 weeks: both organisations flagged


def test_repeated_exposures_on_exactly_thirty_days_and_same_time(session, org):
    pharmacy = organisation(session, "FA001", name="High Street Pharmacy", type="community_pharmacy", now=NOW)
    # Riverside: exactly 30 days apart still counts, and two at the same moment both count.
    for i, when in enumerate([at(20, 9, month=10), at(19, 9), at(19, 9)]):
        case_row(session, ref=f"SH-00010{i}", urgency="routine", channel="web", org=org, created_at=when)
    # The pharmacy: the same three, then one a microsecond later (30 days and 1 µs after the
    # first): two windows of 3, and the latest wins the tie.
    for i, when in enumerate([at(20, 9, month=10), at(19, 9), at(19, 9), at(19, 9, 0, 0.000001)]):
        case_row(session, ref=f"SH-00020{i}", urgency="routine", channel="web", org=pharmacy, created_at=when)
    session.commit()
    rows = reports.build(session, now=NOW, weeks=8).tables["repeat_exposures"].rows
    assert rows == [["High Street Pharmacy", "community_pharmacy", 3, "2026-11-19", "2026-11-19",
                     "SH-000201 SH-000202 SH-000203"],
                    ["Riverside Medical Practice", "gp_practice", 3, "2026-10-20", "2026-11-19",
                     "SH-000100 SH-000101 SH-000102"]]
    cases = session.query(Case).order_by(Case.id).all()
    assert reports.repeated_exposures(cases).rows == rows


# --- counts -----------------------------------------------------------------------------------

def test_counts_by_group(session, org, nurse):
    pharmacy = organisation(session, "FA001", name="High Street Pharmacy", type="community_pharmacy", now=NOW)
    # Week 2026-W47 (16-22 Nov): 3 chats, one of them with two cases (the first case gives the line).
    message(session, "a", "inbound", at(16, 9))
    message(session, "a", "inbound", at(16, 9, 1))  # a second turn is not a second contact
    case_row(session, ref="MA-000001", line="manager", urgency="routine", channel="web", org=pharmacy,
             conversation_id="a", created_at=at(16, 9, 5))
    case_row(session, ref="SH-000009", urgency="urgent", channel="web", org=org, conversation_id="a",
             created_at=at(16, 9, 6))
    message(session, "b", "inbound", at(17, 9), channel="sms")
    message(session, "c", "inbound", at(22, 23, 59), channel="voice")  # Sunday 23:59 UTC: still W47 in London
    # Started before the period: not a contact in it.
    message(session, "old", "inbound", at(1, 9))
    message(session, "old", "inbound", at(17, 10))
    # Week 2026-W48: a case through the API (a contact, no conversation).
    case_row(session, ref="SH-000010", urgency="emergency", channel="api", org=None, created_at=at(23, 8))
    # Outcomes, with an empty outcome counted as none.
    case_row(session, ref="SH-000011", urgency="routine", channel="api", org=org, created_at=at(1, 8),
             status="closed", closed_at=at(18, 8), outcome="advice_only")
    case_row(session, ref="SH-000012", urgency="routine", channel="api", org=org, created_at=at(1, 8),
             status="closed", closed_at=at(18, 9), outcome="")
    case_row(session, ref="MA-000013", line="manager", urgency="routine", channel="api", org=org,
             created_at=at(1, 8), status="closed", closed_at=at(18, 9), outcome="made_up")
    session.commit()
    report = reports.build(session, now=NOW, weeks=2)
    assert report.weekly == [{"week": "2026-W47", "contacts": 3, "cases": 2},
                             {"week": "2026-W48", "contacts": 1, "cases": 1}]
    rows = {(w, d, v): (n_contacts, n_cases) for w, d, v, n_contacts, n_cases in report.tables["volume"].rows}
    assert rows[("2026-W47", "line", "manager")] == (1, 1)
    assert rows[("2026-W47", "line", "sharps")] == (0, 1)
    assert rows[("2026-W47", "line", reports.NO_CASE)] == (2, 0)
    assert rows[("2026-W47", "channel", "voice")] == (1, 0)
    assert rows[("2026-W47", "organisation", "High Street Pharmacy")] == (1, 1)
    assert rows[("2026-W47", "organisation", reports.NONE)] == (2, 0)
    assert rows[("2026-W48", "organisation", reports.NONE)] == (1, 1)
    assert rows[("2026-W48", "channel", "api")] == (1, 1)
    outcomes = {row[0]: row[1:] for row in report.tables["outcomes"].rows}
    assert outcomes["advice_only"] == [1, 0, 1] and outcomes[reports.NONE] == [1, 0, 1]
    assert outcomes["made_up"] == [0, 1, 1] and outcomes["pep_started"] == [0, 0, 0]


def test_ratings_count_numbers_from_one_to_five(session, org):
    c = case_row(session, ref="SH-000001", urgency="routine", channel="web", org=org, created_at=at(20, 9))
    for score in (5, 5, 4, 4.7, 1, True):  # 4.7 counts as 4 and true as 1, as int() reads them
        rating(session, c, score, at(20, 10))
    for score in ("4", None, 0, 6, False, [3]):
        rating(session, c, score, at(20, 10))
    session.add(CaseEvent(case_id=c.id, type="rating", actor="bot", description="no score", details={},
                          created_at=at(20, 10)))
    rating(session, c, 3, at(1, 10))  # before the period
    session.commit()
    report = reports.build(session, now=NOW, weeks=2)
    assert [row[:2] for row in report.tables["ratings"].rows] == [[1, 2], [2, 0], [3, 0], [4, 2], [5, 2]]
    assert report.rating_summary == {"n": 6, "mean": 3.33, "satisfied_percent": 66.7}  # 20 / 6


# --- one table per CSV --------------------------------------------------------------------------

def test_csv_builds_only_the_table_asked_for(browser_for, world, session, monkeypatch):  # noqa: F811
    case_row(session, ref="SH-000011", urgency="routine", channel="api", org=world["orgs"]["a"], created_at=at(1, 8),
             status="closed", closed_at=at(18, 8), outcome="advice_only")
    session.commit()
    for name in ("build", "volume", "response_times", "ratings", "repeat_exposures", "open_cases"):
        monkeypatch.setattr(reports, name, _must_not_run)
    monkeypatch.setitem(reports._TABLES, "open_cases", _must_not_run)
    monkeypatch.setitem(reports._TABLES, "repeat_exposures", _must_not_run)
    r = browser_for("lead").get("/reports/outcomes.csv?weeks=2")
    assert r.status_code == 200
    assert r.headers["content-disposition"] == 'attachment; filename="outcomes-20261123.csv"'
    assert list(csv.reader(io.StringIO(r.text))) == [
        ["outcome", "sharps", "manager", "total"], ["ed_attended", "0", "0", "0"], ["pep_started", "0", "0", "0"],
        ["bloods_taken", "0", "0", "0"], ["vaccine_or_hbig_given", "0", "0", "0"], ["advice_only", "1", "0", "1"],
        ["referred_on", "0", "0", "0"]]


def _must_not_run(*_args, **_kwargs):
    raise AssertionError("the CSV of one table computed another")


def test_table_matches_the_whole_report(session, org, nurse):
    paged_cases(session, org, nurse, [1, 2, 3])
    whole = reports.build(session, now=NOW, weeks=3)
    for name in reports.TABLE_NAMES:
        assert reports.table(session, name, now=NOW, weeks=3) == whole.tables[name]


# --- the report does not read every message ----------------------------------------------------

def _cases(session, org, nurse) -> None:
    """Ten conversations' cases in week 2026-W48, paged, acknowledged and rated."""
    for i in range(10):
        c = case_row(session, ref=f"SH-{i:06d}", urgency=("emergency", "urgent")[i % 2], channel="sms", org=org,
                     conversation_id=f"conv-{i}", created_at=at(23, 9, i, 30),
                     pages=[{"sent_after": 10 + i, "acked_after": 60}], to=nurse)
        rating(session, c, 4, at(23, 10))
    session.commit()


def _messages(session, first: int, last: int) -> None:
    """Turns first..last-1 shared by the ten conversations (each starts inbound, then a reply), and
    as many again a year earlier in conversations of their own: the groups stay the same."""
    rows = []
    for j in range(first, last):
        when = at(23, 9, j % 10, 0) + timedelta(milliseconds=j)
        rows.append(ConversationMessage(conversation_id=f"conv-{j % 10}", channel="sms",
                                        direction=("inbound", "outbound")[j // 10 % 2], text="x",
                                        status="relayed", details={}, created_at=when))
        rows.append(ConversationMessage(conversation_id=f"old-{j}", channel="sms", direction="inbound", text="x",
                                        status="relayed", details={}, created_at=when - timedelta(days=365)))
    session.add_all(rows)
    session.commit()


@pytest.mark.parametrize("name", [None, *reports.TABLE_NAMES])
def test_rows_fetched_do_not_grow_with_messages(session, org, nurse, name):
    def measure() -> tuple[int, int]:
        counter = Fetched(session)
        try:
            if name is None:
                report = reports.build(session, now=NOW, weeks=2)
                assert report.weekly[1]["contacts"] == 10 and report.stats[("first_reply", "all")]["n"] == 10
            else:
                reports.table(session, name, now=NOW, weeks=2)
        finally:
            counter.close()
        return counter.statements, counter.rows

    _cases(session, org, nurse)
    _messages(session, 0, 50)
    assert session.query(ConversationMessage).count() == 100
    with_50 = measure()
    _messages(session, 50, 500)
    assert session.query(ConversationMessage).count() == 1000
    with_500 = measure()
    assert with_50 == with_500
    assert with_500[1] < 60, with_500  # grouped rows and the open cases, never the messages
