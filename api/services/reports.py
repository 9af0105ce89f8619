"""Service reports (reference section 5): scale, responsiveness, cases waiting, outcomes,
satisfaction, repeated exposures. The database does the counting: every figure comes back
from SQL already grouped (one row per week and dimension value, per outcome, per score, per
measure), and the medians and 90th percentiles are picked in SQL (window functions, the same
query on SQLite and PostgreSQL), so a report never reads the messages or the cases one by one.
Only the open cases table has a row per case (it lists them). `now` is always passed in, so a
fixed clock gives fixed figures.

Definitions (also shown on the page):
- Period: whole ISO weeks (Monday to Sunday, local time), the last `weeks` of them up to now.
- Contact: a conversation whose first inbound message falls in the period, or a case opened in
  the period with no conversation (entered through the API). Its line and organisation are
  those of the first case opened from the conversation, if any.
- Time to first reply: first inbound message of the case's conversation to the first outbound
  message after it. Time to page: case opened to its first page sent. Time to acknowledgement:
  first page sent to the first acknowledgement. Cases opened in the period.
- Median: the middle value (mean of the two middle values for an even count).
  90th percentile: nearest rank, the ceil(0.9 × n)-th smallest value.
- Clocks: emergency not acknowledged within 5 minutes, urgent (or not yet triaged) not
  acknowledged within 15 minutes, routine not closed within 2 working days (Mon–Fri, not bank
  holidays in England and Wales from api/triage/bank_holidays.py, shared with the manager rules).
- Repeated exposures: an organisation with 3 or more sharps exposures within any 30 days.
"""
from __future__ import annotations

import csv
import io
import json
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, ColumnElement, Integer, String, and_, case, cast, func, literal_column, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.visitors import InternalTraversal

from api.domain.case_lifecycle import OPEN_STATUSES
from api.enums import CaseKind, Line
from api.models import Case, CaseEvent, ConversationMessage, Organisation, Page
from api.services.queue import URGENCY_RANK, case_clock

NO_CASE = "(no case)"
NONE = "(none)"
DIMENSIONS = ("line", "channel", "organisation", "organisation_type")
MEASURES = ("first_reply", "page", "acknowledgement")
MEASURE_LABELS = {"first_reply": "Time to first reply", "page": "Time to page",
                  "acknowledgement": "Time to acknowledgement"}
GROUPS = ("all", "emergency", "urgent", "routine")
REPEAT_WINDOW = timedelta(days=30)
REPEAT_THRESHOLD = 3
OUTCOME_ORDER = ("ed_attended", "pep_started", "bloods_taken", "vaccine_or_hbig_given", "advice_only", "referred_on")
TABLE_NAMES = ("volume", "response_times", "open_cases", "outcomes", "ratings", "repeat_exposures")


@dataclass
class Table:
    name: str
    title: str
    columns: list[str]
    rows: list[list[Any]]


@dataclass
class Report:
    now: datetime
    start: datetime
    weeks: list[str]
    tables: dict[str, Table]
    weekly: list[dict[str, Any]]  # for the chart: week, contacts, cases
    stats: dict[tuple[str, str], dict[str, Any]]  # (measure, group) -> n, median, p90
    rating_summary: dict[str, Any]
    flags: list[dict[str, Any]] = field(default_factory=list)


# --- pure helpers (the definitions; the SQL below computes the same) ---------------------------

