"""The rota page: on call now and next, shifts for 14 days, gaps in red; admins and clinical
leads add, edit and remove shifts, practitioners read."""
from __future__ import annotations

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
from api.web.rendering import render

router = APIRouter(route_class=WebRoute, include_in_schema=False)
Field = Annotated[str, Form(max_length=40)]


def _local_input(value: str, tz: str) -> datetime:
    """A datetime-local field (YYYY-MM-DDTHH:MM, the rota's local time) as UTC."""
    try:
        naive = datetime.fromisoformat(value)
    except ValueError:
        raise directory.InvalidField("starts_at", f"'{value}' is not a date and time") from None
    if naive.tzinfo is not None:
        return naive.astimezone(timezone.utc)
    return naive.replace(tzinfo=ZoneInfo(tz)).astimezone(timezone.utc)


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


def _page(request: Request, session: Session, now, *, error: str | None = None, editing: RotaShift | None = None,
          status_code: int = 200) -> Response:
    tz = request.app.state.settings.timezone
    board = rota_board.board(session, now=now)
    return render(request, "rota.html", {"b": board, "strip": _strip(board, tz), "error": error, "editing": editing,
                                         "done": request.query_params.get("done")}, status_code=status_code)


@router.get("/rota")
def rota_page(request: Request, user: StaffUser, session: SessionDep, now: NowDep):
    return _page(request, session, now)


def _save(request: Request, session: Session, now, action, done: str, editing: RotaShift | None = None) -> Response:
    try:
        action()
    except (directory.InvalidField, directory.Conflict) as exc:
        session.rollback()
        return _page(request, session, now, error=str(exc), editing=editing, status_code=400)
    session.commit()
    return RedirectResponse(f"/rota?done={done}", status_code=303)


@router.post("/rota/shifts", dependencies=[Csrf])
def add_shift(request: Request, user: RotaEditor, session: SessionDep, now: NowDep,
              practitioner_id: Annotated[int, Form()], tier: Field, starts_at: Field, ends_at: Field):
    tz = request.app.state.settings.timezone
    return _save(request, session, now, lambda: rota_board.add_shift(
        session, practitioner_id=practitioner_id, tier=tier, starts_at=_local_input(starts_at, tz),
        ends_at=_local_input(ends_at, tz)), "added")


@router.get("/rota/shifts/{shift_id}/edit")
def edit_form(request: Request, shift_id: int, user: RotaEditor, session: SessionDep, now: NowDep):
    shift = directory.get(session, RotaShift, shift_id, "rota shift")
    return _page(request, session, now, editing=shift)


@router.post("/rota/shifts/{shift_id}", dependencies=[Csrf])
def edit_shift(request: Request, shift_id: int, user: RotaEditor, session: SessionDep, now: NowDep,
               practitioner_id: Annotated[int, Form()], tier: Field, starts_at: Field, ends_at: Field):
    tz = request.app.state.settings.timezone
    shift = directory.get(session, RotaShift, shift_id, "rota shift")
    return _save(request, session, now, lambda: rota_board.edit_shift(
        session, shift_id, practitioner_id=practitioner_id, tier=tier, starts_at=_local_input(starts_at, tz),
        ends_at=_local_input(ends_at, tz)), "updated", editing=shift)


@router.post("/rota/shifts/{shift_id}/delete", dependencies=[Csrf])
def delete_shift(request: Request, shift_id: int, user: RotaEditor, session: SessionDep, now: NowDep):
    return _save(request, session, now, lambda: rota_board.remove_shift(session, shift_id), "removed")
