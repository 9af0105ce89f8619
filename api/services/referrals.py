"""What a manager sees: their organisation's manager-line cases, their status, and the outcome
report once a practitioner releases it. Never the answers, transcript or clinical notes."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.core.config import Settings
from api.enums import CaseKind, Channel, Line
from api.models import Case, CaseEvent, UserAccount
from api.services import cases
from api.services.casework import RELEASE_EVENT
from api.services.views import STATUS_WORDS


class NotYourOrganisation(PermissionError):
    pass


class NotAReferral(LookupError):
    pass


REASONS = {"mental_health": "Mental health", "musculoskeletal": "Musculoskeletal", "other": "Other"}


@dataclass
class ReferralRow:
    case: Case
    status_words: str
    released: CaseEvent | None
    milestones: list[tuple[str, datetime]]


def _releases(session: Session, case_ids: list[int]) -> dict[int, CaseEvent]:
    if not case_ids:
        return {}
    latest: dict[int, CaseEvent] = {}
    for event in session.scalars(select(CaseEvent).where(CaseEvent.case_id.in_(case_ids),
                                                         CaseEvent.type == RELEASE_EVENT).order_by(CaseEvent.id)):
        latest[event.case_id] = event
    return latest


def _milestones(case: Case) -> list[tuple[str, datetime]]:
    steps = [("Received", case.created_at), ("Accepted by OH", case.acknowledged_at),
             ("Being handled", case.in_progress_at), ("Closed", case.closed_at)]
    return [(name, at) for name, at in steps if at is not None]


def _row(case: Case, released: CaseEvent | None) -> ReferralRow:
    return ReferralRow(case=case, status_words=STATUS_WORDS.get(case.status, case.status), released=released,
                       milestones=_milestones(case))


def for_manager(session: Session, manager: UserAccount) -> list[ReferralRow]:
    rows = list(session.scalars(
        select(Case).where(Case.line == Line.manager, Case.organisation_id == manager.organisation_id)
        .order_by(Case.created_at.desc(), Case.id.desc())
    ))
    released = _releases(session, [c.id for c in rows])
    return [_row(c, released.get(c.id)) for c in rows]


def get_for_manager(session: Session, manager: UserAccount, ref: str) -> ReferralRow:
    """404 for no such manager-line case; 403 when it belongs to another organisation."""
    case = cases.get_by_ref(session, ref)
    if case.line != Line.manager:
        raise NotAReferral(ref)
    if manager.organisation_id is None or case.organisation_id != manager.organisation_id:
        raise NotYourOrganisation(ref)
    return _row(case, _releases(session, [case.id]).get(case.id))


def create_referral(session: Session, manager: UserAccount, *, answers: dict[str, Any], phone: str | None,
                    now: datetime, settings: Settings) -> Case:
    """A referral made on the web by a signed-in manager, for their own organisation."""
    org = manager.organisation
    data = {
        "line": Line.manager, "kind": CaseKind.referral, "channel": Channel.web,
        "organisation_code": org.code if org else None,
        "contact": {"name": manager.name, "role": "manager", "email": manager.email, "phone": phone or None},
        "answers": answers,
    }
    return cases.create(session, data=data, now=now, settings=settings, actor=f"{manager.name} (manager)")