def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def p90(values: list[float]) -> float | None:
    """Nearest-rank 90th percentile."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def median_ranks(n: int) -> tuple[int, int]:
    """1-based ranks of the middle value(s) of n sorted values (the same rank twice when n is odd)."""
    return (n + 1) // 2, n // 2 + 1


def p90_rank(n: int) -> int:
    """1-based nearest rank of the 90th percentile: ceil(0.9 n), in integers (equal for every n)."""
    return (9 * n + 9) // 10


def iso_week(moment: datetime, tz: ZoneInfo) -> str:
    year, week, _ = moment.astimezone(tz).isocalendar()
    return f"{year}-W{week:02d}"


def period_start(now: datetime, weeks: int, tz: ZoneInfo) -> datetime:
    local = now.astimezone(tz)
    monday = (local - timedelta(days=local.weekday())).date() - timedelta(weeks=weeks - 1)
    return datetime(monday.year, monday.month, monday.day, tzinfo=tz).astimezone(timezone.utc)


def week_labels(start: datetime, now: datetime, tz: ZoneInfo) -> list[str]:
    labels, day, last = [], start.astimezone(tz).date(), now.astimezone(tz).date()
    while day <= last:
        year, week, _ = day.isocalendar()
        labels.append(f"{year}-W{week:02d}")
        day += timedelta(days=7)
    return labels


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def repeated_exposures(exposures: list[Case], *, window: timedelta = REPEAT_WINDOW,
                       threshold: int = REPEAT_THRESHOLD) -> Table:
    """Per organisation, the most exposures inside any `window`; flagged at `threshold` or more.
    The definition on a list of cases; the report runs the same rule in SQL (_repeat_table)."""
    by_org: dict[int, list[Case]] = defaultdict(list)
    for case_ in exposures:
        if case_.organisation is not None:
            by_org[case_.organisation.id].append(case_)
    rows = []
    for group in by_org.values():
        group.sort(key=lambda c: c.created_at)
        best = (0, 0, 0)  # count, first index, last index (latest window wins a tie)
        left = 0
        for right, case_ in enumerate(group):
            while case_.created_at - group[left].created_at > window:
                left += 1
            count = right - left + 1
            if count >= best[0]:
                best = (count, left, right)
        count, first, last = best
        if count >= threshold:
            org = group[0].organisation
            rows.append([org.name, org.type, count, group[first].created_at.date().isoformat(),
                         group[last].created_at.date().isoformat(),
                         " ".join(c.ref for c in group[first:last + 1])])
    rows.sort(key=lambda r: (-r[2], r[0]))
    return _repeat_table(rows, window, threshold)


def _repeat_table(rows: list[list[Any]], window: timedelta, threshold: int) -> Table:
    return Table("repeat_exposures",
                 f"Organisations with {threshold} or more sharps exposures within {window.days} days",
                 ["organisation", "organisation_type", "exposures", "first", "last", "cases"], rows)


# --- SQL building blocks ------------------------------------------------------------------------

class epoch_us(FunctionElement[int]):  # noqa: N801 - reads as a SQL function
    """Microseconds since 1970 of a stored UTC time, exactly, as an integer: differences of two
    are the same microseconds Python's datetime subtraction gives."""

    type = BigInteger()
    name = "epoch_us"
    inherit_cache = True


@compiles(epoch_us, "sqlite")
def _epoch_us_sqlite(element: epoch_us, compiler: Any, **kw: Any) -> str:
    # SQLAlchemy stores 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC): whole seconds from the first 19
    # characters, microseconds from the 6 after the point (padded, in case there are fewer).
    arg = compiler.process(next(iter(element.clauses)), **kw)
    return (f"(CAST(strftime('%s', substr({arg}, 1, 19)) AS INTEGER) * 1000000"
            f" + CAST(substr({arg} || '000000', 21, 6) AS INTEGER))")


@compiles(epoch_us)
def _epoch_us_default(element: epoch_us, compiler: Any, **kw: Any) -> str:
    # PostgreSQL: EXTRACT returns an exact numeric (14+), whole microseconds for a timestamptz.
    arg = compiler.process(next(iter(element.clauses)), **kw)
    return f"CAST(EXTRACT(EPOCH FROM {arg}) * 1000000 AS BIGINT)"


