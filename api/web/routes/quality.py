"""/reports/quality: the annual quality report for the commissioner, one page to read, print or
download as a PDF (made by WeasyPrint from the same HTML). The period is whole London days."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from api.core.config import Settings
from api.deps import NowDep, SessionDep, SettingsDep
from api.domain.quality import default_period, period_problem
from api.services import quality
from api.web.deps import ClinicalReader, WebRoute
from api.web.forms import Problems, typed_date
from api.web.pdf import pdf_of
from api.web.rendering import render

router = APIRouter(route_class=WebRoute, include_in_schema=False)
#: query parameter -> the field's id on the page (the error summary links to it)
FIELDS = {"from": "quality-from", "to": "quality-to"}
FromQ = Query("", alias="from", max_length=20)
ToQ = Query("", alias="to", max_length=20)
LINE_LABELS = {"sharps": "Sharps and splash line", "manager": "Managers' line", "(no case)": "No case opened"}
CHANNEL_LABELS = {"sms": "Text message", "voice": "Phone call", "web": "Web chat", "api": "Entered by staff"}


def _day(typed: str, field: str, words: str, problems: Problems) -> date | None:
    return typed_date(typed, FIELDS[field],
                      f"Enter the {words} of the period as a real date, like 2026-04-01", problems)


def _period(typed_from: str, typed_to: str, today: date, problems: Problems) -> tuple[date, date]:
    """The period asked for; on any problem (named in `problems`) the default period."""
    start = _day(typed_from, "from", "start", problems)
    end = _day(typed_to, "to", "end", problems)
    if problems:
        return default_period(today)
    end = end or today
    start = start or default_period(end)[0]  # the 12 months to the end asked for
    if (problem := period_problem(start, end, today)) is not None:
        problems.add(FIELDS[problem[0]], problem[1])
        return default_period(today)
    return start, end


def _page(request: Request, session: Session, settings: Settings, now: datetime,
          typed: dict[str, str]) -> tuple[Response, quality.QualityReport, Problems]:
    problems = Problems()
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    start, end = _period(typed["from"], typed["to"], today, problems)
    report = quality.annual(session, start=start, end=end, now=now, tz=settings.timezone,
                            review_due_days=settings.review_due_days)
    context: dict[str, Any] = {
        "q": report, "problems": problems, "typed": typed, "fields": FIELDS,
        "query": urlencode({"from": start.isoformat(), "to": end.isoformat()}),
        "line_labels": LINE_LABELS, "channel_labels": CHANNEL_LABELS,
    }
    return render(request, "quality.html", context, status_code=400 if problems else 200), report, problems


@router.get("/reports/quality")
def quality_page(request: Request, user: ClinicalReader, session: SessionDep, now: NowDep, settings: SettingsDep,
                 date_from: str = FromQ, date_to: str = ToQ):
    page, _report, _problems = _page(request, session, settings, now, {"from": date_from, "to": date_to})
    return page


@router.get("/reports/quality.pdf")
def quality_pdf(request: Request, user: ClinicalReader, session: SessionDep, now: NowDep, settings: SettingsDep,
                date_from: str = FromQ, date_to: str = ToQ):
    """The same page as a PDF; a period with a problem gets the page with its errors (400)."""
    page, report, problems = _page(request, session, settings, now, {"from": date_from, "to": date_to})
    if problems:
        return page
    name = f"quality-report-{report.start.isoformat()}-to-{report.end.isoformat()}.pdf"
    return Response(pdf_of(bytes(page.body).decode("utf-8"), base_url=str(request.base_url)),
                    media_type="application/pdf", headers={"Content-Disposition": f'attachment; filename="{name}"'})
