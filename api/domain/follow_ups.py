"""Follow-ups of a case (issue #18): their state, the day and hour their texts are due, and the
words of those texts. Pure: callers pass the London clock time, the due date and the calendar.

- A reminder to the worker goes on the REMINDER DAY: the due day when it is a working day, else
  the working day before it (weekends, bank holidays in England and Wales and the service's own
  closures are not working days). It goes from `hour` (London) that day, at any later hour of the
  same day if the worker process was down that morning, and never on any other day: a reminder a
  day late would tell the worker something is "due today" when it is not.
- An overdue alert to the case owner goes from `hour` on the first working day after the due day,
  or at any time later (it stays due until someone is told).
- The reminder text carries no clinical word, no case reference, no line name and never the
  follow-up's `what` (a phone's lock screen may be read by anyone); `has_clinical_words` is the
  guard the sender checks every text against before queuing it.

The calendar is anything with `is_bank_holiday(day) -> bool` (api/triage/bank_holidays.py's
`load_bank_holidays()`, which the manager rules and the dashboard's routine clock use too): the
import contracts keep api.domain apart from api.triage, so it is passed in.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Literal, Protocol

State = Literal["due", "overdue", "done", "cancelled"]
STATES: tuple[State, ...] = ("due", "overdue", "done", "cancelled")
OPEN, DONE, CANCELLED = "open", "done", "cancelled"
STATUSES = (OPEN, DONE, CANCELLED)

# Locale-free, so a server set to another language still writes English texts.
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# The longest run of days off before a due day there can be (a weekend, Christmas Day, Boxing
# Day, a substitute day, a service closure): a bound on the search, never a rule.
MAX_DAYS_OFF = 10


class Calendar(Protocol):
    def is_bank_holiday(self, day: date) -> bool: ...


def state_of(status: str, due_on: date, today: date) -> State:
    """`due` (open, due today or later), `overdue` (open, due before today), `done`, `cancelled`."""
    if status == DONE:
        return "done"
    if status == CANCELLED:
        return "cancelled"
    if status != OPEN:
        raise ValueError(f"unknown follow-up status {status!r}")
    return "due" if due_on >= today else "overdue"


def is_working_day(day: date, holidays: Calendar) -> bool:
    return day.weekday() < 5 and not holidays.is_bank_holiday(day)


def reminder_day(due_on: date, holidays: Calendar) -> date:
    """The due day when it is a working day, else the working day before it."""
    day = due_on
    while not is_working_day(day, holidays):
        day -= timedelta(days=1)
    return day


def due_days_reminded_on(day: date, holidays: Calendar) -> list[date]:
    """Every due day whose reminder day is `day` (none when `day` is not a working day): the day
    itself and the days off that follow it."""
    if not is_working_day(day, holidays):
        return []
    days = [day]
    following = day + timedelta(days=1)
    while not is_working_day(following, holidays) and len(days) <= MAX_DAYS_OFF:
        days.append(following)
        following += timedelta(days=1)
    return days


def first_working_day_after(day: date, holidays: Calendar) -> date:
    day += timedelta(days=1)
    while not is_working_day(day, holidays):
        day += timedelta(days=1)
    return day


def reminder_due(now_local: datetime, due_on: date, hour: int, holidays: Calendar) -> bool:
    """True from `hour` on the reminder day until that day ends; false on every other day."""
    return now_local.date() == reminder_day(due_on, holidays) and now_local.hour >= hour


def overdue_alert_due(now_local: datetime, due_on: date, hour: int, holidays: Calendar) -> bool:
    """True from `hour` on the first working day after `due_on`, and at any time after that."""
    day = first_working_day_after(due_on, holidays)
    today = now_local.date()
    return today > day or (today == day and now_local.hour >= hour)


def when_words(due_on: date, sent_on: date) -> str:
    """How a text sent on `sent_on` names the due day: "today", "tomorrow", "on Monday"."""
    days = (due_on - sent_on).days
    if days == 0:
        return "today"
    if days == 1:
        return "tomorrow"
    return f"on {_WEEKDAYS[due_on.weekday()]}"


def reminder_text(helpline_phone: str | None, when: str = "today") -> str:
    """The reminder to the worker. `helpline_phone` as people read it (0300 123 4567); without
    one, the worker is asked to reply (the text comes from the helpline's SMS number)."""
    reach = f"call {helpline_phone.strip()}" if helpline_phone and helpline_phone.strip() else "reply to this text"
    return (f"Hello, this is the occupational health helpline. You have a follow-up due {when}. "
            f"If you can't make it or aren't sure what it is, {reach}.")


def short_date(day: date) -> str:
    """Mon 4 Jan."""
    return f"{_WEEKDAYS[day.weekday()][:3]} {day.day} {_MONTHS[day.month - 1]}"


def overdue_alert_text(ref: str, due_on: date, link: str) -> str:
    """To a practitioner: the case reference and the link are fine, clinical detail is not."""
    return f"Overdue follow-up on case {ref} (due {short_date(due_on)}). {link}"


#: Words no text to a worker may carry: whoever picks up their phone learns nothing clinical.
#: Matched as whole words, any case, with a plain plural ("tests", "doses", "viruses").
CLINICAL_WORDS: frozenset[str] = frozenset({
    "blood", "bloods", "test", "testing", "tested", "hiv", "aids", "hepatitis", "hep", "hepb", "hepc", "hbv", "hcv",
    "vaccine", "vaccination", "vaccinated", "immunisation", "immunization", "booster", "dose", "jab", "needle",
    "needlestick", "sharp", "sharps", "injury", "injuries", "injured", "exposure", "exposed", "splash", "bite",
    "bitten", "pep", "hbig", "immunoglobulin", "infection", "infected", "infectious", "virus", "viral", "bbv",
    "result", "clinic", "clinical", "prophylaxis", "antibody", "antibodies", "antiretroviral", "serology", "sample",
    "swab", "medication", "medicine", "treatment", "tablets", "pills", "diagnosis", "positive", "negative",
})
_CLINICAL = re.compile(r"\b(?:" + "|".join(sorted(map(re.escape, CLINICAL_WORDS), key=len, reverse=True))
                       + r")(?:s|es)?\b", re.IGNORECASE)


def has_clinical_words(text: str) -> bool:
    return _CLINICAL.search(text) is not None


def clinical_words_in(text: str) -> list[str]:
    """The clinical words found, as written (for the log line of a refused text)."""
    return [m.group(0) for m in _CLINICAL.finditer(text)]
