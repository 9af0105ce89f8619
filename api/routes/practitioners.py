"""/api/practitioners: the operator's token only. A practitioner's mobile is where their pages go,
so neither the action server's token nor the metrics token may read or change it."""
from fastapi import APIRouter, status

from api.deps import NowDep, Operator, SessionDep
from api.models import Practitioner
from api.schemas import PractitionerCreate, PractitionerRead, PractitionerUpdate
from api.services import directory

router = APIRouter(prefix="/api/practitioners", tags=["practitioners"])


@router.get("", response_model=list[PractitionerRead])
def list_practitioners(session: SessionDep, _: Operator):
    return directory.list_practitioners(session)


@router.post("", response_model=PractitionerRead, status_code=status.HTTP_201_CREATED)
def create_practitioner(body: PractitionerCreate, session: SessionDep, now: NowDep, _: Operator):
    p = directory.create_practitioner(session, body.model_dump(mode="json"), now=now)
    session.commit()
    return p


@router.get("/{practitioner_id}", response_model=PractitionerRead)
def get_practitioner(practitioner_id: int, session: SessionDep, _: Operator):
    return directory.get(session, Practitioner, practitioner_id, "practitioner")


@router.patch("/{practitioner_id}", response_model=PractitionerRead)
def update_practitioner(practitioner_id: int, body: PractitionerUpdate, session: SessionDep, _: Operator):
    p = directory.get(session, Practitioner, practitioner_id, "practitioner")
    directory.update_record(session, p, body.model_dump(mode="json", exclude_unset=True),
                            "a practitioner with that mobile number already exists")
    session.commit()
    return p


@router.delete("/{practitioner_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_practitioner(practitioner_id: int, session: SessionDep, _: Operator):
    """Only a practitioner never paged nor rostered can be deleted; otherwise set active false."""
    p = directory.get(session, Practitioner, practitioner_id, "practitioner")
    directory.delete_record(session, p, "the practitioner has shifts or pages: set active to false instead")
    session.commit()
