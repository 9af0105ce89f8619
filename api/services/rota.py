"""Who is on call, and the rota's records."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.domain.escalation import Person, RotaSnapshot
from api.enums import PractitionerRole, ShiftTier
from api.models import Practitioner, RotaShift


def _person(p: Practitioner) -> Person:
    return Person(id=p.id, name=p.name, mobile=p.mobile)


def shifts_at(session: Session, now: datetime) -> list[RotaShift]:
    return list(
        session.scalars(
            select(RotaShift)
            .join(RotaShift.practitioner)
            .where(RotaShift.starts_at <= now, RotaShift.ends_at > now, Practitioner.active.is_(True))
            .order_by(RotaShift.starts_at, RotaShift.id)
        )
    )


def snapshot(session: Session, now: datetime) -> RotaSnapshot:
    shifts = shifts_at(session, now)
    active = list(
        session.scalars(select(Practitioner).where(Practitioner.active.is_(True)).order_by(Practitioner.id))
    )

    def unique(people: list[Practitioner]) -> tuple[Person, ...]:
        seen: dict[int, Person] = {}
        for p in people:
            seen.setdefault(p.id, _person(p))
        return tuple(seen.values())

    return RotaSnapshot(
        primary=unique([s.practitioner for s in shifts if s.tier == ShiftTier.primary]),
        backup=unique([s.practitioner for s in shifts if s.tier == ShiftTier.backup]),
        clinical_leads=unique([p for p in active if p.role == PractitionerRole.clinical_lead]),
        everyone=unique(active),
    )
