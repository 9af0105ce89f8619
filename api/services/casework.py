"""What a practitioner does from the case page and the queue, and what the case page shows.

Writes go through the existing services (cases, paging, audit) in the caller's transaction;
the caller commits. Every change writes a case event naming the signed-in person.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.core import phones
from api.domain import case_lifecycle
from api.domain.case_lifecycle import IllegalTransition
from api.enums import CaseStatus, Line
from api.models import Case, CaseEvent, ConversationMessage, Practitioner
from api.services import audit, cases, paging, queue
from api.triage.ruleset import RuleSetError, load_rules

OUTCOMES = ("ed_attended", "pep_started", "bloods_taken", "vaccine_or_hbig_given", "advice_only", "referred_on")
CALLBACK_RESULTS = {
    "reached": "Reached the caller",
    "no_answer": "No answer",
    "left_message": "Left a message",
    "wrong_number": "Wrong or unusable number",
}
# Statuses a person may pick by hand. Escalation belongs to the paging ladder, acknowledgement
# to a page, closing to the close form (it needs an outcome).
SELECTABLE_STATUSES = (CaseStatus.in_progress, CaseStatus.follow_up)
RELEASE_EVENT = "outcome_released"


class CaseworkError(ValueError):
    """A request that cannot be carried out as asked; the message says why, in words for the
    person who asked, and `field` names the part of the request it is about (None: the whole of
    it), so a form can put the message beside that field."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


# --- what the page shows --------------------------------------------------------------------------

def _flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        items: list[tuple[str, Any]] = []
        for key, inner in value.items():
            name = str(key).replace("_", " ")
            items += _flatten(inner, f"{prefix} › {name}" if prefix else name)
        return items
    if isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, list):
        text = ", ".join(str(v).replace("_", " ") for v in value) or "none"
    elif value is None:
        text = "not known"
    elif isinstance(value, str) and _looks_like_time(value):
        text = datetime.fromisoformat(value.replace("Z", "+00:00"))  # shown in local time by the page
    elif isinstance(value, str) and " " not in value:
        text = value.replace("_", " ")  # a code such as hollow_bore_needle
    else:
        text = str(value)
    return [(prefix[:1].upper() + prefix[1:], text)]


def _looks_like_time(value: str) -> bool:
    if len(value) < 16 or value[4:5] != "-" or value[10:11] != "T":
        return False
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return moment.tzinfo is not None


def answer_items(answers: dict[str, Any] | None) -> list[tuple[str, str]]:
    return _flatten(answers or {})


def answer_history(events: list[CaseEvent]) -> list[dict[str, Any]]:
    """Each time answers arrived: when, from whom, and what was said, in readable lines."""
    history = []
    for event in events:
        answers = (event.details or {}).get("answers")
        if event.type in ("case_created", "answers_added") and answers:
            history.append({"at": event.created_at, "actor": event.actor, "first": event.type == "case_created",
                            "items": answer_items(answers)})
    return history


def transcript(session: Session, case: Case) -> list[ConversationMessage]:
    if not case.conversation_id:
        return []
    return list(session.scalars(
        select(ConversationMessage).where(ConversationMessage.conversation_id == case.conversation_id)
        .order_by(ConversationMessage.created_at, ConversationMessage.id)
    ))


def _ruleset(version: str | None):
    if not version or "-" not in version:
        return None
    try:
        return load_rules(version.split("-", 1)[0], version)
    except RuleSetError:
        return None


