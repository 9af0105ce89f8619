"""Follow-ups on the staff pages (issue #18): add one on the case page, add the ticked rows of
the sharps template, mark one done or cancel it, and /follow-ups, the list of what is overdue
and due in the next two weeks (and what is done or cancelled).

The changes go through api/services/follow_ups.py (each one a case event) as the signed-in
user; a refusal re-renders the case page with the GOV.UK error summary and what was typed,
as the other case-page forms do (api/web/routes/cases.py `_act`).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from api.deps import NowDep, SessionDep, SettingsDep
from api.models import Case
from api.services import cases, follow_ups
from api.web.deps import ClinicalReader, ClinicalUser, Csrf, WebRoute, WebUser, safe_next
from api.web.follow_up_views import row
from api.web.forms import Problems
from api.web.rendering import render
from api.web.routes.cases import DONE, _case_page

router = APIRouter(route_class=WebRoute, include_in_schema=False)

DUE_AHEAD_DAYS = 14
MAX_TEMPLATE_ROWS = 20
TABS = {"": "Overdue and due", "done": "Done", "cancelled": "Cancelled"}
# The add form's fields, as the service names them -> their ids on the case page.
ADD_FIELDS = {"what": "fu-what", "due_on": "fu-due_on"}
Line = Annotated[str, Form(max_length=400)]


class Refused(Exception):
    """Problems with a follow-up form, each beside its field."""

    def __init__(self, problems: Problems) -> None:
        super().__init__("; ".join(problems.messages()))
        self.problems = problems


def _one(field: str, message: str) -> Refused:
    problems = Problems()
    problems.add(field, message)
    return Refused(problems)


def _change(request: Request, session: Session, user: WebUser, ref: str, now, done: str,
            action: Callable[[Case], None], *, form: dict[str, str] | None = None,
            back: str | None = None) -> Response:
    """Run one change on the case's follow-ups and commit it; a refusal re-renders the case page
    (400, or 409 for a follow-up that is no longer open) with the problems and `form` kept."""
    case = cases.get_by_ref(session, ref)
    try:
        action(case)
    except (Refused, follow_ups.FollowUpNotOpen) as exc:
        session.rollback()
        if isinstance(exc, Refused):
            problems, status = exc.problems, 400
        else:
            problems, status = Problems(), 409
            problems.add("follow-ups", "This follow-up is already done or cancelled: nothing was changed")
        return _case_page(request, session, user, ref, now, problems=problems, form=form, status_code=status)
    session.commit()
    return RedirectResponse(safe_next(back, f"/cases/{case.ref}?done={done}#follow-ups"), status_code=303)


@router.post("/cases/{ref}/follow-ups", dependencies=[Csrf])
def add(request: Request, ref: str, user: ClinicalUser, session: SessionDep, now: NowDep, settings: SettingsDep,
        what: Line = "", due_on: Annotated[str, Form(max_length=40)] = "",
        remind_by_sms: Annotated[str, Form(max_length=10)] = ""):
    def run(case: Case) -> None:
        try:
            follow_ups.add(session, case, due_on=due_on, what=what, remind_by_sms=bool(remind_by_sms),
                           actor=user.actor, now=now, tz=settings.timezone)
        except follow_ups.FollowUpError as exc:
            raise _one(ADD_FIELDS.get(exc.field, "fu-what"), str(exc)) from exc

    return _change(request, session, user, ref, now, "follow_up_added", run,
                   form={"fu-what": what, "fu-due_on": due_on, "fu-remind": "on" if remind_by_sms else ""})


@router.post("/cases/{ref}/follow-ups/template", dependencies=[Csrf])
def add_from_template(request: Request, ref: str, user: ClinicalUser, session: SessionDep, now: NowDep,
                      settings: SettingsDep,
                      what: Annotated[list[str] | None, Form()] = None,
                      due_on: Annotated[list[str] | None, Form()] = None,
                      add: Annotated[list[str] | None, Form()] = None,
                      remind: Annotated[list[str] | None, Form()] = None):
    """The template's rows come as parallel lists (`what`, `due_on`: one per row, in order) and
    the ticked boxes as row numbers (`add`, `remind`): a box left unticked sends nothing."""
    what, due_on = what or [], due_on or []
    rows = min(len(what), len(due_on), MAX_TEMPLATE_ROWS)
    ticked, reminded = set(add or ()), set(remind or ())
    form = {"tpl": "1", "tpl-rows": str(rows)}
    for i in range(rows):
        form |= {f"tpl-{i}-what": what[i], f"tpl-{i}-due_on": due_on[i],
                 f"tpl-{i}-add": "on" if str(i) in ticked else "",
                 f"tpl-{i}-remind": "on" if str(i) in reminded else ""}

    def run(case: Case) -> None:
        problems = Problems()
        chosen = [i for i in range(rows) if str(i) in ticked]
        if not chosen:
            problems.add("tpl-0-add" if rows else "follow-ups", "Tick at least one follow-up to add")
        for i in chosen:
            name = " ".join(what[i].split()) or f"row {i + 1}"
            if not due_on[i].strip():
                problems.add(f"tpl-{i}-due_on", f"Choose the date for “{name}”")
                continue
            try:
                follow_ups.add(session, case, due_on=due_on[i], what=what[i], remind_by_sms=str(i) in reminded,
                               actor=user.actor, now=now, tz=settings.timezone)
            except follow_ups.FollowUpError as exc:
                field = "due_on" if exc.field == "due_on" else "what"
                problems.add(f"tpl-{i}-{field}", f"{exc} (“{name}”)" if field == "due_on" else str(exc))
        if problems:  # all or nothing: the rows already added are rolled back
            raise Refused(problems)

    return _change(request, session, user, ref, now, "follow_ups_added", run, form=form)


def _close(request: Request, session: Session, user: WebUser, ref: str, follow_up_id: int, now, *,
           done: str, close: Callable[..., object], next_path: str) -> Response:
    def run(case: Case) -> None:
        fu = follow_ups.get(session, follow_up_id)
        if fu.case_id != case.id:  # another case's follow-up: as if there were none
            raise follow_ups.NotFound("follow-up", follow_up_id)
        close(session, fu, actor=user.actor, now=now)

    # From the list, back to the list (its tab kept); otherwise to the case page.
    back = None
    if next_path == "/follow-ups" or next_path.startswith("/follow-ups?"):
        back = f"{next_path}{'&' if '?' in next_path else '?'}done={done}"
    return _change(request, session, user, ref, now, done, run, back=back)


@router.post("/cases/{ref}/follow-ups/{follow_up_id}/done", dependencies=[Csrf])
def mark_done(request: Request, ref: str, follow_up_id: int, user: ClinicalUser, session: SessionDep, now: NowDep,
              next: Annotated[str, Form(max_length=300)] = ""):
    return _close(request, session, user, ref, follow_up_id, now, done="follow_up_done", close=follow_ups.mark_done,
                  next_path=next)


@router.post("/cases/{ref}/follow-ups/{follow_up_id}/cancel", dependencies=[Csrf])
def cancel(request: Request, ref: str, follow_up_id: int, user: ClinicalUser, session: SessionDep, now: NowDep,
           next: Annotated[str, Form(max_length=300)] = ""):
    return _close(request, session, user, ref, follow_up_id, now, done="follow_up_cancelled",
                  close=follow_ups.cancel, next_path=next)


@router.get("/follow-ups")
def listing(request: Request, user: ClinicalReader, session: SessionDep, now: NowDep, settings: SettingsDep,
            state: Annotated[str, Query(max_length=20)] = ""):
    """Overdue first, then due in the next two weeks; `?state=done` or `cancelled`: the closed
    ones, the latest closed first."""
    tab = state if state in TABS else ""
    today = follow_ups.today_in(now, settings.timezone)
    context: dict[str, object] = {"tab": tab, "tabs": TABS, "today": today, "ahead": DUE_AHEAD_DAYS}
    if tab:
        closed = follow_ups.listing(session, state=tab, today=today)
        closed.sort(key=lambda fu: (fu.closed_at or fu.created_at, fu.id), reverse=True)
        context["closed"] = [row(fu, today, settings) for fu in closed]
    else:
        until = today + timedelta(days=DUE_AHEAD_DAYS)
        due = follow_ups.listing(session, state="due", today=today)
        context |= {
            "overdue": [row(fu, today, settings) for fu in follow_ups.listing(session, state="overdue", today=today)],
            "due": [row(fu, today, settings) for fu in due if fu.due_on <= until],
            "later": sum(1 for fu in due if fu.due_on > until), "until": until,
        }
    done = request.query_params.get("done", "")
    context["flash"] = DONE[done] if done in ("follow_up_done", "follow_up_cancelled") else None
    return render(request, "follow_ups.html", context)
