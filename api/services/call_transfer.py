"""A call's warm transfer to the on-call practitioner: the transfer row, each dial's result,
and the case's audit trail. Rows are keyed on the CallSid, so Twilio's retries are no-ops."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.enums import TurnStatus
from api.models import Case, ConversationMessage
from api.services import audit
from api.services.turn_store import Turn, find_turn

ACTOR = "relay"


def transfer_of(session: Session, call_sid: str) -> ConversationMessage | None:
    return find_turn(session, f"{call_sid}:transfer")


def start_transfer(session: Session, turn: Turn, case: Case, *, targets: list[dict[str, Any]], text: str,
                   now: datetime) -> ConversationMessage | None:
    """Record (once per call) that the caller is being put through to the on-call practitioner."""
    call_sid = turn.inbound.conversation_id
    row = ConversationMessage(
        conversation_id=call_sid, channel=turn.inbound.channel, direction="outbound",
        provider_sid=f"{call_sid}:transfer", reply_to_id=turn.inbound.id, text=text, status=TurnStatus.handled,
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


def record_dial_result(session: Session, *, call_sid: str, attempt: int, dial_status: str, text: str,
                       now: datetime) -> tuple[ConversationMessage, bool]:
    """One row per dial attempt's outcome (idempotent on CallSid + attempt); audit on the case."""
    key = f"{call_sid}:dial:{attempt}"
    existing = find_turn(session, key)
    if existing is not None:
        return existing, False
    transfer = transfer_of(session, call_sid)
    info = (transfer.details or {}).get("transfer", {}) if transfer else {}
    targets = info.get("targets") or []
    row = ConversationMessage(
        conversation_id=call_sid, channel="voice", direction="outbound", provider_sid=key,
        reply_to_id=transfer.reply_to_id if transfer else None, text=text, status=TurnStatus.handled,
        details={"system": True, "dial": {"attempt": attempt, "status": dial_status}}, created_at=now,
    )
    session.add(row)
    case = session.scalar(select(Case).where(Case.ref == info["ref"])) if info.get("ref") else None
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


def log_case_event(session: Session, ref: str, *, type: str, description: str, now: datetime,
                   details: dict[str, Any]) -> None:
    case = case_by_ref(session, ref)
    if case is not None:
        audit.log_event(session, case, type=type, actor=ACTOR, now=now, description=description, details=details)
        session.commit()


def case_by_ref(session: Session, ref: str) -> Case | None:
    if not ref:
        return None
    return session.scalar(select(Case).where(Case.ref == ref.upper()))
