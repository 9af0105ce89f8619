from typing import Any

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from api.deps import ApiActor, NowDep, SessionDep, SettingsDep
from api.domain.case_kinds import is_sharps_exposure
from api.enums import CaseKind, CaseStatus, Line, Urgency
from api.schemas import (
    AdviceSaid,
    CaseCreate,
    CaseEventRead,
    CaseList,
    CaseNoteCreate,
    CaseRead,
    CaseStatusChange,
    CaseStatusRead,
    CaseUpdate,
    PersonRequest,
    ReferralAnswers,
    ReferralAnswersCreate,
    SharpsAnswers,
)
from api.services import audit, cases, rota
from api.services.views import case_read, case_status_read

router = APIRouter(prefix="/api/cases", tags=["cases"])


def _nested_validation_error(prefix: list, exc: ValidationError) -> RequestValidationError:
    """Re-raise a sub-model's ValidationError with the field path the caller sent."""
    return RequestValidationError(
        [{**err, "loc": [*prefix, *err["loc"]]} for err in exc.errors(include_url=False, include_context=False)]
    )


def _checked_answers(line: str, kind: str | None, answers: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    model = None
    if is_sharps_exposure(line, kind):
        model = SharpsAnswers
    elif kind == CaseKind.referral:
        model = ReferralAnswersCreate if creating else ReferralAnswers
    if model is None:
        return answers
    try:
        checked = model.model_validate(answers)
    except ValidationError as exc:
        raise _nested_validation_error(["body", "answers"], exc) from exc
    # Only what was sent, at every depth: a partial answer must not reset its siblings.
    return checked.model_dump(mode="json", exclude_unset=True)


@router.post("", response_model=CaseRead, status_code=status.HTTP_201_CREATED)
def create_case(body: CaseCreate, session: SessionDep, now: NowDep, settings: SettingsDep, actor: ApiActor):
    data = body.model_dump(mode="json")
    data["answers"] = _checked_answers(body.line, body.kind, body.answers, creating=True)
    case = cases.create(session, data=data, now=now, settings=settings, actor=actor)
    session.commit()
    return case_read(session, case, now=now)


@router.get("", response_model=CaseList)
def list_cases(
    session: SessionDep, now: NowDep, _: ApiActor,
    line: Line | None = None, status: CaseStatus | None = None, urgency: Urgency | None = None,
    limit: int = Query(200, ge=1, le=1000),
):
    rows = cases.list_cases(session, line=line, status=status, urgency=urgency, limit=limit)
    snapshot = rota.snapshot(session, now)
    return {"data": [case_read(session, c, now=now, snapshot=snapshot) for c in rows], "count": len(rows)}


@router.get("/{ref}", response_model=CaseRead)
def get_case(ref: str, session: SessionDep, now: NowDep, _: ApiActor):
    return case_read(session, cases.get_by_ref(session, ref), now=now)


@router.get("/{ref}/status", response_model=CaseStatusRead)
def get_case_status(ref: str, session: SessionDep, now: NowDep, _: ApiActor):
    return case_status_read(cases.get_by_ref(session, ref), now=now)


@router.patch("/{ref}", response_model=CaseRead)
def update_case(ref: str, body: CaseUpdate, session: SessionDep, now: NowDep, settings: SettingsDep,
                actor: ApiActor):
    case = cases.get_by_ref(session, ref)
    data = body.model_dump(mode="json", exclude_unset=True)
    if body.answers:
        data["answers"] = _checked_answers(case.line, case.kind, body.answers, creating=False)
    cases.update(session, case, data=data, now=now, settings=settings, actor=actor)
    session.commit()
    return case_read(session, case, now=now)


@router.get("/{ref}/events", response_model=list[CaseEventRead])
def list_events(ref: str, session: SessionDep, _: ApiActor):
    return audit.events_for(session, cases.get_by_ref(session, ref))


@router.post("/{ref}/events", response_model=CaseEventRead, status_code=status.HTTP_201_CREATED)
def add_note(ref: str, body: CaseNoteCreate, session: SessionDep, now: NowDep, _: ApiActor):
    case = cases.get_by_ref(session, ref)
    cases.add_note(session, case, note=body.note, actor=body.actor, now=now, rating=body.rating)
    session.commit()
    return audit.events_for(session, case)[-1]


@router.post("/{ref}/status", response_model=CaseRead)
def change_status(ref: str, body: CaseStatusChange, session: SessionDep, now: NowDep, _: ApiActor):
    case = cases.get_by_ref(session, ref)
    cases.change_status(session, case, status=body.status, actor=body.actor, now=now, outcome=body.outcome)
    session.commit()
    return case_read(session, case, now=now)


@router.post("/{ref}/person", response_model=CaseRead)
def request_person(ref: str, body: PersonRequest, session: SessionDep, now: NowDep, settings: SettingsDep,
                   actor: ApiActor):
    """The sharps line's "talk to a person": page the on-call ladder on this case, at any hour."""
    case = cases.get_by_ref(session, ref)
    try:
        cases.request_person(session, case, words=body.words, actor=body.actor or actor, now=now, settings=settings)
    except ValueError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    session.commit()
    return case_read(session, case, now=now)


@router.post("/{ref}/said", status_code=status.HTTP_204_NO_CONTENT)
def advice_said(ref: str, body: AdviceSaid, session: SessionDep, now: NowDep, _: ApiActor) -> None:
    """What the bot told the person, word for word (the case page marks each item said)."""
    case = cases.get_by_ref(session, ref)
    cases.record_said(session, case, items=[i.model_dump() for i in body.items], channel=body.channel,
                      actor=body.actor, now=now)
    session.commit()