class count_older(FunctionElement[int]):  # noqa: N801 - reads as a SQL function
    """COUNT(*) OVER (PARTITION BY group ORDER BY t RANGE BETWEEN UNBOUNDED PRECEDING AND `older` PRECEDING):
    per row, the rows of its group whose integer `t` is more than `older` - 1 below its own. The
    offset is written into the SQL as a literal (it is ours, and PostgreSQL would bind it as INTEGER)."""

    type = BigInteger()
    name = "count_older"
    inherit_cache = True
    # The offset is part of the statement's cache key (else a cached statement keeps the first one).
    _traverse_internals: ClassVar = [*FunctionElement._traverse_internals, ("older", InternalTraversal.dp_plain_obj)]

    def __init__(self, group: Any, t: Any, older: int) -> None:
        self.older = int(older)
        super().__init__(group, t)


@compiles(count_older)
def _count_older(element: count_older, compiler: Any, **kw: Any) -> str:
    group, t = (compiler.process(c, **kw) for c in element.clauses)
    return (f"COUNT(*) OVER (PARTITION BY {group} ORDER BY {t} "
            f"RANGE BETWEEN UNBOUNDED PRECEDING AND {element.older:d} PRECEDING)")


@dataclass(frozen=True)
class Period:
    now: datetime
    start: datetime
    zone: ZoneInfo
    labels: list[str]
    bounds: list[datetime]  # UTC start of the 2nd, 3rd, ... week: week i is [bounds[i-1], bounds[i])

    def week_index(self, column: Any) -> ColumnElement[int]:
        """SQL: the index into `labels` of the local ISO week a stored UTC time (in the period) falls in."""
        if not self.bounds:
            return literal_column("0", Integer)
        return case(*[(column < bound, literal_column(str(i), Integer)) for i, bound in enumerate(self.bounds)],
                    else_=literal_column(str(len(self.bounds)), Integer))


def period(now: datetime, weeks: int, tz: str) -> Period:
    zone = ZoneInfo(tz)
    weeks = max(1, min(weeks, 104))
    start = period_start(now, weeks, zone)
    labels = week_labels(start, now, zone)
    first_monday = start.astimezone(zone).date()
    bounds = []
    for i in range(1, len(labels)):
        day = first_monday + timedelta(weeks=i)
        bounds.append(datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(timezone.utc))
    return Period(now=now, start=start, zone=zone, labels=labels, bounds=bounds)


def days(first: date, last: date, *, now: datetime, tz: str) -> Period:
    """Whole local days, `first` to `last` both included (up to now), counted as one column:
    the annual quality report's period (api/services/quality.py) through the same queries. The
    tables' bounds are inclusive, so the end is the last microsecond before the next midnight."""
    zone = ZoneInfo(tz)
    start = datetime.combine(first, time(0), tzinfo=zone).astimezone(timezone.utc)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=zone).astimezone(timezone.utc)
    return Period(now=min(now, end - timedelta(microseconds=1)), start=start, zone=zone,
                  labels=[f"{first.isoformat()}/{last.isoformat()}"], bounds=[])


# --- the tables ---------------------------------------------------------------------------------

def _first(model: Any, *where: Any) -> Any:
    """SQL: the id of the first row of `model` (by time, then id) matching `where`: a correlated
    lookup on an index (conversation_id), one per outer row."""
    return select(model.id).where(*where).order_by(model.created_at, model.id).limit(1).scalar_subquery()


