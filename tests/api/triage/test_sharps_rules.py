"""Sharps triage: every rule fires where it should and not where it shouldn't, every boundary."""
from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from api.triage import decide_sharps, load_sharps_rules
from api.triage.facts import derive_sharps_facts, parse_occurred_at

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=timezone.utc)
CONTRACT_KEYS = {
    "urgency", "go_to_emergency_department", "page_on_call", "pep_window_open",
    "hours_since_exposure", "advice", "rules_fired", "rule_version",
}


def ago(hours: float = 0, minutes: float = 0) -> str:
    return (NOW - timedelta(hours=hours, minutes=minutes)).isoformat()


def low_risk_case(**changes: Any) -> dict:
    """A significant needlestick from a source known negative for everything,
    recipient a known responder, one hour ago: only the always-rules,
    significant_exposure and the responder's booster check fire. Tests switch
    one thing at a time."""
    answers = {
        "exposure_type": "percutaneous",
        "fluid": "blood",
        "device": {"kind": "hollow_bore_needle", "used": True, "in_vein_or_artery": None,
                   "visible_blood": True, "deep": False, "gloves": True},
        "source": {"identified": True, "hiv": "negative", "hbv": "negative", "hcv": "negative",
                   "risk_factors": []},
        "recipient": {"hbv_status": "responder", "pregnant": False, "breastfeeding": False,
                      "medicines": "none"},
        "occurred_at": ago(1),
        "first_aid_done": True,
        "incident_form_done": False,
    }
    for dotted, value in changes.items():
        target = answers
        *parents, leaf = dotted.split("__")
        for key in parents:
            target = target.setdefault(key, {})
        if value is DELETE:
            target.pop(leaf, None)
        else:
            target[leaf] = value
    return answers


DELETE = object()


def decide(answers: Any, now: datetime = NOW) -> dict:
    return decide_sharps(answers, now=now).to_dict()


def codes(decision: dict) -> list[str]:
    return [a["code"] for a in decision["advice"]]


# --- the reply shape -----------------------------------------------------------

def test_reply_matches_the_contract_shape():
    decision = decide(low_risk_case(source__hiv="positive"))
    assert set(decision) == CONTRACT_KEYS
    assert decision["rule_version"] == "sharps-2026.12.1"
    assert decision["hours_since_exposure"] == 1.0
    for advice in decision["advice"]:
        assert set(advice) == {"code", "text", "source"} and all(advice.values())
    json.dumps(decision)  # plain JSON types only


# --- headline outcomes ---------------------------------------------------------

@pytest.mark.parametrize(
    "name, answers, urgency, ed, page",
    [
        ("known negative source, responder", low_risk_case(), "urgent", False, True),
        ("intact skin", low_risk_case(exposure_type="intact_skin"), "routine", False, False),
        ("low-risk fluid, no visible blood",
         low_risk_case(fluid="low_risk", device__visible_blood=False), "routine", False, False),
        ("low-risk fluid, blood not known",
         low_risk_case(fluid="low_risk", device__visible_blood=None), "routine", False, False),
        ("low-risk fluid with visible blood",
         low_risk_case(fluid="low_risk", device__visible_blood=True), "urgent", False, True),
        ("clean unused sharp", low_risk_case(device__used=False), "routine", False, False),
        ("clean unused sharp, HIV source",
         low_risk_case(device__used=False, source__hiv="positive"), "routine", False, False),
        ("used not known", low_risk_case(device__used=None), "urgent", False, True),
        ("unknown route with blood", low_risk_case(exposure_type="unknown"), "urgent", False, True),
        ("route missing with blood", low_risk_case(exposure_type=DELETE), "urgent", False, True),
        ("fluid unknown, route known",
         low_risk_case(fluid="unknown", device__visible_blood=None), "urgent", False, True),
        ("empty answers", {}, "urgent", False, True),
        ("answers None", None, "urgent", False, True),
        ("answers a list", ["percutaneous"], "urgent", False, True),
        ("HIV positive source", low_risk_case(source__hiv="positive"), "emergency", True, True),
        ("HIV positive splash",
         low_risk_case(exposure_type="mucocutaneous", source__hiv="positive"), "emergency", True, True),
        ("suspected HIV: risk factor",
         low_risk_case(source__hiv="unknown", source__risk_factors=["msm"]), "emergency", True, True),
        ("known viraemic, HIV not stated",
         low_risk_case(source__hiv=DELETE, source__risk_factors=["known_viraemic"]), "emergency", True, True),
        ("HIV unknown, no factors", low_risk_case(source__hiv="unknown"), "urgent", False, True),
        ("HIV positive, 72 h + 1 min",
         low_risk_case(source__hiv="positive", occurred_at=ago(72, 1)), "urgent", False, True),
        ("HIV positive, intact skin",
         low_risk_case(exposure_type="intact_skin", source__hiv="positive"), "routine", False, False),
        ("HIV positive, time unknown",
         low_risk_case(source__hiv="positive", occurred_at=None), "emergency", True, True),
    ],
)
def test_headline_outcomes(name, answers, urgency, ed, page):
    decision = decide(answers)
    outcome = (decision["urgency"], decision["go_to_emergency_department"], decision["page_on_call"])
    assert outcome == (urgency, ed, page), name


