"""The bank holiday list (api/triage/calendars/england-and-wales.yaml) and the manager line's
working hours with it: Christmas, Easter, substitute days, the year boundary, the list running out."""
from __future__ import annotations

import copy
import logging
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import yaml

from api.triage import decide_manager, load_manager_rules
from api.triage.bank_holidays import (
    DEFAULT_CALENDAR,
    BankHolidayError,
    calendar_path,
    load_bank_holidays,
    parse_bank_holidays,
    read_bank_holidays,
)
from api.triage.working_hours import WorkingHours, is_working_time, next_working_start, page_not_before

LONDON = ZoneInfo("Europe/London")
LOGGER = "api.triage.bank_holidays"

# GOV.UK, England and Wales, as given to us for 2026 and 2027, with the weekday each falls on.
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


def fresh_calendar():
    """An uncached copy, so a test sees its own warn-once state."""
    return read_bank_holidays(calendar_path(DEFAULT_CALENDAR))


def fresh_hours() -> WorkingHours:
    hours = load_manager_rules().working_hours
    return WorkingHours(hours.timezone, hours.days, hours.start, hours.end, calendar=fresh_calendar())


def warnings_in(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]


# --- the data file ----------------------------------------------------------------------

def test_the_list_is_govuks_for_2026_and_2027_and_the_weekdays_are_right():
    calendar = load_bank_holidays()
    assert calendar.name == "england-and-wales"
    assert calendar.source == "https://www.gov.uk/bank-holidays"
    assert isinstance(calendar.retrieved, date)
    assert calendar.years[:2] == (2026, 2027)
    for year, expected in EXPECTED.items():
        listed = sorted(d for d in calendar.holidays if d.year == year)
        assert [d.isoformat() for d in listed] == [day for day, _ in expected]
        assert [f"{d:%A}" for d in listed] == [weekday for _, weekday in expected]


def test_every_listed_day_is_a_weekday_in_a_complete_year():
    calendar = load_bank_holidays()
    for day, name in calendar.holidays.items():
        assert day.weekday() < 5, f"{day} {name} is at a weekend"
        assert calendar.first_year <= day.year <= calendar.last_year and name
    for year in calendar.years:
        assert sum(1 for d in calendar.holidays if d.year == year) >= 8


def test_source_and_retrieval_date_are_in_the_file_comments():
    text = calendar_path(DEFAULT_CALENDAR).read_text(encoding="utf-8")
    assert "https://www.gov.uk/bank-holidays" in text and "Retrieved: " in text


def test_substitute_days_are_listed_and_the_weekend_days_are_not():
    calendar = load_bank_holidays()
    assert calendar.is_bank_holiday(date(2026, 12, 28))  # Boxing Day 2026 is a Saturday
    assert not calendar.is_bank_holiday(date(2026, 12, 26))
    assert calendar.is_bank_holiday(date(2027, 12, 27)) and calendar.is_bank_holiday(date(2027, 12, 28))
    assert not calendar.is_bank_holiday(date(2027, 12, 25)) and not calendar.is_bank_holiday(date(2027, 12, 24))


GOOD = yaml.safe_load(calendar_path(DEFAULT_CALENDAR).read_text(encoding="utf-8"))


def _bad(change) -> dict:
    data = copy.deepcopy(GOOD)
    change(data)
    return data


@pytest.mark.parametrize("change, message", [
    (lambda d: d["years"][2026].__setitem__(7, {"date": date(2026, 12, 26), "name": "Boxing Day"}),
     "is a Saturday"),
    (lambda d: d["years"][2026].__setitem__(0, {"date": date(2027, 1, 4), "name": "x"}), "is not in 2026"),
    (lambda d: d["years"].__setitem__(2029, GOOD["years"][2027]), "is not in 2029"),
    (lambda d: d["years"].__setitem__(2028, [{"date": date(2028, 1, 3), "name": "New Year"}]), "at least 8"),
    (lambda d: d["years"][2026].append({"date": date(2026, 12, 25), "name": "again"}), "listed twice"),
    (lambda d: d["years"][2026].__setitem__(0, {"date": "2026-13-01", "name": "x"}), "not a YYYY-MM-DD"),
    (lambda d: d["years"][2026].__setitem__(0, {"date": date(2026, 1, 1)}), "each entry must be"),
    (lambda d: d["years"].__setitem__("next", []), "must be a number"),
    (lambda d: d.pop("source"), "'source'"),
    (lambda d: d.__setitem__("retrieved", "last week"), "retrieved"),
    (lambda d: d.__setitem__("extra", 1), "unknown keys"),
    (lambda d: d.__setitem__("years", {}), "'years'"),
])
def test_a_bad_list_is_refused_with_a_clear_message(change, message):
    with pytest.raises(BankHolidayError, match=message):
        parse_bank_holidays(_bad(change), "england-and-wales.yaml")


def test_a_missing_year_in_the_middle_is_refused():
    data = copy.deepcopy(GOOD)
    data["years"][2029] = [{"date": date(2029, 1, 1), "name": "x"}] * 1
    with pytest.raises(BankHolidayError):
        parse_bank_holidays(data, "x.yaml")
    data["years"][2029] = [{"date": date(2029, 1, d), "name": "x"} for d in (1, 2, 3, 4, 5, 8, 9, 10)]
    with pytest.raises(BankHolidayError, match="none missing"):
        parse_bank_holidays(data, "x.yaml")


@pytest.mark.parametrize("name", ["scotland", "../rules/manager-2026.11.1", "England-And-Wales", "", None])
def test_unknown_calendars_are_refused(name):
    with pytest.raises(BankHolidayError, match="unknown bank holiday calendar"):
        load_bank_holidays(name)


# --- the list running out ---------------------------------------------------------------

def test_past_the_list_weekdays_count_and_a_warning_is_logged_once_a_year(caplog):
    calendar = fresh_calendar()
    caplog.set_level(logging.WARNING, logger=LOGGER)
    assert calendar.is_bank_holiday(date(2027, 12, 28))
    assert warnings_in(caplog) == []
    # 3 January 2028 will be the New Year substitute day, but the list stops at 2027: a weekday.
    assert not calendar.is_bank_holiday(date(2028, 1, 3))
    assert not calendar.is_bank_holiday(date(2028, 12, 25))
    (message,) = warnings_in(caplog)
    assert "listed for 2026-2027 only" in message and "2028" in message
    assert "https://www.gov.uk/bank-holidays" in message and "api/triage/calendars/england-and-wales.yaml" in message
    assert not calendar.is_bank_holiday(date(2029, 1, 1))
    assert len(warnings_in(caplog)) == 2  # once for 2029 too
    calendar.is_bank_holiday(date(2029, 5, 7))
    assert len(warnings_in(caplog)) == 2


def test_the_manager_line_past_the_list_pages_on_the_next_weekday(caplog):
    hours = fresh_hours()
    caplog.set_level(logging.WARNING, logger=LOGGER)
    # Friday 31 December 2027, evening: Monday 3 January 2028 (not listed) is taken as working.
    assert next_working_start(london(2027, 12, 31, 18, 30), hours) == london(2028, 1, 3, 8, 0)
    assert is_working_time(london(2028, 1, 3, 9, 0), hours)
    assert len(warnings_in(caplog)) == 1
    # A weekend in an unlisted year does not warn on its own: only weekdays are looked up.
    caplog.clear()
    other = fresh_hours()
    assert not is_working_time(london(2030, 1, 5, 9, 0), other)  # a Saturday
    assert warnings_in(caplog) == []


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
