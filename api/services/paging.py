"""Pages: sending a step of the ladder, firing overdue deadlines, acknowledgement.

Every function works inside the caller's transaction and writes its audit events there.
Overdue and scheduled pages are claimed with conditional UPDATEs, so any number of API
processes on one database page each step exactly once.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.core import metrics, phones
from api.core.config import Settings
from api.domain import case_lifecycle, page_gate
from api.domain.escalation import LADDER, LAST_STEP, ack_deadline, call_by, call_order, page_text, plan_step
from api.enums import CaseStatus, PageStatus, PageTier
from api.models import Case, CaseEvent, Page, Practitioner, UserAccount
from api.services import abuse, audit, outbox, rota
from api.services.summary import case_summary

log = logging.getLogger(__name__)

ACTIVE_PAGE = (PageStatus.pending, PageStatus.scheduled)
# The largest row id there can be (PostgreSQL INTEGER): a larger one names no row, and is not
# even sendable to the database (SQLite and psycopg both refuse it), so it is "not found".
MAX_ROW_ID = 2**31 - 1


class PageNotFound(LookupError):
    pass


def set_status(session: Session, case: Case, target: str, *, now: datetime, actor: str = "system") -> None:
    """Move a case through the lifecycle, stamp the milestone and write the event."""
    if case.status == target:
        return
    status = case_lifecycle.check_transition(case.status, target)
    previous = case.status
    case.status = status
    column = case_lifecycle.MILESTONE_COLUMN.get(status)
    if column and getattr(case, column) is None:
        setattr(case, column, now)
    case.updated_at = now
    audit.log_event(
        session, case, type="status_changed", actor=actor, now=now,
        description=f"status {previous} -> {status}", details={"from": previous, "to": str(status)},
    )


def case_link(settings: Settings, ref: str) -> str:
    """The case page's address, for the page text (signed out, it asks to sign in first)."""
    return f"{settings.public_base_url.rstrip('/')}/cases/{ref}"


def _callback(case: Case) -> str | None:
    return (case.contact or {}).get("phone")


def _claim_round(session: Session, case: Case, expected: int) -> bool:
    """Compare-and-set on the case's round counter: of two processes paging the same case
    for the same reason, only one wins."""
    won = session.execute(
        update(Case).where(Case.id == case.id, Case.escalation_round == expected)
        .values(escalation_round=expected + 1)
    ).rowcount
    return bool(won)


def page_round(
    session: Session, case: Case, *, after_step: int, now: datetime, settings: Settings, reason: str,
    expected_round: int | None = None,
) -> list[Page]:
    """Page the first ladder step after `after_step` that has anyone on it, unless the case's
    source already paged within the window (the case joins that page) or is marked as abuse
    (the page is held): see `gate`."""
    session.flush()
    if not gate(session, case, now=now, settings=settings).pages:
        return []
    expected = case.escalation_round if expected_round is None else expected_round
    if not _claim_round(session, case, expected):
        return []
    round_no = expected + 1
    snapshot = rota.snapshot(session, now)
    if snapshot.nobody_on_call:
        _alert_rota_gap(session, case, snapshot.clinical_leads, now=now)
    already = frozenset(p.practitioner_id for p in case.pages if p.practitioner_id is not None)
    plan = plan_step(after_step, snapshot, already_paged=already)
    if plan.exhausted and after_step >= 1:
        # Nobody left to move up to: page the last step again. A page is never left unanswered.
        plan = plan_step(LAST_STEP - 1, snapshot)
    for tier in plan.skipped:
        audit.log_event(session, case, type="step_skipped", now=now,
                        description=f"nobody on the rota for {tier}", details={"tier": str(tier)})
    if plan.exhausted:
        log.critical("case %s: nobody at all can be paged", case.ref, extra={"case_ref": case.ref})
        audit.log_event(session, case, type="no_one_to_page", now=now,
                        description="no active practitioner to page", details={})
        return []

    urgency = case.urgency or "urgent"
    seconds = settings.ack_seconds(urgency)
    decision = case.decision or {}
    body = page_text(
        ref=case.ref, urgency=urgency, summary=case_summary(case, now=now), callback=_callback(case),
        emergency_department=bool(decision.get("go_to_emergency_department")),
        link=case_link(settings, case.ref),
    )
    pages = []
    for person in plan.targets:
        page = Page(
            case=case, practitioner_id=person.id, tier=plan.tier, attempt=round_no,
            urgency=urgency, status=PageStatus.pending, sent_at=now, ack_seconds=seconds,
            ack_deadline=ack_deadline(now, seconds), created_at=now,
        )
        session.add(page)
        session.flush()
        outbox.enqueue_sms(session, to=person.mobile, body=body, now=now, page_id=page.id)
        audit.log_event(
            session, case, type="page_sent", now=now,
            description=f"paged {person.name} ({plan.tier}), round {round_no}",
            details={"page_id": page.id, "practitioner_id": person.id, "tier": str(plan.tier),
                     "round": round_no, "urgency": urgency, "reason": reason,
                     "ack_deadline": page.ack_deadline.isoformat()},
        )
        pages.append(page)
        metrics.PAGES_SENT.labels(str(plan.tier), urgency).inc()
    if case.status in (CaseStatus.open, CaseStatus.triaged, CaseStatus.acknowledged, CaseStatus.in_progress):
        set_status(session, case, CaseStatus.escalated, now=now)
    return pages