# --- each rule fires, and does not fire -------------------------------------------

FIRES = [
    # (rule id, answers, fires?)
    ("first_aid", {}, True),
    ("first_aid", low_risk_case(exposure_type="intact_skin"), True),
    ("report_and_record", {}, True),
    ("report_and_record", low_risk_case(exposure_type="intact_skin"), True),
    ("not_significant", low_risk_case(exposure_type="intact_skin"), True),
    ("not_significant", low_risk_case(fluid="low_risk", device__visible_blood=False), True),
    ("not_significant", low_risk_case(device__used=False), True),
    ("not_significant", low_risk_case(), False),
    ("not_significant", {}, False),
    ("not_significant", low_risk_case(device__used="no"), False),  # only a real False counts
    ("significant_exposure", low_risk_case(), True),
    ("significant_exposure", low_risk_case(exposure_type="unknown"), True),
    ("significant_exposure", {}, True),
    ("significant_exposure", low_risk_case(exposure_type="intact_skin"), False),
    ("hiv_pep", low_risk_case(source__hiv="positive"), True),
    ("hiv_pep", low_risk_case(source__hiv=None, source__risk_factors=["injecting_drug_use"]), True),
    ("hiv_pep", low_risk_case(source__hiv="positive", exposure_type="unknown", fluid="unknown"), True),
    ("hiv_pep", low_risk_case(source__hiv="positive", occurred_at="yesterday-ish"), True),
    ("hiv_pep", low_risk_case(source__hiv="negative", source__risk_factors=["msm"]), False),
    ("hiv_pep", low_risk_case(source__hiv="negative", source__risk_factors=["known_viraemic"]), False),
    ("hiv_pep", low_risk_case(source__hiv="unknown", source__risk_factors=None), False),
    ("hiv_pep", low_risk_case(source__hiv="positive", occurred_at=ago(73)), False),
    ("hiv_pep", low_risk_case(source__hiv="positive", fluid="low_risk", device__visible_blood=False), False),
    ("hiv_pep_window_closed", low_risk_case(source__hiv="positive", occurred_at=ago(73)), True),
    ("hiv_pep_window_closed", low_risk_case(source__hiv="positive", occurred_at=ago(72)), False),
    ("hiv_pep_window_closed", low_risk_case(source__hiv="positive", occurred_at=None), False),
    ("hiv_pep_window_closed", low_risk_case(occurred_at=ago(100)), False),
    ("hbv_vaccine", low_risk_case(source__hbv="positive", recipient__hbv_status="unvaccinated"), True),
    ("hbv_vaccine", low_risk_case(source__hbv="unknown", recipient__hbv_status="partial"), True),
    ("hbv_vaccine", low_risk_case(source__hbv="unknown", recipient__hbv_status="non_responder"), False),  # HBIG instead
    ("hbv_vaccine",  # unidentified source
     low_risk_case(source__hbv="negative", source__identified=False, recipient__hbv_status="unvaccinated"), True),
    ("hbv_vaccine", low_risk_case(source__hbv="positive", recipient__hbv_status=None), True),
    ("hbv_vaccine", low_risk_case(source__hbv="positive", recipient__hbv_status="responder"), False),
    ("hbv_vaccine", low_risk_case(recipient__hbv_status="unvaccinated"), False),  # source negative
    ("hbv_vaccine",
     low_risk_case(exposure_type="intact_skin", source__hbv="positive", recipient__hbv_status="unvaccinated"), False),
    ("hbig", low_risk_case(source__hbv="positive", recipient__hbv_status="unvaccinated"), True),
    ("hbig", low_risk_case(source__hbv="positive", recipient__hbv_status="partial"), True),
    ("hbig", low_risk_case(source__hbv="positive", recipient__hbv_status="non_responder"), True),
    ("hbig", low_risk_case(source__hbv="positive", recipient__hbv_status="unknown"), True),
    ("hbig", low_risk_case(source__hbv="positive", recipient__hbv_status="responder"), False),
    ("hbig", low_risk_case(source__hbv="unknown", recipient__hbv_status="unvaccinated"), False),
    ("hbig", low_risk_case(recipient__hbv_status="non_responder"), False),  # source negative
    ("hbig_non_responder_unknown_source",
     low_risk_case(source__hbv="unknown", recipient__hbv_status="non_responder"), True),
    ("hbig_non_responder_unknown_source",
     low_risk_case(source__hbv=DELETE, recipient__hbv_status="non_responder"), True),
    ("hbig_non_responder_unknown_source",
     low_risk_case(source__identified=False, recipient__hbv_status="non_responder"), True),  # unidentified: unknown
    ("hbig_non_responder_unknown_source",
     low_risk_case(source__hbv="unknown", recipient__hbv_status="unvaccinated"), False),
    ("hbig_non_responder_unknown_source", low_risk_case(source__hbv="unknown", recipient__hbv_status="unknown"), False),
    ("hbig_non_responder_unknown_source",
     low_risk_case(source__hbv="positive", recipient__hbv_status="non_responder"), False),
    ("hbig_non_responder_unknown_source", low_risk_case(recipient__hbv_status="non_responder"), False),
    ("hbig_non_responder_unknown_source",
     low_risk_case(source__hbv="unknown", recipient__hbv_status="non_responder", exposure_type="intact_skin"), False),
    ("hbv_booster_check", low_risk_case(source__hbv="positive"), True),
    ("hbv_booster_check", low_risk_case(source__hbv="unknown"), True),  # Green Book: whatever the source
    ("hbv_booster_check", low_risk_case(), True),
    ("hbv_booster_check", low_risk_case(source__hbv="positive", recipient__hbv_status="unvaccinated"), False),
    ("hbv_booster_check", low_risk_case(source__hbv="positive", exposure_type="intact_skin"), False),
    ("hbv_negative_source", low_risk_case(recipient__hbv_status="unvaccinated"), True),
    ("hbv_negative_source", low_risk_case(recipient__hbv_status="non_responder"), True),
    ("hbv_negative_source", low_risk_case(recipient__hbv_status=None), True),
    ("hbv_negative_source", low_risk_case(), False),  # responder
    ("hbv_negative_source", low_risk_case(source__hbv="unknown", recipient__hbv_status="unvaccinated"), False),
    ("hbv_negative_source", low_risk_case(source__identified=False, recipient__hbv_status="unvaccinated"), False),
    ("human_bite", low_risk_case(device={"kind": "other", "bite": True}), True),
    ("human_bite", low_risk_case(device={"kind": "other", "bite": True}, fluid="low_risk"), True),
    ("human_bite", {"device": {"bite": True}}, True),
    ("human_bite", low_risk_case(device={"kind": "other", "bite": True}, exposure_type="intact_skin"), False),
    ("human_bite", low_risk_case(device={"kind": "other", "bite": None}), False),
    ("human_bite", low_risk_case(device={"kind": "other", "bite": "yes"}), False),  # only a real True counts
    ("human_bite", low_risk_case(), False),
    ("hcv_followup", low_risk_case(source__hcv="positive"), True),
    ("hcv_followup", low_risk_case(source__hcv="unknown"), True),
    ("hcv_followup", low_risk_case(source__hcv=DELETE), True),
    ("hcv_followup", low_risk_case(), False),
    ("hcv_followup", low_risk_case(source__hcv="positive", device__used=False), False),
    ("nothing_known", {}, True),
    ("nothing_known", {"exposure_type": "unknown", "fluid": "unknown"}, True),
    ("nothing_known", low_risk_case(exposure_type="unknown"), False),  # blood is known
    ("nothing_known", {"exposure_type": "percutaneous"}, False),
    ("pregnant_recipient", low_risk_case(recipient__pregnant=True), True),
    ("pregnant_recipient", low_risk_case(recipient__breastfeeding=True), True),
    ("pregnant_recipient", low_risk_case(recipient__pregnant=None, recipient__breastfeeding=None), False),
    ("pregnant_recipient", low_risk_case(recipient__pregnant=True, exposure_type="intact_skin"), False),
    ("time_in_future", low_risk_case(occurred_at=ago(minutes=-11)), True),
    ("time_in_future", low_risk_case(occurred_at=ago(minutes=-9)), False),
    ("time_in_future", low_risk_case(occurred_at=None), False),
]


