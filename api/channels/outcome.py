"""The web chat's confirmation panel: what a case means for the person, in words. Pure.

The API is the single source of truth: the panel is built from the stored case (its
urgency, decision, status and pages) and `call_by` (api.services.paging.callback_deadline),
never from what the bot happened to say. It carries the case reference and nothing else
about the person: no names, numbers, answers or who was paged.

Promises follow the pages: "will call you" and the deadline only when a page really went
out (`call_by` is not None); a held or missing page promises no call.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")

URGENCY_WORDS = {"emergency": "Emergency", "urgent": "Urgent", "routine": "Routine"}
NOT_ASSESSED = "Not assessed yet"

GO_TO_AE = "Go to A&E now."
PAGED = "The on-call OH practitioner has been paged and will call you."
PAGED_TOO = "The on-call OH practitioner has also been paged and will call you."
ACCEPTED = "An OH practitioner has accepted your case and will call you."
HANDLED = "An OH practitioner is handling your case."
CLOSED = "This case is closed. If something has changed, tell us here or call NHS 111."
NO_PAGE = "Do not wait for a call: if you are worried, go to A&E or call NHS 111 now."
ROUTINE_SHARPS = "The OH team will contact you on the next working day."
ROUTINE_MANAGER = "The OH team will look at this on the next working day."
ASSESSING = "Keep answering the questions so we can tell you what to do next."
CRISIS = "If you are in danger now, call 999. Samaritans are there day and night on 116 123."
HELD = "The on-call OH practitioner will be told at {when}. If you are worried before then, call NHS 111."
DEADLINE = "If nobody has called by {when}, go to A&E or call NHS 111."

# A deadline is a promise while the case waits for (or has just had) a call.
WAITING_STATUSES = {"open", "triaged", "escalated", "acknowledged"}


class PageLike(Protocol):
    status: str
    not_before: datetime | None


class CaseLike(Protocol):
    ref: str
    line: str
    kind: str
    status: str
    urgency: str | None
    decision: dict[str, Any] | None
    pages: Iterable[PageLike]


def london_time(moment: datetime, *, now: datetime) -> str:
    """"14:35" today (London), "09:05 on Tuesday 24 November" on another day."""
    local = moment.astimezone(LONDON)
    text = f"{local:%H:%M}"
    if local.date() != now.astimezone(LONDON).date():
        text += f" on {local:%A} {local.day} {local:%B}"
    return text


def _is_crisis(case: CaseLike) -> bool:
    decision = case.decision or {}
    return case.kind == "crisis" or "crisis" in (decision.get("rules_fired") or [])


def _held_until(case: CaseLike) -> datetime | None:
    held = [p.not_before for p in case.pages if p.status == "scheduled" and p.not_before is not None]
    return min(held) if held else None


def next_steps(case: CaseLike, *, call_by: datetime | None, now: datetime) -> list[str]:
    """What happens next, most important first."""
    paged = call_by is not None
    decision = case.decision or {}
    if case.status == "closed":
        return [CLOSED]
    steps: list[str] = []
    if _is_crisis(case):
        steps.append(CRISIS)
    emergency = case.urgency == "emergency" or bool(decision.get("go_to_emergency_department"))
    if emergency and not _is_crisis(case):
        steps.append(GO_TO_AE)
    if case.status in ("in_progress", "follow_up"):
        steps.append(HANDLED)
    elif paged:
        if case.status == "acknowledged":
            steps.append(ACCEPTED)
        else:
            steps.append(PAGED_TOO if emergency else PAGED)
    elif case.urgency in ("urgent", "emergency"):
        held = _held_until(case)
        if held is not None and not emergency:
            steps.append(HELD.format(when=london_time(held, now=now)))
        elif not emergency:
            steps.append(NO_PAGE)
    elif case.urgency == "routine":
        steps.append(ROUTINE_MANAGER if case.line == "manager" else ROUTINE_SHARPS)
    else:
        steps.append(ASSESSING)
    return steps


def panel(case: CaseLike, *, call_by: datetime | None, now: datetime) -> dict[str, Any]:
    """The confirmation panel for one case, as the chat page shows it."""
    deadline = None
    if call_by is not None and case.status in WAITING_STATUSES:
        deadline = DEADLINE.format(when=london_time(call_by, now=now))
    return {
        "ref": case.ref,
        "urgency": case.urgency,
        "urgency_words": URGENCY_WORDS.get(case.urgency or "", NOT_ASSESSED),
        "next_steps": next_steps(case, call_by=call_by, now=now),
        "call_by": call_by.isoformat() if call_by is not None and deadline else None,
        "deadline": deadline,
        "closed": case.status == "closed",
    }
