"""/api/rota: the operator's token changes the rota. Who is on call now is also open to the
action server's token, without the mobile numbers (the bot never rings anyone itself)."""
from datetime import datetime

from fastapi import APIRouter, status

from api.deps import NowDep, Operator, OperatorOrBot, SessionDep
from api.models import RotaShift
from api.schemas import RotaNow, RotaShiftCreate, RotaShiftRead, RotaShiftUpdate
from api.services import directory, rota

router = APIRouter(prefix="/api/rota", tags=["rota"])


def _people(people, *, mobiles: bool) -> list[dict]:
    return [{"id": p.id, "name": p.name, "mobile": p.mobile if mobiles else None} for p in people]


@router.get("/now", response_model=RotaNow)
def on_call_now(session: SessionDep, now: NowDep, caller: OperatorOrBot):
    snap = rota.snapshot(session, now)
    mobiles = caller.kind == "operator"
    return {"at": now, "primary": _people(snap.primary, mobiles=mobiles),
            "backup": _people(snap.backup, mobiles=mobiles),
            "clinical_leads": _people(snap.clinical_leads, mobiles=mobiles), "nobody_on_call": snap.nobody_on_call}


@router.get("/shifts", response_model=list[RotaShiftRead])
def list_shifts(session: SessionDep, _: Operator, start: datetime | None = None, end: datetime | None = None):
    return directory.shifts_between(session, start, end)


@router.post("/shifts", response_model=RotaShiftRead, status_code=status.HTTP_201_CREATED)
def create_shift(body: RotaShiftCreate, session: SessionDep, _: Operator):
    shift = directory.create_shift(session, body.model_dump())
    session.commit()
    return shift


@router.get("/shifts/{shift_id}", response_model=RotaShiftRead)
def get_shift(shift_id: int, session: SessionDep, _: Operator):
    return directory.get(session, RotaShift, shift_id, "rota shift")


@router.patch("/shifts/{shift_id}", response_model=RotaShiftRead)
def update_shift(shift_id: int, body: RotaShiftUpdate, session: SessionDep, _: Operator):
    shift = directory.get(session, RotaShift, shift_id, "rota shift")
    directory.update_record(session, shift, body.model_dump(exclude_unset=True), "update conflicts")
    session.commit()
    return shift


@router.delete("/shifts/{shift_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_shift(shift_id: int, session: SessionDep, _: Operator):
    shift = directory.get(session, RotaShift, shift_id, "rota shift")
    directory.delete_record(session, shift, "the shift cannot be deleted")
    session.commit()
