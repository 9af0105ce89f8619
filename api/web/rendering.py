"""Jinja2 set-up for the pages: built on first use (no import-time work), with filters for
local times and durations. Every page gets the user, the CSRF token and the time zone."""
from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from starlette.responses import Response

TEMPLATES_DIR = Path(__file__).parent / "templates"

URGENCY_LABELS = {"emergency": "Emergency", "urgent": "Urgent", "routine": "Routine", None: "Not yet triaged"}
STATUS_LABELS = {
    "open": "Open", "triaged": "Triaged", "escalated": "Escalated (paged)", "acknowledged": "Acknowledged",
    "in_progress": "In progress", "follow_up": "Follow-up", "closed": "Closed",
}
OUTCOME_LABELS = {
    "ed_attended": "Emergency department attended",
    "pep_started": "PEP started",
    "bloods_taken": "Bloods taken",
    "vaccine_or_hbig_given": "Vaccine or immunoglobulin given",
    "advice_only": "Advice only",
    "referred_on": "Referred on",
}

ORG_TYPE_LABELS = {"gp_practice": "GP practice", "community_pharmacy": "Community pharmacy", "other": "Other"}


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = round(seconds)
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{sign}{days}d {hours}h"
    if hours:
        return f"{sign}{hours}h {minutes:02d}m"
    if minutes:
        return f"{sign}{minutes}m {secs:02d}s"
    return f"{sign}{secs}s"


@pass_context
def local(ctx: Any, value: datetime | date | None, fmt: str = "%a %d %b %H:%M") -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        value = value.astimezone(ZoneInfo(ctx.get("tz") or "Europe/London"))
    return value.strftime(fmt)


def _zone(ctx: Any) -> ZoneInfo:
    return ZoneInfo(ctx.get("tz") or "Europe/London")


@pass_context
def human(ctx: Any, value: datetime | date | None, *, time: bool = True) -> str:
    """GOV.UK style: "Tuesday 1 December, 06:37" (a date alone: "Tuesday 1 December"); the year
    is added when it is not this year. A date-only value never shows a time."""
    if value is None:
        return "—"
    today = ctx["now"].astimezone(_zone(ctx)).date() if ctx.get("now") else None
    moment = value.astimezone(_zone(ctx)) if isinstance(value, datetime) else value
    day = moment.date() if isinstance(moment, datetime) else moment
    text = f"{day:%A} {day.day} {day:%B}"
    if today is None or day.year != today.year:
        text += f" {day.year}"
    if time and isinstance(moment, datetime):
        text += f", {moment:%H:%M}"
    return text


@pass_context
def human_date(ctx: Any, value: datetime | date | None) -> str:
    return human(ctx, value, time=False)


@pass_context
def when(ctx: Any, value: datetime | None) -> str:
    """HH:MM today, else the weekday too (or the date, beyond a week)."""
    if value is None:
        return "—"
    zone = ZoneInfo(ctx.get("tz") or "Europe/London")
    local_value, today = value.astimezone(zone), ctx["now"].astimezone(zone)
    if local_value.date() == today.date():
        return local_value.strftime("%H:%M")
    if abs((local_value.date() - today.date()).days) < 7:
        return local_value.strftime("%a %H:%M")
    return local_value.strftime("%d %b %H:%M")


@pass_context
def answer(ctx: Any, value: Any) -> str:
    if isinstance(value, datetime):
        return local(ctx, value, "%a %d %b %Y %H:%M")
    return str(value)


def iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def label(value: Any, table: str) -> str:
    tables = {"urgency": URGENCY_LABELS, "status": STATUS_LABELS, "outcome": OUTCOME_LABELS,
              "org_type": ORG_TYPE_LABELS}
    return tables[table].get(value, str(value).replace("_", " ").capitalize() if value else "—")


def humanise(key: str) -> str:
    return str(key).replace("_", " ").capitalize()


@lru_cache(maxsize=1)
def templates() -> Jinja2Templates:
    t = Jinja2Templates(directory=str(TEMPLATES_DIR))
    t.env.filters.update(duration=duration, local=local, when=when, answer=answer, iso=iso, label=label,
                         humanise=humanise, human=human, human_date=human_date)
    t.env.globals.update(OUTCOME_LABELS=OUTCOME_LABELS)
    return t


def render(request: Request, name: str, context: dict[str, Any] | None = None, *, status_code: int = 200,
           headers: dict[str, str] | None = None) -> Response:
    settings = request.app.state.settings
    user = getattr(request.state, "user", None)
    ctx = {
        "user": user, "csrf_token": user.csrf if user else "", "tz": settings.timezone,
        "now": request.app.state.clock(), "path": request.url.path, **(context or {}),
    }
    return templates().TemplateResponse(request, name, ctx, status_code=status_code, headers=headers)