def gate(session: Session, case: Case, *, now: datetime, settings: Settings) -> page_gate.Decision:
    """Decide (api/domain/page_gate.py) whether this round goes out, and record a grouping or a
    hold on the case. A case that never paged may join an earlier case's page; a later round of
    a case's own ladder is only ever held (its source marked since), never grouped."""
    if not case.source_key:
        return page_gate.Decision(page_gate.Verdict.page)
    need = page_gate.Need(urgency=case.urgency,
                          crisis=page_gate.is_crisis(case.kind, (case.decision or {}).get("rules_fired")))
    starting = not has_sent_pages(case)
    window = timedelta(seconds=settings.page_group_window_seconds)
    decision = page_gate.decide(
        need, starting=starting, anchors=abuse.anchors(session, case, now=now, window=window) if starting else (),
        silence=abuse.as_silence(abuse.silence_for(session, case.source_key, now)), now=now, window=window)
    if decision.verdict == page_gate.Verdict.group and decision.anchor is not None:
        _record_grouping(session, case, decision.anchor, now=now)
    elif decision.verdict == page_gate.Verdict.hold and decision.silence is not None:
        _record_hold(session, case, decision.silence, now=now)
    elif starting and case.grouped_with_id is not None:
        # Grown past the page it joined (more urgent, or that page's window is over): its own ladder now.
        audit.log_event(session, case, type="page_ungrouped", now=now,
                        description="no longer grouped: this case now pages on its own",
                        details={"was_grouped_with_case_id": case.grouped_with_id})
        case.grouped_with_id = None
    return decision


def _record_grouping(session: Session, case: Case, anchor: page_gate.Anchor, *, now: datetime) -> None:
    if case.grouped_with_id == anchor.case_id:
        return  # re-triaged while grouped: said already
    case.grouped_with_id = anchor.case_id
    details = {"grouped_with": anchor.ref, "grouped_with_case_id": anchor.case_id, "page_id": anchor.page_id,
               "grouped_ref": case.ref}
    audit.log_event(session, case, type="page_grouped", now=now,
                    description=f"page grouped with {anchor.ref} (page {anchor.page_id}): the same source paged "
                                f"recently, so this case has no ladder of its own", details=details)
    other = session.get(Case, anchor.case_id)
    if other is not None:
        audit.log_event(session, other, type="page_grouped", now=now,
                        description=f"{case.ref} from the same source grouped with this case's page", details=details)


