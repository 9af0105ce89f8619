"""The live queue (/dashboard) and the case page (/cases/{ref}) with its actions."""
from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import date
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from api.deps import NowDep, SessionDep, SettingsDep
from api.domain.case_lifecycle import IllegalTransition
from api.models import Case
from api.services import abuse, cases, casework, queue, referrals, reviews, rota
from api.triage import URGENCY_ORDER
from api.web import follow_up_views
from api.web.deps import ClinicalReader, ClinicalUser, Csrf, WebRoute, WebUser, is_htmx, safe_next
from api.web.forms import Problems
from api.web.rendering import render

router = APIRouter(route_class=WebRoute, include_in_schema=False)

DONE = {
    "acknowledged": "Page acknowledged.", "owned": "You now own this case.", "note": "Note added.",
    "callback": "Call-back recorded.", "status": "Status changed.", "closed": "Case closed.",
    "released": "Outcome report released to the organisation's managers.",
    "organisation": "Organisation confirmed: its managers can now follow this referral.",
    "abuse": "Marked as abuse: pages from this source are held (an emergency or a crisis still pages).",
    "abuse_lifted": "Abuse mark lifted: pages from this source go out again.",
    "review": "Your review is recorded.",
    "follow_up_added": "Follow-up added.", "follow_ups_added": "Follow-ups added from the template.",
    "follow_up_done": "Follow-up marked as done.", "follow_up_cancelled": "Follow-up cancelled.",
}
Text = Annotated[str, Form(max_length=4000)]
# Where a refusal that concerns no one field points: the case page's action bar (always drawn).
ACTIONS = "actions"


def _queue_version(rows: list[queue.QueueRow], flags: dict[int, abuse.Flags], user: WebUser) -> str:
    """What the queue fragment shows, less the ticking ages and the "Updated" clock: the browser
    skips a poll's swap when this is unchanged, so focus and a screen reader's place stay put."""
    facts = [user.csrf, user.account.practitioner_id]
    for r in rows:
        c, f = r.case, flags.get(r.case.id)
        facts.append((c.ref, c.urgency, c.status, c.owner_id, c.updated_at.isoformat(), c.organisation_id,
                      c.line, c.channel, c.kind, r.summary, repr(r.page), r.pending_page_id, repr(r.clock),
                      f.silenced_until.isoformat() if f and f.silenced_until else None, f.grouped_with if f else None))
    return hashlib.sha256(repr(facts).encode()).hexdigest()[:16]


def _queue_context(session: Session, user: WebUser, now) -> dict:
    rows = queue.open_queue(session, now=now, practitioner_id=user.account.practitioner_id)
    flags = abuse.flags_for(session, [r.case for r in rows], now=now)
    return {
        "rows": rows, "on_call": rota.snapshot(session, now),
        "emergencies_waiting": sum(1 for r in rows if r.emergency and r.unacknowledged),
        "overdue": sum(1 for r in rows if r.clock.overdue),
        "flags": flags, "version": _queue_version(rows, flags, user),
    }


QUEUE_REF = re.compile(r"[A-Z]{2}-\d{6,}")


@router.get("/dashboard")
def dashboard(request: Request, user: ClinicalReader, session: SessionDep, now: NowDep):
    context = _queue_context(session, user, now)
    # Without JavaScript the queue's buttons post and come back here; say what was done.
    done, ref = request.query_params.get("done", ""), request.query_params.get("ref", "")
    if done in ("acknowledged", "owned") and QUEUE_REF.fullmatch(ref):
        context["flash"] = f"{ref}: {DONE[done]}"
    today = now.astimezone(ZoneInfo(request.app.state.settings.timezone)).date()
    context["follow_up_counts"] = follow_up_views.counts(session, today)  # issue #18
    return render(request, "dashboard.html", context)


@router.get("/dashboard/queue")
def dashboard_queue(request: Request, user: ClinicalReader, session: SessionDep, now: NowDep):
    return render(request, "_queue.html", _queue_context(session, user, now))


