"""Manager-line triage (crisis, referral routing and urgency, clinician requests) and working hours."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.triage import decide_manager, load_manager_rules
from api.triage.working_hours import (
    WorkingHours,
    is_working_time,
    next_working_start,
    page_not_before,
    parse_working_hours,
)

LONDON = ZoneInfo("Europe/London")
UTC = timezone.utc
# Monday 23 November 2026, 11:00 GMT: inside working hours.
MONDAY_MORNING = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
SATURDAY = datetime(2026, 11, 21, 11, 0, tzinfo=UTC)
CONTRACT_KEYS = {"urgency", "route", "page_on_call", "page_not_before", "rules_fired", "rule_version", "advice"}


def london(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)


def referral(**answers):
    base = {"employee_name": "Sam", "employee_role": "receptionist", "consent": True,
            "consent_reason_explained": True, "reason": "musculoskeletal", "questions": "When can she return?",
            "urgency_requested": "routine", "complex": False}
    base.update(answers)
    return base


# --- crisis ---------------------------------------------------------------------

@pytest.mark.parametrize(
    "kind, answers, text",
    [
        ("crisis", {"crisis": True}, None),
        ("crisis", {}, None),
        ("crisis", None, None),
        ("referral", referral(), "my employee told me she wants to kill herself and end it all"),
        ("advice", {"topic": "absence", "question": "he said he is suicidal"}, None),
        ("referral", referral(tried={"notes": ["she mentioned self-harm"]}), None),  # nested answer
        ("referral", referral(crisis=True), None),
        ("unknown-kind", {}, "kms"),
    ],
)
def test_crisis_goes_to_the_emergency_route_at_once(kind, answers, text):
    for now in (MONDAY_MORNING, SATURDAY):  # working hours do not apply
        decision = decide_manager(kind, answers, now=now, text=text).to_dict()
        assert decision["urgency"] == "emergency"
        assert decision["page_on_call"] is True
        assert decision["page_not_before"] == now.isoformat()
        assert decision["rules_fired"] == ["crisis"]
        assert decision["route"] is None
        text_all = " ".join(a["text"] for a in decision["advice"])
        for must in ("999", "emergency department", "111", "option 2", "116 123"):
            assert must in text_all


@pytest.mark.parametrize("text", [
    "she had a needlestick from a patient who had taken an overdose, can she come back next week",
    "my HCA was bitten by a self harm patient and is off with stress",
])
def test_crisis_words_only_about_a_patient_are_not_the_managers_crisis(text):
    decision = decide_manager("advice", {"topic": "absence", "question": text}, now=MONDAY_MORNING, text=text)
    assert "crisis" not in decision.to_dict()["rules_fired"]


def test_reply_shape():
    decision = decide_manager("referral", referral(), now=MONDAY_MORNING).to_dict()
    assert set(decision) == CONTRACT_KEYS
    assert decision["rule_version"] == "manager-2026.12.1"
    json.dumps(decision)


# --- referral routing -------------------------------------------------------------

@pytest.mark.parametrize(
    "answers, route, rule",
    [
        (referral(), "nurse", "referral_nurse"),
        (referral(complex=None), "nurse", "referral_nurse"),
        (referral(complex="yes"), "nurse", "referral_nurse"),  # only a real true counts
        (referral(complex=True), "physician", "referral_complex"),
        (referral(questions="Is she eligible for ill-health retirement?"), "physician", "referral_physician_topic"),
        (referral(questions="Should we consider ill health retirement"), "physician", "referral_physician_topic"),
        (referral(questions="Does his condition count as a disability?"), "physician", "referral_physician_topic"),
        (referral(questions=["What adjustments?", "Is this covered by the Equality Act?"]),
         "physician", "referral_physician_topic"),
        (referral(topics=["ill_health_retirement"]), "physician", "referral_physician_topic"),
        (referral(topic="disability_definition"), "physician", "referral_physician_topic"),
        (referral(questions="When can she return to work?"), "nurse", "referral_nurse"),
        (referral(questions="She is not disabled by it, just sore"), "physician", "referral_physician_topic"),
        (referral(tried="we discussed retirement plans"), "nurse", "referral_nurse"),  # only topic fields count
    ],
)
def test_referral_route(answers, route, rule):
    decision = decide_manager("referral", answers, now=MONDAY_MORNING).to_dict()
    assert decision["route"] == route
    assert rule in decision["rules_fired"]
    other = "referral_nurse" if route == "physician" else "referral_complex"
    assert other not in decision["rules_fired"]


# --- referral urgency -------------------------------------------------------------

@pytest.mark.parametrize(
    "answers, urgency, rule",
    [
        (referral(), "routine", None),
        (referral(urgency_requested=None), "routine", None),
        (referral(urgency_requested="urgent"), "urgent", "referral_urgent_requested"),
        (referral(urgency_requested="URGENT"), "urgent", "referral_urgent_requested"),
        (referral(urgency_requested="emergency"), "urgent", "referral_urgent_requested"),
        (referral(reason="mental_health", work_related=True), "urgent", "referral_work_related_mental_health"),
        (referral(reason="mental_health", work_related=False), "routine", None),
        (referral(reason="mental_health", work_related=None), "routine", None),
        # manager-2026.12.1: a work-related injury is referred at once too
        (referral(reason="musculoskeletal", work_related=True), "urgent", "referral_work_related_injury"),
        (referral(reason="other", work_related=True), "urgent", "referral_work_related_injury"),
        (referral(reason=None, work_related=True), "urgent", "referral_work_related_injury"),
        (referral(reason="musculoskeletal", work_related=False), "routine", None),
        (referral(reason="musculoskeletal", work_related=None), "routine", None),
        (referral(reason="musculoskeletal", work_related="yes"), "routine", None),  # only a real true counts
    ],
)
def test_referral_urgency(answers, urgency, rule):
    decision = decide_manager("referral", answers, now=MONDAY_MORNING).to_dict()
    assert decision["urgency"] == urgency
    assert "referral_routine" in decision["rules_fired"]
    if rule:
        assert rule in decision["rules_fired"]
        assert decision["page_on_call"] is True and decision["page_not_before"] == MONDAY_MORNING.isoformat()
    else:
        # Routine referrals go to the OH queue: no page.
        assert decision["page_on_call"] is False and decision["page_not_before"] is None


def test_work_related_rules_fire_only_with_the_answer_the_form_now_asks():
    # Before manager-2026.12.1 nothing asked whether the reason was work-related, so
    # `work_related` was always unknown and the rule could never fire.
    rules = load_manager_rules()
    assert {"referral_work_related_mental_health", "referral_work_related_injury"} <= {r.id for r in rules.rules}
    stress = decide_manager("referral", referral(reason="mental_health", work_related=True), now=MONDAY_MORNING)
    assert stress.rules_fired.count("referral_work_related_mental_health") == 1
    assert "referral_work_related_injury" not in stress.rules_fired
    old = decide_manager("referral", referral(reason="musculoskeletal", work_related=True), now=MONDAY_MORNING,
                         ruleset=load_manager_rules("manager-2026.11.2"))
    assert old.urgency == "routine" and old.rule_version == "manager-2026.11.2"  # released files keep their meaning


def test_urgent_referral_out_of_hours_pages_at_the_next_start():
    friday_evening = london(2026, 11, 20, 19, 30)
    decision = decide_manager("referral", referral(urgency_requested="urgent"), now=friday_evening)
    assert decision.page_on_call is True
    assert decision.page_not_before == london(2026, 11, 23, 8, 0)


# --- a referral naming the employee's past self-harm ------------------------------------

@pytest.mark.parametrize("answers", [
    referral(absence_history="off 3 weeks last year; she took an overdose last year"),
    referral(questions="She has a history of self-harm. How can we support her return?"),
    referral(tried="he has tried to kill himself before, we set up weekly catch ups"),
    referral(risk_history={"said": ["anything"], "lexicon_version": "crisis-2026.12.3"}),  # the bot's flag
    referral(risk_history=True),
])
def test_past_self_harm_keeps_the_referral_and_flags_it_to_a_clinician(answers):
    for now, not_before in ((MONDAY_MORNING, MONDAY_MORNING), (SATURDAY, london(2026, 11, 23, 8, 0))):
        decision = decide_manager("referral", answers, now=now)
        assert "crisis" not in decision.rules_fired
        assert {"referral_routine", "referral_risk_history", "referral_nurse"} <= set(decision.rules_fired)
        assert decision.urgency == "urgent" and decision.route == "nurse"
        assert decision.page_on_call is True and decision.page_not_before == not_before
        codes = [a.code for a in decision.advice]
        assert "referral_risk_history_flagged" in codes and "referral_risk_now" in codes
        text = " ".join(a.text for a in decision.advice)
        for must in ("999", "111", "option 2", "116 123"):
            assert must in text
        assert decision.to_dict()["crisis_lexicon_version"].startswith("crisis-")


@pytest.mark.parametrize("answers, text", [
    (referral(absence_history="she took an overdose last year"), "she said she'll kill herself tonight"),
    (referral(questions="history of self harm and she is suicidal"), None),
    (referral(absence_history="she took an overdose last year", tried="I want to end it all"), None),  # the manager
    (referral(tried="she overdosed last year and is self harming again"), None),
])
def test_a_present_risk_is_still_the_crisis_route(answers, text):
    decision = decide_manager("referral", answers, now=MONDAY_MORNING, text=text)
    assert decision.rules_fired == ("crisis",) and decision.urgency == "emergency"
    assert decision.to_dict()["crisis_lexicon_version"].startswith("crisis-")


def test_risk_history_is_false_without_past_words_or_the_flag():
    for answers in (referral(), referral(risk_history=False), referral(risk_history={"said": []}),
                    referral(questions="the patient she nursed had a history of overdose")):
        decision = decide_manager("referral", answers, now=MONDAY_MORNING)
        assert "referral_risk_history" not in decision.rules_fired
        assert "crisis_lexicon_version" not in decision.to_dict()


def test_risk_history_through_the_api_decision_keeps_the_referral():
    from api.services.decisions import decide

    decision = decide(line="manager", kind="referral", summary=None, now=MONDAY_MORNING,
                      answers=referral(absence_history="she took an overdose last year"))
    assert "crisis" not in decision["rules_fired"] and "referral_risk_history" in decision["rules_fired"]
    assert decision["urgency"] == "urgent" and decision["page_on_call"] is True


# --- clinician requests ----------------------------------------------------------------

@pytest.mark.parametrize(
    "now, expected",
    [
        (london(2026, 11, 20, 17, 59), london(2026, 11, 20, 17, 59)),  # Friday 17:59: now
        (london(2026, 11, 20, 18, 0), london(2026, 11, 23, 8, 0)),  # Friday 18:00: Monday 08:00
        (london(2026, 11, 21, 12, 0), london(2026, 11, 23, 8, 0)),  # Saturday
        (london(2026, 11, 22, 23, 59), london(2026, 11, 23, 8, 0)),  # Sunday night
        (london(2026, 11, 23, 7, 59), london(2026, 11, 23, 8, 0)),  # Monday before opening
        (london(2026, 11, 23, 8, 0), london(2026, 11, 23, 8, 0)),  # Monday on the dot
        (london(2026, 11, 24, 3, 0), london(2026, 11, 24, 8, 0)),  # Tuesday small hours
    ],
)
def test_clinician_request_pages_in_working_hours(now, expected):
    decision = decide_manager("advice", {"topic": "fitness for work", "question": "Can he drive?"}, now=now)
    assert decision.urgency == "urgent" and decision.page_on_call is True
    assert decision.rules_fired == ("clinician_request",)
    assert decision.page_not_before == expected
    assert decision.to_dict()["page_not_before"] == expected.isoformat()


@pytest.mark.parametrize("kind", ["exposure", "banana", None, 7])
def test_unknown_kinds_still_reach_a_person(kind):
    decision = decide_manager(kind, {}, now=MONDAY_MORNING)
    assert decision.urgency == "urgent" and decision.page_on_call
    assert decision.rules_fired == ("unrecognised_request",)


@settings(max_examples=200, deadline=None)
@given(
    kind=st.one_of(st.sampled_from(["referral", "advice", "crisis"]), st.text(max_size=8), st.none()),
    answers=st.one_of(st.none(), st.dictionaries(st.text(max_size=10), st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20)),
        lambda c: st.one_of(st.lists(c, max_size=3), st.dictionaries(st.text(max_size=5), c, max_size=3)),
        max_leaves=10))),
    text=st.one_of(st.none(), st.text(max_size=30)),
    now=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.timezones()),
)
def test_never_raises_and_pages_whenever_not_routine(kind, answers, text, now):
    d = decide_manager(kind, answers, now=now, text=text).to_dict()
    json.dumps(d)
    assert d["page_on_call"] == (d["urgency"] != "routine")
    assert (d["page_not_before"] is None) == (not d["page_on_call"])
    if d["page_not_before"]:
        assert datetime.fromisoformat(d["page_not_before"]) >= now


# --- working hours ------------------------------------------------------------------

HOURS = load_manager_rules().working_hours


def test_working_hours_come_from_the_yaml():
    assert HOURS.timezone == "Europe/London"
    assert HOURS.days == frozenset(range(5))
    assert (HOURS.start.hour, HOURS.end.hour) == (8, 18)
    # Bank holidays: the shared England and Wales list (tests/api/triage/test_bank_holidays.py).
    assert HOURS.bank_holidays == frozenset() and HOURS.calendar.name == "england-and-wales"
    assert load_manager_rules("manager-2026.11.1").working_hours.calendar is None


@pytest.mark.parametrize(
    "moment, working",
    [
        (london(2026, 11, 20, 17, 59), True),  # Friday 17:59
        (london(2026, 11, 20, 18, 0), False),  # Friday 18:00
        (london(2026, 11, 20, 8, 0), True),
        (london(2026, 11, 20, 7, 59), False),
        (london(2026, 11, 21, 10, 0), False),  # Saturday
        (london(2026, 11, 22, 10, 0), False),  # Sunday
        (datetime(2026, 7, 6, 7, 30, tzinfo=UTC), True),  # 08:30 BST on a Monday
        (datetime(2026, 7, 6, 17, 30, tzinfo=UTC), False),  # 18:30 BST
        (datetime(2026, 1, 5, 7, 30, tzinfo=UTC), False),  # 07:30 GMT
        (datetime(2026, 7, 6, 10, 0), True),  # naive is taken as UTC
    ],
)
def test_is_working_time(moment, working):
    assert is_working_time(moment, HOURS) is working


@pytest.mark.parametrize(
    "moment, expected_utc",
    [
        # Clocks go forward on Sunday 29 March 2026: Monday 08:00 is BST (07:00 UTC).
        (datetime(2026, 3, 27, 18, 30, tzinfo=UTC), datetime(2026, 3, 30, 7, 0, tzinfo=UTC)),
        (datetime(2026, 3, 29, 0, 30, tzinfo=UTC), datetime(2026, 3, 30, 7, 0, tzinfo=UTC)),
        # Clocks go back on Sunday 25 October 2026: Monday 08:00 is GMT (08:00 UTC).
        (london(2026, 10, 23, 18, 0), datetime(2026, 10, 26, 8, 0, tzinfo=UTC)),
        (datetime(2026, 10, 25, 1, 30, tzinfo=UTC), datetime(2026, 10, 26, 8, 0, tzinfo=UTC)),
        # Ordinary weekend in winter.
        (london(2026, 11, 21, 9, 0), datetime(2026, 11, 23, 8, 0, tzinfo=UTC)),
        # Friday evening in summer: Monday 08:00 BST.
        (london(2026, 7, 3, 18, 0), datetime(2026, 7, 6, 7, 0, tzinfo=UTC)),
    ],
)
def test_next_start_across_the_clock_change(moment, expected_utc):
    start = next_working_start(moment, HOURS)
    assert start == expected_utc
    assert (start.astimezone(LONDON).hour, start.astimezone(LONDON).minute) == (8, 0)
    assert page_not_before(moment, HOURS) == expected_utc


def test_bank_holiday_seam():
    hours = parse_working_hours({"timezone": "Europe/London", "days": ["mon", "tue", "wed", "thu", "fri"],
                                 "start": "08:00", "end": "18:00", "bank_holidays": ["2026-12-25", "2026-12-28"]})
    assert isinstance(hours, WorkingHours) and date(2026, 12, 25) in hours.bank_holidays
    christmas_eve_evening = london(2026, 12, 24, 18, 30)
    assert next_working_start(christmas_eve_evening, hours) == london(2026, 12, 29, 8, 0)
    assert not is_working_time(london(2026, 12, 28, 10, 0), hours)


def test_inside_hours_page_not_before_is_now():
    moment = london(2026, 11, 25, 12, 0)
    assert page_not_before(moment, HOURS) == moment
    assert next_working_start(moment, HOURS) == london(2026, 11, 26, 8, 0)
    assert next_working_start(moment, HOURS) - moment == timedelta(hours=20)
