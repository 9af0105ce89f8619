from fastapi import APIRouter, status

from api.deps import Operator, NowDep, SessionDep
from api.models import Organisation
from api.schemas import OrganisationCreate, OrganisationRead, OrganisationUpdate
from api.services import directory

router = APIRouter(prefix="/api/organisations", tags=["organisations"])


@router.get("", response_model=list[OrganisationRead])
def list_organisations(session: SessionDep, _: Operator, q: str | None = None):
    """All organisations, or those whose name or code contains `q`."""
    return directory.list_organisations(session, q)


@router.post("", response_model=OrganisationRead, status_code=status.HTTP_201_CREATED)
def create_organisation(body: OrganisationCreate, session: SessionDep, now: NowDep, _: Operator):
    org = directory.create_organisation(session, body.model_dump(mode="json"), now=now)
    session.commit()
    return org


@router.get("/{org_id}", response_model=OrganisationRead)
def get_organisation(org_id: int, session: SessionDep, _: Operator):
    return directory.get(session, Organisation, org_id, "organisation")


@router.patch("/{org_id}", response_model=OrganisationRead)
def update_organisation(org_id: int, body: OrganisationUpdate, session: SessionDep, _: Operator):
    org = directory.get(session, Organisation, org_id, "organisation")
    directory.update_record(session, org, body.model_dump(mode="json", exclude_unset=True), "update conflicts")
    session.commit()
    return org


@router.delete("/{org_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_organisation(org_id: int, session: SessionDep, _: Operator):
    org = directory.get(session, Organisation, org_id, "organisation")
    directory.delete_record(session, org, "the organisation has cases and cannot be deleted")
    session.commit()
