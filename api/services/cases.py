"""The case log: open, update (re-triage, escalate), look up, annotate, move status.

Callers pass `now`; each public function leaves its changes in the session for the caller
(the route's unit of work) to commit, so an audit event always commits with its change.
"""
from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.core import metrics
from api.core.config import Settings
from api.domain.case_kinds import kind_for
from api.domain.case_lifecycle import OPEN_STATUSES
from api.enums import CaseKind, CaseStatus, Line, PageStatus, Urgency
from api.models import AbuseMark, Case, Organisation
from api.services import abuse, audit, directory, origins, outbox, paging, refs
from api.services.decisions import decide, is_escalating
from api.triage import URGENCY_ORDER, raise_only


class CaseNotFound(LookupError):
    pass


class UnknownOrganisation(ValueError):
    def __init__(self, code: str) -> None:
        super().__init__(f"no organisation with code '{code}'")
        self.code = code


def deep_merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _contact(contact: dict[str, Any] | None) -> dict[str, Any]:
    """Store a call-back number in E.164 when it parses, so pages and ACK replies match it."""
    contact = dict(contact or {})
    phone = contact.get("phone")
    if phone:
        contact["phone"] = paging.normalise_number(phone) or phone
    return contact


def get_by_ref(session: Session, ref: str) -> Case:
    case = session.scalar(select(Case).where(Case.ref == ref.upper()))
    if case is None:
        raise CaseNotFound(ref)
    return case


def latest_for_conversation(session: Session, conversation_id: str) -> Case | None:
    """The conversation's newest case, open or closed."""
    return session.scalar(
        select(Case).where(Case.conversation_id == conversation_id).order_by(Case.id.desc()).limit(1))


def _organisation(session: Session, code: str | None) -> Organisation | None:
    if not code:
        return None
    org = session.scalar(select(Organisation).where(Organisation.code == code.upper()))
    if org is None:
        raise UnknownOrganisation(code)
    return org


# Answer fields in which a person names their workplace in their own words.
WORKPLACE_FIELDS = ("workplace", "organisation_name")


def _match_workplace(session: Session, case: Case, *, now: datetime) -> None:
    """Link the organisation a person named, when it is unambiguous; otherwise say so in
    the audit trail so a practitioner can link it by hand."""
    if case.organisation_id is not None:
        return
    named = next((case.answers.get(f) for f in WORKPLACE_FIELDS if isinstance(case.answers.get(f), str)), None)
    if not named:
        return
    org = directory.match_organisation(session, named)
    if org is None:
        audit.log_event(session, case, type="organisation_unmatched", now=now,
                        description="the workplace given matches no single organisation", details={})
        return
    case.organisation = org
    audit.log_event(session, case, type="organisation_matched", now=now,
                    description=f"workplace matched to {org.code}", details={"code": org.code})


def _from_poster(session: Session, case: Case, *, now: datetime) -> None:
    """A case with no organisation yet takes the one whose poster link its conversation began
    from: likely, not confirmed (confirmed_organisation_id stays empty, so no manager sees it)."""
    if case.organisation is not None:
        return
    org = origins.organisation_of(session, case.conversation_id)
    if org is not None:
        case.organisation = org
        audit.log_event(session, case, type="organisation_from_poster", now=now,
                        description=f"organisation {org.code} from the poster link the conversation began from",
                        details={"code": org.code})


