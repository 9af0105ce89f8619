"""The bank holidays (the `holidays` package, England) and the OH service's own closures
(api/triage/calendars/service-closures.yaml), and the manager line's working hours with them:
Christmas, Easter, substitute days, the year boundary, one-off bank holidays, years far ahead."""
from __future__ import annotations

import logging
import time
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import yaml

from api.triage import decide_manager, load_manager_rules
from api.triage.bank_holidays import (
    CLOSURES_PATH,
    DEFAULT_CALENDAR,
    BankHolidayError,
    load_bank_holidays,
    make_bank_holidays,
    parse_service_closures,
    read_service_closures,
)
from api.triage.working_hours import WorkingHours, is_working_time, next_working_start, page_not_before

LONDON = ZoneInfo("Europe/London")
LOGGER = "api.triage.bank_holidays"

# GOV.UK, England and Wales, for 2026 and 2027, with the weekday each falls on.
EXPECTED = {
    2026: [("2026-01-01", "Thursday"), ("2026-04-03", "Friday"), ("2026-04-06", "Monday"),
           ("2026-05-04", "Monday"), ("2026-05-25", "Monday"), ("2026-08-31", "Monday"),
           ("2026-12-25", "Friday"), ("2026-12-28", "Monday")],
    2027: [("2027-01-01", "Friday"), ("2027-03-26", "Friday"), ("2027-03-29", "Monday"),
           ("2027-05-03", "Monday"), ("2027-05-31", "Monday"), ("2027-08-30", "Monday"),
           ("2027-12-27", "Monday"), ("2027-12-28", "Tuesday")],
}


def london(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)


def fresh_calendar(closures_path=CLOSURES_PATH):
    """An uncached calendar, so a test sees its own year cache and warn-once state."""
    return make_bank_holidays(DEFAULT_CALENDAR, closures_path)


def fresh_hours(calendar=None) -> WorkingHours:
    hours = load_manager_rules().working_hours
    return WorkingHours(hours.timezone, hours.days, hours.start, hours.end, calendar=calendar or fresh_calendar())


def warnings_in(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]


def closures_file(tmp_path, *entries: str):
    path = tmp_path / "service-closures.yaml"
    path.write_text("closures:\n" + "".join(f"  - {e}\n" for e in entries) if entries else "closures: []\n",
                    encoding="utf-8")
    return path


# --- the bank holidays ------------------------------------------------------------------

def test_the_bank_holidays_are_govuks_for_2026_and_2027_and_the_weekdays_are_right():
    calendar = load_bank_holidays()
    assert calendar.name == "england-and-wales"
    assert (calendar.country, calendar.subdiv) == ("GB", "ENG")
    assert calendar.source.startswith("holidays ")
    for year, expected in EXPECTED.items():
        listed = list(calendar.holidays_in(year))
        assert [d.isoformat() for d in listed] == [day for day, _ in expected]
        assert [f"{d:%A}" for d in listed] == [weekday for _, weekday in expected]


def test_substitute_days_are_listed_and_the_weekend_days_are_not():
    calendar = load_bank_holidays()
    assert calendar.is_bank_holiday(date(2026, 12, 28))  # Boxing Day 2026 is a Saturday
    assert not calendar.is_bank_holiday(date(2026, 12, 26))
    assert calendar.is_bank_holiday(date(2027, 12, 27)) and calendar.is_bank_holiday(date(2027, 12, 28))
    assert not calendar.is_bank_holiday(date(2027, 12, 25)) and not calendar.is_bank_holiday(date(2027, 12, 24))


@pytest.mark.parametrize("day, name", [
    (date(2022, 9, 19), "State Funeral"),  # Queen Elizabeth II
    (date(2023, 5, 8), "Coronation"),  # King Charles III
    (date(2022, 6, 3), "Jubilee"),  # Platinum Jubilee, with the spring bank holiday moved to Thu 2 June
    (date(2022, 6, 2), "Spring"),
])
def test_one_off_bank_holidays_come_with_the_package_and_are_not_working_days(day, name):
    calendar = fresh_calendar()
    assert calendar.is_bank_holiday(day) and name in calendar.name_of(day)
    hours = fresh_hours(calendar)
    assert not is_working_time(datetime.combine(day, hours.start, tzinfo=LONDON).replace(hour=10), hours)
    assert not calendar.is_bank_holiday(date(2022, 5, 30))  # the usual last Monday of May, moved that year


