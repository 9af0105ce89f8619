"""Pure triage rules for the helpline: no web framework, database, network or clock.

Callers pass `now`; rule files in rules/, and the bank holidays (the `holidays` package plus the
service closures in calendars/), are loaded lazily and cached.
"""
from api.triage.bank_holidays import BankHolidayError, BankHolidays, load_bank_holidays
from api.triage.crisis import contains_crisis_words
from api.triage.manager import ManagerDecision, decide_manager
from api.triage.ruleset import (
    URGENCY_ORDER,
    RuleSet,
    RuleSetError,
    load_manager_rules,
    load_ruleset,
    load_sharps_rules,
    raise_only,
)
from api.triage.sharps import SharpsDecision, decide_sharps

__all__ = [
    "URGENCY_ORDER",
    "BankHolidayError",
    "BankHolidays",
    "ManagerDecision",
    "RuleSet",
    "RuleSetError",
    "SharpsDecision",
    "contains_crisis_words",
    "decide_manager",
    "decide_sharps",
    "load_bank_holidays",
    "load_manager_rules",
    "load_ruleset",
    "load_sharps_rules",
    "raise_only",
]
