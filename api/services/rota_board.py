"""The rota page: who is on call now and next, the shifts ahead, and the gaps with no primary."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.domain.escalation import RotaSnapshot
from api.enums import ShiftTier
from api.models import Practitioner, RotaShift
from api.services import directory, rota

HORIZON_DAYS = 14


@dataclass(frozen=True)
class Gap:
    start: datetime
    end: datetime

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


@dataclass
class RotaBoard:
    now: datetime
    horizon_end: datetime
    on_call: RotaSnapshot
    next_primary: list[RotaShift]
    next_backup: list[RotaShift]
    shifts: list[RotaShift]
    gaps: list[Gap]
    practitioners: list[Practitioner]


def primary_gaps(shifts: list[RotaShift], start: datetime, end: datetime) -> list[Gap]:
    """Stretches of [start, end) that no primary shift of an active practitioner covers."""
    spans = sorted(
        (max(s.starts_at, start), min(s.ends_at, end)) for s in shifts
        if s.tier == ShiftTier.primary and s.practitioner.active and s.ends_at > start and s.starts_at < end
    )
    gaps, cursor = [], start
    for begin, finish in spans:
        if begin > cursor:
            gaps.append(Gap(cursor, begin))
        cursor = max(cursor, finish)
    if cursor < end:
        gaps.append(Gap(cursor, end))
    return gaps


def _next(shifts: list[RotaShift], tier: str, now: datetime) -> list[RotaShift]:
    upcoming = [s for s in shifts if s.tier == tier and s.starts_at > now and s.practitioner.active]
    if not upcoming:
        return []
    first = min(s.starts_at for s in upcoming)
    return [s for s in upcoming if s.starts_at == first]


def board(session: Session, *, now: datetime, days: int = HORIZON_DAYS) -> RotaBoard:
    end = now + timedelta(days=days)
    shifts = directory.shifts_between(session, now, end)
    return RotaBoard(
        now=now, horizon_end=end, on_call=rota.snapshot(session, now),
        next_primary=_next(shifts, ShiftTier.primary, now), next_backup=_next(shifts, ShiftTier.backup, now),
        shifts=shifts, gaps=primary_gaps(shifts, now, end),
        practitioners=list(session.scalars(select(Practitioner).where(Practitioner.active.is_(True))
                                           .order_by(Practitioner.name))),
    )


def _checked(data: dict[str, Any]) -> dict[str, Any]:
    if data["tier"] not in {t.value for t in ShiftTier}:
        raise directory.InvalidField("tier", "tier must be primary or backup")
    if data["ends_at"] <= data["starts_at"]:
        raise directory.InvalidField("ends_at", "a shift must end after it starts")
    if data["ends_at"] - data["starts_at"] > timedelta(days=7):
        raise directory.InvalidField("ends_at", "a shift can be at most 7 days long")
    return data


def add_shift(session: Session, *, practitioner_id: int, tier: str, starts_at: datetime,
              ends_at: datetime) -> RotaShift:
    data = _checked({"practitioner_id": practitioner_id, "tier": tier, "starts_at": starts_at, "ends_at": ends_at})
    return directory.create_shift(session, data)


def edit_shift(session: Session, shift_id: int, *, practitioner_id: int, tier: str, starts_at: datetime,
               ends_at: datetime) -> RotaShift:
    shift = directory.get(session, RotaShift, shift_id, "rota shift")
    data = _checked({"practitioner_id": practitioner_id, "tier": tier, "starts_at": starts_at, "ends_at": ends_at})
    directory.update_record(session, shift, data, "update conflicts")
    return shift


def remove_shift(session: Session, shift_id: int) -> None:
    shift = directory.get(session, RotaShift, shift_id, "rota shift")
    directory.delete_record(session, shift, "the shift cannot be deleted")