def create(
    session: Session, *, data: dict[str, Any], now: datetime, settings: Settings, actor: str = "api"
) -> Case:
    line = data["line"]
    kind = kind_for(line, data.get("kind"))
    org = _organisation(session, data.get("organisation_code"))
    case = Case(
        ref=refs.next_ref(session, line), line=line, kind=kind, channel=data.get("channel") or "api",
        status=CaseStatus.open, conversation_id=data.get("conversation_id"),
        source_key=abuse.source_key_for(session, data.get("conversation_id")),
        organisation=org, contact=_contact(data.get("contact")), answers=data.get("answers") or {},
        summary=data.get("summary"), provisional=bool(data.get("provisional")),
        created_at=now, updated_at=now,
    )
    session.add(case)
    session.flush()
    audit.log_event(session, case, type="case_created", actor=actor, now=now,
                    description=f"{line} case opened by {case.channel}",
                    details={"kind": str(kind), "channel": case.channel, "answers": case.answers})
    _match_workplace(session, case, now=now)
    _from_poster(session, case, now=now)
    _triage(session, case, now=now, settings=settings, actor=actor)
    metrics.CASES_OPENED.labels(str(line), metrics.label(case.urgency)).inc()
    return case


def update(
    session: Session, case: Case, *, data: dict[str, Any], now: datetime, settings: Settings, actor: str = "api"
) -> Case:
    changed: dict[str, Any] = {}
    old_phone = (case.contact or {}).get("phone")
    if data.get("answers"):
        case.answers = deep_merge(case.answers or {}, data["answers"])
        changed["answers"] = data["answers"]
    if data.get("contact"):
        case.contact = {**(case.contact or {}), **_contact(data["contact"])}
        changed["contact_fields"] = sorted(data["contact"])
    if data.get("organisation_code"):
        case.organisation = _organisation(session, data["organisation_code"])
        changed["organisation_code"] = data["organisation_code"]
    if data.get("summary"):
        case.summary = data["summary"]
        changed["summary"] = True
    if data.get("kind") == CaseKind.crisis:
        case.kind = CaseKind.crisis
        changed["kind"] = "crisis"
    if "provisional" in data and data["provisional"] is not None:
        case.provisional = bool(data["provisional"])
    new_phone = (case.contact or {}).get("phone")
    if new_phone and new_phone != old_phone:
        _tell_paged_about_number(session, case, new_phone, now=now)
    case.updated_at = now
    audit.log_event(session, case, type="answers_added", actor=actor, now=now,
                    description="answers added", details=changed)
    if "answers" in changed and any(f in changed["answers"] for f in WORKPLACE_FIELDS):
        _match_workplace(session, case, now=now)
    if case.status != CaseStatus.closed:
        _triage(session, case, now=now, settings=settings, actor=actor)
    return case


def _triage(session: Session, case: Case, *, now: datetime, settings: Settings, actor: str) -> None:
    decision = decide(line=case.line, kind=case.kind, answers=case.answers or {}, summary=case.summary, now=now)
    previous = case.urgency
    sent = paging.has_sent_pages(case)
    new_urgency = decision["urgency"]
    if previous and sent:
        # An escalation already sent is never taken back by a later answer.
        new_urgency = raise_only(previous, new_urgency)
    case.urgency = new_urgency
    case.decision = {**decision, "urgency": new_urgency}
    case.rule_version = decision["rule_version"]
    audit.log_event(
        session, case, type="triaged", actor="triage", now=now,
        description=f"decision {decision['urgency']} (rules {decision['rule_version']})",
        details={"decision": decision, "previous_urgency": previous, "applied_urgency": new_urgency},
    )
    if case.status == CaseStatus.open:
        paging.set_status(session, case, CaseStatus.triaged, now=now)

    needs_page = is_escalating(case.decision) or (sent and new_urgency != Urgency.routine)
    if not needs_page:
        paging.supersede_active(session, case, now=now, why="later answers made the held page unnecessary",
                                statuses=(PageStatus.scheduled,))
        return
    raised = previous is not None and URGENCY_ORDER.index(new_urgency) > URGENCY_ORDER.index(previous)
    pending = [p for p in case.pages if p.status == PageStatus.pending]
    scheduled = [p for p in case.pages if p.status == PageStatus.scheduled]
    not_before = _not_before(case, decision, now=now, settings=settings)

    if pending and not raised:
        return  # already waiting on an acknowledgement at this tier
    if sent and not raised and case.status not in (CaseStatus.open, CaseStatus.triaged):
        return  # acknowledged or being handled; nothing new to say
    if not_before is not None and not sent:
        if not scheduled:
            paging.schedule_round(session, case, not_before=not_before, now=now, settings=settings,
                                  reason=_hold_reason(case, decision))
        return
    if scheduled or pending:
        paging.supersede_active(session, case, now=now,
                                why=f"tier raised to {new_urgency}" if raised else "paging now")
    paging.page_round(session, case, after_step=0, now=now, settings=settings,
                      reason=f"triage {new_urgency}" + (f" (raised from {previous})" if raised and sent else ""))


