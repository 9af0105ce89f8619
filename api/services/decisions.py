"""Runs the pure triage rules for a case. The only place the backend asks for a decision."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from api.domain.case_kinds import is_sharps_exposure, kind_for
from api.enums import CaseKind, Line, Urgency
from api.triage import RuleSet, contains_crisis_words, decide_manager, decide_sharps, raise_only


def _free_text(case_answers: dict[str, Any], summary: str | None) -> str:
    texts = [summary or ""]
    texts += [v for v in case_answers.values() if isinstance(v, str)]
    return " ".join(texts)


def _rules(override: RuleSet | None) -> dict[str, RuleSet]:
    # Only an override is passed on: without one the rule function keeps its own default (the
    # newest file), as before, also for a caller that wrapped the function with its own rule set.
    return {"ruleset": override} if override is not None else {}


def decide(
    *, line: str, kind: str | None, answers: dict[str, Any], summary: str | None, now: datetime,
    sharps_rules: RuleSet | None = None, manager_rules: RuleSet | None = None,
) -> dict[str, Any]:
    """The decision for a case's answers at `now`. The rule sets default to the newest shipped
    files; a replay (api/services/replay.py) passes a candidate instead. The crisis rules are
    the manager file's, so `manager_rules` decides a crisis on either line."""
    text = _free_text(answers, summary)
    crisis = kind == CaseKind.crisis or answers.get("crisis") is True or contains_crisis_words(text)
    kind = kind_for(line, kind)  # a sharps-line case with no kind is an exposure
    if is_sharps_exposure(line, kind):
        decision = decide_sharps(answers, now=now, **_rules(sharps_rules)).to_dict()
    else:
        decision = decide_manager(kind, answers, now=now, text=text, **_rules(manager_rules)).to_dict()
    if line == Line.sharps and kind == CaseKind.advice:
        # The sharps line is staffed at every hour: a request for a person there pages now.
        # Office hours belong to the manager line only.
        decision = {**decision, "urgency": raise_only(decision["urgency"], Urgency.urgent),
                    "page_on_call": True, "page_not_before": None}
    if crisis and "crisis" not in decision["rules_fired"]:
        crisis_decision = decide_manager(CaseKind.crisis, {"crisis": True}, now=now, text=text,
                                         **_rules(manager_rules)).to_dict()
        decision = {
            **decision,
            "urgency": raise_only(decision["urgency"], crisis_decision["urgency"]),
            "page_on_call": True,
            "page_not_before": None,
            "rules_fired": [*decision["rules_fired"], *crisis_decision["rules_fired"]],
            "advice": [*crisis_decision["advice"], *decision.get("advice", [])],
            "crisis_rule_version": crisis_decision["rule_version"],
        }
    decision.setdefault("page_not_before", None)
    return decision


def is_escalating(decision: dict[str, Any]) -> bool:
    return bool(decision.get("page_on_call")) and decision.get("urgency") in (Urgency.urgent, Urgency.emergency)
