"""Concordance, pure: a practitioner's urgency against the rules', counted by rule version."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from itertools import product
from zoneinfo import ZoneInfo

import pytest

from api.domain import concordance
from api.domain.concordance import (
    ReviewedCase,
    UnknownUrgency,
    by_rule_version,
    classify,
    days_waiting,
    review_due_before,
    totals,
    weekly,
)
from api.triage import URGENCY_ORDER

LONDON = ZoneInfo("Europe/London")
MON = datetime(2026, 11, 2, 10, 0, tzinfo=timezone.utc)  # Monday of ISO week 2026-W45


def test_the_order_is_the_rules_order():
    """Higher means what the triage rules mean by it (api.domain may not import api.triage)."""
    assert concordance.URGENCY_ORDER == URGENCY_ORDER == ("routine", "urgent", "emergency")


@pytest.mark.parametrize(("reviewed", "rules", "verdict"), [
    ("urgent", "urgent", "agree"),
    ("emergency", "urgent", "under_triage"),
    ("emergency", "routine", "under_triage"),
    ("urgent", "routine", "under_triage"),
    ("routine", "urgent", "over_triage"),
    ("urgent", "emergency", "over_triage"),
    ("routine", "emergency", "over_triage"),
])
def test_classify(reviewed, rules, verdict):
    assert classify(reviewed, rules) == verdict


def test_classify_follows_the_rules_order_for_every_pair():
    for reviewed, rules in product(URGENCY_ORDER, repeat=2):
        higher = URGENCY_ORDER.index(reviewed) > URGENCY_ORDER.index(rules)
        lower = URGENCY_ORDER.index(reviewed) < URGENCY_ORDER.index(rules)
        assert classify(reviewed, rules) == ("under_triage" if higher else "over_triage" if lower else "agree")


@pytest.mark.parametrize(("reviewed", "rules"), [("critical", "urgent"), ("urgent", None), ("", "routine")])
def test_an_unknown_urgency_is_refused(reviewed, rules):
    with pytest.raises(UnknownUrgency):
        classify(reviewed, rules)


def _row(ref: str, version: str | None, rules: str, reviewed: str, opened: datetime | None = MON) -> ReviewedCase:
    return ReviewedCase(ref=ref, rule_version=version, rules_urgency=rules, urgency=reviewed, opened_at=opened)


ROWS = [
    _row("SH-000003", "sharps-2026.12.1", "urgent", "emergency"),
    _row("SH-000001", "sharps-2026.11.1", "urgent", "urgent"),
    _row("SH-000002", "sharps-2026.11.1", "routine", "urgent"),
    _row("MA-000001", "manager-2026.12.1", "urgent", "routine"),
    _row("SH-000004", "sharps-2026.12.1", "emergency", "emergency"),
    _row("SH-000005", None, "routine", "routine"),
]


def test_counts_by_rule_version_in_version_order_with_the_refs():
    counts = [c.to_dict() for c in by_rule_version(ROWS)]
    assert [c["rule_version"] for c in counts] == ["manager-2026.12.1", "sharps-2026.11.1", "sharps-2026.12.1", None]
    assert counts[0] == {"rule_version": "manager-2026.12.1", "reviewed": 1, "agree": 0, "under_triage": 0,
                         "over_triage": 1, "cases_under_triaged": [], "cases_over_triaged": ["MA-000001"]}
    assert counts[1] == {"rule_version": "sharps-2026.11.1", "reviewed": 2, "agree": 1, "under_triage": 1,
                         "over_triage": 0, "cases_under_triaged": ["SH-000002"], "cases_over_triaged": []}
    assert counts[2] == {"rule_version": "sharps-2026.12.1", "reviewed": 2, "agree": 1, "under_triage": 1,
                         "over_triage": 0, "cases_under_triaged": ["SH-000003"], "cases_over_triaged": []}
    assert counts[3]["reviewed"] == counts[3]["agree"] == 1


def test_totals_add_up():
    t = totals(ROWS).to_dict()
    assert (t["reviewed"], t["agree"], t["under_triage"], t["over_triage"]) == (6, 3, 2, 1)
    assert t["cases_under_triaged"] == ["SH-000002", "SH-000003"]
    assert t["agree"] + t["under_triage"] + t["over_triage"] == t["reviewed"]
    assert by_rule_version([]) == [] and totals([]).reviewed == 0


def test_weekly_fills_the_empty_weeks_between_the_first_and_the_last():
    rows = [_row("SH-1", "v", "urgent", "emergency", MON),
            _row("SH-2", "v", "urgent", "urgent", MON + timedelta(days=6)),
            _row("SH-3", "v", "routine", "urgent", MON + timedelta(days=15)),
            _row("SH-4", "v", "urgent", "urgent", None)]
    assert weekly(rows, LONDON) == [
        {"week": "2026-W45", "reviewed": 2, "under_triage": 1},
        {"week": "2026-W46", "reviewed": 0, "under_triage": 0},
        {"week": "2026-W47", "reviewed": 1, "under_triage": 1},
    ]
    assert weekly([], LONDON) == []


def test_weekly_uses_local_weeks_and_keeps_the_newest():
    # 23:30 UTC on Sunday 28 June 2026 is 00:30 BST on Monday 29 June: the next ISO week in London.
    late = datetime(2026, 6, 28, 23, 30, tzinfo=timezone.utc)
    assert weekly([_row("SH-1", "v", "urgent", "urgent", late)], LONDON)[0]["week"] == "2026-W27"
    assert weekly([_row("SH-1", "v", "urgent", "urgent", late)], ZoneInfo("UTC"))[0]["week"] == "2026-W26"
    spread = [_row(f"SH-{i}", "v", "urgent", "urgent", MON + timedelta(weeks=i)) for i in range(10)]
    kept = weekly(spread, LONDON, max_weeks=4)
    assert [w["week"] for w in kept] == ["2026-W51", "2026-W52", "2026-W53", "2027-W01"]


def test_days_waiting_and_when_a_review_is_due():
    now = MON + timedelta(days=7, hours=1)
    assert days_waiting(MON, now) == 7
    assert days_waiting(MON, MON + timedelta(days=6, hours=23)) == 6
    assert days_waiting(MON + timedelta(hours=1), MON) == 0
    assert review_due_before(now, 7) == MON + timedelta(hours=1)
