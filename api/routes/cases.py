"""/api/cases: the operator's token may do everything here; the action server's (bot) token may
open a case for its own conversation and then only touch, and read the status of, the cases
that conversation opened (api.deps). Audit events name the caller the token proves, never an
"actor" sent in the body (still accepted, for older callers, and ignored)."""
from typing import Any

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from api.deps import (
    CONVERSATION_HEADER,
    ConversationDep,
    NowDep,
    Operator,
    OperatorOrBot,
    Principal,
    SessionDep,
    SettingsDep,
)
from api.domain.case_kinds import is_sharps_exposure
from api.enums import CaseKind, CaseStatus, Line, Urgency
from api.models import Case
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
from api.services import audit, cases, referrals, rota
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


def _case(session, ref: str, caller: Principal, conversation: str | None) -> Case:
    """The case, if this caller may touch it. The bot only reaches cases its conversation opened;
    any other is answered exactly as a reference that does not exist (404), so the bot cannot
    learn whether someone else's reference is real. A conversation named by the operator is
    held to the same rule (an action server run with the operator's token still answers only
    its own conversation)."""
    case = cases.get_by_ref(session, ref)
    if caller.kind == "bot" or conversation is not None:
        if not conversation or case.conversation_id != conversation:
            raise cases.CaseNotFound(ref)
    return case


@router.post("", response_model=CaseRead, status_code=status.HTTP_201_CREATED)
def create_case(body: CaseCreate, session: SessionDep, now: NowDep, settings: SettingsDep, caller: OperatorOrBot,
                conversation: ConversationDep):
    data = body.model_dump(mode="json")
    if caller.kind == "bot":
        # A case the bot opens belongs to the conversation it speaks for, or it could never reach it again.
        if not conversation or data.get("conversation_id") not in (None, conversation):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "the bot opens cases only for its own conversation "
                                f"(send it in {CONVERSATION_HEADER})")
        data["conversation_id"] = conversation
    data["answers"] = _checked_answers(body.line, body.kind, body.answers, creating=True)
    case = cases.create(session, data=data, now=now, settings=settings, actor=caller.actor)
    session.commit()
    return case_read(session, case, now=now)


@router.get("", response_model=CaseList)
def list_cases(
    session: SessionDep, now: NowDep, _: Operator,
    line: Line | None = None, status: CaseStatus | None = None, urgency: Urgency | None = None,
    limit: int = Query(200, ge=1, le=1000),
):
    rows = cases.list_cases(session, line=line, status=status, urgency=urgency, limit=limit)
    snapshot = rota.snapshot(session, now)
    return {"data": [case_read(session, c, now=now, snapshot=snapshot) for c in rows], "count": len(rows)}


@router.get("/{ref}", response_model=CaseRead)
def get_case(ref: str, session: SessionDep, now: NowDep, _: Operator):
    return case_read(session, cases.get_by_ref(session, ref), now=now)


@router.get("/{ref}/status", response_model=CaseStatusRead)
def get_case_status(ref: str, session: SessionDep, now: NowDep, caller: OperatorOrBot, conversation: ConversationDep):
    """The bot must name the asking conversation: a case opened by another one is "not found"."""
    case = _case(session, ref, caller, conversation)
    if case.line == Line.manager:
        words, released = referrals.status_of(session, case)
        return case_status_read(case, now=now, referral_words=words.value, report_released=released)
    return case_status_read(case, now=now)


@router.patch("/{ref}", response_model=CaseRead)
def update_case(ref: str, body: CaseUpdate, session: SessionDep, now: NowDep, settings: SettingsDep,
                caller: OperatorOrBot, conversation: ConversationDep):
    case = _case(session, ref, caller, conversation)
    data = body.model_dump(mode="json", exclude_unset=True)
    if body.answers:
        data["answers"] = _checked_answers(case.line, case.kind, body.answers, creating=False)
    cases.update(session, case, data=data, now=now, settings=settings, actor=caller.actor)
    session.commit()
    return case_read(session, case, now=now)


@router.get("/{ref}/events", response_model=list[CaseEventRead])
def list_events(ref: str, session: SessionDep, _: Operator):
    return audit.events_for(session, cases.get_by_ref(session, ref))


@router.post("/{ref}/events", response_model=CaseEventRead, status_code=status.HTTP_201_CREATED)
def add_note(ref: str, body: CaseNoteCreate, session: SessionDep, now: NowDep, caller: OperatorOrBot,
             conversation: ConversationDep):
    case = _case(session, ref, caller, conversation)
    cases.add_note(session, case, note=body.note, actor=caller.actor, now=now, rating=body.rating)
    session.commit()
    return audit.events_for(session, case)[-1]


@router.post("/{ref}/status", response_model=CaseRead)
def change_status(ref: str, body: CaseStatusChange, session: SessionDep, now: NowDep, caller: Operator):
    case = cases.get_by_ref(session, ref)
    cases.change_status(session, case, status=body.status, actor=caller.actor, now=now, outcome=body.outcome)
    session.commit()
    return case_read(session, case, now=now)


@router.post("/{ref}/person", response_model=CaseRead)
def request_person(ref: str, body: PersonRequest, session: SessionDep, now: NowDep, settings: SettingsDep,
                   caller: OperatorOrBot, conversation: ConversationDep):
    """The sharps line's "talk to a person": page the on-call ladder on this case, at any hour."""
    case = _case(session, ref, caller, conversation)
    try:
        cases.request_person(session, case, words=body.words, actor=caller.actor, now=now, settings=settings)
    except ValueError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    session.commit()
    return case_read(session, case, now=now)


@router.post("/{ref}/said", status_code=status.HTTP_204_NO_CONTENT)
def advice_said(ref: str, body: AdviceSaid, session: SessionDep, now: NowDep, caller: OperatorOrBot,
                conversation: ConversationDep) -> None:
    """What the bot told the person, word for word (the case page marks each item said)."""
    case = _case(session, ref, caller, conversation)
    cases.record_said(session, case, items=[i.model_dump() for i in body.items], channel=body.channel,
                      actor=caller.actor, now=now)
    session.commit()
