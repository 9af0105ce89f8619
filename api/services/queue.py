"""The live queue of open cases for the dashboard: most urgent first, then longest waiting."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.domain.case_lifecycle import OPEN_STATUSES
from api.enums import PageStatus
from api.models import Case, Page
from api.services.summary import case_summary
from api.triage.bank_holidays import BankHolidays, load_bank_holidays

# Unknown urgency (not yet triaged) sorts with urgent: unknown is never routine.
URGENCY_RANK = {"emergency": 0, "urgent": 1, None: 1, "routine": 2}

# The clocks a case is held to (also used by the reports): how long before it is overdue.
ACK_CLOCK = {"emergency": timedelta(minutes=5), "urgent": timedelta(minutes=15), None: timedelta(minutes=15)}
ROUTINE_WORKING_DAYS = 2
WORKING_WEEKDAYS = frozenset(range(5))  # Monday..Friday, less the bank holidays


def add_working_days(start: datetime, days: int, weekdays: frozenset[int] = WORKING_WEEKDAYS,
                     tz: str = "Europe/London", holidays: BankHolidays | None = None) -> datetime:
    """The same local clock time on the `days`-th working day after `start`'s local date
    (Fri 14:00 + 2 = Tue 14:00; Sat 10:00 + 2 = Tue 10:00; Thu 24 Dec 2026 14:00 + 2 =
    Wed 30 Dec 14:00, as 25 and 28 Dec are bank holidays). Bank holidays come from the shared
    England and Wales list (`holidays`, default the one the manager rules use too); past the
    years it lists, weekdays count and a warning is logged once a year."""
    calendar = holidays if holidays is not None else load_bank_holidays()
    moment = start.astimezone(ZoneInfo(tz))
    counted = 0
    while counted < days:
        moment += timedelta(days=1)
        if moment.weekday() in weekdays and not calendar.is_bank_holiday(moment.date()):
            counted += 1
    return moment.astimezone(timezone.utc)


@dataclass(frozen=True)
class Clock:
    label: str
    due_at: datetime | None  # None: met (acknowledged in time, or closed)
    overdue: bool


def case_clock(case: Case, *, now: datetime) -> Clock:
    """Emergency unacknowledged > 5 min, urgent (or untriaged) unacknowledged > 15 min,
    routine not closed > 2 working days (Mon-Fri, not bank holidays in England and Wales)."""
    if case.urgency == "routine":
        due = add_working_days(case.created_at, ROUTINE_WORKING_DAYS)
        if case.closed_at is not None:
            return Clock("closed within 2 working days", None, case.closed_at > due)
        return Clock("close within 2 working days", due, now > due)
    limit = ACK_CLOCK.get(case.urgency, ACK_CLOCK[None])
    due = case.created_at + limit
    minutes = int(limit.total_seconds() // 60)
    if case.acknowledged_at is not None:
        return Clock(f"acknowledge within {minutes} min", None, case.acknowledged_at > due)
    return Clock(f"acknowledge within {minutes} min", due, now > due)


@dataclass
class PageStatusView:
    tier: str
    round: int
    to: list[str]
    sent_at: datetime | None
    not_before: datetime | None
    ack_deadline: datetime | None
    state: str  # pending | acknowledged | scheduled | escalated | closed
    acknowledged_by: str | None
    acknowledged_at: datetime | None


@dataclass
class QueueRow:
    case: Case
    age_seconds: float
    summary: str
    page: PageStatusView | None
    pending_page_id: int | None
    clock: Clock

    @property
    def emergency(self) -> bool:
        return self.case.urgency == "emergency"

    @property
    def unacknowledged(self) -> bool:
        return self.pending_page_id is not None


def latest_page_status(case: Case) -> PageStatusView | None:
    pages = list(case.pages)
    if not pages:
        return None
    acked = [p for p in pages if p.status == PageStatus.acknowledged]
    if acked:
        chosen = [acked[-1]]
    else:
        last_round = max(p.attempt for p in pages)
        chosen = [p for p in pages if p.attempt == last_round]
    first = chosen[0]
    statuses = {p.status for p in chosen}
    if PageStatus.acknowledged in statuses:
        state = "acknowledged"
    elif PageStatus.pending in statuses:
        state = "pending"
    elif PageStatus.scheduled in statuses:
        state = "scheduled"
    elif PageStatus.escalated in statuses:
        state = "escalated"
    else:
        state = "closed"
    return PageStatusView(
        tier=first.tier, round=first.attempt,
        to=[p.practitioner.name if p.practitioner else "unknown" for p in chosen],
        sent_at=first.sent_at, not_before=first.not_before, ack_deadline=first.ack_deadline, state=state,
        acknowledged_by=first.acknowledged_by if state == "acknowledged" else None,
        acknowledged_at=first.acknowledged_at if state == "acknowledged" else None,
    )


def pending_page(case: Case, *, practitioner_id: int | None = None) -> Page | None:
    """The page a one-click acknowledgement answers: the user's own pending page, else the newest
    pending one, else the newest that was escalated past (a late acknowledgement still counts)."""
    pending = [p for p in case.pages if p.status == PageStatus.pending]
    if practitioner_id is not None:
        own = [p for p in pending if p.practitioner_id == practitioner_id]
        if own:
            return own[-1]
    if pending:
        return pending[-1]
    if any(p.status == PageStatus.acknowledged for p in case.pages):
        return None
    escalated = [p for p in case.pages if p.status == PageStatus.escalated]
    return escalated[-1] if escalated else None


def sort_key(case: Case) -> tuple[int, datetime, int]:
    return (URGENCY_RANK.get(case.urgency, 1), case.created_at, case.id)


def open_queue(session: Session, *, now: datetime, practitioner_id: int | None = None) -> list[QueueRow]:
    cases = list(session.scalars(select(Case).where(Case.status.in_([str(s) for s in OPEN_STATUSES]))))
    cases.sort(key=sort_key)
    rows = []
    for case in cases:
        pending = pending_page(case, practitioner_id=practitioner_id)
        rows.append(QueueRow(
            case=case, age_seconds=(now - case.created_at).total_seconds(), summary=case_summary(case, now=now),
            page=latest_page_status(case), pending_page_id=pending.id if pending else None,
            clock=case_clock(case, now=now),
        ))
    return rows
