"""Manager-line triage: crisis, referral routing and urgency, clinician requests.

Pure: the caller passes `now`; rules and working hours come from YAML.

Crisis words (api/triage/crisis.py) in the request or any answer are the crisis
route. Words about the past that nobody places as the writer's ("she took an
overdose last year") are not: the fact `risk_history` lets a rule flag the
request to a clinician while the referral goes on. When either was read, the
decision records the crisis lexicon version that read it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Mapping

from api.triage.crisis import load_crisis_lexicon
from api.triage.facts import ManagerFacts, derive_manager_facts
from api.triage.ruleset import Advice, RuleSet, load_manager_rules
from api.triage.working_hours import page_not_before

# Only reachable with a rule file that sets no tier: a person still looks.
DEFAULT_URGENCY = "urgent"


@dataclass(frozen=True)
class ManagerDecision:
    urgency: str
    route: str | None  # "nurse" | "physician" for referrals, else None
    page_on_call: bool
    page_not_before: datetime | None  # when the page may go out; None = no page
    advice: tuple[Advice, ...]
    rules_fired: tuple[str, ...]
    rule_version: str
    facts: ManagerFacts = field(compare=False, repr=False)
    # The crisis word list (lexicon/crisis.yml) in force when the request was a crisis or
    # named past self-harm: which list read the words is recorded with the decision.
    crisis_lexicon_version: str | None = None

    def to_dict(self) -> dict[str, Any]:
        result = {
            "urgency": self.urgency,
            "route": self.route,
            "page_on_call": self.page_on_call,
            "page_not_before": self.page_not_before.isoformat() if self.page_not_before else None,
            "rules_fired": list(self.rules_fired),
            "rule_version": self.rule_version,
            "advice": [a.to_dict() for a in self.advice],
        }
        if self.crisis_lexicon_version:
            result["crisis_lexicon_version"] = self.crisis_lexicon_version
        return result


def decide_manager(
    kind: str,
    answers: Mapping[str, Any] | None,
    *,
    now: datetime,
    text: str | None = None,
    ruleset: RuleSet | None = None,
) -> ManagerDecision:
    """Triage a manager-line request (kind: referral, advice or crisis). Never raises on odd answers."""
    rules = ruleset if ruleset is not None else load_manager_rules()
    if rules.line != "manager":
        raise ValueError(f"decide_manager needs a manager rule set, got {rules.version}")
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    facts = derive_manager_facts(kind, answers, text=text, physician_topics=rules.params["physician_topics"])
    result = rules.evaluate(facts.as_dict())
    urgency = result.urgency or DEFAULT_URGENCY
    page = "page_on_call" in result.flags or urgency != "routine"
    if not page:
        not_before = None
    elif "page_any_time" in result.flags:
        not_before = now
    else:
        not_before = page_not_before(now, rules.working_hours)
    return ManagerDecision(
        urgency=urgency,
        route=result.route,
        page_on_call=page,
        page_not_before=not_before,
        advice=result.advice,
        rules_fired=result.rules_fired,
        rule_version=rules.version,
        facts=facts,
        crisis_lexicon_version=load_crisis_lexicon().version if (facts.crisis or facts.risk_history) else None,
    )