def _case_page(request: Request, session: Session, user: WebUser, ref: str, now, *,
               problems: Problems | None = None, form: dict[str, str] | None = None,
               status_code: int = 200) -> Response:
    """The case page; after a refused action, with the problem beside its field and what was typed."""
    case = cases.get_by_ref(session, ref)
    page = casework.case_page(session, case, now=now, practitioner_id=user.account.practitioner_id)
    today = now.astimezone(ZoneInfo(request.app.state.settings.timezone)).date()
    return render(request, "case.html", {
        "p": page, "c": case, "problems": problems, "form": form or {},
        "done": DONE.get(request.query_params.get("done", "")),
        "outcomes": casework.OUTCOMES, "callback_results": casework.CALLBACK_RESULTS, "today": today,
        "can_release": casework.can_release(case) and referrals.is_bound(case),
        "binding": referrals.binding(session, case),
        "abuse": abuse.case_flags(session, case, now=now),
        "review": reviews.for_case(session, case),  # the practitioner's review beside the rules' (issue #17)
        "follow_ups": follow_up_views.card(session, case, today=today, settings=request.app.state.settings),
    }, status_code=status_code)


@router.get("/cases/{ref}")
def case_detail(request: Request, ref: str, user: ClinicalReader, session: SessionDep, now: NowDep):
    return _case_page(request, session, user, ref, now)


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:]


def _act(request: Request, session: Session, user: WebUser, ref: str, now, done: str,
         action: Callable[[Case], None], *, field: str = ACTIONS, form: dict[str, str] | None = None,
         back: str | None = None) -> Response:
    """Run one change on a case and commit it. A refusal re-renders the page (400, or 409 for a
    move the lifecycle forbids) with the reason beside `field` (or the field the error names) and
    `form`, what was typed, kept."""
    case = cases.get_by_ref(session, ref)
    try:
        action(case)
    except (casework.CaseworkError, IllegalTransition) as exc:
        session.rollback()
        message = _sentence(str(exc))
        if is_htmx(request):
            return render(request, "_queue.html", {**_queue_context(session, user, now), "error": message},
                          status_code=200)
        problems = Problems()
        problems.add(getattr(exc, "field", None) or field, message)
        return _case_page(request, session, user, ref, now, problems=problems, form=form,
                          status_code=409 if isinstance(exc, IllegalTransition) else 400)
    session.commit()
    session.expire_all()  # re-read what paging and the lifecycle changed before drawing the queue
    if is_htmx(request):
        return render(request, "_queue.html",
                      {**_queue_context(session, user, now), "flash": f"{case.ref}: {DONE[done]}"})
    return RedirectResponse(safe_next(back, f"/cases/{case.ref}?done={done}"), status_code=303)


@router.post("/cases/{ref}/acknowledge", dependencies=[Csrf])
def acknowledge(request: Request, ref: str, user: ClinicalUser, session: SessionDep, now: NowDep,
                next: Annotated[str, Form(max_length=300)] = ""):
    return _act(request, session, user, ref, now, "acknowledged", lambda case: casework.acknowledge(
        session, case, by=user.name, actor=user.actor, now=now, practitioner_id=user.account.practitioner_id),
        back=next or None)


@router.post("/cases/{ref}/take", dependencies=[Csrf])
def take(request: Request, ref: str, user: ClinicalUser, session: SessionDep, now: NowDep,
         next: Annotated[str, Form(max_length=300)] = ""):
    return _act(request, session, user, ref, now, "owned", lambda case: casework.take_ownership(
        session, case, by=user.name, actor=user.actor, now=now, practitioner_id=user.account.practitioner_id),
        back=next or None)


@router.post("/cases/{ref}/notes", dependencies=[Csrf])
def add_note(request: Request, ref: str, user: ClinicalUser, session: SessionDep, now: NowDep, note: Text = ""):
    return _act(request, session, user, ref, now, "note",
                lambda case: casework.add_note(session, case, note=note, actor=user.actor, now=now),
                field="note", form={"note": note})


@router.post("/cases/{ref}/callbacks", dependencies=[Csrf])
def record_callback(request: Request, ref: str, user: ClinicalUser, session: SessionDep, now: NowDep,
                    result: Annotated[str, Form(max_length=40)] = "", note: Text = ""):
    return _act(request, session, user, ref, now, "callback", lambda case: casework.record_callback(
        session, case, result=result, note=note, actor=user.actor, now=now),
        field="result", form={"result": result, "callback-note": note})


@router.post("/cases/{ref}/status", dependencies=[Csrf])
def change_status(request: Request, ref: str, user: ClinicalUser, session: SessionDep, now: NowDep,
                  status: Annotated[str, Form(max_length=40)] = ""):
    return _act(request, session, user, ref, now, "status", lambda case: casework.change_status(
        session, case, target=status, actor=user.actor, now=now), field="status", form={"status": status})


