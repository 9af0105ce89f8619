"""Properties of sharps triage: more risk never means a lower tier; odd input never raises."""
from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from api.triage import URGENCY_ORDER, decide_sharps

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=timezone.utc)
MISSING = object()  # a key left out of the answers altogether

ODD = st.one_of(st.none(), st.just(MISSING), st.text(max_size=6), st.integers(-2, 2), st.booleans())


def field(*values: Any) -> st.SearchStrategy:
    """A contract value, or null / missing / an odd string or number."""
    return st.one_of(st.sampled_from(values), ODD)


def drop_missing(d: dict) -> dict:
    return {k: v for k, v in d.items() if v is not MISSING}


flag = field(True, False)
status = field("positive", "negative", "unknown")

occurred_at = st.one_of(
    st.floats(min_value=-2, max_value=400, allow_nan=False).map(lambda h: (NOW - timedelta(hours=h)).isoformat()),
    st.sampled_from([24, 48, 72, 168]).map(lambda h: (NOW - timedelta(hours=h)).isoformat()),
    st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 1, 1)),  # naive
    ODD,
)

answers_strategy = st.fixed_dictionaries(
    {
        "exposure_type": field("percutaneous", "mucocutaneous", "non_intact_skin", "intact_skin", "unknown"),
        "fluid": field("blood", "blood_stained", "high_risk_other", "low_risk", "unknown"),
        "device": st.one_of(
            st.fixed_dictionaries({
                "kind": field("hollow_bore_needle", "solid_needle", "scalpel", "lancet", "other", "none", "unknown"),
                "used": flag, "in_vein_or_artery": flag, "visible_blood": flag, "deep": flag, "gloves": flag,
                "bite": flag,
            }).map(drop_missing),
            ODD,
        ),
        "source": st.one_of(
            st.fixed_dictionaries({
                "identified": flag, "hiv": status, "hbv": status, "hcv": status,
                "risk_factors": st.one_of(
                    st.lists(st.sampled_from(["injecting_drug_use", "high_prevalence_country", "msm",
                                              "known_viraemic", "other", "???"]), max_size=3),
                    ODD,
                ),
            }).map(drop_missing),
            ODD,
        ),
        "recipient": st.one_of(
            st.fixed_dictionaries({
                "hbv_status": field("responder", "non_responder", "partial", "unvaccinated", "unknown"),
                "pregnant": flag, "breastfeeding": flag, "medicines": ODD,
            }).map(drop_missing),
            ODD,
        ),
        "occurred_at": occurred_at,
        "first_aid_done": flag,
        "incident_form_done": flag,
    }
).map(drop_missing)


def rank(decision) -> int:
    return URGENCY_ORDER.index(decision.urgency)


def set_path(answers: dict, path: str, value: Any) -> dict:
    """A copy of answers with one (possibly nested) field set or, for MISSING, removed."""
    out = copy.deepcopy(answers)
    target = out
    *parents, leaf = path.split(".")
    for key in parents:
        if not isinstance(target.get(key), dict):
            target[key] = {}
        target = target[key]
    if value is MISSING:
        target.pop(leaf, None)
    else:
        target[leaf] = value
    return out


# (name, path, less risky value, more risky value): each makes the situation
# worse (or no better) while everything else, including the time, stays put.
RISK_STEPS = [
    ("hiv unknown -> positive", "source.hiv", "unknown", "positive"),
    ("hiv missing -> positive", "source.hiv", MISSING, "positive"),
    ("hiv null -> positive", "source.hiv", None, "positive"),
    ("hiv negative -> unknown", "source.hiv", "negative", "unknown"),
    ("hbv unknown -> positive", "source.hbv", "unknown", "positive"),
    ("hbv negative -> positive", "source.hbv", "negative", "positive"),
    ("hcv unknown -> positive", "source.hcv", "unknown", "positive"),
    ("hcv negative -> unknown", "source.hcv", "negative", "unknown"),
    ("source identified -> not identified", "source.identified", True, False),
    ("fluid low_risk -> blood", "fluid", "low_risk", "blood"),
    ("fluid low_risk -> unknown", "fluid", "low_risk", "unknown"),
    ("intact_skin -> percutaneous", "exposure_type", "intact_skin", "percutaneous"),
    ("intact_skin -> unknown", "exposure_type", "intact_skin", "unknown"),
    ("used False -> True", "device.used", False, True),
    ("used False -> None", "device.used", False, None),
    ("used False -> missing", "device.used", False, MISSING),
    ("visible_blood False -> True", "device.visible_blood", False, True),
    ("visible_blood None -> True", "device.visible_blood", None, True),
    ("bite missing -> True", "device.bite", MISSING, True),
    ("bite False -> True", "device.bite", False, True),
    ("hbv_status responder -> unknown", "recipient.hbv_status", "responder", "unknown"),
    ("hbv_status responder -> unvaccinated", "recipient.hbv_status", "responder", "unvaccinated"),
]


