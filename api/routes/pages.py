"""/api/pages: the operator's token only (the bot's may not stop a page's ladder)."""
from fastapi import APIRouter

from api.deps import NowDep, Operator, SessionDep
from api.schemas import PageAck, PageRead
from api.services import paging

router = APIRouter(prefix="/api/pages", tags=["pages"])


@router.post("/{page_id}/ack", response_model=PageRead)
def acknowledge_page(page_id: int, session: SessionDep, now: NowDep, caller: Operator, body: PageAck | None = None):
    """Recorded as acknowledged by the caller the token proves; a `by` in the body (older callers)
    is accepted and ignored: a name typed into a request is not who acknowledged."""
    page = paging.acknowledge(session, page_id, now=now, by=caller.actor)
    session.commit()
    return paging.page_view(page)
