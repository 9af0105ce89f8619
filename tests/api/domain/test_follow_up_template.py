"""The sharps follow-up template: which items a decision suggests, their dates (working days,
bank holidays of England and Wales) and their sources. Decisions come from the real rules."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from api.domain.follow_up_template import TemplateItem, add_months, exposure_day, sharps_template
from api.triage import load_bank_holidays
from api.triage.sharps import decide_sharps

HOLIDAYS = load_bank_holidays()
# Friday 27 November 2026, 10:00 London (GMT): a month on is Sunday 27 December, and Monday 28
# December is the bank holiday for Boxing Day (a Saturday in 2026).
NOW = datetime(2026, 11, 27, 10, 0, tzinfo=timezone.utc)
FRIDAY = date(2026, 11, 27)
NEEDLESTICK = {"exposure_type": "percutaneous", "fluid": "blood", "occurred_at": "2026-11-27T09:00:00+00:00"}


def _template(answers: dict, opened_on: date = FRIDAY, *, triaged: bool = True) -> list[TemplateItem]:
    decision = decide_sharps(answers, now=NOW).to_dict() if triaged else None
    return sharps_template(decision, answers, opened_on, HOLIDAYS)


def _rows(items: list[TemplateItem]) -> list[tuple[str, date | None, bool]]:
    return [(i.what, i.due_on, i.remind_by_sms) for i in items]


def test_a_positive_source_and_an_unvaccinated_worker_get_the_accelerated_course_on_working_days():
    items = _template({**NEEDLESTICK, "source": {"identified": True, "hbv": "positive"},
                       "recipient": {"hbv_status": "unvaccinated"}})
    assert _rows(items) == [
        ("Chase the source's blood-borne virus results", date(2026, 12, 1), False),  # Tue: 2 working days
        ("First dose, accelerated hepatitis B vaccine course (at once)", FRIDAY, True),
        # Sun 27 Dec -> Mon 28 Dec is the Boxing Day bank holiday -> Tue 29 Dec
        ("Second dose, accelerated hepatitis B vaccine course (1 month)", date(2026, 12, 29), True),
        ("Third dose, accelerated hepatitis B vaccine course (2 months)", date(2027, 1, 27), True),  # a Wednesday
        ("Fourth dose, accelerated hepatitis B vaccine course (12 months)", date(2027, 11, 29), True),  # Sat -> Mon
        ("Follow-up blood tests", None, True),  # the practitioner chooses the intervals
    ]
    assert all(i.source for i in items)
    assert all("Green Book chapter 18" in i.source and "accelerated" in i.source for i in items[1:5])
    assert "BHIVA/BASHH" in items[-1].source and "Green Book" in items[-1].source


def test_a_known_non_responder_gets_the_second_hbig_dose_a_month_on_and_a_booster_to_date():
    items = _template({**NEEDLESTICK, "source": {"identified": False},
                       "recipient": {"hbv_status": "non_responder"}})
    assert _rows(items) == [
        ("Second HBIG dose, one month after the first (known vaccine non-responder)", date(2026, 12, 29), True),
        ("Consider a hepatitis B vaccine booster dose", None, True),
        ("Follow-up blood tests", None, True),
    ]
    assert not any("accelerated" in i.what for i in items)  # the table's non-responder row has no course
    assert items[0].source == "UKHSA Green Book chapter 18 (hepatitis B), post-exposure prophylaxis table"


def test_a_responder_is_offered_a_booster_and_a_negative_source_no_course():
    items = _template({**NEEDLESTICK, "source": {"identified": True, "hbv": "negative"},
                       "recipient": {"hbv_status": "responder"}})
    assert [i.what for i in items] == ["Chase the source's blood-borne virus results",
                                       "Consider a hepatitis B vaccine booster dose", "Follow-up blood tests"]


def test_a_negative_source_and_an_unvaccinated_worker_start_the_usual_course_undated():
    items = _template({**NEEDLESTICK, "source": {"identified": True, "hbv": "negative"},
                       "recipient": {"hbv_status": "unvaccinated"}})
    assert ("Start or finish the hepatitis B vaccine course", None, True) in _rows(items)
    assert not any("accelerated" in i.what or "HBIG" in i.what for i in items)


def test_no_chase_when_the_source_is_not_identified_or_not_known_to_be():
    for source in ({"identified": False}, {}, {"identified": "yes"}):
        items = _template({**NEEDLESTICK, "source": source, "recipient": {"hbv_status": "responder"}})
        assert not any("Chase" in i.what for i in items), source


def test_a_not_significant_exposure_gets_only_the_next_working_day_review():
    items = _template({"exposure_type": "intact_skin", "fluid": "blood", "source": {"identified": True}})
    assert _rows(items) == [("OH review next working day", date(2026, 11, 30), False)]  # Friday -> Monday
    assert "HSE" in items[0].source
    # Opened on Christmas Eve 2026 (a Thursday): Friday and Monday are bank holidays.
    late = _template({"exposure_type": "intact_skin", "fluid": "blood"}, date(2026, 12, 24))
    assert late[0].due_on == date(2026, 12, 29)


def test_an_untriaged_case_counts_as_possibly_significant():
    items = _template({"source": {"identified": True}}, triaged=False)
    assert [i.what for i in items] == ["Chase the source's blood-borne virus results", "Follow-up blood tests"]
    assert sharps_template(None, None, FRIDAY, HOLIDAYS) == [
        TemplateItem("Follow-up blood tests", None, True, items[-1].source)]


def test_doses_count_from_the_exposure_day_in_london_not_the_opening_day():
    answers = {**NEEDLESTICK, "occurred_at": "2026-10-31T23:30:00+00:00",  # 23:30 GMT: still 31 October
               "source": {"identified": False}, "recipient": {"hbv_status": "unvaccinated"}}
    items = sharps_template(decide_sharps(answers, now=NOW).to_dict(), answers, FRIDAY, HOLIDAYS)
    doses = [i.due_on for i in items if "accelerated" in i.what]
    # 31 Oct (Sat) -> Mon 2 Nov; 30 Nov (Mon); 31 Dec (Thu); 31 Oct 2027 (Sun) -> Mon 1 Nov
    assert doses == [date(2026, 11, 2), date(2026, 11, 30), date(2026, 12, 31), date(2027, 11, 1)]


@pytest.mark.parametrize("occurred_at, expected", [
    ("2026-07-01T23:30:00+00:00", date(2026, 7, 2)),  # BST: already 2 July in London
    (None, FRIDAY), ("2026-11-27", FRIDAY),  # no time: the opening day
    ("2026-12-25T10:00:00+00:00", FRIDAY),  # later than the opening: not believed
    ("garbage", FRIDAY),
])
def test_the_exposure_day(occurred_at, expected):
    assert exposure_day({"occurred_at": occurred_at}, FRIDAY) == expected


def test_months_end_on_the_last_day_of_a_shorter_month():
    assert add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert add_months(date(2026, 11, 30), 2) == date(2027, 1, 30)
    assert add_months(date(2026, 12, 15), 12) == date(2027, 12, 15)


def test_odd_decisions_and_answers_never_raise():
    for decision in ({}, {"rules_fired": None, "advice": None}, {"rules_fired": [1, None], "advice": ["x", 3]}):
        assert [i.what for i in sharps_template(decision, {"source": "x", "recipient": 3}, FRIDAY, HOLIDAYS)] == [
            "Follow-up blood tests"]