@pytest.mark.parametrize("rule_id, answers, fires", FIRES, ids=[f"{r}-{i}" for i, (r, _, _) in enumerate(FIRES)])
def test_rule_fires_exactly_where_it_should(rule_id, answers, fires):
    assert (rule_id in decide(answers)["rules_fired"]) is fires


def test_every_rule_in_the_file_is_exercised_both_ways():
    ids = {r.id for r in load_sharps_rules().rules}
    fired = {r for r, _, f in FIRES if f}
    not_fired = {r for r, _, f in FIRES if not f}
    assert fired == ids
    assert not_fired == ids - {"first_aid", "report_and_record"}  # these two always fire


def test_only_always_rules_significant_exposure_and_booster_check_for_the_baseline_case():
    assert decide(low_risk_case())["rules_fired"] == [
        "first_aid", "significant_exposure", "hbv_booster_check", "report_and_record"]


# --- time boundaries -------------------------------------------------------------

@pytest.mark.parametrize(
    "occurred_at, urgency, pep_window_open, hiv_code",
    [
        (ago(0), "emergency", True, "hiv_pep_within_24h"),
        (ago(24), "emergency", True, "hiv_pep_within_24h"),
        (ago(24, 1), "emergency", True, "hiv_pep_24_to_72h"),
        (ago(72), "emergency", True, "hiv_pep_24_to_72h"),  # exactly 72 h: still open
        (ago(72, 1), "urgent", False, "hiv_pep_window_closed"),
        (ago(500), "urgent", False, "hiv_pep_window_closed"),
        (None, "emergency", None, "hiv_pep_time_unknown"),
        ("not a time", "emergency", None, "hiv_pep_time_unknown"),
        ("2026-11-23", "emergency", None, "hiv_pep_time_unknown"),  # a date alone is not a time
        (ago(minutes=-11), "emergency", None, "hiv_pep_time_unknown"),  # future: unknown
        (ago(minutes=-5), "emergency", True, "hiv_pep_within_24h"),  # small skew: just now
    ],
)
def test_hiv_pep_time_boundaries(occurred_at, urgency, pep_window_open, hiv_code):
    decision = decide(low_risk_case(source__hiv="positive", occurred_at=occurred_at))
    assert decision["urgency"] == urgency
    assert decision["pep_window_open"] is pep_window_open
    assert decision["go_to_emergency_department"] is (urgency == "emergency")
    hiv_codes = [c for c in codes(decision) if c.startswith("hiv_pep") and c != "hiv_pep_clinician_decides"]
    assert hiv_codes == [hiv_code]
    if urgency == "emergency":
        assert "hiv_pep_clinician_decides" in codes(decision)


