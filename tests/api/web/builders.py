"""Rows for the report and queue tests, with every time given explicitly."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from api.models import Case, CaseEvent, ConversationMessage, Organisation, Page, Practitioner


def case_row(
    session: Session, *, ref: str, urgency: str | None, channel: str, created_at: datetime,
    org: Organisation | None, line: str = "sharps", kind: str | None = None, status: str = "triaged",
    conversation_id: str | None = None, closed_at: datetime | None = None, outcome: str | None = None,
    pages: list[dict[str, Any]] = (), to: Practitioner | None = None, answers: dict | None = None,
) -> Case:
    case = Case(
        ref=ref, line=line, kind=kind or ("exposure" if line == "sharps" else "advice"), channel=channel,
        status=status, urgency=urgency, conversation_id=conversation_id, organisation=org, contact={},
        answers=answers or {}, decision=None, created_at=created_at, updated_at=created_at,
        closed_at=closed_at, outcome=outcome,
    )
    session.add(case)
    session.flush()
    for spec in pages:
        sent = created_at + timedelta(seconds=spec["sent_after"])
        acked = sent + timedelta(seconds=spec["acked_after"]) if spec.get("acked_after") is not None else None
        session.add(Page(
            case_id=case.id, practitioner_id=to.id if to else None, tier="primary", attempt=1,
            urgency=urgency or "urgent", status="acknowledged" if acked else "pending", sent_at=sent,
            ack_seconds=300, ack_deadline=sent + timedelta(seconds=300), acknowledged_at=acked,
            acknowledged_by=to.name if (acked and to) else None, created_at=sent,
        ))
        if acked and case.acknowledged_at is None:
            case.acknowledged_at = acked
    session.flush()
    session.refresh(case)
    return case


def message(session: Session, conversation_id: str, direction: str, at: datetime, *, channel: str = "web",
            text: str = "hello") -> ConversationMessage:
    m = ConversationMessage(conversation_id=conversation_id, channel=channel, direction=direction, text=text,
                            status="relayed", details={}, created_at=at)
    session.add(m)
    session.flush()
    return m


def rating(session: Session, case: Case, score: int, at: datetime) -> CaseEvent:
    e = CaseEvent(case_id=case.id, type="rating", actor="bot", description="end-of-conversation rating",
                  details={"score": score}, created_at=at)
    session.add(e)
    session.flush()
    return e
