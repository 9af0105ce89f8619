"""The annual quality report's pure parts: its period (whole London days, both ends included)
and the follow-up completion count. The queries are in api/services/quality.py."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

#: the longest period one report covers: two years and a leap day
MAX_DAYS = 731
#: no report reaches back before this year (the service's records begin long after it)
EARLIEST_YEAR = 2000


def default_period(today: date) -> tuple[date, date]:
    """The last 12 months to today: from the day after the same date a year ago."""
    if today.year <= 1:
        return today, today
    try:
        year_ago = today.replace(year=today.year - 1)
    except ValueError:  # 29 February: a year ago there was none
        year_ago = today.replace(year=today.year - 1, day=28)
    return year_ago + timedelta(days=1), today


def period_problem(first: date, last: date, today: date) -> tuple[str, str] | None:
    """(the field, a message) for a period the report cannot cover; None when it can."""
    if first.year < EARLIEST_YEAR:
        return "from", f"The start of the period must be in {EARLIEST_YEAR} or later"
    if first > today:
        return "from", "The start of the period must be today or in the past"
    if last > today:
        return "to", "The end of the period must be today or in the past"
    if last < first:
        return "to", "The end of the period must be the same as or after its start"
    if (last - first).days + 1 > MAX_DAYS:
        return "to", "The period can be at most 2 years long"
    return None


def percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


@dataclass(frozen=True)
class FollowUpCompletion:
    """Follow-ups due in the period, by what became of them (definitions on the report)."""

    due: int = 0
    done: int = 0
    done_on_time: int = 0  # marked done on or before its due day (London)
    cancelled: int = 0
    open: int = 0
    overdue: int = 0  # still open after its due day

    @property
    def expected(self) -> int:
        """The follow-ups that were to be done: those due, less those cancelled."""
        return self.due - self.cancelled

    @property
    def done_percent(self) -> float | None:
        return percent(self.done, self.expected)

    @property
    def on_time_percent(self) -> float | None:
        return percent(self.done_on_time, self.expected)


def follow_up_completion(rows: Iterable[tuple[str, date, datetime | None]], *, today: date,
                         zone: ZoneInfo) -> FollowUpCompletion:
    """Counts from (status, due_on, closed_at) of each follow-up due in the period."""
    due = done = on_time = cancelled = still_open = overdue = 0
    for status, due_on, closed_at in rows:
        due += 1
        if status == "done":
            done += 1
            if closed_at is not None and closed_at.astimezone(zone).date() <= due_on:
                on_time += 1
        elif status == "cancelled":
            cancelled += 1
        else:
            still_open += 1
            if due_on < today:
                overdue += 1
    return FollowUpCompletion(due=due, done=done, done_on_time=on_time, cancelled=cancelled, open=still_open,
                              overdue=overdue)
