"""Builders for test rows. Explicit values, no randomness: each test says what it needs."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from api.models import Organisation, Practitioner, RotaShift


def practitioner(session: Session, name: str, *, role: str = "nurse", mobile: str, now: datetime,
                 active: bool = True) -> Practitioner:
    p = Practitioner(name=name, role=role, mobile=mobile, active=active, created_at=now)
    session.add(p)
    session.flush()
    return p


def shift(session: Session, person: Practitioner, *, tier: str, start: datetime, hours: float = 12) -> RotaShift:
    s = RotaShift(practitioner_id=person.id, tier=tier, starts_at=start, ends_at=start + timedelta(hours=hours))
    session.add(s)
    session.flush()
    return s


def organisation(session: Session, code: str = "Y00001", *, name: str = "Riverside Medical Practice",
                 type: str = "gp_practice", now: datetime) -> Organisation:
    o = Organisation(code=code, name=name, type=type, created_at=now)
    session.add(o)
    session.flush()
    return o


def standard_rota(session: Session, *, now: datetime) -> dict[str, Practitioner]:
    """Primary and backup on shift around `now`, one clinical lead, one more nurse off shift."""
    people = {
        "primary": practitioner(session, "Alex Primary", mobile="+447700900201", now=now),
        "backup": practitioner(session, "Bea Backup", mobile="+447700900202", now=now),
        "lead": practitioner(session, "Dr Lee Lead", role="clinical_lead", mobile="+447700900203", now=now),
        "other": practitioner(session, "Ola Other", mobile="+447700900204", now=now),
    }
    shift(session, people["primary"], tier="primary", start=now - timedelta(hours=2))
    shift(session, people["backup"], tier="backup", start=now - timedelta(hours=2))
    session.commit()
    return people


HIV_NEEDLESTICK = {
    "exposure_type": "percutaneous",
    "fluid": "blood",
    "device": {"kind": "hollow_bore_needle", "used": True, "visible_blood": True},
    "source": {"identified": True, "hiv": "positive"},
}