def assert_not_lower(before: dict, after: dict, label: str) -> None:
    d_before = decide_sharps(before, now=NOW)
    d_after = decide_sharps(after, now=NOW)
    assert rank(d_after) >= rank(d_before), (label, d_before.urgency, d_after.urgency, before, after)
    assert d_after.page_on_call >= d_before.page_on_call, label
    assert d_after.go_to_emergency_department >= d_before.go_to_emergency_department, label


@settings(max_examples=400, deadline=None)
@given(answers=answers_strategy, step=st.sampled_from(RISK_STEPS))
def test_more_risk_never_lowers_the_tier(answers, step):
    label, path, lower, higher = step
    assert_not_lower(set_path(answers, path, lower), set_path(answers, path, higher), label)


@settings(max_examples=300, deadline=None)
@given(
    answers=answers_strategy,
    existing=st.one_of(st.none(), st.lists(st.sampled_from(["msm", "other", "high_prevalence_country"]), max_size=2)),
    factor=st.sampled_from(["injecting_drug_use", "high_prevalence_country", "msm", "known_viraemic", "other"]),
)
def test_adding_a_risk_factor_never_lowers_the_tier(answers, existing, factor):
    before = set_path(answers, "source.risk_factors", existing)
    after = set_path(answers, "source.risk_factors", (existing or []) + [factor])
    assert_not_lower(before, after, f"add {factor}")


json_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12),
    st.datetimes(timezones=st.one_of(st.none(), st.timezones())),
)
json_like = st.recursive(
    json_leaf,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.text(max_size=8), children, max_size=4)),
    max_leaves=20,
)
contract_keys = st.sampled_from(["exposure_type", "fluid", "device", "source", "recipient", "occurred_at",
                                 "used", "hiv", "risk_factors", "hbv_status"])
odd_answers = st.one_of(
    json_like,
    st.dictionaries(st.one_of(contract_keys, st.text(max_size=8)), json_like, max_size=8),
    answers_strategy,
)
any_now = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.timezones())


def check_invariants(decision) -> None:
    d = decision.to_dict()
    json.dumps(d)
    assert d["urgency"] in URGENCY_ORDER
    assert d["rules_fired"][0] == "first_aid" and d["advice"][0]["code"].startswith("first_aid")
    assert "report_and_record" in d["rules_fired"]
    # Unknown is never routine: routine only with a positively low-risk exposure.
    assert (d["urgency"] == "routine") == ("not_significant" in d["rules_fired"])
    assert d["page_on_call"] == (d["urgency"] != "routine")
    # Emergency and the trip to A&E come only from the HIV PEP rule.
    assert (d["urgency"] == "emergency") == d["go_to_emergency_department"] == ("hiv_pep" in d["rules_fired"])
    hours = d["hours_since_exposure"]
    assert (hours is None) == (d["pep_window_open"] is None)
    if hours is not None:
        assert hours >= 0


@settings(max_examples=500, deadline=None)
@given(answers=odd_answers, now=any_now)
def test_never_raises_on_odd_input_and_keeps_its_invariants(answers, now):
    check_invariants(decide_sharps(answers, now=now))


@settings(max_examples=200, deadline=None)
@given(answers=answers_strategy)
def test_is_deterministic(answers):
    snapshot = copy.deepcopy(answers)
    first = decide_sharps(answers, now=NOW)
    second = decide_sharps(copy.deepcopy(answers), now=NOW)
    assert first.to_dict() == second.to_dict()
    assert answers == snapshot  # input untouched
    check_invariants(first)

