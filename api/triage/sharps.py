"""Sharps and splash triage: answers in, a decision out (the contract's triage reply).

Pure: the caller passes `now`; the rules come from a versioned YAML file.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

from api.triage.facts import SharpsFacts, derive_sharps_facts
from api.triage.ruleset import Advice, RuleSet, load_sharps_rules

# If no rule sets a tier (only possible with a broken rule file) the case is
# still looked at by a person: unknown is never routine.
DEFAULT_URGENCY = "urgent"


@dataclass(frozen=True)
class SharpsDecision:
    urgency: str
    go_to_emergency_department: bool
    page_on_call: bool
    pep_window_open: bool | None
    hours_since_exposure: float | None
    advice: tuple[Advice, ...]
    rules_fired: tuple[str, ...]
    rule_version: str
    facts: SharpsFacts = field(compare=False, repr=False)  # for audit and debugging, not in the reply

    def to_dict(self) -> dict[str, Any]:
        return {
            "urgency": self.urgency,
            "go_to_emergency_department": self.go_to_emergency_department,
            "page_on_call": self.page_on_call,
            "pep_window_open": self.pep_window_open,
            "hours_since_exposure": self.hours_since_exposure,
            "advice": [a.to_dict() for a in self.advice],
            "rules_fired": list(self.rules_fired),
            "rule_version": self.rule_version,
        }


def decide_sharps(answers: Mapping[str, Any], *, now: datetime, ruleset: RuleSet | None = None) -> SharpsDecision:
    """Triage a sharps/splash exposure. Never raises on odd answers."""
    rules = ruleset if ruleset is not None else load_sharps_rules()
    if rules.line != "sharps":
        raise ValueError(f"decide_sharps needs a sharps rule set, got {rules.version}")
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    facts = derive_sharps_facts(
        answers, now=now, future_tolerance=timedelta(minutes=rules.params["future_tolerance_minutes"])
    )
    result = rules.evaluate(facts.as_dict())
    urgency = result.urgency or DEFAULT_URGENCY
    hours = facts.hours_since_exposure
    window = rules.params["pep_window_hours"]
    return SharpsDecision(
        urgency=urgency,
        go_to_emergency_department="go_to_emergency_department" in result.flags,
        # Every urgent or emergency case gets a page, whatever the flags say.
        page_on_call="page_on_call" in result.flags or urgency != "routine",
        pep_window_open=None if hours is None else hours <= window,
        hours_since_exposure=None if hours is None else round(hours, 2),
        advice=result.advice,
        rules_fired=result.rules_fired,
        rule_version=rules.version,
        facts=facts,
    )