@router.post("/cases/{ref}/close", dependencies=[Csrf])
def close(request: Request, ref: str, user: ClinicalUser, session: SessionDep, now: NowDep, settings: SettingsDep,
          outcome: Annotated[str, Form(max_length=40)] = "", follow_up_on: Annotated[str, Form(max_length=10)] = "",
          note: Text = ""):
    def run(case: Case) -> None:
        try:
            follow_up = date.fromisoformat(follow_up_on) if follow_up_on else None
        except ValueError:
            raise casework.CaseworkError("Enter the follow-up date as a real date, like 2027-01-04",
                                         field="follow_up_on") from None
        casework.close(session, case, outcome=outcome, follow_up_on=follow_up, note=note, actor=user.actor, now=now,
                       today=now.astimezone(ZoneInfo(settings.timezone)).date())

    return _act(request, session, user, ref, now, "closed", run, field="outcome",
                form={"outcome": outcome, "follow_up_on": follow_up_on, "close-note": note})


@router.post("/cases/{ref}/release", dependencies=[Csrf])
def release(request: Request, ref: str, user: ClinicalUser, session: SessionDep, now: NowDep,
            report: Annotated[str, Form(max_length=8000)] = ""):
    def run(case: Case) -> None:
        if not referrals.is_bound(case):
            raise casework.CaseworkError(
                "Confirm the referral's organisation before releasing a report to its managers", field="code")
        casework.release_outcome(session, case, report=report, actor=user.actor, now=now)

    return _act(request, session, user, ref, now, "released", run, field="report", form={"report": report})


@router.post("/cases/{ref}/organisation", dependencies=[Csrf])
def confirm_organisation(request: Request, ref: str, user: ClinicalUser, session: SessionDep, now: NowDep,
                         code: Annotated[str, Form(max_length=32)] = ""):
    """A practitioner binds a referral to its organisation; until then its managers do not see it."""
    return _act(request, session, user, ref, now, "organisation", lambda case: referrals.confirm_organisation(
        session, case, code=code, actor=user.actor, now=now), field="code", form={"code": code})


@router.post("/cases/{ref}/abuse", dependencies=[Csrf])
def mark_abuse(request: Request, ref: str, user: ClinicalUser, session: SessionDep, now: NowDep,
               settings: SettingsDep, reason: Annotated[str, Form(max_length=500)] = ""):
    """Hold the pages of this case's source (api/services/cases.py mark_abuse), as the signed-in user."""
    def run(case: Case) -> None:
        if len(reason.strip()) < 3:
            raise casework.CaseworkError("Say why this is abuse, in a few words", field="reason")
        try:
            cases.mark_abuse(session, case, reason=reason.strip(), actor=user.actor, now=now, settings=settings)
        except abuse.NoSource as exc:
            raise casework.CaseworkError(str(exc)) from exc

    return _act(request, session, user, ref, now, "abuse", run, field="reason", form={"reason": reason})


@router.post("/cases/{ref}/abuse/lift", dependencies=[Csrf])
def lift_abuse(request: Request, ref: str, user: ClinicalUser, session: SessionDep, now: NowDep,
               settings: SettingsDep):
    return _act(request, session, user, ref, now, "abuse_lifted", lambda case: cases.lift_abuse(
        session, case, actor=user.actor, now=now, settings=settings))


@router.post("/cases/{ref}/review", dependencies=[Csrf])
def record_review(request: Request, ref: str, user: ClinicalUser, session: SessionDep, now: NowDep,
                  urgency: Annotated[str, Form(max_length=20)] = "", note: Text = ""):
    """The signed-in practitioner's own urgency beside the rules' (api/services/reviews.py); a
    changed mind is another review, and the newest counts."""
    def run(case: Case) -> None:
        if urgency not in URGENCY_ORDER:
            raise casework.CaseworkError("Choose the urgency you judge this case to be", field="review-urgency")
        try:
            reviews.record(session, case, urgency=urgency, by=user.name, note=note, actor=user.actor, now=now)
        except reviews.NotTriaged as exc:  # no form is drawn then: point at the action bar
            raise casework.CaseworkError(str(exc), field=ACTIONS) from exc

    return _act(request, session, user, ref, now, "review", run, field="review-urgency",
                form={"review-urgency": urgency, "review-note": note})