def test_a_year_far_ahead_has_its_easter_and_substitute_days_with_no_list_to_edit(caplog):
    calendar = fresh_calendar()
    hours = fresh_hours(calendar)
    caplog.set_level(logging.WARNING, logger=LOGGER)
    # 2031: Easter Sunday is 13 April.
    assert calendar.is_bank_holiday(date(2031, 4, 11)) and calendar.is_bank_holiday(date(2031, 4, 14))
    assert next_working_start(london(2031, 4, 10, 18, 30), hours) == london(2031, 4, 15, 8, 0)
    # Christmas 2032 is a Saturday: Mon 27 and Tue 28 are the substitute days; so is Mon 3 Jan 2033.
    assert [d.isoformat() for d in calendar.holidays_in(2032)][-2:] == ["2032-12-27", "2032-12-28"]
    assert next_working_start(london(2032, 12, 24, 18, 30), hours) == london(2032, 12, 29, 8, 0)
    assert calendar.is_bank_holiday(date(2033, 1, 3)) and not calendar.is_bank_holiday(date(2033, 1, 1))
    assert next_working_start(london(2032, 12, 31, 18, 30), hours) == london(2033, 1, 4, 8, 0)
    assert warnings_in(caplog) == []


def test_each_year_is_worked_out_once_and_then_cached():
    calendar = fresh_calendar()
    first = calendar.holidays_in(2040)
    assert calendar.holidays_in(2040) is first
    started = time.perf_counter()
    for _ in range(10_000):
        calendar.is_bank_holiday(date(2040, 12, 25))
    assert time.perf_counter() - started < 1.0  # a dictionary lookup, not the package every time


@pytest.mark.parametrize("name", ["scotland", "../rules/manager-2026.11.1", "England-And-Wales", "", None])
def test_unknown_calendars_are_refused(name):
    with pytest.raises(BankHolidayError, match="unknown bank holiday calendar"):
        load_bank_holidays(name)


def test_a_year_the_package_does_not_cover_counts_weekdays_and_warns_once(caplog):
    calendar = fresh_calendar()
    caplog.set_level(logging.WARNING, logger=LOGGER)
    assert calendar.is_bank_holiday(date(2100, 12, 27))  # Christmas 2100 is a Saturday
    assert warnings_in(caplog) == []
    assert not calendar.is_bank_holiday(date(2101, 12, 26))
    assert not calendar.is_bank_holiday(date(2101, 4, 1))
    (message,) = warnings_in(caplog)
    assert "england-and-wales" in message and "2101" in message and "holidays" in message


# --- the OH service's own closures -----------------------------------------------------------

def test_the_shipped_closures_file_is_valid_and_holds_only_service_closures():
    closures = read_service_closures()
    bank_holidays = make_bank_holidays(DEFAULT_CALENDAR, CLOSURES_PATH)
    for day, name in closures.items():
        assert day.weekday() < 5 and name
        assert bank_holidays.name_of(day) == name  # not a bank holiday too (the package has those)
    assert "closures:" in CLOSURES_PATH.read_text(encoding="utf-8")


def test_a_service_closure_is_not_a_working_day(tmp_path):
    calendar = fresh_calendar(closures_file(tmp_path, "{date: 2027-06-04, name: OH team training day}"))
    hours = fresh_hours(calendar)
    assert calendar.is_bank_holiday(date(2027, 6, 4)) and calendar.name_of(date(2027, 6, 4)) == "OH team training day"
    assert not is_working_time(london(2027, 6, 4, 10, 0), hours)
    # Thursday 3 June evening: Friday is the closure, then the weekend -> Monday 7 June 08:00.
    assert next_working_start(london(2027, 6, 3, 18, 30), hours) == london(2027, 6, 7, 8, 0)
    # The bank holidays are still there alongside it.
    assert calendar.is_bank_holiday(date(2027, 5, 31)) and not fresh_calendar().is_bank_holiday(date(2027, 6, 4))


def test_a_closure_on_a_bank_holiday_keeps_the_bank_holidays_name(tmp_path):
    calendar = fresh_calendar(closures_file(tmp_path, "{date: 2026-12-28, name: closed}"))
    assert calendar.name_of(date(2026, 12, 28)) == "Boxing Day (observed)"


@pytest.mark.parametrize("text, message", [
    ("closures:\n  - {date: 2027-06-05, name: x}\n", "is a Saturday"),
    ("closures:\n  - {date: '2027-13-01', name: x}\n", "not a YYYY-MM-DD"),
    ("closures:\n  - {date: 2027-06-04}\n", "each closure must be"),
    ("closures:\n  - {date: 2027-06-04, name: ' '}\n", "needs a name"),
    ("closures:\n  - {date: 2027-06-04, name: a}\n  - {date: 2027-06-04, name: b}\n", "listed twice"),
    ("closures: 2027-06-04\n", "must be a list"),
    ("holidays: []\n", "one key, 'closures'"),
])
def test_a_bad_closures_file_is_refused_with_a_clear_message(text, message):
    with pytest.raises(BankHolidayError, match=message):
        parse_service_closures(yaml.safe_load(text), "service-closures.yaml")


def test_an_unreadable_closures_file_is_refused(tmp_path):
    with pytest.raises(BankHolidayError, match="not valid YAML"):
        read_service_closures(closures_file(tmp_path, "{date: 2027-13-01, name: x}"))
    with pytest.raises(BankHolidayError, match="cannot be read"):
        make_bank_holidays(DEFAULT_CALENDAR, tmp_path / "missing.yaml")