def _record_hold(session: Session, case: Case, silence: page_gate.Silence, *, now: datetime) -> None:
    last = session.scalar(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.type == "page_held")
                          .order_by(CaseEvent.id.desc()).limit(1))
    if last is not None and (last.details or {}).get("mark_id") == silence.mark_id:
        return
    audit.log_event(session, case, type="page_held", now=now,
                    description=f"page held: source marked as abuse until {silence.until:%Y-%m-%d %H:%M} UTC "
                                f"(marked on {silence.marked_on})",
                    details={"mark_id": silence.mark_id, "until": silence.until.isoformat(),
                             "marked_on": silence.marked_on})


def _alert_rota_gap(session: Session, case: Case, leads: tuple, *, now: datetime) -> None:
    audit.log_event(session, case, type="rota_gap", now=now,
                    description="nobody on the on-call rota at this moment; clinical lead alerted",
                    details={"lead_ids": [p.id for p in leads]})
    for lead in leads:
        outbox.enqueue_sms(
            session, to=lead.mobile, now=now,
            body=f"OH HELPLINE ROTA GAP: nobody is on call now and case {case.ref} needs a practitioner.",
        )


def schedule_round(session: Session, case: Case, *, not_before: datetime, now: datetime, settings: Settings,
                   reason: str) -> Page:
    """A page to send later (a provisional hold, or out of working hours). Who gets it is
    decided when it is released, from the rota at that time."""
    page = Page(
        case=case, practitioner_id=None, tier=PageTier.primary, attempt=0, urgency=case.urgency or "urgent",
        status=PageStatus.scheduled, not_before=not_before, ack_seconds=settings.ack_seconds(case.urgency or "urgent"),
        created_at=now,
    )
    session.add(page)
    session.flush()
    audit.log_event(session, case, type="page_scheduled", now=now,
                    description=f"page scheduled for {not_before.isoformat()} ({reason})",
                    details={"page_id": page.id, "not_before": not_before.isoformat(), "reason": reason})
    return page


def supersede_active(session: Session, case: Case, *, now: datetime, why: str, statuses=ACTIVE_PAGE) -> int:
    count = 0
    for page in case.pages:
        if page.status in statuses:
            page.status = PageStatus.cancelled if page.status == PageStatus.scheduled else PageStatus.superseded
            count += 1
    if count:
        audit.log_event(session, case, type="pages_closed", now=now, description=why, details={"count": count})
    return count


def call_targets(session: Session, now: datetime) -> list[dict[str, Any]]:
    """Whom a call's warm transfer rings, in the paging ladder's order, from the rota now."""
    return [{"id": person.id, "name": person.name, "mobile": person.mobile, "tier": str(tier)}
            for tier, person in call_order(rota.snapshot(session, now))]


def has_sent_pages(case: Case) -> bool:
    return any(p.sent_at is not None for p in case.pages)


def due_page_ids(session: Session, *, status: str, now: datetime) -> list[int]:
    """Candidates only: each is claimed again with a conditional UPDATE before use."""
    column = Page.ack_deadline if status == PageStatus.pending else Page.not_before
    return list(session.scalars(select(Page.id).where(Page.status == status, column <= now).order_by(Page.id)))


def claim_due(session: Session, *, status: str, to: str, now: datetime):
    """Yield each due page this process won, moved from `status` to `to` with a conditional
    UPDATE (a page another process claimed first is skipped), its case refreshed. The
    caller commits after each."""
    for page_id in due_page_ids(session, status=status, now=now):
        claimed = session.execute(
            update(Page).where(Page.id == page_id, Page.status == status).values(status=to)
        ).rowcount
        if not claimed:
            session.rollback()
            continue
        page = session.get(Page, page_id)
        session.refresh(page.case)
        yield page