def _holders(case: Case, *statuses: str) -> dict:
    """The practitioners holding this case's pages in `statuses`, once each (id -> person)."""
    return {p.practitioner.id: p.practitioner for p in case.pages
            if p.practitioner is not None and p.status in statuses}


def _text_holders(session: Session, case: Case, holders: dict, body: str, *, now: datetime) -> None:
    for person in holders.values():
        outbox.enqueue_sms(session, to=person.mobile, body=f"OH HELPLINE {case.ref}: {body}", now=now)


def _tell_paged_about_number(session: Session, case: Case, phone: str, *, now: datetime) -> None:
    """A page that went out before the caller gave a number said "no call-back number yet":
    whoever holds it now (waiting to acknowledge, or acknowledged) gets the number."""
    holders = _holders(case, PageStatus.pending, PageStatus.acknowledged)
    _text_holders(session, case, holders, f"call-back number {phone}.", now=now)
    if holders:
        audit.log_event(session, case, type="callback_number_sent", now=now,
                        description=f"call-back number sent to {', '.join(p.name for p in holders.values())}",
                        details={"practitioner_ids": sorted(holders)})


def request_person(session: Session, case: Case, *, words: str | None, actor: str, now: datetime,
                   settings: Settings) -> list:
    """Someone on the sharps line asked to talk to a person. The sharps line is staffed at every
    hour, so this pages the on-call ladder on this case now (never office hours, never a second
    case); a page already waiting is left to run, and whoever already accepted is told."""
    if case.line != Line.sharps:
        raise ValueError("only the sharps line pages on request; the manager line books a call-back")
    if case.status == CaseStatus.closed:
        raise ValueError("the case is closed")
    audit.log_event(session, case, type="person_requested", actor=actor, now=now,
                    description="asked to talk to a person", details={"words": (words or "")[:500]})
    case.updated_at = now
    pending = [p for p in case.pages if p.status == PageStatus.pending]
    if pending:
        return pending
    accepted = _holders(case, PageStatus.acknowledged)
    if accepted:
        callback = (case.contact or {}).get("phone") or "no number yet: see the case"
        _text_holders(session, case, accepted, f"the caller asked to talk to a person. Call back: {callback}.",
                      now=now)
        return [p for p in case.pages if p.status == PageStatus.acknowledged]
    paging.supersede_active(session, case, now=now, why="the caller asked to talk to a person",
                            statuses=(PageStatus.scheduled,))
    if case.status == CaseStatus.open:
        paging.set_status(session, case, CaseStatus.triaged, now=now)
    return paging.page_round(session, case, after_step=0, now=now, settings=settings,
                             reason="the caller asked to talk to a person")


def record_said(session: Session, case: Case, *, items: list[dict[str, str]], channel: str | None,
                actor: str, now: datetime) -> None:
    """What the person was told, word for word: the case page shows each advice item as said or
    not, so nothing the rules gave can go unsaid without anyone seeing it."""
    audit.log_event(session, case, type="advice_said", actor=actor, now=now,
                    description="told the caller: " + ", ".join(i["code"] for i in items),
                    details={"items": items, "channel": channel})


