"""No advice item is unreachable: every advice code of every CURRENT rule file (each line's
newest version, found at run time, so a new version is checked the moment it is added) is
produced by the line's decide function for some answers in a grid of answer combinations.

An advice item whose condition can never hold (a typo'd combination, a fact value the
derivation never produces, a rule shadowed by another) would silently never be said; this
test names it. If a new rule needs answers the grid does not try, add them to the grid.
"""
from __future__ import annotations

import functools
import itertools
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

import pytest

from api.triage import decide_manager, decide_sharps
from api.triage.facts import FACT_SCHEMAS, MANAGER_FACTS, NUMBER, SHARPS_FACTS, derive_sharps_facts
from api.triage.ruleset import RuleSet, available_versions, load_rules

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=timezone.utc)  # a Monday, inside working hours
MISSING = object()  # leave the key out altogether


def _set(target: dict, key: str, value: Any) -> None:
    if value is not MISSING:
        target[key] = value


def _merge(*parts: dict) -> dict:
    out: dict = {}
    for part in parts:
        for key, value in part.items():
            if isinstance(value, dict) and isinstance(out.get(key), dict):
                out[key] = {**out[key], **value}
            else:
                out[key] = value
    return out


# --- sharps ------------------------------------------------------------------------

SHARPS_EXPOSURE = ["percutaneous", "mucocutaneous", "non_intact_skin", "intact_skin", "unknown", MISSING]
SHARPS_MATERIAL = [
    {"fluid": "blood", "device": {"kind": "hollow_bore_needle", "used": True}},
    {"fluid": "low_risk", "device": {"visible_blood": False}},
    {"fluid": "unknown"},
    {"fluid": "blood", "device": {"kind": "hollow_bore_needle", "used": False}},  # a clean sharp
    {"device": {"kind": "other", "bite": True, "deep": True}},  # a bite that drew blood
    {"fluid": "low_risk", "device": {"kind": "other", "bite": True, "deep": False}},  # broke the skin, no blood
    {"device": {"kind": "other", "bite": True}},  # a bite, bleeding not known
]
SHARPS_SOURCE = [
    {"identified": True, "hiv": "negative", "hbv": "negative", "hcv": "negative", "risk_factors": []},
    {"identified": True, "hiv": "positive", "hbv": "negative", "hcv": "negative"},
    {"identified": True, "hiv": "negative", "hbv": "positive", "hcv": "negative"},
    {"identified": True, "hiv": "negative", "hbv": "negative", "hcv": "positive"},
    {"identified": True, "hiv": "unknown", "hbv": "unknown", "hcv": "unknown", "risk_factors": []},
    {"identified": True, "hiv": "unknown", "risk_factors": ["msm"]},
    {"identified": False},
]
SHARPS_RECIPIENT = [
    {"hbv_status": status, "pregnant": pregnant, "breastfeeding": False}
    for status in ("responder", "non_responder", "partial", "unvaccinated", "unknown")
    for pregnant in (True, False)
]
# Hours ago (negative: in the future); MISSING: no time given.
SHARPS_HOURS_AGO = [1, 30, 60, 100, 200, MISSING, -1]


def sharps_grid() -> Iterator[dict]:
    for exposure, material, source, recipient, hours in itertools.product(
        SHARPS_EXPOSURE, SHARPS_MATERIAL, SHARPS_SOURCE, SHARPS_RECIPIENT, SHARPS_HOURS_AGO
    ):
        answers = _merge(material, {"source": source, "recipient": recipient})
        _set(answers, "exposure_type", exposure)
        if hours is not MISSING:
            answers["occurred_at"] = (NOW - timedelta(hours=hours)).isoformat()
        yield answers


# --- manager -----------------------------------------------------------------------

