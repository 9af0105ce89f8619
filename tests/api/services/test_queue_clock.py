"""The routine clock ("closed within 2 working days") counts neither weekends nor the bank
holidays of England and Wales (the `holidays` package), in any year, nor the OH service's closures."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from api.models import Case
from api.services.queue import add_working_days, case_clock
from api.triage import load_manager_rules
from api.triage.bank_holidays import DEFAULT_CALENDAR, load_bank_holidays, make_bank_holidays

LONDON = ZoneInfo("Europe/London")
UTC = timezone.utc


def london(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)


@pytest.mark.parametrize("start, expected", [
    # Ordinary weeks, as before.
    (london(2026, 11, 20, 14, 0), london(2026, 11, 24, 14, 0)),  # Fri + 2 = Tue
    (london(2026, 11, 21, 10, 0), london(2026, 11, 24, 10, 0)),  # Sat + 2 = Tue
    (london(2026, 11, 19, 10, 0), london(2026, 11, 23, 10, 0)),  # Thu + 2 = Mon
    # Christmas 2026: Fri 25 and Mon 28 (Boxing Day substitute) are bank holidays.
    (london(2026, 12, 24, 14, 0), london(2026, 12, 30, 14, 0)),  # Thu + 2 = Wed (29, 30)
    (london(2026, 12, 25, 10, 0), london(2026, 12, 30, 10, 0)),  # opened on Christmas Day
    (london(2026, 12, 23, 9, 0), london(2026, 12, 29, 9, 0)),  # Wed + 2 = Thu 24, Tue 29
    # Christmas 2027: Mon 27 and Tue 28 are the substitute days. Fri 24 Dec + 2 working days:
    # Wed 29 is the first, Thu 30 the second.
    (london(2027, 12, 24, 14, 0), london(2027, 12, 30, 14, 0)),
    (london(2027, 12, 23, 14, 0), london(2027, 12, 29, 14, 0)),  # Thu + 2 = Fri 24, Wed 29
    # Easter 2026 (Good Friday 3 Apr, Easter Monday 6 Apr), and 2027 (26 and 29 Mar).
    (london(2026, 4, 2, 11, 0), london(2026, 4, 8, 11, 0)),  # Thu + 2 = Tue 7, Wed 8
    (london(2027, 3, 25, 11, 0), london(2027, 3, 31, 11, 0)),  # across the clock change too
    # Spring and summer bank holidays.
    (london(2026, 5, 22, 16, 0), london(2026, 5, 27, 16, 0)),  # Fri + 2 skips Mon 25 May
    (london(2027, 8, 27, 16, 0), london(2027, 9, 1, 16, 0)),  # Fri + 2 skips Mon 30 Aug
    # Year boundary: Thu 31 Dec 2026 + 2 skips New Year's Day 2027 (Fri) -> Mon 4, Tue 5 Jan.
    (london(2026, 12, 31, 10, 0), london(2027, 1, 5, 10, 0)),
])
def test_add_working_days_skips_weekends_and_bank_holidays(start, expected):
    assert add_working_days(start.astimezone(UTC), 2) == expected.astimezone(UTC)


def test_a_utc_time_is_counted_on_its_london_date():
    # 23:30 UTC on Thu 24 Dec 2026 is still Thursday in London (GMT): + 2 = Wed 30 Dec 23:30.
    assert add_working_days(datetime(2026, 12, 24, 23, 30, tzinfo=UTC), 2) == datetime(2026, 12, 30, 23, 30, tzinfo=UTC)
    # 23:30 UTC on Tue 23 June 2026 is 00:30 BST on Wednesday 24th.
    assert add_working_days(datetime(2026, 6, 23, 23, 30, tzinfo=UTC), 2) == datetime(2026, 6, 25, 23, 30, tzinfo=UTC)


def test_years_ahead_need_no_list_and_a_service_closure_is_skipped(tmp_path):
    # Thu 30 Dec 2027 + 2: Fri 31 Dec, then Mon 3 Jan 2028 is the New Year substitute day -> Tue 4 Jan.
    assert add_working_days(london(2027, 12, 30, 9, 0), 2) == london(2028, 1, 4, 9, 0)
    # Fri 22 Dec 2028 + 2: Christmas Day (Mon) and Boxing Day (Tue) -> Wed 27, Thu 28.
    assert add_working_days(london(2028, 12, 22, 9, 0), 2) == london(2028, 12, 28, 9, 0)
    closures = tmp_path / "service-closures.yaml"
    closures.write_text("closures:\n  - {date: 2027-06-04, name: OH team training day}\n", encoding="utf-8")
    calendar = make_bank_holidays(DEFAULT_CALENDAR, closures)
    # Thu 3 June 2027 + 2: Fri 4 June is closed -> Mon 7, Tue 8.
    assert add_working_days(london(2027, 6, 3, 9, 0), 2, holidays=calendar) == london(2027, 6, 8, 9, 0)


def test_the_queue_and_the_manager_rules_read_one_list():
    assert load_manager_rules().working_hours.calendar is load_bank_holidays()


def _case(urgency, created_at, **extra) -> Case:
    return Case(ref="MA-000001", line="manager", urgency=urgency, created_at=created_at, **extra)


def test_case_clock_for_a_routine_case_opened_before_christmas():
    opened = london(2026, 12, 24, 14, 0).astimezone(UTC)
    due = london(2026, 12, 30, 14, 0).astimezone(UTC)
    on_boxing_day_substitute = case_clock(_case("routine", opened), now=london(2026, 12, 28, 15, 0))
    assert on_boxing_day_substitute.due_at == due and not on_boxing_day_substitute.overdue
    later = case_clock(_case("routine", opened), now=due + timedelta(minutes=1))
    assert later.overdue and later.label == "close within 2 working days"
    closed_in_time = case_clock(_case("routine", opened, closed_at=london(2026, 12, 30, 9, 0)), now=due)
    assert closed_in_time.due_at is None and not closed_in_time.overdue


def test_case_clock_for_urgent_cases_ignores_the_calendar():
    opened = london(2026, 12, 25, 10, 0).astimezone(UTC)
    clock = case_clock(_case("urgent", opened), now=opened + timedelta(minutes=16))
    assert clock.due_at == opened + timedelta(minutes=15) and clock.overdue
