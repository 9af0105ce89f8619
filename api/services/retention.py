"""Privacy housekeeping: retention after closure, and one person's data on request.

Retention (`apply`, run daily by `python -m api.retention`): a case closed more than
RETENTION_DAYS_AFTER_CLOSURE days ago keeps only anonymised figures:

- kept: ref, line, kind, channel, status, urgency, organisation, owner, every timestamp,
  the decision (rule version, rules fired, advice codes), outcome and follow-up date, the
  pages and their timings, ratings' scores, and the coded answers in `ANSWER_CODES`
  (exposure route, fluid, device, source's blood-borne virus status, HBV status, flags);
- removed: contact details, the summary, every free-text answer (names, roles, hours,
  absence history, questions, medicines, pregnancy), the conversation id (for SMS an HMAC
  of the phone number), the transcript (ConversationMessage rows), the page texts in the
  outbox (they carry the call-back number), and in the audit trail: notes, call-back and
  outcome notes, released reports, answers in event details, Twilio call and message ids;
  the follow-ups' `what` and closing notes (their dates and states stay, for completion
  figures), and every text to the person's own number from before the cutoff (reminders,
  their reference): number and body.

The audit trail is otherwise append-only: this redaction is the only change made to old
events, and a `retention_applied` event records it (with counts, never content).

Transcripts are removed by age, conversation by conversation: a message older than the
cutoff goes unless a case still kept (open, or closed within the period) belongs to the
same conversation and the message is no older than that case (less `TRANSCRIPT_MARGIN`,
since a conversation starts a little before its case is opened). So a conversation that
never became a case is removed the same number of days after its last-but-recent message.

Rasa's tracker store (api/services/tracker_store.py: the `events` table, every turn's text,
the slots and the number sent with each turn) is pruned by the same rule, conversation by
conversation: Rasa's sender id is the API's conversation id, and an event older than the
cutoff goes unless a kept case of that conversation is no more than `TRANSCRIPT_MARGIN`
younger than it. So conversations Rasa had that the API never stored (someone talking to Rasa
directly) go too. Deleting old events is safe for Rasa: it reads a conversation only from
its latest session start, and sessions expire after an hour of silence (domain.yml). The
tracker database is separate: if it is missing, has no table yet, or cannot be reached, the
API's own retention still runs and the report says so (`tracker_store`); the next run
catches up, since the rule depends only on ages and kept cases.

Subject access (`subject_access_export`): every case, event and transcript tied to one
phone number: cases whose contact is that number (E.164), and the conversation (texts and
calls from that number) whose id is the HMAC of that number
(api.services.identities.sms_conversation_id); and Rasa's events for those conversations
(`rasa_tracker`).
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from api.core.db import in_batches
from api.enums import CaseStatus
from api.models import AbuseMark, Case, CaseEvent, ConversationMessage, FollowUp, OutboxMessage, Page, Practitioner
from api.services import audit
from api.services import tracker_store as rasa_store
from api.services.paging import normalise_number
from api.services.identities import sms_conversation_id
from api.services.tracker_store import TrackerStore, TrackerStoreError

log = logging.getLogger(__name__)

ACTOR = "retention"
EVENT = "retention_applied"
SAR_EVENT = "subject_access_export"
TRANSCRIPT_MARGIN = timedelta(hours=24)
REMOVED = "[removed after the retention period]"

# --- what survives in answers -----------------------------------------------------------------

_CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")  # a vocabulary value such as hollow_bore_needle
FLAG, CODE, CODES, TIME = "flag", "code", "codes", "time"
ANSWER_CODES: dict[str, Any] = {
    "exposure_type": CODE, "fluid": CODE, "occurred_at": TIME, "first_aid_done": FLAG,
    "incident_form_done": FLAG, "workplace": CODE,
    "device": {"kind": CODE, "used": FLAG, "in_vein_or_artery": FLAG, "visible_blood": FLAG, "deep": FLAG,
               "gloves": FLAG},
    "source": {"identified": FLAG, "hiv": CODE, "hbv": CODE, "hcv": CODE, "risk_factors": CODES},
    "recipient": {"hbv_status": CODE},
    # manager line: a referral's coded fields, an advice request's topic code, a crisis flag
    "consent": FLAG, "consent_reason_explained": FLAG, "reason": CODE, "complex": FLAG,
    "appointment_type": CODE, "urgency_requested": CODE, "topic": CODE, "crisis": FLAG,
}


def _keep(kind: str, value: Any) -> bool:
    if value is None:
        return True
    if kind == FLAG:
        return isinstance(value, bool)
    if kind == CODE:
        return isinstance(value, str) and bool(_CODE.match(value))
    if kind == CODES:
        return isinstance(value, list) and all(isinstance(v, str) and _CODE.match(v) for v in value)
    if kind == TIME:
        try:
            datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return False
        return True
    return False


def anonymise_answers(answers: Any, spec: dict[str, Any] = ANSWER_CODES) -> dict[str, Any]:
    """Only the coded values named in `spec`; anything else (free text, names) is dropped."""
    if not isinstance(answers, dict):
        return {}
    kept: dict[str, Any] = {}
    for key, kind in spec.items():
        if key not in answers:
            continue
        value = answers[key]
        if isinstance(kind, dict):
            inner = anonymise_answers(value, kind)
            if inner:
                kept[key] = inner
        elif _keep(kind, value):
            kept[key] = value
    return kept


# --- what survives in the audit trail ---------------------------------------------------------

# Event types whose description is written by the system from coded values or staff names.
SAFE_DESCRIPTIONS = frozenset({
    "case_created", "answers_added", "triaged", "status_changed", "page_sent", "page_overdue",
    "page_acknowledged", "page_scheduled", "pages_closed", "page_delivery", "owner_set", "step_skipped",
    "no_one_to_page", "rota_gap", "call_transfer", "call_transfer_result", "call_accepted", EVENT, SAR_EVENT,
})
# Detail keys that hold what someone wrote, a number, or a link into Twilio's own records.
DROP_DETAILS = frozenset({"note", "report", "phone", "contact", "summary", "text", "body", "name", "email",
                          "call_sid", "message_sid", "to_last4"})


def _scrub_details(value: Any, *, known: bool) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, inner in value.items():
            if key == "answers":
                out[key] = anonymise_answers(inner)
            elif key == "summary" and isinstance(inner, bool):
                out[key] = inner  # "the summary changed", not the summary
            elif key in DROP_DETAILS:
                continue
            else:
                out[key] = _scrub_details(inner, known=known)
        return out
    if isinstance(value, list):
        return [_scrub_details(v, known=known) for v in value]
    if not known and isinstance(value, str) and not _CODE.match(value):
        return None  # an unknown event's free text
    return value


def _redact_event(event: CaseEvent) -> bool:
    known = event.type in SAFE_DESCRIPTIONS or event.type in {"note", "rating", "call_back", "outcome_recorded",
                                                              "outcome_released"}
    details = _scrub_details(event.details or {}, known=known)
    description = event.description if event.type in SAFE_DESCRIPTIONS else f"{event.type}: {REMOVED}"
    changed = details != (event.details or {}) or description != event.description
    if changed:
        event.details = details
        event.description = description
    return changed


# --- retention --------------------------------------------------------------------------------

@dataclass
class RetentionReport:
    now: datetime
    cutoff: datetime
    days: int
    cases: list[str] = field(default_factory=list)
    messages_deleted: int = 0
    events_redacted: int = 0
    texts_redacted: int = 0
    # Rasa's tracker store: ok, not_created, unavailable, or skipped (no store given).
    tracker_store: str = "skipped"
    tracker_events_deleted: int = 0
    tracker_conversations: int = 0  # conversations that lost events

    def as_dict(self) -> dict[str, Any]:
        return {"now": self.now.isoformat(), "cutoff": self.cutoff.isoformat(), "days_after_closure": self.days,
                "cases": len(self.cases), "case_refs": self.cases, "messages_deleted": self.messages_deleted,
                "events_redacted": self.events_redacted, "texts_redacted": self.texts_redacted,
                "tracker_store": self.tracker_store, "tracker_events_deleted": self.tracker_events_deleted,
                "tracker_conversations": self.tracker_conversations}


def _kept_cases(cutoff: datetime):
    """Cases whose personal data is still within its period: not closed, or closed since the cutoff."""
    return or_(Case.status != CaseStatus.closed, Case.closed_at.is_(None), Case.closed_at >= cutoff)


def expired_cases(session: Session, *, cutoff: datetime) -> list[Case]:
    done = select(CaseEvent.case_id).where(CaseEvent.type == EVENT)
    return list(session.scalars(
        select(Case).where(Case.status == CaseStatus.closed, Case.closed_at < cutoff, Case.id.not_in(done))
        .order_by(Case.id)))


def delete_messages(session: Session, ids: list[int]) -> int:
    """Delete transcript rows; replies pointing at them are unhooked first (the FK is RESTRICT)."""
    deleted = 0
    for chunk in in_batches(ids):
        session.execute(update(ConversationMessage).where(ConversationMessage.reply_to_id.in_(chunk))
                        .values(reply_to_id=None))
        deleted += session.execute(delete(ConversationMessage).where(ConversationMessage.id.in_(chunk))
                                   .execution_options(synchronize_session=False)).rowcount or 0
    return deleted


def purge_transcripts(session: Session, *, cutoff: datetime) -> dict[str, int]:
    """Remove messages older than the cutoff that no kept case needs. Returns counts by conversation."""
    conversations = list(session.scalars(
        select(ConversationMessage.conversation_id).where(ConversationMessage.created_at < cutoff).distinct()))
    removed: dict[str, int] = {}
    for cid in conversations:
        protected_from = session.scalar(
            select(func.min(Case.created_at)).where(Case.conversation_id == cid, _kept_cases(cutoff)))
        until = cutoff if protected_from is None else min(cutoff, protected_from - TRANSCRIPT_MARGIN)
        ids = list(session.scalars(select(ConversationMessage.id).where(
            ConversationMessage.conversation_id == cid, ConversationMessage.created_at < until)))
        if ids:
            removed[cid] = delete_messages(session, ids)
    return removed


def _keep_from(session: Session, conversation_ids: list[str], *, cutoff: datetime) -> dict[str, datetime]:
    """For each conversation, the time before which its records go: the cutoff, or earlier when a kept
    case belongs to it (that case's creation, less TRANSCRIPT_MARGIN)."""
    until = dict.fromkeys(conversation_ids, cutoff)
    for chunk in in_batches(conversation_ids):
        rows = session.execute(select(Case.conversation_id, func.min(Case.created_at))
                               .where(Case.conversation_id.in_(chunk), _kept_cases(cutoff))
                               .group_by(Case.conversation_id))
        for cid, protected_from in rows:
            until[cid] = min(cutoff, protected_from - TRANSCRIPT_MARGIN)
    return until


@dataclass
class TrackerPurge:
    status: str
    removed: dict[str, int] = field(default_factory=dict)  # events deleted by conversation (sender) id


def purge_tracker(session: Session, store: TrackerStore | None, *, cutoff: datetime,
                  dry_run: bool = False) -> TrackerPurge:
    """Remove Rasa's tracker events by the transcripts' rule. Commits in Rasa's database at once (it is
    not the API's transaction); with `dry_run` only counts. Never raises for the tracker's sake."""
    if store is None:
        return TrackerPurge(status="skipped")
    try:
        senders = store.senders_with_events_before(cutoff)
        removed = store.delete_events_before(_keep_from(session, senders, cutoff=cutoff), dry_run=dry_run)
    except TrackerStoreError as exc:
        if exc.status == rasa_store.NOT_CREATED:
            log.info("retention: Rasa's tracker store has nothing yet (%s)", exc)
        else:
            log.warning("retention: Rasa's tracker store was not pruned: %s", exc)
        return TrackerPurge(status=exc.status)
    return TrackerPurge(status=rasa_store.OK, removed=removed)


def _redact_case(session: Session, case: Case, *, now: datetime, days: int, messages: int,
                 tracker: TrackerPurge) -> tuple[int, int]:
    events = audit.events_for(session, case)
    redacted = sum(1 for e in events if _redact_event(e))
    page_ids = [p.id for p in case.pages]
    texts = 0
    if page_ids:
        texts = session.execute(
            update(OutboxMessage).where(OutboxMessage.page_id.in_(page_ids), OutboxMessage.body != REMOVED)
            .values(body=REMOVED, error=None)).rowcount or 0
    # Follow-ups keep their day and state (completion figures); what they were for is free text.
    session.execute(update(FollowUp).where(FollowUp.case_id == case.id)
                    .values(what=REMOVED, close_note=REMOVED))
    person = normalise_number(str((case.contact or {}).get("phone") or ""))
    if person:  # reminders and other texts to the person: not tied to a page, found by their number
        texts += session.execute(
            update(OutboxMessage).where(OutboxMessage.to == person, OutboxMessage.page_id.is_(None),
                                        OutboxMessage.created_at < now - timedelta(days=days))
            .values(to=REMOVED, body=REMOVED, error=None)).rowcount or 0
    conversation = case.conversation_id
    case.contact = {}
    case.answers = anonymise_answers(case.answers)
    case.summary = None
    case.conversation_id = None
    # The source key is a pseudonym of the number or client, like the conversation id: it goes too,
    # with the abuse marks' copies of it and their free-text reasons.
    case.source_key = None
    for mark in session.scalars(select(AbuseMark).where(AbuseMark.case_id == case.id)):
        mark.source_key, mark.reason = REMOVED, REMOVED
    audit.log_event(
        session, case, type=EVENT, actor=ACTOR, now=now,
        description=f"personal details and transcript removed {days} days after closure",
        details={"days_after_closure": days, "closed_at": case.closed_at.isoformat() if case.closed_at else None,
                 "messages_deleted": messages, "events_redacted": redacted, "texts_redacted": texts,
                 "tracker_events_deleted": tracker.removed.pop(conversation, 0) if conversation else 0,
                 "tracker_store": tracker.status},
    )
    return redacted, texts


def apply(session: Session, *, now: datetime, days: int, tracker: TrackerStore | None = None,
          dry_run: bool = False) -> RetentionReport:
    """Redact every case closed more than `days` ago and purge old transcripts. The caller commits.

    With a `tracker` (Rasa's tracker store), its old events go by the same rule, committed there at
    once, before any change here (so no write lock on the API's database waits on Rasa's); with
    `dry_run` they are only counted (the caller rolls the API's session back)."""
    cutoff = now - timedelta(days=days)
    report = RetentionReport(now=now, cutoff=cutoff, days=days)
    rasa = purge_tracker(session, tracker, cutoff=cutoff, dry_run=dry_run)
    report.tracker_store = rasa.status
    report.tracker_events_deleted = sum(rasa.removed.values())
    report.tracker_conversations = len(rasa.removed)
    expired = expired_cases(session, cutoff=cutoff)
    removed = purge_transcripts(session, cutoff=cutoff)
    report.messages_deleted = sum(removed.values())
    for case in expired:
        messages = removed.pop(case.conversation_id, 0) if case.conversation_id else 0
        events, texts = _redact_case(session, case, now=now, days=days, messages=messages, tracker=rasa)
        report.cases.append(case.ref)
        report.events_redacted += events
        report.texts_redacted += texts
    session.flush()
    log.info("retention: %s cases redacted, %s messages deleted, %s tracker events deleted (tracker store %s)",
             len(report.cases), report.messages_deleted, report.tracker_events_deleted, report.tracker_store,
             extra={"count": len(report.cases)})
    return report


# --- subject access ---------------------------------------------------------------------------

class NotAPhoneNumber(ValueError):
    pass


def _message(m: ConversationMessage) -> dict[str, Any]:
    return {"id": m.id, "direction": m.direction, "channel": m.channel, "text": m.text, "status": m.status,
            "created_at": m.created_at}


def _event(e: CaseEvent) -> dict[str, Any]:
    return {"id": e.id, "type": e.type, "actor": e.actor, "description": e.description, "details": e.details or {},
            "created_at": e.created_at}


def _case(session: Session, case: Case) -> dict[str, Any]:
    org = case.organisation
    return {
        "ref": case.ref, "line": case.line, "kind": case.kind, "status": case.status, "urgency": case.urgency,
        "channel": case.channel, "conversation_id": case.conversation_id,
        "organisation": {"code": org.code, "name": org.name} if org else None,
        "contact": case.contact or {}, "answers": case.answers or {}, "decision": case.decision,
        "summary": case.summary, "outcome": case.outcome,
        "created_at": case.created_at, "updated_at": case.updated_at, "closed_at": case.closed_at,
        # Pages without the practitioners' numbers: those are staff data, not the requester's.
        "pages": [{"tier": p.tier, "status": p.status, "sent_at": p.sent_at, "acknowledged_at": p.acknowledged_at}
                  for p in case.pages],
        "events": [_event(e) for e in audit.events_for(session, case)],
        "follow_ups": [{"due_on": f.due_on, "what": f.what, "status": f.status, "reminder_sent_at": f.reminder_sent_at,
                        "closed_at": f.closed_at} for f in session.scalars(
                            select(FollowUp).where(FollowUp.case_id == case.id).order_by(FollowUp.due_on))],
    }


def tracker_export(store: TrackerStore | None, conversation_ids: list[str]) -> dict[str, Any]:
    """Rasa's events for these conversations, and whether the tracker store could be read: an export
    whose `status` is not ok or not_created is incomplete, and the reviewer must know."""
    if store is None:
        return {"status": "skipped", "conversations": []}
    try:
        found = store.export(conversation_ids)
    except TrackerStoreError as exc:
        if exc.status != rasa_store.NOT_CREATED:
            log.warning("subject access export: Rasa's tracker store could not be read: %s", exc)
        return {"status": exc.status, "conversations": []}
    return {"status": rasa_store.OK,
            "conversations": [{"conversation_id": cid, "events": found[cid]} for cid in sorted(found)]}


def subject_access_export(session: Session, *, phone: str, secret: str, now: datetime,
                          actor: str = "api", tracker: TrackerStore | None = None) -> dict[str, Any]:
    """Everything stored about the person with this number. Records the export on each case.

    With a `tracker`, Rasa's events for the same conversations (the SMS one, the cases' ones)."""
    number = normalise_number(phone)
    if number is None:
        raise NotAPhoneNumber(phone)
    sms_id = sms_conversation_id(secret, number)
    found = list(session.scalars(
        select(Case).where(or_(Case.contact["phone"].as_string() == number, Case.conversation_id == sms_id))
        .order_by(Case.id)))
    conversation_ids = sorted({sms_id, *(c.conversation_id for c in found if c.conversation_id)})
    messages = list(session.scalars(
        select(ConversationMessage).where(ConversationMessage.conversation_id.in_(conversation_ids))
        .order_by(ConversationMessage.conversation_id, ConversationMessage.id)))
    transcripts: dict[str, dict[str, Any]] = {}
    for m in messages:
        transcripts.setdefault(m.conversation_id, {"conversation_id": m.conversation_id, "messages": []})
        transcripts[m.conversation_id]["messages"].append(_message(m))
    practitioner = session.scalar(select(Practitioner).where(Practitioner.mobile == number))
    staff = None
    if practitioner is not None:
        pages = session.scalars(select(Page).where(Page.practitioner_id == practitioner.id).order_by(Page.id))
        staff = {"id": practitioner.id, "name": practitioner.name, "role": practitioner.role,
                 "mobile": practitioner.mobile, "active": practitioner.active,
                 "pages": [{"id": p.id, "case_ref": p.case.ref, "tier": p.tier, "status": p.status,
                            "sent_at": p.sent_at, "acknowledged_at": p.acknowledged_at} for p in pages]}
    rasa = tracker_export(tracker, conversation_ids)
    export = {
        "phone": number, "generated_at": now,
        "conversation_ids": sorted(set(transcripts) | {c.conversation_id for c in found if c.conversation_id}
                                   | {c["conversation_id"] for c in rasa["conversations"]}),
        "cases": [_case(session, c) for c in found],
        "transcripts": list(transcripts.values()),
        "rasa_tracker": rasa,
        "practitioner": staff,
    }
    for case in found:
        audit.log_event(session, case, type=SAR_EVENT, actor=actor, now=now,
                        description="personal data exported on a subject access request", details={})
    log.info("subject access export: %s cases, %s messages, %s tracker events (tracker store %s)", len(found),
             len(messages), sum(len(c["events"]) for c in rasa["conversations"]), rasa["status"])
    return export