def volume(session: Session, p: Period) -> tuple[Table, list[dict]]:
    """Contacts and cases per week and dimension: two GROUP BY queries, rolled up per dimension here."""
    cm = ConversationMessage
    # Conversations with an inbound turn in the period; a contact if the first one ever (up to now) is in it.
    talked = select(cm.conversation_id).where(
        cm.direction == "inbound", cm.created_at >= p.start, cm.created_at <= p.now).distinct().subquery("talked")
    firsts = select(talked.c.conversation_id,
                    _first(cm, cm.conversation_id == talked.c.conversation_id, cm.direction == "inbound",
                           cm.created_at <= p.now).label("message_id"),
                    _first(Case, Case.conversation_id == talked.c.conversation_id).label("case_id")).subquery("firsts")
    first_message = aliased(cm, name="first_message")
    contacts = select(p.week_index(first_message.created_at).label("wk"), Case.line, first_message.channel,
                      Organisation.name.label("org"), Organisation.type.label("org_type")).select_from(
        firsts.join(first_message, first_message.id == firsts.c.message_id)
        .outerjoin(Case, Case.id == firsts.c.case_id)
        .outerjoin(Organisation, Organisation.id == Case.organisation_id)).where(
        first_message.created_at >= p.start).subquery("contacts")

    no_conversation = case((or_(Case.conversation_id.is_(None), Case.conversation_id == ""), 1), else_=0)
    cases = select(p.week_index(Case.created_at).label("wk"), Case.line, Case.channel,
                   Organisation.name.label("org"), Organisation.type.label("org_type"),
                   no_conversation.label("no_conversation")).outerjoin(
        Organisation, Organisation.id == Case.organisation_id).where(
        Case.created_at >= p.start, Case.created_at <= p.now).subquery("cases")

    counts: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])

    def add(index: int, wk: int, line: str | None, channel: str, org: str | None, org_type: str | None, n: int):
        week = p.labels[wk]
        counts[(week, "all", "all")][index] += n
        values = {"line": line or NO_CASE, "channel": channel, "organisation": org or NONE,
                  "organisation_type": org_type or NONE}
        for dim in DIMENSIONS:
            counts[(week, dim, values[dim])][index] += n

    group = [contacts.c.wk, contacts.c.line, contacts.c.channel, contacts.c.org, contacts.c.org_type]
    for wk, line, channel, org, org_type, n in session.execute(select(*group, func.count()).group_by(*group)):
        add(0, wk, line, channel, org, org_type, n)
    group = [cases.c.wk, cases.c.line, cases.c.channel, cases.c.org, cases.c.org_type, cases.c.no_conversation]
    for wk, line, channel, org, org_type, no_conv, n in session.execute(select(*group, func.count()).group_by(*group)):
        add(1, wk, line, channel, org, org_type, n)
        if no_conv:
            add(0, wk, line, channel, org, org_type, n)

    rows = []
    weekly = []
    ordered = sorted(counts.items())
    for week in p.labels:
        total = counts.get((week, "all", "all"), [0, 0])
        rows.append([week, "all", "all", total[0], total[1]])
        weekly.append({"week": week, "contacts": total[0], "cases": total[1]})
        for dim in DIMENSIONS:
            for (w, d, value), (n_contacts, n_cases) in ordered:
                if w == week and d == dim:
                    rows.append([week, dim, value, n_contacts, n_cases])
    table = Table("volume", "Contacts and cases per ISO week, by line, channel, organisation and type",
                  ["week", "dimension", "value", "contacts", "cases"], rows)
    return table, weekly


