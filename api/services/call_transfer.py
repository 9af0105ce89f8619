"""A call's warm transfer to the on-call practitioner: the offer made after an emergency, the
transfer row, each dial's result, the practitioner who accepted (which acknowledges the case's
page), the reference texted when nobody answered, and the case's audit trail. Rows are keyed on
the CallSid, so Twilio's retries are no-ops."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.enums import CaseStatus, PageStatus, TurnStatus, Urgency
from api.models import Case, CaseEvent, ConversationMessage, Page, Practitioner
from api.services import audit, outbox, paging
from api.services.messages import Button, Reply
from api.services.turn_store import Turn, find_turn

ACTOR = "relay"
ACTIVE_PAGES = (PageStatus.pending, PageStatus.escalated)


def case_by_ref(session: Session, ref: str | None) -> Case | None:
    if not ref:
        return None
    return session.scalar(select(Case).where(Case.ref == ref.upper()))


# --- the offer after an emergency ---------------------------------------------------------------

def offer_of(session: Session, call_sid: str) -> ConversationMessage | None:
    return find_turn(session, f"{call_sid}:offer")


def transfer_of(session: Session, call_sid: str) -> ConversationMessage | None:
    return find_turn(session, f"{call_sid}:transfer")


def needs_offer(session: Session, call_sid: str, case: Case) -> bool:
    """An emergency nobody has picked up yet, not offered on this call before."""
    return (case.urgency == Urgency.emergency
            and case.status not in (CaseStatus.acknowledged, CaseStatus.closed)
            and offer_of(session, call_sid) is None and transfer_of(session, call_sid) is None)


def record_offer(session: Session, *, call_sid: str, turn: Turn, case: Case, pending: list[Reply],
                 now: datetime) -> bool:
    """Record (once per call) that the caller was offered a transfer, with the question that waits."""
    session.add(ConversationMessage(
        conversation_id=turn.inbound.conversation_id, channel="voice", direction="outbound",
        provider_sid=f"{call_sid}:offer", reply_to_id=turn.inbound.id, text="(offered a transfer)",
        status=TurnStatus.handled, created_at=now,
        details={"system": True, "offer": {"ref": case.ref, "pending": [_reply_dict(r) for r in pending]}},
    ))
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return False
    return True


def _reply_dict(reply: Reply) -> dict[str, Any]:
    return {**reply.as_dict(), "extra": reply.extra}


def offer_ref(offer: ConversationMessage | None) -> str | None:
    return ((offer.details or {}).get("offer") or {}).get("ref") if offer is not None else None


def pending_question(offer: ConversationMessage | None) -> list[Reply]:
    if offer is None:
        return []
    return [Reply(text=r.get("text") or "", buttons=tuple(Button(**b) for b in r.get("buttons") or []),
                  extra=r.get("extra") or {})
            for r in ((offer.details or {}).get("offer") or {}).get("pending") or []]


def answered_offer(offer: ConversationMessage) -> str | None:
    return ((offer.details or {}).get("offer") or {}).get("twiml")


def answer_offer(session: Session, offer: ConversationMessage, *, connect: bool, twiml: str,
                 heard: dict[str, Any]) -> None:
    info = dict((offer.details or {}).get("offer") or {})
    info.update({"connect": connect, "twiml": twiml, "heard": {k: v for k, v in heard.items() if k != "call_sid"}})
    offer.details = {**(offer.details or {}), "offer": info}
    session.commit()


# --- the transfer -------------------------------------------------------------------------------

def start_transfer(session: Session, *, call_sid: str, conversation_id: str, reply_to_id: int | None, case: Case,
                   targets: list[dict[str, Any]], text: str, now: datetime) -> ConversationMessage | None:
    """Record (once per call) that the caller is being put through to the on-call practitioner."""
    row = ConversationMessage(
        conversation_id=conversation_id, channel="voice", direction="outbound",
        provider_sid=f"{call_sid}:transfer", reply_to_id=reply_to_id, text=text, status=TurnStatus.handled,
        details={"system": True, "transfer": {"ref": case.ref, "targets": targets}}, created_at=now,
    )
    session.add(row)
    audit.log_event(session, case, type="call_transfer", actor=ACTOR, now=now,
                    description=f"caller being put through to {targets[0]['name']} ({targets[0]['tier']})"
                    if targets else "caller could not be put through: nobody on the rota",
                    details={"call_sid": call_sid, "targets": [{k: t[k] for k in ("id", "tier")} for t in targets]})
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return None
    return row


def transfer_info(session: Session, call_sid: str) -> dict[str, Any]:
    return _info(transfer_of(session, call_sid))


def _info(transfer: ConversationMessage | None) -> dict[str, Any]:
    return (transfer.details or {}).get("transfer", {}) if transfer else {}


def record_dial_result(session: Session, *, call_sid: str, attempt: int, dial_status: str, text: str,
                       now: datetime) -> tuple[ConversationMessage, bool]:
    """One row per dial attempt's outcome (idempotent on CallSid + attempt); audit on the case."""
    key = f"{call_sid}:dial:{attempt}"
    existing = find_turn(session, key)
    if existing is not None:
        return existing, False
    transfer = transfer_of(session, call_sid)
    info = _info(transfer)
    targets = info.get("targets") or []
    row = ConversationMessage(
        conversation_id=transfer.conversation_id if transfer else call_sid, channel="voice", direction="outbound",
        provider_sid=key, reply_to_id=transfer.reply_to_id if transfer else None, text=text,
        status=TurnStatus.handled, details={"system": True, "dial": {"attempt": attempt, "status": dial_status}},
        created_at=now,
    )
    session.add(row)
    case = case_by_ref(session, info.get("ref"))
    if case is not None and attempt < len(targets):
        who = targets[attempt]
        audit.log_event(session, case, type="call_transfer_result", actor=ACTOR, now=now,
                        description=f"call to {who['name']} ({who['tier']}): {dial_status}",
                        details={"call_sid": call_sid, "practitioner_id": who["id"], "tier": who["tier"],
                                 "status": dial_status})
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return find_turn(session, key), False  # type: ignore[return-value]
    return row, True


