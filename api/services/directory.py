"""Organisations, practitioners and rota shifts: plain records with checked input."""
from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.models import Base, Organisation, Practitioner, RotaShift
from api.services.paging import MAX_ROW_ID, normalise_number

T = TypeVar("T", bound=Base)


class NotFound(LookupError):
    def __init__(self, what: str, key: Any) -> None:
        super().__init__(f"no {what} with id {key}")


class Conflict(ValueError):
    """A unique field already taken, or a record still in use."""


class InvalidField(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def get(session: Session, model: type[T], key: int, what: str) -> T:
    row = session.get(model, key) if 0 < key <= MAX_ROW_ID else None
    if row is None:
        raise NotFound(what, key)
    return row


def _mobile(value: str) -> str:
    number = normalise_number(value)
    if number is None:
        raise InvalidField("mobile", "not a valid phone number (UK numbers may start with 07 or +44)")
    return number


def _flush(session: Session, message: str) -> None:
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(message) from exc


def list_organisations(session: Session, q: str | None = None) -> list[Organisation]:
    query = select(Organisation).order_by(Organisation.name)
    if q:
        like = f"%{q.strip()}%"
        query = query.where(or_(Organisation.name.ilike(like), Organisation.code.ilike(like)))
    return list(session.scalars(query))


_FILLER = {"the", "surgery", "practice", "medical", "centre", "center", "health", "pharmacy", "community", "group",
           "gp", "at", "of", "and", "&"}


def _words(text: str) -> set[str]:
    return {w for w in "".join(c.lower() if c.isalnum() else " " for c in text).split() if w not in _FILLER}


def match_organisation(session: Session, text: str | None) -> Organisation | None:
    """The one organisation a person's own words name ("riverside surgery", "Y00001"), or
    None when it is unknown or could be more than one: a wrong match is worse than none."""
    if not text or not text.strip():
        return None
    wanted = text.strip()
    orgs = list(session.scalars(select(Organisation)))
    exact = [o for o in orgs if wanted.upper() == o.code or wanted.lower() == o.name.lower()]
    if len(exact) == 1:
        return exact[0]
    words = _words(wanted)
    if not words:
        return None
    hits = [o for o in orgs if words <= _words(o.name) or (_words(o.name) <= words and _words(o.name))]
    return hits[0] if len(hits) == 1 else None


def create_organisation(session: Session, data: dict[str, Any], *, now: datetime) -> Organisation:
    org = Organisation(**{**data, "code": data["code"].upper()}, created_at=now)
    session.add(org)
    _flush(session, f"an organisation with code {org.code} already exists")
    return org


def list_practitioners(session: Session) -> list[Practitioner]:
    """Every practitioner, active or not, by name."""
    return list(session.scalars(select(Practitioner).order_by(Practitioner.name)))


def create_practitioner(session: Session, data: dict[str, Any], *, now: datetime) -> Practitioner:
    p = Practitioner(**{**data, "mobile": _mobile(data["mobile"])}, created_at=now)
    session.add(p)
    _flush(session, "a practitioner with that mobile number already exists")
    return p


def _known_practitioner(session: Session, practitioner_id: int) -> None:
    if not 0 < practitioner_id <= MAX_ROW_ID or session.get(Practitioner, practitioner_id) is None:
        raise InvalidField("practitioner_id", f"no practitioner with id {practitioner_id}")


def create_shift(session: Session, data: dict[str, Any]) -> RotaShift:
    _known_practitioner(session, data["practitioner_id"])
    shift = RotaShift(**data)
    session.add(shift)
    session.flush()
    return shift


def update_record(session: Session, row: Base, changes: dict[str, Any], message: str) -> Base:
    if "mobile" in changes and changes["mobile"] is not None:
        changes["mobile"] = _mobile(changes["mobile"])
    if "practitioner_id" in changes and changes["practitioner_id"] is not None:
        _known_practitioner(session, changes["practitioner_id"])
    for key, value in changes.items():
        if value is None and not row.__table__.c[key].nullable:
            raise InvalidField(key, f"{key} cannot be null; leave it out to keep it")
        if isinstance(value, datetime) and value.tzinfo is None:
            raise InvalidField(key, f"{key} needs a time zone, e.g. 2026-11-23T08:00:00+00:00")
    for key, value in changes.items():
        setattr(row, key, value)
    if isinstance(row, RotaShift) and row.ends_at <= row.starts_at:
        raise InvalidField("ends_at", "ends_at must be after starts_at")
    _flush(session, message)
    return row


def delete_record(session: Session, row: Base, message: str) -> None:
    session.delete(row)
    _flush(session, message)


def shifts_between(session: Session, start: datetime | None, end: datetime | None) -> list[RotaShift]:
    query = select(RotaShift).order_by(RotaShift.starts_at)
    if start:
        query = query.where(RotaShift.ends_at > start)
    if end:
        query = query.where(RotaShift.starts_at < end)
    return list(session.scalars(query))
