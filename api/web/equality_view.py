"""The equality-of-access section of /reports (issue #18): the period as typed, the report, and a
bar chart per question with suppressed counts drawn as "<5" and no bar. The section's markup is
templates/_equality.html."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from markupsafe import Markup
from sqlalchemy.orm import Session
from starlette.responses import Response

from api.core.config import Settings
from api.domain import equality as eq
from api.services import equality
from api.web.charts import bar_chart
from api.web.forms import Problems, typed_date

#: the section's period fields: query parameter on /reports -> the field's id (the error summary links to it)
FIELDS = {"eq_from": "equality-from", "eq_to": "equality-to"}


@dataclass(frozen=True)
class EqualitySection:
    report: equality.EqualityReport
    charts: dict[str, Markup]  # question -> its chart
    typed: dict[str, str]  # eq_from, eq_to as typed (kept in the other forms of the page)
    csv_query: str  # from=...&to=... of the period shown
    fields: dict[str, str]


def _day(typed: str, field: str, words: str, problems: Problems) -> date | None:
    return typed_date(typed, FIELDS[field],
                      f"Enter the {words} of the equality report's period as a real date, like 2026-11-02", problems)


def period(typed_from: str, typed_to: str, today: date, problems: Problems) -> tuple[date, date]:
    """The period asked for (default: the last 12 months to today); a problem is named in
    `problems` and the default used in its place."""
    start = _day(typed_from, "eq_from", "start", problems)
    end = _day(typed_to, "eq_to", "end", problems) or today
    start = start or eq.default_period(end)[0]
    if start > end:
        problems.add(FIELDS["eq_to"], "The end of the equality report's period must be the same as or after "
                                      "its start")
        return eq.default_period(today)
    return start, end


def charts(report: equality.EqualityReport) -> dict[str, Markup]:
    """A bar chart per question of the answers over all responses; a suppressed count has no bar."""
    return {q.question: bar_chart([(a.label, a.overall.count) for a in q.answers],
                                  title=f"Equality of access: {q.label.lower()}, all responses "
                                        f"(counts below {report.suppress_below} not shown)",
                                  missing=eq.SUPPRESSED_TEXT)
            for q in report.questions}


def section(session: Session, settings: Settings, now: datetime, typed_from: str, typed_to: str,
            problems: Problems) -> EqualitySection:
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    start, end = period(typed_from, typed_to, today, problems)
    report = equality.report(session, start=start, end=end, tz=settings.timezone)
    return EqualitySection(report=report, charts=charts(report),
                           typed={"eq_from": typed_from.strip(), "eq_to": typed_to.strip()},
                           csv_query=urlencode({"from": start.isoformat(), "to": end.isoformat()}), fields=FIELDS)


def csv_response(session: Session, settings: Settings, now: datetime, typed_from: str, typed_to: str) -> Response:
    """/reports/equality.csv: the figures of the section for `from`/`to` (400 in words for a bad period)."""
    problems = Problems()
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    start, end = period(typed_from, typed_to, today, problems)
    if problems:
        return Response("\n".join(problems.messages()) + "\n", status_code=400, media_type="text/plain; charset=utf-8")
    report = equality.report(session, start=start, end=end, tz=settings.timezone)
    return Response(equality.to_csv(report), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="equality-{now:%Y%m%d}.csv"'})