def _not_before(case: Case, decision: dict[str, Any], *, now: datetime, settings: Settings) -> datetime | None:
    if decision["urgency"] == Urgency.emergency:
        return None
    when = decision.get("page_not_before")
    if when:
        when_dt = datetime.fromisoformat(when) if isinstance(when, str) else when
        if when_dt > now:
            return when_dt
    if case.provisional and "nothing_known" in decision.get("rules_fired", []):
        return paging.hold_until(case.created_at, settings.provisional_hold_seconds)
    return None


def _hold_reason(case: Case, decision: dict[str, Any]) -> str:
    if case.provisional and "nothing_known" in decision.get("rules_fired", []):
        return "provisional: waiting briefly for the deciding answers"
    return "outside working hours"


def add_note(session: Session, case: Case, *, note: str, actor: str, now: datetime, rating: int | None = None) -> None:
    case.updated_at = now
    if rating is not None:
        audit.log_event(session, case, type="rating", actor=actor, now=now, description=note,
                        details={"score": rating})
    else:
        audit.log_event(session, case, type="note", actor=actor, now=now, description=note, details={})


def change_status(session: Session, case: Case, *, status: str, actor: str, now: datetime,
                  outcome: str | None = None) -> Case:
    paging.set_status(session, case, status, now=now, actor=actor)
    if status == CaseStatus.closed:
        case.outcome = outcome
        paging.supersede_active(session, case, now=now, why="case closed")
    return case


def mark_abuse(session: Session, case: Case, *, reason: str, actor: str, now: datetime,
               settings: Settings) -> AbuseMark:
    """A practitioner judged this case abuse: pages from its source are held for
    ABUSE_SILENCE_SECONDS (api/domain/page_gate.py: an emergency or a crisis still pages, once
    per window). This case's own ladder stops too: the person marking it has seen it, which is
    what a page asks for. Raises abuse.NoSource for a case opened without a conversation."""
    entry = abuse.mark(session, case, reason=reason, actor=actor, now=now, seconds=settings.abuse_silence_seconds)
    paging.supersede_active(session, case, now=now, why="marked as abuse: its pages are closed")
    case.updated_at = now
    return entry


def lift_abuse(session: Session, case: Case, *, actor: str, now: datetime, settings: Settings) -> list[AbuseMark]:
    """End the marks on this case's source. Its open cases whose pages were held (or closed by
    the mark) page now, through the same grouping as any other: a wrong mark costs a delay, not
    a page that never goes out."""
    marks = abuse.lift(session, case, actor=actor, now=now)
    if marks and case.source_key:
        for waiting in _unpaged_open_cases(session, case.source_key):
            paging.page_round(session, waiting, after_step=0, now=now, settings=settings,
                              reason="abuse mark lifted")
    return marks


def _unpaged_open_cases(session: Session, source_key: str) -> list[Case]:
    """Open cases of a source that should be paging but have no page going: nothing waiting,
    scheduled or acknowledged, not in a practitioner's hands, and not attached to another
    case's page (a grouped case already went out with that page)."""
    found = session.scalars(select(Case).where(
        Case.source_key == source_key, Case.grouped_with_id.is_(None),
        Case.status.in_([CaseStatus.open, CaseStatus.triaged, CaseStatus.escalated])).order_by(Case.id))
    going = (PageStatus.pending, PageStatus.scheduled, PageStatus.acknowledged)
    return [c for c in found if is_escalating(c.decision or {}) and not any(p.status in going for p in c.pages)]


def list_cases(session: Session, *, line: str | None = None, status: str | None = None,
               urgency: str | None = None, open_only: bool = False, limit: int = 200) -> list[Case]:
    query = select(Case)
    if line:
        query = query.where(Case.line == line)
    if status:
        query = query.where(Case.status == status)
    if urgency:
        query = query.where(Case.urgency == urgency)
    if open_only:
        query = query.where(Case.status.in_(list(OPEN_STATUSES)))
    return list(session.scalars(query.order_by(Case.id.desc()).limit(limit)))