MANAGER_KINDS = ["referral", "advice", "crisis", "exposure", "something else", None]
# The answer fields the manager facts are read from, with the values worth trying.
MANAGER_FIELDS: dict[str, list[Any]] = {
    "complex": [True, False, MISSING],
    "reason": ["mental_health", "musculoskeletal", "other", MISSING],
    "urgency_requested": ["routine", "urgent", "emergency", MISSING],
    "work_related": [True, False, MISSING],
    "topic": ["ill health retirement", MISSING],
}
# Facts the grid above sets through other answers (or that are derived from several).
_MANAGER_FACTS_COVERED = {"kind", "crisis", "complex", "physician_topic", "needs_physician", "reason",
                          "urgency_requested", "work_related"}


def _manager_fields() -> dict[str, list[Any]]:
    """The fields above, plus one field per manager fact this grid does not know yet, tried
    under the fact's own name with each value it can take (a best guess for a new fact:
    if its answer field has another name, add it to MANAGER_FIELDS)."""
    fields = dict(MANAGER_FIELDS)
    for name, allowed in MANAGER_FACTS.items():
        if name not in _MANAGER_FACTS_COVERED and name not in fields and allowed != NUMBER:
            fields[name] = sorted(allowed, key=str) + [MISSING]
    return fields


def manager_grid() -> Iterator[tuple[Any, dict]]:
    fields = _manager_fields()
    for kind in MANAGER_KINDS:
        for values in itertools.product(*fields.values()):
            answers: dict = {}
            for name, value in zip(fields, values, strict=True):
                _set(answers, name, value)
            yield kind, answers


# --- what each line's current rules can say -------------------------------------------

def current_rulesets() -> list[RuleSet]:
    return [load_rules(line) for line in sorted(FACT_SCHEMAS) if available_versions(line)]


def advice_codes(rules: RuleSet) -> set[str]:
    return {advice.code for rule in rules.rules for advice in rule.advice}


@functools.lru_cache(maxsize=None)
def produced(version: str) -> dict[str, Any]:
    """Each advice code the rules say for some grid answers -> the first such answers."""
    rules = next(r for r in current_rulesets() if r.version == version)
    found: dict[str, Any] = {}
    wanted = advice_codes(rules)
    if rules.line == "sharps":
        for answers in sharps_grid():
            for advice in decide_sharps(answers, now=NOW, ruleset=rules).advice:
                found.setdefault(advice.code, answers)
            if set(found) >= wanted:
                break
    elif rules.line == "manager":
        for kind, answers in manager_grid():
            for advice in decide_manager(kind, answers, now=NOW, ruleset=rules).advice:
                found.setdefault(advice.code, (kind, answers))
            if set(found) >= wanted:
                break
    else:  # pragma: no cover - a new line needs its own grid here
        pytest.fail(f"no answers grid for the {rules.line} line: add one to {__name__}")
    return found


CASES = [(rules.version, code) for rules in current_rulesets() for code in sorted(advice_codes(rules))]


def test_every_line_has_a_current_rule_file_with_advice():
    assert {rules.line for rules in current_rulesets()} == set(FACT_SCHEMAS)
    assert all(advice_codes(rules) for rules in current_rulesets())


@pytest.mark.parametrize("version, code", CASES, ids=[f"{v}:{c}" for v, c in CASES])
def test_advice_code_is_reachable(version, code):
    assert code in produced(version), (
        f"{version}: advice {code!r} is never given for any answers in the grid; "
        f"its condition may never hold, or the grid in {__name__} needs the answers that produce it"
    )


def test_every_produced_code_is_in_its_file():
    # The other direction: the decision never carries a code its rule file does not have.
    for rules in current_rulesets():
        assert set(produced(rules.version)) <= advice_codes(rules), rules.version


def test_sharps_grid_produces_every_value_of_every_fact():
    # Keeps the grid honest: a fact value the grid never produces is a blind spot for the test above.
    seen: dict[str, set] = {name: set() for name, allowed in SHARPS_FACTS.items() if allowed != NUMBER}
    for answers in sharps_grid():
        facts = derive_sharps_facts(answers, now=NOW).as_dict()
        for name in seen:
            seen[name].add(facts[name])
    for name, values in seen.items():
        allowed = set(SHARPS_FACTS[name])
        assert allowed <= values, (name, sorted(map(str, allowed - values)))
