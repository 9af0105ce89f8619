"""A case names the rules version that decided it: new decisions use the newest manager rules
(manager-2026.11.2 on: bank holidays outside working hours); a decision made under an older version
keeps naming it, and is still explained from that version's file."""
from __future__ import annotations

import functools
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from api.models import Case
from api.services import casework, decisions
from api.triage import decide_manager, load_manager_rules
from tests.api.factories import standard_rota

LONDON = ZoneInfo("Europe/London")
NEWEST = load_manager_rules().version
CLINICIAN_REQUEST = {"line": "manager", "kind": "advice", "answers": {"topic": "fitness", "question": "Can he drive?"}}


@pytest.fixture
def christmas_eve(session, clock):
    clock.now = datetime(2026, 12, 24, 19, 0, tzinfo=LONDON)  # Thursday evening, after hours
    standard_rota(session, now=clock.now)
    return clock


def _page_times(body) -> list[tuple[str, str]]:
    return [(p["status"], p["not_before"]) for p in body["pages"]]


def test_a_new_decision_uses_the_newest_rules_and_waits_past_the_bank_holidays(client, christmas_eve):
    body = client.post("/api/cases", json=CLINICIAN_REQUEST).json()
    assert body["rule_version"] == body["decision"]["rule_version"] == NEWEST
    # Fri 25 Dec and Mon 28 Dec (Boxing Day substitute) are bank holidays: Tuesday 08:00.
    assert body["decision"]["page_not_before"] == "2026-12-29T08:00:00+00:00"
    assert [status for status, _ in _page_times(body)] == ["scheduled"]
    assert datetime.fromisoformat(body["pages"][0]["not_before"]) == datetime(2026, 12, 29, 8, 0, tzinfo=LONDON)


def test_an_older_decision_keeps_naming_its_version(client, session, christmas_eve, monkeypatch):
    # Triaged before manager-2026.11.2 existed: the first rules version decided it.
    monkeypatch.setattr(decisions, "decide_manager",
                        functools.partial(decide_manager, ruleset=load_manager_rules("manager-2026.11.1")))
    body = client.post("/api/cases", json=CLINICIAN_REQUEST).json()
    monkeypatch.undo()
    ref = body["ref"]
    assert body["rule_version"] == "manager-2026.11.1"
    assert body["decision"]["page_not_before"] == "2026-12-25T08:00:00+00:00"  # that version knew no bank holidays

    # Read back later: still the version that decided it, explained from that version's file.
    again = client.get(f"/api/cases/{ref}").json()
    assert again["rule_version"] == again["decision"]["rule_version"] == "manager-2026.11.1"
    case = session.scalar(select(Case).where(Case.ref == ref))
    assert [(r["id"], r["version"]) for r in casework.fired_rules(case.decision)] == [
        ("clinician_request", "manager-2026.11.1")]

    # New answers are a new decision, by the current rules; the audit trail keeps both.
    christmas_eve.advance(minutes=5)
    patched = client.patch(f"/api/cases/{ref}", json={"answers": {"question": "Can he drive a van?"}}).json()
    assert patched["rule_version"] == patched["decision"]["rule_version"] == NEWEST
    assert patched["decision"]["page_not_before"] == "2026-12-29T08:00:00+00:00"
    triaged = [e for e in client.get(f"/api/cases/{ref}/events").json() if e["type"] == "triaged"]
    assert [e["details"]["decision"]["rule_version"] for e in triaged] == ["manager-2026.11.1", NEWEST]