def fired_rules(decision: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The rules that fired, each with its tier and the guidance it rests on (from its rule file)."""
    if not decision:
        return []
    sets = [s for s in (_ruleset(decision.get("rule_version")), _ruleset(decision.get("crisis_rule_version"))) if s]
    rows = []
    for rule_id in decision.get("rules_fired", []):
        found = next(((rs, r) for rs in sets for r in rs.rules if r.id == rule_id), None)
        if found:
            rs, rule = found
            rows.append({"id": rule_id, "tier": rule.tier, "source": rule.source, "version": rs.version,
                         "flags": sorted(rule.flags)})
        else:
            rows.append({"id": rule_id, "tier": None, "source": "rule not found in its rule file",
                         "version": decision.get("rule_version"), "flags": []})
    return rows


def allowed_targets(case: Case) -> list[str]:
    return [str(s) for s in SELECTABLE_STATUSES if case_lifecycle.can_transition(case.status, s)]


def release(events: list[CaseEvent]) -> CaseEvent | None:
    released = [e for e in events if e.type == RELEASE_EVENT]
    return released[-1] if released else None


def can_release(case: Case) -> bool:
    return case.line == Line.manager and case.organisation_id is not None


@dataclass(frozen=True)
class CallBack:
    """Whom to ring back and on what: `tel` for a tel: link, `shown` for reading (07700 900555)."""

    name: str | None
    tel: str
    shown: str


def call_back(case: Case) -> CallBack | None:
    contact = case.contact or {}
    number = str(contact.get("phone") or "").strip()
    if not number:
        return None
    name = str(contact.get("name") or "").strip() or None
    parsed = phones.parse(number)
    if parsed is None:
        # Not a number we can read: dial what was given, as given.
        tel = "".join(ch for ch in number if ch.isdigit() or ch == "+")
        return CallBack(name=name, tel=tel, shown=number) if tel else None
    return CallBack(name=name, tel=phones.link(parsed), shown=phones.readable(parsed))


@dataclass
class CasePage:
    case: Case
    events: list[CaseEvent]
    history: list[dict[str, Any]]
    answers: list[tuple[str, str]]
    transcript: list[ConversationMessage]
    rules: list[dict[str, Any]]
    advice: list[dict[str, Any]]
    targets: list[str]
    callbacks: list[CaseEvent]
    released: CaseEvent | None
    clock: queue.Clock
    pending_page_id: int | None
    page_status: queue.PageStatusView | None
    summary: str
    call: CallBack | None


def advice_with_said(decision: dict[str, Any] | None, events: list[CaseEvent]) -> list[dict[str, Any]]:
    """The current advice, each item marked with when the person was told it (None: not yet).
    First aid is the bot's opening message, so it counts as said when anything was."""
    said: dict[str, datetime] = {}
    for event in events:
        if event.type == "advice_said":
            for item in (event.details or {}).get("items", []):
                said.setdefault(item.get("code"), event.created_at)
    first = min(said.values()) if said else None
    items = []
    for advice in (decision or {}).get("advice", []):
        code = advice.get("code", "")
        when = said.get(code) or (first if code.startswith("first_aid_") else None)
        items.append({**advice, "said_at": when})
    return items


def case_page(session: Session, case: Case, *, now: datetime, practitioner_id: int | None = None) -> CasePage:
    from api.services.summary import case_summary

    events = audit.events_for(session, case)
    pending = queue.pending_page(case, practitioner_id=practitioner_id)
    return CasePage(
        case=case, events=events, history=answer_history(events), answers=answer_items(case.answers),
        transcript=transcript(session, case), rules=fired_rules(case.decision),
        advice=advice_with_said(case.decision, events), targets=allowed_targets(case),
        callbacks=[e for e in events if e.type == "call_back"], released=release(events),
        clock=queue.case_clock(case, now=now), pending_page_id=pending.id if pending else None,
        page_status=queue.latest_page_status(case), summary=case_summary(case, now=now),
        call=call_back(case),
    )


# --- what a practitioner does ---------------------------------------------------------------------

def _set_owner(session: Session, case: Case, practitioner_id: int, *, actor: str, now: datetime) -> None:
    person = session.get(Practitioner, practitioner_id)
    case.owner = person  # the relationship, so a page rendered from this session shows the owner
    case.owner_id = practitioner_id
    case.updated_at = now
    audit.log_event(session, case, type="owner_set", actor=actor, now=now,
                    description=f"owner set to {person.name if person else practitioner_id}",
                    details={"practitioner_id": practitioner_id})


def acknowledge(session: Session, case: Case, *, by: str, actor: str, now: datetime,
                practitioner_id: int | None = None) -> None:
    """Acknowledge the case's outstanding page as the signed-in person (who then owns the case
    if nobody does)."""
    page = queue.pending_page(case, practitioner_id=practitioner_id)
    if page is None:
        raise CaseworkError(f"{case.ref} has no page waiting for an acknowledgement")
    if practitioner_id is not None and case.owner_id is None:
        _set_owner(session, case, practitioner_id, actor=actor, now=now)
    paging.acknowledge(session, page.id, now=now, by=by)


def take_ownership(session: Session, case: Case, *, by: str, actor: str, now: datetime,
                   practitioner_id: int | None) -> None:
    """"I'll take it": owner, acknowledge any outstanding page, and move the case to in progress."""
    if practitioner_id is None:
        raise CaseworkError("Only an account linked to a practitioner can own a case: "
                            "ask an administrator to link yours")
    if case.status == CaseStatus.closed:
        raise CaseworkError(f"{case.ref} is closed: reopen it first")
    if case.owner_id != practitioner_id:
        _set_owner(session, case, practitioner_id, actor=actor, now=now)
    if queue.pending_page(case, practitioner_id=practitioner_id) is not None:
        acknowledge(session, case, by=by, actor=actor, now=now, practitioner_id=practitioner_id)
    if case.status != CaseStatus.in_progress and case_lifecycle.can_transition(case.status, CaseStatus.in_progress):
        paging.set_status(session, case, CaseStatus.in_progress, now=now, actor=actor)


def add_note(session: Session, case: Case, *, note: str, actor: str, now: datetime) -> None:
    note = note.strip()
    if not note:
        raise CaseworkError("Enter a note", field="note")
    cases.add_note(session, case, note=note[:4000], actor=actor, now=now)


def record_callback(session: Session, case: Case, *, result: str, note: str, actor: str, now: datetime) -> None:
    if result not in CALLBACK_RESULTS:
        raise CaseworkError("Choose what happened when you called back", field="result")
    note = note.strip()[:4000]
    case.updated_at = now
    text = f"call-back: {CALLBACK_RESULTS[result].lower()}" + (f" — {note}" if note else "")
    audit.log_event(session, case, type="call_back", actor=actor, now=now, description=text,
                    details={"result": result, "note": note, "phone": (case.contact or {}).get("phone")})


def change_status(session: Session, case: Case, *, target: str, actor: str, now: datetime) -> None:
    """Move by hand through the allowed transitions only (the page offers no others; this re-checks)."""
    if target not in {str(s) for s in SELECTABLE_STATUSES}:
        if target in {str(s) for s in CaseStatus}:
            raise IllegalTransition(case.status, target)
        raise CaseworkError("Choose a status from the list", field="status")
    case_lifecycle.check_transition(case.status, target)
    cases.change_status(session, case, status=target, actor=actor, now=now)


def close(session: Session, case: Case, *, outcome: str, follow_up_on: date | None, note: str, actor: str,
          now: datetime, today: date) -> None:
    if outcome not in OUTCOMES:
        raise CaseworkError("Choose an outcome", field="outcome")
    if follow_up_on is not None and follow_up_on < today:
        raise CaseworkError("The follow-up date must be today or in the future", field="follow_up_on")
    case_lifecycle.check_transition(case.status, CaseStatus.closed)
    cases.change_status(session, case, status=CaseStatus.closed, actor=actor, now=now, outcome=outcome)
    case.follow_up_on = follow_up_on
    note = note.strip()[:4000]
    audit.log_event(session, case, type="outcome_recorded", actor=actor, now=now,
                    description=f"closed with outcome {outcome.replace('_', ' ')}"
                    + (f", follow-up on {follow_up_on.isoformat()}" if follow_up_on else "")
                    + (f" — {note}" if note else ""),
                    details={"outcome": outcome, "follow_up_on": follow_up_on.isoformat() if follow_up_on else None,
                             "note": note})


def release_outcome(session: Session, case: Case, *, report: str, actor: str, now: datetime) -> None:
    """Release the outcome report to the referring organisation's managers. Only what is written
    here is shown to them: never the answers, transcript or clinical notes."""
    if not can_release(case):
        raise CaseworkError("Only a manager's referral with an organisation has an outcome report to release")
    report = report.strip()
    if not report:
        raise CaseworkError("Write the report the manager will see", field="report")
    case.updated_at = now
    audit.log_event(session, case, type=RELEASE_EVENT, actor=actor, now=now,
                    description="outcome report released to the organisation's managers",
                    details={"report": report[:8000], "outcome": case.outcome})