def fire_overdue(session: Session, *, now: datetime, settings: Settings) -> int:
    """Escalate every page whose deadline passed unacknowledged. Returns rounds paged."""
    rounds = 0
    for page in claim_due(session, status=PageStatus.pending, to=PageStatus.escalated, now=now):
        case = page.case
        late = (now - page.ack_deadline).total_seconds()
        metrics.DEADLINES_OVERDUE.labels(page.tier, page.urgency).inc()
        metrics.DEADLINE_LATENESS.observe(max(late, 0.0))
        audit.log_event(session, case, type="page_overdue", now=now,
                        description=f"page {page.id} not acknowledged by its deadline",
                        details={"page_id": page.id, "seconds_late": round(late, 3), "round": page.attempt})
        latest = page.attempt == case.escalation_round
        if latest and case.status not in (CaseStatus.acknowledged, CaseStatus.closed):
            after = LADDER.index(PageTier(page.tier)) + 1
            if page_round(session, case, after_step=after, now=now, settings=settings,
                          reason=f"page {page.id} unacknowledged", expected_round=page.attempt):
                rounds += 1
        session.commit()
    return rounds


def release_scheduled(session: Session, *, now: datetime, settings: Settings) -> int:
    """Send held pages whose time has come, to whoever is on the rota now."""
    released = 0
    for page in claim_due(session, status=PageStatus.scheduled, to=PageStatus.superseded, now=now):
        case = page.case
        if case.status != CaseStatus.closed:
            page_round(session, case, after_step=0, now=now, settings=settings, reason="scheduled page released")
            released += 1
        session.commit()
    return released