@pytest.mark.parametrize(
    "occurred_at, hbig_code",
    [
        (ago(1), "hbig_within_48h"),
        (ago(48), "hbig_within_48h"),
        (ago(48, 1), "hbig_48h_to_7d"),
        (ago(168), "hbig_48h_to_7d"),
        (ago(168, 1), "hbig_window_passed"),
        (None, "hbig_time_unknown"),
        (ago(minutes=-30), "hbig_time_unknown"),
    ],
)
def test_hbig_time_boundaries(occurred_at, hbig_code):
    decision = decide(low_risk_case(source__hbv="positive", recipient__hbv_status="unvaccinated",
                                    occurred_at=occurred_at))
    assert [c for c in codes(decision) if c.startswith("hbig")] == [hbig_code]
    assert decision["urgency"] == "urgent" and decision["page_on_call"]


@pytest.mark.parametrize(
    "occurred_at, expected",
    [
        (ago(72), 72.0),
        (ago(1, 12), 1.2),
        (NOW - timedelta(hours=2), 2.0),  # a datetime, not a string
        ((NOW - timedelta(hours=3)).replace(tzinfo=None), 3.0),  # naive is taken as UTC
        ((NOW - timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M:%SZ"), 4.0),
        ("2026-11-23T14:00:00+01:00", 2.0),  # offsets are honoured
        (ago(minutes=-5), 0.0),
        (ago(minutes=-11), None),
        (12345, None),
        ("", None),
        ({"when": "now"}, None),
    ],
)
def test_hours_since_exposure(occurred_at, expected):
    assert decide(low_risk_case(occurred_at=occurred_at))["hours_since_exposure"] == expected


def test_naive_now_is_taken_as_utc():
    assert decide(low_risk_case(), now=NOW.replace(tzinfo=None)) == decide(low_risk_case())


def test_parse_occurred_at_never_raises_on_junk():
    for junk in ["2026-13-45T99:99", "0000-00-00T00:00", "T", None, [], 3.5, b"2026"]:
        assert parse_occurred_at(junk) is None


# --- advice content --------------------------------------------------------------

@pytest.mark.parametrize(
    "exposure_type, expected",
    [
        ("percutaneous", ["first_aid_wound"]),
        ("non_intact_skin", ["first_aid_wound"]),
        ("mucocutaneous", ["first_aid_splash"]),
        ("intact_skin", ["first_aid_intact_skin"]),
        ("unknown", ["first_aid_wound", "first_aid_splash"]),
        (DELETE, ["first_aid_wound", "first_aid_splash"]),
        ("PERCUTANEOUS", ["first_aid_wound"]),  # case is forgiven
    ],
)
def test_first_aid_comes_first_and_fits_the_exposure(exposure_type, expected):
    decision = decide(low_risk_case(exposure_type=exposure_type))
    assert codes(decision)[: len(expected)] == expected
    assert [c for c in codes(decision) if c.startswith("first_aid")] == expected
    assert decision["rules_fired"][0] == "first_aid"


def test_first_aid_text_says_the_key_steps():
    texts = " ".join(a["text"].lower() for a in decide({})["advice"][:2])
    for phrase in ["bleed", "running water", "soap", "scrub", "suck", "waterproof", "saline", "contact lenses",
                   "swallow"]:
        assert phrase in texts


@pytest.mark.parametrize(
    "answers, expected_reasons",
    [
        (low_risk_case(exposure_type="intact_skin"), ["low_risk_intact_skin"]),
        (low_risk_case(fluid="low_risk", device__visible_blood=False), ["low_risk_fluid"]),
        (low_risk_case(device__used=False), ["low_risk_clean_sharp"]),
    ],
)
def test_not_significant_explains_why_and_promises_follow_up(answers, expected_reasons):
    decision = decide(answers)
    assert [c for c in codes(decision) if c.startswith("low_risk_")] == expected_reasons
    assert "oh_follow_up_next_working_day" in codes(decision)
    assert "report_to_manager" in codes(decision)


@pytest.mark.parametrize(
    "changes, riddor",
    [
        ({"source__hiv": "positive"}, True),
        ({"source__hbv": "positive"}, True),
        ({"source__hcv": "positive"}, True),
        ({"source__hiv": "positive", "source__identified": None}, True),
        ({"source__hiv": "positive", "source__risk_factors": ["known_viraemic"]}, True),
        # Risk factors say the source might carry a virus, never that it does.
        ({"source__risk_factors": ["known_viraemic"], "source__hiv": "unknown"}, False),
        ({"source__risk_factors": ["known_viraemic"], "source__hiv": DELETE}, False),
        ({}, False),
        ({"source__hiv": "unknown", "source__risk_factors": ["msm"]}, False),  # suspected is not known
        ({"source__hiv": "unknown", "source__hbv": "unknown", "source__hcv": "unknown"}, False),
        ({"source__hbv": "positive", "source__identified": False}, False),  # no known source, no known status
        ({"source__hiv": "positive", "exposure_type": "intact_skin"}, False),
    ],
)
def test_riddor_advice_only_for_a_known_infected_source(changes, riddor):
    decision = decide(low_risk_case(**changes))
    assert ("riddor_dangerous_occurrence" in codes(decision)) is riddor
    assert "report_to_manager" in codes(decision)


def test_advice_sources_name_the_guidance():
    decision = decide(low_risk_case(source__hiv="positive", source__hbv="positive",
                                    recipient__hbv_status="unvaccinated", recipient__pregnant=True))
    by_code = {a["code"]: a["source"] for a in decision["advice"]}
    assert "BHIVA/BASHH" in by_code["hiv_pep_within_24h"]
    assert "Green Book chapter 18" in by_code["hbv_vaccine_urgent"]
    assert "Green Book chapter 18" in by_code["hbig_within_48h"]
    assert "Sharp Instruments in Healthcare" in by_code["report_to_manager"]
    assert "RIDDOR" in by_code["riddor_dangerous_occurrence"]


def test_hiv_pep_window_closed_says_no_pep_but_testing_matters():
    decision = decide(low_risk_case(source__hiv="positive", occurred_at=ago(80)))
    text = next(a["text"] for a in decision["advice"] if a["code"] == "hiv_pep_window_closed")
    assert "72 hours" in text and "testing" in text


# --- derived facts ---------------------------------------------------------------

@pytest.mark.parametrize(
    "changes, fact, value",
    [
        ({}, "exposure", "significant"),
        ({"exposure_type": "unknown"}, "exposure", "possibly_significant"),
        ({"fluid": "unknown", "device__visible_blood": None}, "fluid_risk", "unknown"),
        ({"fluid": "unknown", "device__visible_blood": True}, "fluid_risk", "high"),
        ({"fluid": "low_risk", "device__visible_blood": True}, "fluid_risk", "high"),
        ({"fluid": "blood_stained"}, "fluid_risk", "high"),
        ({"fluid": "high_risk_other"}, "fluid_risk", "high"),
        ({"fluid": "semen??"}, "fluid_risk", "high"),  # unrecognised fluid, blood visible on device
        # a splash is never a clean sharp
        ({"device__used": False, "exposure_type": "mucocutaneous"}, "clean_sharp", False),
        ({"device__used": False, "device__kind": "none"}, "clean_sharp", False),
        ({"device__used": False}, "clean_sharp", True),
        ({"source__hiv": "positive"}, "hiv_risk", "positive"),
        ({"source__hiv": "unknown", "source__risk_factors": ["other"]}, "hiv_risk", "suspected"),
        ({"source__hiv": "unknown", "source__risk_factors": ["not_a_factor"]}, "hiv_risk", "unknown_source"),
        ({"source__hiv": "negative", "source__identified": False}, "hiv_risk", "unknown_source"),
        ({"source": None}, "hiv_risk", "unknown_source"),
        ({"source__hbv": "positive", "source__identified": False}, "hbv_risk", "positive"),
        ({"source__hcv": "Negative"}, "hcv_risk", "negative"),
        ({"recipient__hbv_status": "non-responder"}, "recipient_hbv_status", "non_responder"),
        ({"recipient": "responder"}, "recipient_protected", False),
    ],
)
def test_derived_facts(changes, fact, value):
    facts = derive_sharps_facts(low_risk_case(**changes), now=NOW).as_dict()
    assert facts[fact] == value


def test_decision_is_deterministic_and_does_not_touch_its_input():
    answers = low_risk_case(source__hiv="positive", recipient__pregnant=True)
    before = copy.deepcopy(answers)
    first, second = decide(answers), decide(answers)
    assert first == second and answers == before


def test_rules_fired_follow_file_order():
    order = [r.id for r in load_sharps_rules().rules]
    fired = decide(low_risk_case(source__hiv="positive", source__hbv="positive", source__hcv="positive",
                                 recipient__hbv_status="unvaccinated", recipient__pregnant=True))["rules_fired"]
    assert fired == sorted(fired, key=order.index)


def test_an_explicit_ruleset_is_used():
    rules = load_sharps_rules("sharps-2026.11.1")
    assert decide_sharps({}, now=NOW, ruleset=rules).rule_version == "sharps-2026.11.1"
