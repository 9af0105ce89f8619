"""Office hours of the OH team: when a non-emergency page may go out.

Urgent manager requests wait for the next working-hours start rather than
waking the on-call practitioner at night; crisis pages ignore all of this.
The hours come from the manager rule set (YAML), so they are data. Bank holidays (and the
days the OH service closes) are outside working hours: a rule file names the shared calendar
(`bank_holidays: england-and-wales`, see bank_holidays.py: the `holidays` package plus
calendars/service-closures.yaml) or, as the first rules version did, lists dates.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from api.triage.bank_holidays import BankHolidayError, BankHolidays, load_bank_holidays

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index = date.weekday()

# Look this far ahead for a working day; a config with none in a year is broken,
# and the caller then pages at once rather than never.
_SEARCH_DAYS = 400


@dataclass(frozen=True)
class WorkingHours:
    timezone: str
    days: frozenset[int]  # date.weekday() numbers, Monday = 0
    start: time
    end: time
    # Dates listed in the rule file itself are not working days (manager-2026.11.1: none).
    bank_holidays: frozenset[date] = frozenset()
    # The shared bank holiday calendar the rule file names, if any (manager-2026.11.2 on).
    calendar: BankHolidays | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _parse_clock(value: Any, where: str) -> time:
    try:
        hours, minutes = str(value).split(":")
        return time(int(hours), int(minutes))
    except (ValueError, TypeError):
        raise ValueError(f"{where}: expected a time as 'HH:MM', got {value!r}") from None


def parse_working_hours(raw: Any) -> WorkingHours:
    """Build WorkingHours from the YAML block; ValueError naming the bad field."""
    if not isinstance(raw, Mapping):
        raise ValueError("working_hours: expected a mapping")
    unknown = set(raw) - {"timezone", "days", "start", "end", "bank_holidays"}
    if unknown:
        raise ValueError(f"working_hours: unknown keys {sorted(unknown)}")
    tz = raw.get("timezone")
    try:
        ZoneInfo(str(tz))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"working_hours.timezone: unknown time zone {tz!r}") from None
    days_raw = raw.get("days")
    if not isinstance(days_raw, list) or not days_raw:
        raise ValueError("working_hours.days: expected a non-empty list such as [mon, tue]")
    days = set()
    for day in days_raw:
        if str(day).lower() not in DAY_NAMES:
            raise ValueError(f"working_hours.days: {day!r} is not one of {DAY_NAMES}")
        days.add(DAY_NAMES.index(str(day).lower()))
    start = _parse_clock(raw.get("start"), "working_hours.start")
    end = _parse_clock(raw.get("end"), "working_hours.end")
    if not start < end:
        raise ValueError("working_hours: start must be before end")
    holidays = raw.get("bank_holidays") or []
    if isinstance(holidays, str):
        try:
            calendar = load_bank_holidays(holidays)
        except BankHolidayError as exc:
            raise ValueError(f"working_hours.bank_holidays: {exc}") from None
        return WorkingHours(str(tz), frozenset(days), start, end, calendar=calendar)
    if not isinstance(holidays, list):
        raise ValueError("working_hours.bank_holidays: expected a calendar name (such as england-and-wales) "
                         "or a list of dates")
    parsed_holidays = set()
    for day in holidays:
        try:
            parsed_holidays.add(day if isinstance(day, date) else date.fromisoformat(str(day)))
        except ValueError:
            raise ValueError(f"working_hours.bank_holidays: {day!r} is not a YYYY-MM-DD date") from None
    return WorkingHours(str(tz), frozenset(days), start, end, frozenset(parsed_holidays))


def _aware(moment: datetime) -> datetime:
    # A naive time is taken as UTC, the same rule as the answers use.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def _is_working_day(day: date, hours: WorkingHours) -> bool:
    return (
        day.weekday() in hours.days
        and day not in hours.bank_holidays
        # Asked only about a weekday, so a year the package does not cover warns only when it matters.
        and not (hours.calendar is not None and hours.calendar.is_bank_holiday(day))
    )


def is_working_time(moment: datetime, hours: WorkingHours) -> bool:
    """True inside [start, end) local time on a working day."""
    local = _aware(moment).astimezone(hours.zone)
    return _is_working_day(local.date(), hours) and hours.start <= local.time() < hours.end


def next_working_start(moment: datetime, hours: WorkingHours) -> datetime | None:
    """The first working-hours start strictly after moment, in local time (None if none found)."""
    local = _aware(moment).astimezone(hours.zone)
    day = local.date()
    if _is_working_day(day, hours) and local.time() < hours.start:
        return datetime.combine(day, hours.start, tzinfo=hours.zone)
    for offset in range(1, _SEARCH_DAYS):
        candidate = day + timedelta(days=offset)
        if _is_working_day(candidate, hours):
            # Combining in the zone (not adding hours) keeps 08:00 local across BST/GMT.
            return datetime.combine(candidate, hours.start, tzinfo=hours.zone)
    return None


def page_not_before(moment: datetime, hours: WorkingHours) -> datetime:
    """When a working-hours page may go out: now if inside hours, else the next start."""
    moment = _aware(moment)
    if is_working_time(moment, hours):
        return moment
    return next_working_start(moment, hours) or moment