def acknowledge(session: Session, page_id: int, *, now: datetime, by: str | None = None) -> Page:
    page = session.get(Page, page_id) if 0 < page_id <= MAX_ROW_ID else None
    if page is None:
        raise PageNotFound(page_id)
    case = page.case
    who = by or (page.practitioner.name if page.practitioner else "unknown")
    if page.status == PageStatus.acknowledged:
        return page
    if page.status in (PageStatus.scheduled, PageStatus.cancelled):
        raise case_lifecycle.IllegalTransition(page.status, "acknowledged")
    late = page.status != PageStatus.pending
    # Conditional on the status just read: of two acknowledgements at once (the dashboard and a
    # text, two processes), one wins and the other finds it done: one audit event, one owner.
    won = session.execute(
        update(Page).where(Page.id == page.id, Page.status == page.status)
        .values(status=PageStatus.acknowledged, acknowledged_at=now, acknowledged_by=who)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(page)
    if not won:
        return page
    for other in case.pages:
        if other is not page and other.status in ACTIVE_PAGE:
            other.status = PageStatus.superseded if other.status == PageStatus.pending else PageStatus.cancelled
    audit.log_event(
        session, case, type="page_acknowledged", actor=who, now=now,
        description=f"page {page.id} acknowledged by {who}" + (" (after it was escalated)" if late else ""),
        details={"page_id": page.id, "seconds_to_ack": (now - page.sent_at).total_seconds() if page.sent_at else None},
    )
    metrics.ACKNOWLEDGEMENTS.labels(page.tier, "true" if late else "false").inc()
    if page.sent_at is not None:
        metrics.ACK_SECONDS.labels(page.urgency).observe(max((now - page.sent_at).total_seconds(), 0.0))
    if case.owner_id is None and page.practitioner_id is not None:
        case.owner_id = page.practitioner_id
        audit.log_event(session, case, type="owner_set", actor=who, now=now,
                        description=f"owner set to {who}", details={"practitioner_id": page.practitioner_id})
    if case_lifecycle.can_transition(case.status, CaseStatus.acknowledged):
        set_status(session, case, CaseStatus.acknowledged, now=now, actor=who)
    return page


def normalise_number(number: str) -> str | None:
    return phones.e164(number)


# The one answer to an "ACK" that does not count, whatever the reason: it must not tell a
# stranger whether the case exists, whether the number is a practitioner's, or who holds the page.
ACK_REFUSED = ("This number cannot acknowledge that page. Staff: acknowledge on the dashboard. "
               "If you need help now, call 999 in an emergency, or NHS 111.")


@dataclass(frozen=True)
class AckReply:
    page: Page | None  # the page acknowledged; None when refused
    text: str  # what to text back: the page named, or ACK_REFUSED
    refused: str | None = None  # why, for the log only: never sent


def _live_page_of(case: Case, practitioner_id: int) -> Page | None:
    """The page of this practitioner that an SMS ACK may answer. Live: still waiting (pending),
    or passed up the ladder (escalated) while nobody has acknowledged the case. A repeat ACK of
    their own acknowledged page answers again. Superseded (a higher tier replaced it) and
    cancelled pages are not live, and nothing is live on a closed case."""
    if case.status == CaseStatus.closed:
        return None
    own = [p for p in case.pages if p.practitioner_id == practitioner_id]
    pending = [p for p in own if p.status == PageStatus.pending]
    if pending:
        return pending[-1]
    acknowledged = [p for p in case.pages if p.status == PageStatus.acknowledged]
    if acknowledged:
        mine = [p for p in acknowledged if p.practitioner_id == practitioner_id]
        return mine[-1] if mine else None
    escalated = [p for p in own if p.status == PageStatus.escalated]
    return escalated[-1] if escalated else None


def ack_reply_text(page: Page, *, now: datetime) -> str:
    """The practitioner's confirmation: which page they acknowledged, and what to do next."""
    case = page.case
    callback = _callback(case)
    return " ".join([
        f"Page {page.id} for {case.ref} acknowledged ({case.urgency or 'urgency not set'}).",
        case_summary(case, now=now),
        f"Call back: {callback}." if callback else "No call-back number yet: see the case.",
    ])


def ack_by_reply(session: Session, *, ref: str, from_number: str, now: datetime) -> AckReply:
    """'ACK SH-000123' texted back. It counts only from the registered mobile of an ACTIVE
    practitioner holding a live page of that case; the sender's number is all an SMS proves,
    so the dashboard (signed in) stays the strong path. Anything else changes nothing."""
    def refuse(why: str) -> AckReply:
        log.warning("SMS ACK refused: %s", why, extra={"case_ref": ref.upper()})
        return AckReply(page=None, text=ACK_REFUSED, refused=why)

    number = normalise_number(from_number)
    if number is None:
        return refuse("not a phone number")
    practitioner = session.scalar(select(Practitioner).where(Practitioner.mobile == number))
    if practitioner is None:
        return refuse("not a practitioner's number")
    if not practitioner.active:
        return refuse("practitioner deactivated")
    if session.scalar(select(UserAccount.id).where(UserAccount.practitioner_id == practitioner.id,
                                                   UserAccount.active.is_(False)).limit(1)) is not None:
        # Their sign-in was switched off: a text must not do what the dashboard no longer lets them.
        return refuse("practitioner's account deactivated")
    case = session.scalar(select(Case).where(Case.ref == ref.upper()))
    page = _live_page_of(case, practitioner.id) if case is not None else None
    if page is None:
        return refuse("no live page of this practitioner on the case")
    page = acknowledge(session, page.id, now=now, by=practitioner.name)
    return AckReply(page=page, text=ack_reply_text(page, now=now))


def acknowledge_by_reply(session: Session, *, ref: str, from_number: str, now: datetime) -> Page | None:
    """The older seam (api/channels/sms.py): the page acknowledged, or None when refused.
    `ack_by_reply` gives the reply texts too."""
    return ack_by_reply(session, ref=ref, from_number=from_number, now=now).page


def page_view(page: Page) -> dict[str, Any]:
    p = page.practitioner
    return {
        "id": page.id, "tier": page.tier, "attempt": page.attempt, "status": page.status, "urgency": page.urgency,
        "practitioner": {"id": p.id, "name": p.name, "mobile": p.mobile} if p else None,
        "not_before": page.not_before, "sent_at": page.sent_at, "ack_deadline": page.ack_deadline,
        "acknowledged_at": page.acknowledged_at, "acknowledged_by": page.acknowledged_by,
    }


def callback_deadline(case: Case) -> datetime | None:
    """When the person should stop waiting for a call: counted from the first page that
    really went out (a held page promises nothing yet). None when nobody has been paged."""
    sent = [p for p in case.pages if p.sent_at is not None]
    if not sent:
        return None
    first = min(sent, key=lambda p: p.sent_at)
    return call_by(first.sent_at, first.ack_seconds)


def hold_until(now: datetime, seconds: float) -> datetime:
    return now + timedelta(seconds=seconds)
