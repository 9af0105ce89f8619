"""Follow-ups of a case (issue #18; docs/contract.md "Follow-ups"), for the operator's token; the
bot's token only records the worker's consent to reminder texts, and only on its own
conversation's case.

- POST /api/cases/{ref}/follow-ups (201); GET /api/follow-ups?status=&case= (oldest due first;
  no status: due and overdue); POST /api/follow-ups/{id}/done and /cancel (409 unless open).
- POST /api/cases/{ref}/reminder-consent: the latest answer counts.
Errors: 404 unknown case or follow-up, 422 naming the field (api/errors.py answers the service's
FollowUpError, NotFound and FollowUpNotOpen).
"""
from typing import Literal

from fastapi import APIRouter, Query, status

from api.core.config import Settings
from api.deps import ConversationDep, NowDep, Operator, OperatorOrBot, Principal, SessionDep, SettingsDep
from api.domain.follow_ups import state_of
from api.models import Case, FollowUp
from api.schemas_follow_ups import (
    FollowUpClose,
    FollowUpCreate,
    FollowUpRead,
    ReminderConsent,
    ReminderConsentRead,
    ReminderRead,
)
from api.services import cases
from api.services import follow_ups as service

router = APIRouter(tags=["follow-ups"])


def read(fu: FollowUp, *, settings: Settings, now) -> FollowUpRead:
    today = service.today_in(now, settings.timezone)
    plan = service.reminder_plan(fu, today, settings)
    return FollowUpRead(
        id=fu.id, case_ref=fu.case.ref, due_on=fu.due_on, what=fu.what, remind_by_sms=fu.remind_by_sms,
        status=fu.status, state=state_of(fu.status, fu.due_on, today),
        reminder=ReminderRead(agreed=plan.agreed, sends_on=plan.sends_on, sent_at=plan.sent_at, why_not=plan.why_not),
        created_at=fu.created_at, created_by=fu.created_by, closed_at=fu.closed_at, closed_by=fu.closed_by,
        note=fu.close_note)


@router.post("/api/cases/{ref}/follow-ups", response_model=FollowUpRead, status_code=status.HTTP_201_CREATED)
def add_follow_up(ref: str, body: FollowUpCreate, session: SessionDep, now: NowDep, settings: SettingsDep,
                  caller: Operator):
    case = cases.get_by_ref(session, ref)
    fu = service.add(session, case, due_on=body.due_on, what=body.what, remind_by_sms=body.remind_by_sms,
                     actor=caller.actor, now=now, tz=settings.timezone)
    session.commit()
    return read(fu, settings=settings, now=now)


@router.get("/api/follow-ups", response_model=list[FollowUpRead])
def list_follow_ups(session: SessionDep, now: NowDep, settings: SettingsDep, _: Operator,
                    state: Literal["due", "overdue", "done", "cancelled"] | None = Query(
                        None, alias="status", description="due | overdue | done | cancelled; none: due and overdue"),
                    case: str | None = Query(None, max_length=16, description="A case reference"),
                    limit: int = Query(1000, ge=1, le=5000)):
    rows = service.listing(session, state=state, case=case.strip() if case and case.strip() else None,
                           today=service.today_in(now, settings.timezone), limit=limit)
    return [read(fu, settings=settings, now=now) for fu in rows]


@router.post("/api/follow-ups/{follow_up_id}/done", response_model=FollowUpRead)
def done(follow_up_id: int, body: FollowUpClose, session: SessionDep, now: NowDep, settings: SettingsDep,
         caller: Operator):
    fu = service.mark_done(session, service.get(session, follow_up_id), actor=caller.actor, now=now, note=body.note)
    session.commit()
    return read(fu, settings=settings, now=now)


@router.post("/api/follow-ups/{follow_up_id}/cancel", response_model=FollowUpRead)
def cancel(follow_up_id: int, body: FollowUpClose, session: SessionDep, now: NowDep, settings: SettingsDep,
           caller: Operator):
    fu = service.cancel(session, service.get(session, follow_up_id), actor=caller.actor, now=now, note=body.note)
    session.commit()
    return read(fu, settings=settings, now=now)


def _own_case(session, ref: str, caller: Principal, conversation: str | None) -> Case:
    """As api/routes/cases.py: the bot (or a caller naming a conversation) reaches only the cases
    its conversation opened; any other answers as a reference that does not exist."""
    case = cases.get_by_ref(session, ref)
    if caller.kind == "bot" or conversation is not None:
        if not conversation or case.conversation_id != conversation:
            raise cases.CaseNotFound(ref)
    return case


@router.post("/api/cases/{ref}/reminder-consent", response_model=ReminderConsentRead)
def reminder_consent(ref: str, body: ReminderConsent, session: SessionDep, now: NowDep, caller: OperatorOrBot,
                     conversation: ConversationDep):
    case = _own_case(session, ref, caller, conversation)
    service.record_consent(session, case, agreed=body.agreed, words=body.words, actor=caller.actor, now=now)
    session.commit()
    return ReminderConsentRead(ref=case.ref, agreed=body.agreed, phone=service.mobile_of(case))
