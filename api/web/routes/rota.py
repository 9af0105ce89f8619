"""The rota page: on call now and next, shifts for 14 days, gaps in red; admins and clinical
leads add, edit and remove shifts, practitioners read."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from api.deps import NowDep, SessionDep
from api.models import RotaShift
from api.services import directory, rota_board
from api.web.charts import timeline
from api.web.deps import Csrf, RotaEditor, StaffUser, WebRoute
from api.web.forms import Problems
from api.web.rendering import render

router = APIRouter(route_class=WebRoute, include_in_schema=False)
Field = Annotated[str, Form(max_length=40)]
INPUT_FORMAT = "%Y-%m-%dT%H:%M"  # what a datetime-local field sends and shows

# The service names the field it refuses; the form's inputs have the same ids. Words a person
# can act on, in place of the service's API messages.
FIELD_MESSAGES = {"practitioner_id": "Select a practitioner from the list", "tier": "Select primary or backup"}
CONFLICT_MESSAGE = "This shift could not be saved because it clashes with another record. Check the times and try again"


@dataclass
class ShiftForm:
    """What was typed, kept as typed so a form with a problem comes back as the person left it."""

    practitioner_id: str = ""
    tier: str = "primary"
    starts_at: str = ""
    ends_at: str = ""

    @classmethod
    def of(cls, shift: RotaShift, tz: str) -> ShiftForm:
        zone = ZoneInfo(tz)
        return cls(practitioner_id=str(shift.practitioner_id), tier=shift.tier,
                   starts_at=shift.starts_at.astimezone(zone).strftime(INPUT_FORMAT),
                   ends_at=shift.ends_at.astimezone(zone).strftime(INPUT_FORMAT))


def _local_input(value: str, tz: str) -> datetime | None:
    """A datetime-local field (YYYY-MM-DDTHH:MM, the rota's local time) as UTC; None if it is not one."""
    try:
        naive = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if naive.tzinfo is not None:
        return naive.astimezone(timezone.utc)
    return naive.replace(tzinfo=ZoneInfo(tz)).astimezone(timezone.utc)


@dataclass
class ShiftInput:
    practitioner_id: int
    tier: str
    starts_at: datetime
    ends_at: datetime


def _read(form: ShiftForm, tz: str, problems: Problems) -> ShiftInput | None:
    """The form's own checks, field by field; the service checks the rest (a known practitioner,
    the tier, at most 7 days)."""
    practitioner_id = int(form.practitioner_id) if form.practitioner_id.strip().isdigit() else None
    if practitioner_id is None:
        problems.add("practitioner_id", FIELD_MESSAGES["practitioner_id"])
    starts_at, ends_at = _local_input(form.starts_at, tz), _local_input(form.ends_at, tz)
    for field, typed, parsed, what in (("starts_at", form.starts_at, starts_at, "starts"),
                                       ("ends_at", form.ends_at, ends_at, "ends")):
        if not typed.strip():
            problems.add(field, f"Enter the date and time the shift {what}")
        elif parsed is None:
            problems.add(field, f"Enter the date and time the shift {what}, like 24 November 2026 08:00")
    if starts_at and ends_at and ends_at <= starts_at:
        problems.add("ends_at", "The shift must end after it starts")
    if problems or practitioner_id is None or starts_at is None or ends_at is None:
        return None
    return ShiftInput(practitioner_id=practitioner_id, tier=form.tier, starts_at=starts_at, ends_at=ends_at)


def _strip(board: rota_board.RotaBoard, tz: str):
    total = (board.horizon_end - board.now).total_seconds()
    spans = [((s - board.now).total_seconds() / total, (e - board.now).total_seconds() / total, "covered")
             for s, e in _covered(board)]
    spans += [((g.start - board.now).total_seconds() / total, (g.end - board.now).total_seconds() / total, "gap")
              for g in board.gaps]
    zone = ZoneInfo(tz)
    labels = [(board.now + timedelta(days=d)).astimezone(zone).strftime("%a %d")
              for d in range(rota_board.HORIZON_DAYS)]
    return timeline(spans, days=rota_board.HORIZON_DAYS, title="Primary cover for the next 14 days (gaps in red)",
                    day_labels=labels)


def _covered(board: rota_board.RotaBoard):
    edges = [board.now] + [x for g in board.gaps for x in (g.start, g.end)] + [board.horizon_end]
    return [(edges[i], edges[i + 1]) for i in range(0, len(edges) - 1, 2) if edges[i] < edges[i + 1]]


def _page(request: Request, session: Session, now, *, problems: Problems | None = None,
          editing: RotaShift | None = None, form: ShiftForm | None = None, status_code: int = 200) -> Response:
    tz = request.app.state.settings.timezone
    board = rota_board.board(session, now=now)
    if form is None:
        form = ShiftForm.of(editing, tz) if editing else ShiftForm()
    return render(request, "rota.html", {"b": board, "strip": _strip(board, tz), "problems": problems,
                                         "editing": editing, "form": form,
                                         "done": request.query_params.get("done")}, status_code=status_code)


@router.get("/rota")
def rota_page(request: Request, user: StaffUser, session: SessionDep, now: NowDep):
    return _page(request, session, now)


def _save(request: Request, session: Session, now, form: ShiftForm, save: Callable[[ShiftInput], object],
          done: str, editing: RotaShift | None = None) -> Response:
    problems = Problems()
    shift = _read(form, request.app.state.settings.timezone, problems)
    if shift is not None:
        try:
            save(shift)
        except directory.InvalidField as exc:
            field = exc.field if exc.field in ("practitioner_id", "tier", "starts_at", "ends_at") else "starts_at"
            problems.add(field, FIELD_MESSAGES.get(field) or _sentence(str(exc)))
        except directory.Conflict:
            problems.add("starts_at", CONFLICT_MESSAGE)
    if problems:
        session.rollback()
        return _page(request, session, now, problems=problems, editing=editing, form=form, status_code=400)
    session.commit()
    return RedirectResponse(f"/rota?done={done}", status_code=303)


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:]


