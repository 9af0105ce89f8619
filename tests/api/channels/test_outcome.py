"""The web chat's confirmation panel (api/channels/outcome.py): pure, case in, words out."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from api.channels import outcome

NOW = datetime(2026, 11, 23, 14, 0, tzinfo=timezone.utc)  # a Monday; London is on GMT
SUMMER = datetime(2026, 7, 6, 14, 0, tzinfo=timezone.utc)  # London is on BST (UTC+1)


@dataclass
class Page:
    status: str = "pending"
    not_before: datetime | None = None


@dataclass
class Case:
    ref: str = "SH-000001"
    line: str = "sharps"
    kind: str = "exposure"
    status: str = "escalated"
    urgency: str | None = "urgent"
    decision: dict[str, Any] | None = field(default_factory=dict)
    pages: list[Page] = field(default_factory=list)


def test_emergency_with_a_page_says_go_to_ae_the_page_and_the_deadline():
    case = Case(urgency="emergency", decision={"go_to_emergency_department": True}, pages=[Page()])
    got = outcome.panel(case, call_by=NOW + timedelta(minutes=20), now=NOW)
    assert got == {
        "ref": "SH-000001", "urgency": "emergency", "urgency_words": "Emergency",
        "next_steps": ["Go to A&E now.", "The on-call OH practitioner has also been paged and will call you."],
        "call_by": "2026-11-23T14:20:00+00:00",
        "deadline": "If nobody has called by 14:20, go to A&E or call NHS 111.",
        "closed": False,
    }


def test_urgent_with_a_page_says_the_practitioner_will_call_and_by_when():
    got = outcome.panel(Case(pages=[Page()]), call_by=NOW + timedelta(hours=1), now=NOW)
    assert got["urgency_words"] == "Urgent"
    assert got["next_steps"] == ["The on-call OH practitioner has been paged and will call you."]
    assert got["deadline"] == "If nobody has called by 15:00, go to A&E or call NHS 111."
    assert not any("A&E now" in s for s in got["next_steps"])


@pytest.mark.parametrize("urgency", ["urgent", "emergency"])
def test_no_page_sent_promises_no_call_and_no_deadline(urgency):
    case = Case(status="triaged", urgency=urgency, decision={"go_to_emergency_department": urgency == "emergency"})
    got = outcome.panel(case, call_by=None, now=NOW)
    assert got["deadline"] is None and got["call_by"] is None
    assert not any("call you" in s for s in got["next_steps"])
    if urgency == "emergency":
        assert got["next_steps"] == ["Go to A&E now."]
    else:
        assert got["next_steps"] == [outcome.NO_PAGE]


def test_a_held_page_says_when_the_practitioner_is_told_and_promises_no_call():
    held = datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc)
    case = Case(line="manager", kind="advice", status="triaged", pages=[Page(status="scheduled", not_before=held)])
    got = outcome.panel(case, call_by=None, now=NOW)
    assert got["next_steps"] == ["The on-call OH practitioner will be told at 08:00 on Tuesday 24 November. "
                                 "If you are worried before then, call NHS 111."]
    assert got["deadline"] is None


def test_routine_is_the_next_working_day():
    got = outcome.panel(Case(status="triaged", urgency="routine"), call_by=None, now=NOW)
    assert got["urgency_words"] == "Routine"
    assert got["next_steps"] == ["The OH team will contact you on the next working day."]
    manager = outcome.panel(Case(ref="MA-000001", line="manager", kind="referral", status="triaged",
                                 urgency="routine"), call_by=None, now=NOW)
    assert manager["next_steps"] == ["The OH team will look at this on the next working day."]


def test_not_triaged_yet():
    got = outcome.panel(Case(status="open", urgency=None, decision=None), call_by=None, now=NOW)
    assert got["urgency_words"] == "Not assessed yet" and got["next_steps"] == [outcome.ASSESSING]


def test_accepted_handled_and_closed():
    call_by = NOW + timedelta(minutes=20)
    accepted = outcome.panel(Case(status="acknowledged"), call_by=call_by, now=NOW)
    assert accepted["next_steps"] == [outcome.ACCEPTED] and accepted["deadline"]
    handled = outcome.panel(Case(status="in_progress"), call_by=call_by, now=NOW)
    assert handled["next_steps"] == [outcome.HANDLED] and handled["deadline"] is None
    closed = outcome.panel(Case(status="closed", urgency="emergency"), call_by=call_by, now=NOW)
    assert closed["next_steps"] == [outcome.CLOSED] and closed["deadline"] is None and closed["closed"]


def test_crisis_gives_999_and_samaritans_not_a_and_e_for_the_wound():
    case = Case(kind="crisis", urgency="emergency", decision={"rules_fired": ["crisis"]})
    got = outcome.panel(case, call_by=NOW + timedelta(minutes=20), now=NOW)
    assert got["next_steps"][0] == outcome.CRISIS
    assert "Go to A&E now." not in got["next_steps"]


def test_times_are_london_time_and_name_the_day_when_it_is_not_today():
    assert outcome.london_time(SUMMER + timedelta(minutes=5), now=SUMMER) == "15:05"  # BST
    late = datetime(2026, 11, 23, 23, 50, tzinfo=timezone.utc)
    assert outcome.london_time(late + timedelta(minutes=20), now=late) == "00:10 on Tuesday 24 November"


def test_the_panel_carries_nothing_personal_but_the_reference():
    case = Case(pages=[Page()])
    case.contact = {"name": "Sam Jones", "phone": "+447700900555"}  # type: ignore[attr-defined]
    got = outcome.panel(case, call_by=NOW, now=NOW)
    assert set(got) == {"ref", "urgency", "urgency_words", "next_steps", "call_by", "deadline", "closed"}
    assert "Sam" not in repr(got) and "7700" not in repr(got)