def response_times(session: Session, p: Period) -> tuple[Table, dict]:
    """Per case opened in the period, the three times in microseconds (SQL); then per measure and
    urgency the count and the values at the median and 90th-percentile ranks (SQL window functions)."""
    cm = ConversationMessage
    has_conversation = and_(Case.conversation_id.is_not(None), Case.conversation_id != "")
    base = select(
        Case.id, Case.urgency, Case.created_at,
        case((has_conversation, _first(cm, cm.conversation_id == Case.conversation_id, cm.direction == "inbound")),
             else_=None).label("first_in"),
        select(func.min(Page.sent_at)).where(Page.case_id == Case.id).scalar_subquery().label("sent"),
        select(func.min(Page.acknowledged_at)).where(Page.case_id == Case.id).scalar_subquery().label("acked"),
    ).where(Case.created_at >= p.start, Case.created_at <= p.now).subquery("base")
    asked = aliased(cm, name="asked")
    answered = select(func.min(cm.created_at)).where(
        cm.conversation_id == asked.conversation_id, cm.direction == "outbound",
        or_(cm.created_at > asked.created_at, and_(cm.created_at == asked.created_at, cm.id > asked.id))
    ).scalar_subquery()
    replied = select(base.c.urgency, base.c.created_at, base.c.sent, base.c.acked,
                     asked.created_at.label("asked_at"), answered.label("answered_at")).select_from(
        base.outerjoin(asked, asked.id == base.c.first_in)).subquery("replied")
    times = select(
        replied.c.urgency,
        (epoch_us(replied.c.answered_at) - epoch_us(replied.c.asked_at)).label("first_reply"),
        (epoch_us(replied.c.sent) - epoch_us(replied.c.created_at)).label("page"),
        (epoch_us(replied.c.acked) - epoch_us(replied.c.sent)).label("acknowledgement"),
    ).cte("times")

    parts = []
    for measure in MEASURES:
        value = times.c[measure]
        name = literal_column(f"'{measure}'", String).label("measure")
        parts.append(select(name, literal_column("'all'", String).label("grp"), value.label("v"))
                     .where(value.is_not(None)))
        parts.append(select(name, times.c.urgency.label("grp"), value.label("v"))
                     .where(value.is_not(None), times.c.urgency.in_(GROUPS[1:])))
    values = parts[0].union_all(*parts[1:]).subquery("measured")
    by = (values.c.measure, values.c.grp)
    ranked = select(values.c.measure, values.c.grp, values.c.v,
                    func.row_number().over(partition_by=by, order_by=values.c.v).label("rn"),
                    func.count().over(partition_by=by).label("n")).subquery("ranked")
    n, rn = ranked.c.n, ranked.c.rn
    picked = select(ranked.c.measure, ranked.c.grp, n, rn, ranked.c.v).where(
        or_(rn == (n + 1) // 2, rn == n // 2 + 1, rn == (9 * n + 9) // 10))

    found: dict[tuple[str, str], tuple[int, dict[int, int]]] = {}
    for measure, group, count, rank, micros in session.execute(picked):
        found.setdefault((measure, group), (int(count), {}))[1][int(rank)] = int(micros)

    stats, rows = {}, []
    for measure in MEASURES:
        for group in GROUPS:
            count, at = found.get((measure, group), (0, {}))
            stat: dict[str, Any] = {"n": count, "median": None, "p90": None}
            if count:
                low, high = median_ranks(count)
                # As statistics.median: the middle value, or the mean of the two middle values.
                stat["median"] = at[low] / 1e6 if low == high else (at[low] / 1e6 + at[high] / 1e6) / 2
                stat["p90"] = at[p90_rank(count)] / 1e6
            stats[(measure, group)] = stat
            rows.append([measure, group, stat["n"], _round(stat["median"]), _round(stat["p90"])])
    table = Table("response_times", "Time to first reply, to page and to acknowledgement (seconds)",
                  ["measure", "urgency", "n", "median_seconds", "p90_seconds"], rows)
    return table, stats


def open_cases(session: Session, p: Period) -> Table:
    """One row per open case (the table lists them): only the columns the clock and the row need."""
    found = session.execute(
        select(Case.ref, Case.line, Case.urgency, Case.status, Case.created_at, Case.closed_at, Case.acknowledged_at,
               Organisation.name.label("organisation_name"))
        .outerjoin(Organisation, Organisation.id == Case.organisation_id)
        .where(Case.status.in_([str(s) for s in OPEN_STATUSES]), Case.created_at <= p.now)
        .order_by(Case.created_at, Case.id)).all()
    now, tz = p.now, p.zone
    rows = []
    for c in found:
        clock = case_clock(c, now=now)  # reads urgency, created_at, closed_at, acknowledged_at
        rows.append((clock.overdue, c, clock))
    rows.sort(key=lambda r: (not r[0], URGENCY_RANK.get(r[1].urgency, 1), r[1].created_at))
    return Table(
        "open_cases", "Open cases and their ages (past their clock first)",
        ["ref", "line", "urgency", "status", "organisation", "opened", "age_seconds", "clock", "due", "past_clock"],
        [[c.ref, c.line, c.urgency or "untriaged", c.status, c.organisation_name or NONE,
          c.created_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"), round((now - c.created_at).total_seconds()),
          clock.label, clock.due_at.astimezone(tz).strftime("%Y-%m-%d %H:%M") if clock.due_at else "",
          "yes" if overdue else "no"] for overdue, c, clock in rows],
    )


def outcomes(session: Session, p: Period) -> Table:
    counts: Counter[tuple[str, str]] = Counter()
    for outcome, line, n in session.execute(
            select(Case.outcome, Case.line, func.count())
            .where(Case.closed_at >= p.start, Case.closed_at <= p.now, Case.status == "closed")
            .group_by(Case.outcome, Case.line)):
        counts[(outcome or NONE, line)] += n
    names = list(OUTCOME_ORDER) + sorted({o for o, _ in counts} - set(OUTCOME_ORDER))
    rows = []
    for name in names:
        sharps, manager = counts.get((name, "sharps"), 0), counts.get((name, "manager"), 0)
        if sharps or manager or name in OUTCOME_ORDER:
            rows.append([name, sharps, manager, sharps + manager])
    return Table("outcomes", "Outcomes of cases closed in the period", ["outcome", "sharps", "manager", "total"], rows)


def _score(raw: str | None) -> int | None:
    """A stored rating's score (its JSON text) if it is a number from 1 to 5, truncated as int() does."""
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    if isinstance(value, (int, float)) and 1 <= value <= 5:
        return int(value)
    return None


def ratings(session: Session, p: Period) -> tuple[Table, dict[str, Any]]:
    """Ratings grouped by the stored score's JSON text (a handful of rows), checked here."""
    scored = select(cast(CaseEvent.details["score"], String).label("score")).where(
        CaseEvent.type == "rating", CaseEvent.created_at >= p.start, CaseEvent.created_at <= p.now).subquery("scored")
    counts: Counter[int] = Counter()
    for raw, n in session.execute(select(scored.c.score, func.count()).group_by(scored.c.score)):
        score = _score(raw)
        if score is not None:
            counts[score] += n
    return rating_table(counts)


def rating_table(counts: Mapping[int, int]) -> tuple[Table, dict[str, Any]]:
    n = sum(counts.values())
    total = sum(score * k for score, k in counts.items())
    rows = [[score, counts.get(score, 0), round(100 * counts.get(score, 0) / n, 1) if n else 0.0]
            for score in range(1, 6)]
    summary = {"n": n, "mean": round(total / n, 2) if n else None,
               "satisfied_percent": round(100 * sum(k for s, k in counts.items() if s >= 4) / n, 1) if n else None}
    table = Table("ratings", "Satisfaction ratings (1–5) given in the period", ["score", "count", "percent"], rows)
    return table, summary


def repeat_exposures(session: Session, p: Period, *, window: timedelta = REPEAT_WINDOW,
                     threshold: int = REPEAT_THRESHOLD) -> Table:
    """repeated_exposures() in SQL. Exposures per organisation in order (time, then id): the
    sliding window ending at one holds the exposures before it in that order, less those more
    than `window` older, counted by a RANGE window (no self-join). Per organisation the largest
    count, the latest on a tie; the cases of the windows that reach `threshold` come back (they
    are the table's last column)."""
    now = p.now
    exposure_from = min(p.start, now - REPEAT_WINDOW)
    t = epoch_us(Case.created_at)
    exposures = select(
        Case.id, Case.ref, Case.organisation_id.label("org"), Case.created_at,
        func.row_number().over(partition_by=Case.organisation_id, order_by=(t, Case.id)).label("rn"),
        # exposures more than `window` older: (window + 1 µs) or more before, on whole microseconds
        count_older(Case.organisation_id, t, window // timedelta(microseconds=1) + 1).label("older"),
    ).where(
        # kind is NOT NULL: every case is stored with api.domain.case_kinds.kind_for's answer.
        Case.line == Line.sharps, Case.kind == CaseKind.exposure,
        Case.created_at >= exposure_from, Case.created_at <= now,
        Case.organisation_id.is_not(None)).cte("exposures")
    counted = select(exposures.c.org, exposures.c.rn,
                     (exposures.c.rn - exposures.c.older).label("n")).subquery("counted")
    best = select(counted.c.org, counted.c.rn, counted.c.n, func.row_number().over(
        partition_by=counted.c.org, order_by=(counted.c.n.desc(), counted.c.rn.desc())).label("pick")).subquery("best")
    flagged = select(best.c.org, best.c.rn, best.c.n).where(
        best.c.pick == 1, best.c.n >= threshold).subquery("flagged")
    found: dict[int, list[Any]] = {}
    for org_id, n, name, org_type, ref, created_at in session.execute(
            select(flagged.c.org, flagged.c.n, Organisation.name, Organisation.type, exposures.c.ref,
                   exposures.c.created_at)
            .join_from(flagged, exposures, and_(exposures.c.org == flagged.c.org,
                                                exposures.c.rn > flagged.c.rn - flagged.c.n,
                                                exposures.c.rn <= flagged.c.rn))
            .join(Organisation, Organisation.id == flagged.c.org)
            .order_by(flagged.c.org, exposures.c.rn)):
        row = found.setdefault(org_id, [name, org_type, int(n), created_at, created_at, []])
        row[4] = created_at
        row[5].append(ref)
    rows = [[name, org_type, n, first.date().isoformat(), last.date().isoformat(), " ".join(refs)]
            for name, org_type, n, first, last, refs in found.values()]
    rows.sort(key=lambda r: (-r[2], r[0]))
    return _repeat_table(rows, window, threshold)


# --- putting it together ------------------------------------------------------------------------

def build(session: Session, *, now: datetime, weeks: int = 8, tz: str = "Europe/London") -> Report:
    p = period(now, weeks, tz)
    volume_table, weekly = volume(session, p)
    times_table, stats = response_times(session, p)
    ratings_table, rating_summary = ratings(session, p)
    repeats = repeat_exposures(session, p)
    tables = {t.name: t for t in (volume_table, times_table, open_cases(session, p), outcomes(session, p),
                                  ratings_table, repeats)}
    flags = [{"organisation": r[0], "exposures": r[2], "first": r[3], "last": r[4], "cases": r[5]}
             for r in repeats.rows]
    return Report(now=now, start=p.start, weeks=p.labels, tables=tables, weekly=weekly, stats=stats,
                  rating_summary=rating_summary, flags=flags)


_TABLES: dict[str, Callable[[Session, Period], Table]] = {
    "volume": lambda s, p: volume(s, p)[0],
    "response_times": lambda s, p: response_times(s, p)[0],
    "open_cases": open_cases,
    "outcomes": outcomes,
    "ratings": lambda s, p: ratings(s, p)[0],
    "repeat_exposures": repeat_exposures,
}


def table(session: Session, name: str, *, now: datetime, weeks: int = 8, tz: str = "Europe/London") -> Table:
    """One table of the report (for its CSV), computing only that table. KeyError for an unknown name."""
    return _TABLES[name](session, period(now, weeks, tz))


def csv_cell(value: Any) -> Any:
    # A spreadsheet runs a cell that starts with = + - @ as a formula: keep text as text.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def to_csv(table: Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow([csv_cell(v) for v in row])
    return out.getvalue()
