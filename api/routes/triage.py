from typing import Any

from fastapi import APIRouter

from api.deps import Operator, NowDep
from api.schemas import SharpsAnswers, TriageDecision
from api.triage import decide_sharps

router = APIRouter(prefix="/api/triage", tags=["triage"])


@router.post("/sharps", response_model=TriageDecision)
def triage_sharps(body: SharpsAnswers, now: NowDep, _: Operator) -> dict[str, Any]:
    """A decision only: nothing is stored and nobody is paged."""
    return decide_sharps(body.model_dump(mode="json"), now=now).to_dict()
