"""Service reports (reference section 5): scale, responsiveness, cases waiting, outcomes,
satisfaction, repeated exposures. Reads rows, then computes with plain functions; `now` is
always passed in, so a fixed clock gives fixed figures.

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
  holidays in England and Wales: the list in api/triage/calendars/, shared with the manager rules).
- Repeated exposures: an organisation with 3 or more sharps exposures within any 30 days.
"""
from __future__ import annotations

import csv
import io
import math
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from api.core.db import in_batches
from api.domain.case_lifecycle import OPEN_STATUSES
from api.models import Case, CaseEvent, ConversationMessage
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


# --- pure helpers -------------------------------------------------------------------------------

def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def p90(values: list[float]) -> float | None:
    """Nearest-rank 90th percentile."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


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


def _seconds(a: datetime | None, b: datetime | None) -> float | None:
    if a is None or b is None:
        return None
    return (b - a).total_seconds()


def _case_dims(case: Case | None, channel: str) -> dict[str, str]:
    org = case.organisation if case else None
    return {
        "line": case.line if case else NO_CASE,
        "channel": channel,
        "organisation": org.name if org else NONE,
        "organisation_type": org.type if org else NONE,
    }


# --- the tables ---------------------------------------------------------------------------------

def volume(contacts: list[dict[str, str]], cases: list[dict[str, str]], weeks: list[str]) -> tuple[Table, list[dict]]:
    counts: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for index, items in enumerate((contacts, cases)):
        for item in items:
            counts[(item["week"], "all", "all")][index] += 1
            for dim in DIMENSIONS:
                counts[(item["week"], dim, item[dim])][index] += 1
    rows = []
    weekly = []
    for week in weeks:
        total = counts.get((week, "all", "all"), [0, 0])
        rows.append([week, "all", "all", total[0], total[1]])
        weekly.append({"week": week, "contacts": total[0], "cases": total[1]})
        for dim in DIMENSIONS:
            for (w, d, value), (n_contacts, n_cases) in sorted(counts.items()):
                if w == week and d == dim:
                    rows.append([week, dim, value, n_contacts, n_cases])
    table = Table("volume", "Contacts and cases per ISO week, by line, channel, organisation and type",
                  ["week", "dimension", "value", "contacts", "cases"], rows)
    return table, weekly


def first_reply_seconds(messages: list[ConversationMessage]) -> float | None:
    ordered = sorted(messages, key=lambda m: (m.created_at, m.id))
    first_in = next((m for m in ordered if m.direction == "inbound"), None)
    if first_in is None:
        return None
    reply = next((m for m in ordered if m.direction == "outbound"
                  and (m.created_at, m.id) > (first_in.created_at, first_in.id)), None)
    return _seconds(first_in.created_at, reply.created_at) if reply else None


def case_times(case: Case, messages: list[ConversationMessage]) -> dict[str, float | None]:
    sent = [p.sent_at for p in case.pages if p.sent_at is not None]
    acked = [p.acknowledged_at for p in case.pages if p.acknowledged_at is not None]
    first_sent = min(sent) if sent else None
    return {
        "first_reply": first_reply_seconds(messages) if messages else None,
        "page": _seconds(case.created_at, first_sent),
        "acknowledgement": _seconds(first_sent, min(acked)) if acked and first_sent else None,
    }


def response_times(per_case: list[tuple[Case, dict[str, float | None]]]) -> tuple[Table, dict]:
    values: dict[tuple[str, str], list[float]] = defaultdict(list)
    for case, times in per_case:
        for measure in MEASURES:
            value = times[measure]
            if value is None:
                continue
            values[(measure, "all")].append(value)
            if case.urgency in GROUPS:
                values[(measure, case.urgency)].append(value)
    stats, rows = {}, []
    for measure in MEASURES:
        for group in GROUPS:
            vals = values.get((measure, group), [])
            stat = {"n": len(vals), "median": median(vals), "p90": p90(vals)}
            stats[(measure, group)] = stat
            rows.append([measure, group, stat["n"], _round(stat["median"]), _round(stat["p90"])])
    table = Table("response_times", "Time to first reply, to page and to acknowledgement (seconds)",
                  ["measure", "urgency", "n", "median_seconds", "p90_seconds"], rows)
    return table, stats


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def open_cases(cases: list[Case], *, now: datetime, tz: ZoneInfo) -> Table:
    rows = []
    for case in cases:
        clock = case_clock(case, now=now)
        rows.append((clock.overdue, case, clock))
    rows.sort(key=lambda r: (not r[0], URGENCY_RANK.get(r[1].urgency, 1), r[1].created_at))
    return Table(
        "open_cases", "Open cases and their ages (past their clock first)",
        ["ref", "line", "urgency", "status", "organisation", "opened", "age_seconds", "clock", "due", "past_clock"],
        [[c.ref, c.line, c.urgency or "untriaged", c.status, c.organisation.name if c.organisation else NONE,
          c.created_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"), round((now - c.created_at).total_seconds()),
          clock.label, clock.due_at.astimezone(tz).strftime("%Y-%m-%d %H:%M") if clock.due_at else "",
          "yes" if overdue else "no"] for overdue, c, clock in rows],
    )


def outcomes(closed: list[Case]) -> Table:
    counts: Counter[tuple[str, str]] = Counter((c.outcome or NONE, c.line) for c in closed)
    names = [o for o in OUTCOME_ORDER] + sorted({o for o, _ in counts} - set(OUTCOME_ORDER))
    rows = []
    for name in names:
        sharps, manager = counts.get((name, "sharps"), 0), counts.get((name, "manager"), 0)
        if sharps or manager or name in OUTCOME_ORDER:
            rows.append([name, sharps, manager, sharps + manager])
    return Table("outcomes", "Outcomes of cases closed in the period", ["outcome", "sharps", "manager", "total"], rows)


def ratings(scores: list[int]) -> tuple[Table, dict[str, Any]]:
    counts = Counter(scores)
    n = len(scores)
    rows = [[score, counts.get(score, 0), round(100 * counts.get(score, 0) / n, 1) if n else 0.0]
            for score in range(1, 6)]
    summary = {"n": n, "mean": round(sum(scores) / n, 2) if n else None,
               "satisfied_percent": round(100 * sum(1 for s in scores if s >= 4) / n, 1) if n else None}
    return Table("ratings", "Satisfaction ratings (1–5) given in the period", ["score", "count", "percent"], rows), summary


def repeated_exposures(exposures: list[Case], *, window: timedelta = REPEAT_WINDOW,
                       threshold: int = REPEAT_THRESHOLD) -> Table:
    """Per organisation, the most exposures inside any `window`; flagged at `threshold` or more."""
    by_org: dict[int, list[Case]] = defaultdict(list)
    for case in exposures:
        if case.organisation is not None:
            by_org[case.organisation.id].append(case)
    rows = []
    for group in by_org.values():
        group.sort(key=lambda c: c.created_at)
        best = (0, 0, 0)  # count, first index, last index (latest window wins a tie)
        left = 0
        for right, case in enumerate(group):
            while case.created_at - group[left].created_at > window:
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
    return Table("repeat_exposures",
                 f"Organisations with {threshold} or more sharps exposures within {window.days} days",
                 ["organisation", "organisation_type", "exposures", "first", "last", "cases"], rows)


# --- reading the rows and putting it together ---------------------------------------------------

def _messages_by_conversation(session: Session, conversation_ids: set[str]) -> dict[str, list[ConversationMessage]]:
    found: dict[str, list[ConversationMessage]] = defaultdict(list)
    ids = sorted(conversation_ids)
    for chunk in in_batches(ids):
        for m in session.scalars(select(ConversationMessage).where(ConversationMessage.conversation_id.in_(chunk))):
            found[m.conversation_id].append(m)
    return found


def build(session: Session, *, now: datetime, weeks: int = 8, tz: str = "Europe/London") -> Report:
    zone = ZoneInfo(tz)
    weeks = max(1, min(weeks, 104))
    start = period_start(now, weeks, zone)
    labels = week_labels(start, now, zone)

    period_cases = list(session.scalars(
        select(Case).where(Case.created_at >= start, Case.created_at <= now).order_by(Case.created_at, Case.id)))
    inbound_first: dict[str, ConversationMessage] = {}
    for m in session.scalars(select(ConversationMessage).where(
            ConversationMessage.direction == "inbound", ConversationMessage.created_at <= now)
            .order_by(ConversationMessage.created_at, ConversationMessage.id)):
        inbound_first.setdefault(m.conversation_id, m)
    started = {cid: m for cid, m in inbound_first.items() if m.created_at >= start}
    first_case: dict[str, Case] = {}
    if started:
        for case in session.scalars(select(Case).where(Case.conversation_id.in_(sorted(started)))
                                    .order_by(Case.created_at, Case.id)):
            first_case.setdefault(case.conversation_id, case)

    contacts = [{"week": iso_week(m.created_at, zone), **_case_dims(first_case.get(cid), m.channel)}
                for cid, m in started.items()]
    contacts += [{"week": iso_week(c.created_at, zone), **_case_dims(c, c.channel)}
                 for c in period_cases if not c.conversation_id]
    case_items = [{"week": iso_week(c.created_at, zone), **_case_dims(c, c.channel)} for c in period_cases]
    volume_table, weekly = volume(contacts, case_items, labels)

    messages = _messages_by_conversation(session, {c.conversation_id for c in period_cases if c.conversation_id})
    per_case = [(c, case_times(c, messages.get(c.conversation_id or "", []))) for c in period_cases]
    times_table, stats = response_times(per_case)

    still_open = list(session.scalars(select(Case).where(Case.status.in_([str(s) for s in OPEN_STATUSES]),
                                                         Case.created_at <= now)))
    closed = list(session.scalars(select(Case).where(Case.closed_at >= start, Case.closed_at <= now,
                                                     Case.status == "closed")))
    scores = [int(e.details.get("score")) for e in session.scalars(
        select(CaseEvent).where(CaseEvent.type == "rating", CaseEvent.created_at >= start,
                                CaseEvent.created_at <= now))
        if isinstance((e.details or {}).get("score"), (int, float)) and 1 <= e.details["score"] <= 5]
    ratings_table, rating_summary = ratings(scores)
    exposure_from = min(start, now - REPEAT_WINDOW)
    exposures = list(session.scalars(select(Case).where(
        Case.line == "sharps", or_(Case.kind == "exposure", Case.kind.is_(None)),
        Case.created_at >= exposure_from, Case.created_at <= now)))
    repeats = repeated_exposures(exposures)

    tables = {t.name: t for t in (volume_table, times_table, open_cases(still_open, now=now, tz=zone),
                                  outcomes(closed), ratings_table, repeats)}
    flags = [{"organisation": r[0], "exposures": r[2], "first": r[3], "last": r[4], "cases": r[5]}
             for r in repeats.rows]
    return Report(now=now, start=start, weeks=labels, tables=tables, weekly=weekly, stats=stats,
                  rating_summary=rating_summary, flags=flags)


TABLE_NAMES = ("volume", "response_times", "open_cases", "outcomes", "ratings", "repeat_exposures")


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
