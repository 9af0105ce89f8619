"""/api/cases/{ref}/abuse: mark a case's source as abuse (its pages held), see the mark, lift it.

The operator's token only; the audit actor is the identity the token proves, never a name in
the body. Staff do the same from the case page (api/web/routes/cases.py).
"""
from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field

from api.deps import ApiActor, NowDep, SessionDep, SettingsDep
from api.models import AbuseMark
from api.services import abuse, cases

router = APIRouter(prefix="/api/cases", tags=["abuse"])


class AbuseMarkCreate(BaseModel):
    reason: str = Field(min_length=3, max_length=500, description="Why this is abuse (kept in the case's audit trail)")


class AbuseMarkRead(BaseModel):
    id: int
    case_ref: str
    source: str = Field(description="What kind of source is silenced: phone number, web chat client or conversation")
    reason: str
    marked_by: str
    created_at: datetime
    until: datetime
    lifted_at: datetime | None
    lifted_by: str | None


class AbuseStatus(BaseModel):
    source: str
    silenced: AbuseMarkRead | None
    grouped_with: str | None = Field(description="The case whose page this case joined, if any")


def _read(entry: AbuseMark) -> AbuseMarkRead:
    return AbuseMarkRead(id=entry.id, case_ref=entry.case.ref, source=abuse.describe(entry.source_key),
                         reason=entry.reason, marked_by=entry.marked_by, created_at=entry.created_at,
                         until=entry.until, lifted_at=entry.lifted_at, lifted_by=entry.lifted_by)


@router.post("/{ref}/abuse", response_model=AbuseMarkRead, status_code=status.HTTP_201_CREATED)
def mark_abuse(ref: str, body: AbuseMarkCreate, session: SessionDep, now: NowDep, settings: SettingsDep,
               actor: ApiActor):
    case = cases.get_by_ref(session, ref)
    try:
        entry = cases.mark_abuse(session, case, reason=body.reason, actor=actor, now=now, settings=settings)
    except abuse.NoSource as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    session.commit()
    return _read(entry)


@router.get("/{ref}/abuse", response_model=AbuseStatus)
def abuse_status(ref: str, session: SessionDep, now: NowDep, _: ApiActor):
    case = cases.get_by_ref(session, ref)
    flags = abuse.case_flags(session, case, now=now)
    return AbuseStatus(source=flags.source, silenced=_read(flags.silenced) if flags.silenced else None,
                       grouped_with=flags.grouped_with)


@router.delete("/{ref}/abuse", response_model=list[AbuseMarkRead])
def lift_abuse(ref: str, session: SessionDep, now: NowDep, settings: SettingsDep, actor: ApiActor):
    """Lift every mark in force on the case's source; its held cases page now (grouped as usual)."""
    case = cases.get_by_ref(session, ref)
    marks = cases.lift_abuse(session, case, actor=actor, now=now, settings=settings)
    session.commit()
    return [_read(m) for m in marks]