@router.post("/rota/shifts", dependencies=[Csrf])
def add_shift(request: Request, user: RotaEditor, session: SessionDep, now: NowDep,
              practitioner_id: Field = "", tier: Field = "primary", starts_at: Field = "", ends_at: Field = ""):
    form = ShiftForm(practitioner_id=practitioner_id, tier=tier, starts_at=starts_at, ends_at=ends_at)
    return _save(request, session, now, form, lambda s: rota_board.add_shift(
        session, practitioner_id=s.practitioner_id, tier=s.tier, starts_at=s.starts_at, ends_at=s.ends_at), "added")


@router.get("/rota/shifts/{shift_id}/edit")
def edit_form(request: Request, shift_id: int, user: RotaEditor, session: SessionDep, now: NowDep):
    shift = directory.get(session, RotaShift, shift_id, "rota shift")
    return _page(request, session, now, editing=shift)


@router.post("/rota/shifts/{shift_id}", dependencies=[Csrf])
def edit_shift(request: Request, shift_id: int, user: RotaEditor, session: SessionDep, now: NowDep,
               practitioner_id: Field = "", tier: Field = "primary", starts_at: Field = "", ends_at: Field = ""):
    shift = directory.get(session, RotaShift, shift_id, "rota shift")
    form = ShiftForm(practitioner_id=practitioner_id, tier=tier, starts_at=starts_at, ends_at=ends_at)
    return _save(request, session, now, form, lambda s: rota_board.edit_shift(
        session, shift_id, practitioner_id=s.practitioner_id, tier=s.tier, starts_at=s.starts_at,
        ends_at=s.ends_at), "updated", editing=shift)


@router.get("/rota/shifts/{shift_id}/remove")
def remove_form(request: Request, shift_id: int, user: RotaEditor, session: SessionDep):
    """Removing asks first, on a page of its own: it works without JavaScript, and names what goes."""
    shift = directory.get(session, RotaShift, shift_id, "rota shift")
    return render(request, "rota_remove.html", {"shift": shift})


@router.post("/rota/shifts/{shift_id}/delete", dependencies=[Csrf])
def delete_shift(request: Request, shift_id: int, user: RotaEditor, session: SessionDep, now: NowDep):
    try:
        rota_board.remove_shift(session, shift_id)
    except directory.Conflict:
        session.rollback()
        problems = Problems()
        problems.add("shifts", "The shift could not be removed. Reload the page and try again")
        return _page(request, session, now, problems=problems, status_code=400)
    session.commit()
    return RedirectResponse("/rota?done=removed", status_code=303)

