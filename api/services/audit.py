"""Audit events are written in the caller's transaction, so an event and its change commit together."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.models import Case, CaseEvent


def log_event(
    session: Session,
    case: Case,
    *,
    type: str,
    description: str,
    now: datetime,
    actor: str = "system",
    details: dict[str, Any] | None = None,
) -> CaseEvent:
    if case.id is None:
        session.flush()
    event = CaseEvent(
        case_id=case.id,
        type=type,
        actor=actor,
        description=description,
        details=details or {},
        created_at=now,
    )
    session.add(event)
    return event


def events_for(session: Session, case: Case) -> list[CaseEvent]:
    return list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)))
