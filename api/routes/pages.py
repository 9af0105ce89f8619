from fastapi import APIRouter

from api.deps import ApiActor, NowDep, SessionDep
from api.schemas import PageAck, PageRead
from api.services import paging

router = APIRouter(prefix="/api/pages", tags=["pages"])


@router.post("/{page_id}/ack", response_model=PageRead)
def acknowledge_page(page_id: int, session: SessionDep, now: NowDep, _: ApiActor, body: PageAck | None = None):
    page = paging.acknowledge(session, page_id, now=now, by=body.by if body else None)
    session.commit()
    return paging.page_view(page)