def accept(session: Session, *, ref: str, practitioner_id: int | None, tier: str | None, child_call_sid: str | None,
           attempt: int, now: datetime) -> Practitioner | None:
    """The practitioner pressed 1 on the whisper: the case records who took the call, they own it
    if nobody does, and the case's page is acknowledged in their name (the ladder stops)."""
    case = case_by_ref(session, ref)
    if case is None:
        return None
    person = session.get(Practitioner, practitioner_id) if practitioner_id else None
    name = person.name if person is not None else "on-call practitioner"
    accepted = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.type == "call_accepted"))
    if child_call_sid and any((e.details or {}).get("child_call_sid") == child_call_sid for e in accepted):
        return person  # a retried request
    audit.log_event(session, case, type="call_accepted", actor=name, now=now,
                    description=f"{name}{f' ({tier})' if tier else ''} took the transferred call",
                    details={"practitioner_id": practitioner_id, "tier": tier, "child_call_sid": child_call_sid,
                             "attempt": attempt})
    if person is not None and case.owner_id is None:
        case.owner_id = person.id
        audit.log_event(session, case, type="owner_set", actor=name, now=now,
                        description=f"owner set to {name} (took the transferred call)",
                        details={"practitioner_id": person.id})
    page = _page_to_acknowledge(case, practitioner_id)
    if page is not None:
        paging.acknowledge(session, page.id, now=now, by=name)
    session.commit()
    return person


def was_accepted(session: Session, ref: str | None, attempt: int) -> bool:
    """Whether the person rung at this step of the ladder pressed 1 (an answered leg that did not
    was a voicemail, or someone who could not take it)."""
    case = case_by_ref(session, ref)
    if case is None:
        return False
    accepted = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.type == "call_accepted"))
    return any((e.details or {}).get("attempt") == attempt for e in accepted)


def _page_to_acknowledge(case: Case, practitioner_id: int | None) -> Page | None:
    """Their own active page if they have one, else the case's latest active page."""
    active = [p for p in case.pages if p.status in ACTIVE_PAGES]
    own = [p for p in active if p.practitioner_id == practitioner_id]
    chosen = own or active
    return max(chosen, key=lambda p: p.id) if chosen else None


# --- nobody answered ----------------------------------------------------------------------------

def text_reference(session: Session, case: Case, *, call_sid: str, to: str, body: str, now: datetime) -> bool:
    """Text the caller (who agreed on the call) their reference and the deadline, once per call."""
    key = f"{call_sid}:texted"
    if find_turn(session, key) is not None:
        return True
    outbox.enqueue_sms(session, to=to, body=body, now=now)
    session.add(ConversationMessage(
        conversation_id=case.conversation_id or call_sid, channel="voice", direction="outbound", provider_sid=key,
        text=body, status=TurnStatus.handled, details={"system": True, "texted_reference": True}, created_at=now,
    ))
    audit.log_event(session, case, type="reference_texted", actor=ACTOR, now=now,
                    description="caller agreed on the call: reference and call-back time texted to their mobile",
                    details={"to_last4": to[-4:]})
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
    return True