def test_an_empty_closures_file_means_no_closures(tmp_path):
    assert dict(read_service_closures(closures_file(tmp_path))) == {}
    (tmp_path / "empty.yaml").write_text("# nothing yet\n", encoding="utf-8")
    assert dict(read_service_closures(tmp_path / "empty.yaml")) == {}


# --- the manager line's working hours with the list -----------------------------------------

@pytest.mark.parametrize("moment, working", [
    (london(2026, 12, 25, 10, 0), False),  # Christmas Day (Friday)
    (london(2026, 12, 28, 10, 0), False),  # Boxing Day substitute (Monday)
    (london(2026, 12, 29, 10, 0), True),
    (london(2026, 4, 3, 10, 0), False),  # Good Friday
    (london(2026, 4, 6, 10, 0), False),  # Easter Monday
    (london(2026, 4, 7, 10, 0), True),
    (london(2027, 1, 1, 10, 0), False),  # New Year's Day (Friday)
    (london(2027, 12, 27, 10, 0), False),  # Christmas substitute
    (london(2027, 12, 28, 10, 0), False),  # Boxing Day substitute
    (london(2027, 12, 24, 10, 0), True),  # Christmas Eve is a working day
])
def test_a_bank_holiday_is_outside_working_hours(moment, working):
    assert is_working_time(moment, load_manager_rules().working_hours) is working


@pytest.mark.parametrize("moment, expected", [
    # Christmas 2026: Thu 24 Dec evening -> Fri 25 and Mon 28 are holidays -> Tue 29 Dec 08:00.
    (london(2026, 12, 24, 18, 30), london(2026, 12, 29, 8, 0)),
    (london(2026, 12, 25, 11, 0), london(2026, 12, 29, 8, 0)),
    # Easter 2026: Thu 2 Apr evening -> Good Friday, weekend, Easter Monday -> Tue 7 Apr 08:00 BST.
    (london(2026, 4, 2, 18, 0), london(2026, 4, 7, 8, 0)),
    (london(2026, 4, 6, 7, 0), london(2026, 4, 7, 8, 0)),
    # Easter 2027 falls the weekend after the clocks go forward (28 March).
    (london(2027, 3, 25, 19, 0), london(2027, 3, 30, 8, 0)),
    # Year boundary: Thu 31 Dec 2026 evening -> New Year's Day 2027 -> Mon 4 Jan 08:00.
    (london(2026, 12, 31, 18, 0), london(2027, 1, 4, 8, 0)),
    # Christmas 2027: both substitute days -> Wed 29 Dec 08:00.
    (london(2027, 12, 24, 18, 0), london(2027, 12, 29, 8, 0)),
])
def test_next_working_start_skips_bank_holidays(moment, expected):
    hours = load_manager_rules().working_hours
    assert next_working_start(moment, hours) == expected
    assert page_not_before(moment, hours) == expected


def test_an_urgent_referral_on_christmas_eve_evening_waits_for_tuesday():
    decision = decide_manager("referral", {"consent": True, "consent_reason_explained": True,
                                           "reason": "musculoskeletal", "urgency_requested": "urgent"},
                              now=london(2026, 12, 24, 19, 0))
    assert decision.rule_version == load_manager_rules().version  # the newest (manager-2026.11.2 on)
    assert decision.page_on_call and decision.page_not_before == london(2026, 12, 29, 8, 0)
    assert any("not bank holidays" in a.text for a in decision.advice)


def test_a_crisis_on_christmas_day_pages_at_once():
    now = london(2026, 12, 25, 3, 0)
    decision = decide_manager("crisis", {"crisis": True}, now=now)
    assert decision.urgency == "emergency" and decision.page_not_before == now


# --- which rules version -------------------------------------------------------------------

def test_the_current_manager_rules_use_the_shared_list():
    rules = load_manager_rules()
    assert rules.version != "manager-2026.11.1"  # every version since manager-2026.11.2 names the list
    assert rules.working_hours.calendar is load_bank_holidays()  # the very list the queue clock reads
    assert decide_manager("advice", {"topic": "x"}, now=london(2026, 12, 25, 10, 0)).rule_version == rules.version


def test_the_first_version_keeps_its_meaning_no_bank_holidays():
    old = load_manager_rules("manager-2026.11.1")
    assert old.version == "manager-2026.11.1"
    assert old.working_hours.calendar is None and old.working_hours.bank_holidays == frozenset()
    christmas_eve = london(2026, 12, 24, 18, 30)
    decision = decide_manager("advice", {"topic": "x"}, now=christmas_eve, ruleset=old)
    assert decision.rule_version == "manager-2026.11.1"
    assert decision.page_not_before == london(2026, 12, 25, 8, 0)  # as it was decided then
    assert [r.id for r in old.rules] == [r.id for r in load_manager_rules("manager-2026.11.2").rules]
