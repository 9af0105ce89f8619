"""The follow-ups a sharps exposure usually needs, suggested from its triage decision. Pure.

A suggestion only: the practitioner unticks, edits, dates and adds to it on the case page
before anything is stored (api/web/routes/follow_ups.py). The wording and the intervals come
from the project's clinical sources (docs/clinical-reference.md), each item naming its own:

- the source's blood-borne virus results, chased when the source is identified;
- the UKHSA Green Book chapter 18 accelerated hepatitis B vaccine course (0, 1 and 2 months, a
  fourth dose at 12 months) when the `hbv_vaccine` rule fired; a second HBIG dose one month
  after the first for a known non-responder; a booster considered, or the course started or
  finished, with the date left to the practitioner;
- follow-up blood tests with no date: the practitioner chooses the intervals;
- a not-significant exposure: only the OH review on the next working day.

Dates are London dates. Vaccine and HBIG dates count from the exposure day (the answers'
`occurred_at`, else the day the case was opened), and a date that falls on a weekend or a bank
holiday moves forward to the next working day, when the OH team can give the dose.
"""
from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from api.domain.follow_ups import Calendar, first_working_day_after, is_working_day

GREEN_BOOK = "UKHSA Green Book chapter 18 (hepatitis B)"
BHIVA = "BHIVA/BASHH UK guideline for the use of HIV post-exposure prophylaxis (2021)"
HSE = "HSE sharps injuries guidance"

# The rules (api/triage/rules/sharps-*.yaml) whose advice the template follows.
NOT_SIGNIFICANT = "not_significant"
HBV_VACCINE = "hbv_vaccine"
HBIG = "hbig"
HBIG_NON_RESPONDER = "hbig_non_responder_unknown_source"
HBV_BOOSTER_CHECK = "hbv_booster_check"
HBV_RULES = frozenset({HBIG, HBIG_NON_RESPONDER, HBV_VACCINE, HBV_BOOSTER_CHECK, "hbv_negative_source"})
# Advice codes that carry a row of the Green Book table the rule ids alone do not tell apart.
SECOND_HBIG = "hbig_second_dose_non_responder"
NON_RESPONDER_NEGATIVE = "hbv_non_responder_negative_source"
COURSE_NEGATIVE_SOURCE = "hbv_course_negative_source"

# The Green Book's accelerated schedule, in months from the exposure.
ACCELERATED_COURSE = ((0, "First dose"), (1, "Second dose"), (2, "Third dose"), (12, "Fourth dose"))
SOURCE_RESULTS_WORKING_DAYS = 2


@dataclass(frozen=True)
class TemplateItem:
    what: str
    due_on: date | None  # None: the practitioner must choose the date
    remind_by_sms: bool  # suggested: only the worker's own appointments, never the team's tasks
    source: str


def on_or_after_working_day(day: date, holidays: Calendar) -> date:
    return day if is_working_day(day, holidays) else first_working_day_after(day, holidays)


def working_days_after(day: date, count: int, holidays: Calendar) -> date:
    for _ in range(count):
        day = first_working_day_after(day, holidays)
    return day


def add_months(day: date, months: int) -> date:
    """The same day of the month `months` later, or that month's last day (31 January + 1 month
    is 28 or 29 February)."""
    year, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + year, month + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def exposure_day(answers: Mapping[str, Any], opened_on: date, tz: str = "Europe/London") -> date:
    """The London date of the exposure; the opening day when it is not known, or later than that."""
    value = answers.get("occurred_at")
    # As the triage reads it (api/triage/facts.py): a bare date or an odd string is no time.
    if not isinstance(value, str) or len(value.strip()) <= 10:
        return opened_on
    try:
        occurred = datetime.fromisoformat(value.strip())
        if occurred.tzinfo is None:
            occurred = occurred.replace(tzinfo=timezone.utc)
        day = occurred.astimezone(ZoneInfo(tz)).date()
    except (OverflowError, ValueError):
        return opened_on
    return min(day, opened_on)


def _source_identified(answers: Mapping[str, Any]) -> bool:
    source = answers.get("source")
    return isinstance(source, Mapping) and source.get("identified") is True


def _recipient_non_responder(answers: Mapping[str, Any]) -> bool:
    recipient = answers.get("recipient")
    return isinstance(recipient, Mapping) and recipient.get("hbv_status") == "non_responder"


def _blood_test_sources(fired: set[str]) -> str:
    sources = [BHIVA]
    if fired & HBV_RULES:
        sources.append(GREEN_BOOK)
    sources.append(HSE)
    return "; ".join(sources)


def sharps_template(decision: Mapping[str, Any] | None, answers: Mapping[str, Any] | None, opened_on: date,
                    holidays: Calendar, *, tz: str = "Europe/London") -> list[TemplateItem]:
    """The suggested follow-ups of a sharps case, in the order they are usually done. With no
    decision yet the exposure counts as possibly significant: unknown is never routine."""
    answers = answers if isinstance(answers, Mapping) else {}
    decision = decision if isinstance(decision, Mapping) else {}
    fired = {r for r in decision.get("rules_fired") or [] if isinstance(r, str)}
    codes = {a.get("code") for a in decision.get("advice") or [] if isinstance(a, Mapping)}

    if NOT_SIGNIFICANT in fired:
        return [TemplateItem("OH review next working day", working_days_after(opened_on, 1, holidays), False,
                             f"{HSE}; {BHIVA}")]

    items: list[TemplateItem] = []
    if _source_identified(answers):
        items.append(TemplateItem(
            "Chase the source's blood-borne virus results",
            working_days_after(opened_on, SOURCE_RESULTS_WORKING_DAYS, holidays), False, f"{BHIVA}; {HSE}"))

    exposed = exposure_day(answers, opened_on, tz)
    if HBV_VACCINE in fired:
        for months, dose in ACCELERATED_COURSE:
            when = "at once" if months == 0 else f"{months} month{'s' if months > 1 else ''}"
            items.append(TemplateItem(
                f"{dose}, accelerated hepatitis B vaccine course ({when})",
                on_or_after_working_day(add_months(exposed, months), holidays), True,
                f"{GREEN_BOOK}, accelerated schedule"))

    non_responder_hbig = SECOND_HBIG in codes or HBIG_NON_RESPONDER in fired or (
        HBIG in fired and _recipient_non_responder(answers))
    if non_responder_hbig:
        items.append(TemplateItem(
            "Second HBIG dose, one month after the first (known vaccine non-responder)",
            on_or_after_working_day(add_months(exposed, 1), holidays), True,
            f"{GREEN_BOOK}, post-exposure prophylaxis table"))
    if HBV_BOOSTER_CHECK in fired or non_responder_hbig or NON_RESPONDER_NEGATIVE in codes:
        items.append(TemplateItem("Consider a hepatitis B vaccine booster dose", None, True,
                                  f"{GREEN_BOOK}, post-exposure prophylaxis table"))
    if COURSE_NEGATIVE_SOURCE in codes and HBV_VACCINE not in fired:
        items.append(TemplateItem("Start or finish the hepatitis B vaccine course", None, True,
                                  f"{GREEN_BOOK}, post-exposure prophylaxis table"))

    items.append(TemplateItem("Follow-up blood tests", None, True, _blood_test_sources(fired)))
    return items
