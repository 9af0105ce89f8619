"""The follow-up rules (issue #18), pure: states, the reminder day over weekends and bank holidays,
the hours a reminder and an overdue alert are due, and the clinical-word guard over the real text."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from api.domain import follow_ups as rules
from api.triage.bank_holidays import load_bank_holidays

LONDON = ZoneInfo("Europe/London")
HOLIDAYS = load_bank_holidays()


class NoHolidays:
    def is_bank_holiday(self, day: date) -> bool:
        return False


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON)


@pytest.mark.parametrize(("status", "due_on", "state"), [
    ("open", date(2027, 1, 5), "due"),  # today
    ("open", date(2027, 1, 6), "due"),
    ("open", date(2027, 1, 4), "overdue"),
    ("done", date(2027, 1, 4), "done"),
    ("cancelled", date(2027, 1, 9), "cancelled"),
])
def test_state_today_in_london(status, due_on, state):
    assert rules.state_of(status, due_on, date(2027, 1, 5)) == state


def test_an_unknown_status_is_an_error():
    with pytest.raises(ValueError, match="unknown follow-up status"):
        rules.state_of("pending", date(2027, 1, 5), date(2027, 1, 5))


@pytest.mark.parametrize(("due_on", "sends_on"), [
    (date(2027, 1, 5), date(2027, 1, 5)),  # a Tuesday: the day itself
    (date(2027, 1, 9), date(2027, 1, 8)),  # Saturday: the Friday
    (date(2027, 1, 10), date(2027, 1, 8)),  # Sunday: the Friday
    (date(2026, 8, 31), date(2026, 8, 28)),  # the summer bank holiday Monday: the Friday before
    (date(2027, 3, 29), date(2027, 3, 25)),  # Easter Monday: over Good Friday to the Thursday
    (date(2026, 12, 28), date(2026, 12, 24)),  # Boxing Day's substitute Monday, Christmas Day: Thu 24th
])
def test_the_reminder_day_is_the_working_day_on_or_before_the_due_day(due_on, sends_on):
    assert rules.reminder_day(due_on, HOLIDAYS) == sends_on


@pytest.mark.parametrize(("day", "due_days"), [
    (date(2027, 1, 5), [date(2027, 1, 5)]),
    (date(2027, 1, 8), [date(2027, 1, 8), date(2027, 1, 9), date(2027, 1, 10)]),  # Friday: and the weekend
    (date(2027, 1, 9), []),  # nothing is reminded on a Saturday
    (date(2026, 12, 24), [date(2026, 12, 24), date(2026, 12, 25), date(2026, 12, 26), date(2026, 12, 27),
                          date(2026, 12, 28)]),
])
def test_the_due_days_reminded_on_a_day(day, due_days):
    assert rules.due_days_reminded_on(day, HOLIDAYS) == due_days
    assert all(rules.reminder_day(d, HOLIDAYS) == day for d in due_days)


def test_a_weekday_without_holidays_is_its_own_reminder_day():
    assert rules.reminder_day(date(2026, 8, 31), NoHolidays()) == date(2026, 8, 31)


TUESDAY = date(2027, 1, 5)


@pytest.mark.parametrize(("now", "due"), [
    (at(date(2027, 1, 4), 9), False),  # the day before
    (at(TUESDAY, 7, 59), False),
    (at(TUESDAY, 8, 0), True),
    (at(TUESDAY, 14, 30), True),  # the worker was down all morning: still that day
    (at(TUESDAY, 23, 59), True),
    (at(date(2027, 1, 6), 8), False),  # the day has passed
])
def test_a_reminder_is_due_from_the_hour_on_its_day_only(now, due):
    assert rules.reminder_due(now, TUESDAY, 8, HOLIDAYS) is due


def test_a_saturday_follow_up_is_reminded_on_friday_and_not_at_the_weekend():
    saturday = date(2027, 1, 9)
    assert rules.reminder_due(at(date(2027, 1, 8), 8), saturday, 8, HOLIDAYS)
    assert not rules.reminder_due(at(saturday, 8), saturday, 8, HOLIDAYS)
    assert not rules.reminder_due(at(date(2027, 1, 7), 12), saturday, 8, HOLIDAYS)


@pytest.mark.parametrize(("due_on", "now", "due"), [
    (TUESDAY, at(TUESDAY, 23), False),
    (TUESDAY, at(date(2027, 1, 6), 8, 59), False),
    (TUESDAY, at(date(2027, 1, 6), 9), True),
    (TUESDAY, at(date(2027, 1, 20), 3), True),  # any time later
    (date(2027, 1, 8), at(date(2027, 1, 9), 10), False),  # due Friday: not at the weekend
    (date(2027, 1, 8), at(date(2027, 1, 11), 9), True),  # the Monday
    (date(2026, 12, 24), at(date(2026, 12, 28), 12), False),  # Christmas: the 25th and the 28th are off
    (date(2026, 12, 24), at(date(2026, 12, 29), 9), True),
])
def test_an_overdue_alert_is_due_from_the_hour_of_the_next_working_day(due_on, now, due):
    assert rules.overdue_alert_due(now, due_on, 9, HOLIDAYS) is due


def test_the_reminder_text_is_kind_and_has_no_clinical_word():
    text = rules.reminder_text("0300 123 4567")
    assert text == ("Hello, this is the occupational health helpline. You have a follow-up due today. "
                    "If you can't make it or aren't sure what it is, call 0300 123 4567.")
    assert not rules.has_clinical_words(text)
    without = rules.reminder_text(None)
    assert without.endswith("reply to this text.") and not rules.has_clinical_words(without)
    for when in ("today", "tomorrow", "on Monday", "on Saturday"):
        assert not rules.has_clinical_words(rules.reminder_text("07700 900123", when))
    assert "sharps" not in text.lower() and "SH-" not in text


def test_a_reminder_sent_before_the_due_day_names_the_day():
    assert rules.when_words(date(2027, 1, 5), date(2027, 1, 5)) == "today"
    assert rules.when_words(date(2027, 1, 9), date(2027, 1, 8)) == "tomorrow"
    assert rules.when_words(date(2027, 1, 11), date(2027, 1, 8)) == "on Monday"


@pytest.mark.parametrize("text", [
    "Second dose, accelerated hepatitis B course", "Blood test at 6 weeks", "Chase the source's RESULTS",
    "HIV", "needle-stick", "your Hep B jab", "PEP review", "vaccinations", "results of the sharps injury",
    "the clinic", "viruses", "antibodies",
])
def test_clinical_words_are_caught_whole_and_in_any_case(text):
    assert rules.has_clinical_words(text)


@pytest.mark.parametrize("text", ["contest", "shepherd", "peppers", "resultant", "occupational health helpline"])
def test_other_words_are_not_clinical(text):
    assert not rules.has_clinical_words(text)


def test_the_guard_knows_the_words_of_the_brief():
    assert {"blood", "test", "hiv", "hepatitis", "hep", "vaccine", "vaccination", "dose", "jab", "needle",
            "needlestick", "sharps", "injury", "exposure", "splash", "bite", "pep", "hbig", "infection", "virus",
            "bbv", "result", "clinic", "prophylaxis", "antibody"} <= rules.CLINICAL_WORDS


def test_the_overdue_alert_names_the_case_and_the_day():
    assert (rules.overdue_alert_text("SH-000123", date(2027, 1, 4), "https://oh.example/cases/SH-000123")
            == "Overdue follow-up on case SH-000123 (due Mon 4 Jan). https://oh.example/cases/SH-000123")
