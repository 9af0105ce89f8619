"""Try a candidate rule file on past cases before it is released (issue #17); the operator's token
only (the action server has no business with clinical rules).

- POST /api/rules/sharps/replay, POST /api/rules/manager/replay with {"rules_yaml": "<text>"}
  (optional `limit`: the newest N cases; `since`: cases opened from then): the diff of the
  candidate against the live rules over the line's past cases (api/services/replay.py). Nothing
  is stored and nobody is paged.
- A file that does not validate, or is for the other line, is a 422 naming the line of the
  text: {"detail": [{"loc": ["body", "rules_yaml"], "line": 27, "msg": "line 27: ...", ...}]}.
"""
from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import AwareDatetime, BaseModel, Field

from api.deps import Operator, SessionDep
from api.enums import Line
from api.services import replay
from api.triage.ruleset import RuleSetError

router = APIRouter(prefix="/api/rules", tags=["rules"])


class ReplayRequest(BaseModel):
    rules_yaml: str = Field(description="The candidate rule file's text (YAML, as in api/triage/rules/)",
                            max_length=replay.MAX_RULE_FILE_BYTES)
    limit: int | None = Field(None, ge=1, le=1_000_000, description="Replay only the newest N cases")
    since: AwareDatetime | None = Field(None, description="Replay only cases opened at or after this time")


def _unprocessable(msg: str, line: int | None, type_: str) -> HTTPException:
    # FastAPI's own 422 shape (a `detail` list), with the line of the text the problem is on.
    return HTTPException(422,
                         detail=[{"loc": ["body", "rules_yaml"], "line": line, "msg": msg, "type": type_}])


def _replay(line: Line, body: ReplayRequest, session: SessionDep) -> dict[str, Any]:
    try:
        diff = replay.replay(session, line=line.value, rules_yaml=body.rules_yaml, since=body.since, limit=body.limit)
    except RuleSetError as exc:
        raise _unprocessable(exc.problem, exc.line, "rule_file") from None
    except replay.RuleFileTooLarge as exc:
        raise _unprocessable(str(exc), None, "too_large") from None
    return diff.to_dict()


@router.post("/sharps/replay")
def replay_sharps(body: ReplayRequest, session: SessionDep, _: Operator) -> dict[str, Any]:
    """The candidate sharps rules against the live ones over past sharps cases: nothing stored, nobody paged."""
    return _replay(Line.sharps, body, session)


@router.post("/manager/replay")
def replay_manager(body: ReplayRequest, session: SessionDep, _: Operator) -> dict[str, Any]:
    """The candidate manager rules (crisis rules included) against the live ones over past manager cases."""
    return _replay(Line.manager, body, session)
