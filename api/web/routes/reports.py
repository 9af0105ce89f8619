"""/reports: the service's figures with charts, and every table as CSV."""
from __future__ import annotations

from datetime import date, datetime
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from markupsafe import Markup
from sqlalchemy.orm import Session
from starlette.responses import Response

from api.core.config import Settings
from api.deps import NowDep, SessionDep, SettingsDep
from api.enums import Line
from api.services import directory, reports, reviews
from api.services.directory import NotFound
from api.web import equality_view
from api.web.charts import bar_chart, column_chart
from api.web.deps import ClinicalReader, WebRoute
from api.web.forms import Problems, typed_date
from api.web.rendering import OUTCOME_LABELS, duration, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)
DEFAULT_WEEKS, MAX_WEEKS = 8, 104
Weeks = Query(DEFAULT_WEEKS, ge=1, le=MAX_WEEKS)
WEEK_CHOICES = (4, 8, 13, 26, 52)


def _charts(report: reports.Report) -> dict:
    weekly = report.weekly
    times = [(f"{reports.MEASURE_LABELS[m]} ({stat})", report.stats[(m, "all")][stat] or 0)
             for m in reports.MEASURES for stat in ("median", "p90")]
    outcomes = [(OUTCOME_LABELS.get(r[0], r[0]), r[3]) for r in report.tables["outcomes"].rows]
    by_org: dict[str, int] = {}
    for _week, dim, value, _contacts, n_cases in report.tables["volume"].rows:
        if dim == "organisation" and n_cases:
            by_org[value] = by_org.get(value, 0) + n_cases
    flagged = {f["organisation"] for f in report.flags}
    return {
        "weekly": column_chart([w["week"] for w in weekly],
                               [("Contacts", [w["contacts"] for w in weekly]), ("Cases", [w["cases"] for w in weekly])],
                               title="Contacts and cases per week"),
        "times": bar_chart(times, title="Response times, all cases (median and 90th percentile)",
                           value_format=duration),
        "outcomes": bar_chart(outcomes, title="Outcomes of closed cases"),
        "orgs": bar_chart(sorted(by_org.items(), key=lambda kv: (-kv[1], kv[0]))[:12],
                          title="Cases by organisation", highlight=flagged),
        "ratings": column_chart([f"{s} ★" for s in range(1, 6)],
                                [("Ratings", [r[1] for r in report.tables["ratings"].rows])],
                                title="Satisfaction ratings", width=420, height=220),
    }


DIMENSION_LABELS = {"all": "All contacts and cases", "line": "By line", "channel": "By channel",
                    "organisation": "By organisation", "organisation_type": "By organisation type"}


def _pivot(report: reports.Report) -> list[dict]:
    """The volume table turned for reading: one row per dimension value, one column per week."""
    groups: dict[str, dict[str, dict]] = {d: {} for d in DIMENSION_LABELS}
    for week, dim, value, contacts, n_cases in report.tables["volume"].rows:
        row = groups[dim].setdefault(value, {"value": value, "weeks": {}, "contacts": 0, "cases": 0})
        row["weeks"][week] = (contacts, n_cases)
        row["contacts"] += contacts
        row["cases"] += n_cases
    return [{"dimension": dim, "label": DIMENSION_LABELS[dim], "rows": sorted(rows.values(), key=lambda r: r["value"])}
            for dim, rows in groups.items() if rows]


def _weeks(typed: str, problems: Problems) -> int:
    """The filter's number of weeks; on a problem the page shows the default period with the problem."""
    text = typed.strip()
    if text.isdigit() and 1 <= int(text) <= MAX_WEEKS:
        return int(text)
    problems.add("weeks", f"Enter a number of weeks from 1 to {MAX_WEEKS}")
    return DEFAULT_WEEKS


def _flags(report: reports.Report) -> list[dict]:
    """Repeated-exposure alerts with their dates as dates, so the page can say them in words."""
    return [{**f, "first": date.fromisoformat(f["first"]), "last": date.fromisoformat(f["last"])}
            for f in report.flags]


# --- concordance (issue #17): the practitioners' reviews against the rules ----------------------------

#: the concordance filters: query parameter -> the field's id on the page (the error summary links to it)
CONCORDANCE_FIELDS = {"line": "concordance-line", "organisation": "concordance-organisation",
                      "from": "concordance-from", "to": "concordance-to"}
LineQ = Query("", max_length=20)
OrgQ = Query("", max_length=32)
FromQ = Query("", alias="from", max_length=20)
ToQ = Query("", alias="to", max_length=20)


def _day(typed: str, field: str, words: str, problems: Problems) -> date | None:
    return typed_date(typed, CONCORDANCE_FIELDS[field],
                      f"Enter the {words} of the period as a real date, like 2026-11-02", problems)


def _concordance(session: Session, settings: Settings, now: datetime, typed: dict[str, str],
                 problems: Problems) -> reviews.Concordance:
    """The report for the filters as typed; a filter with a problem is named in `problems` and left
    out, so the page still shows figures (for the filters that could be used)."""
    line = typed["line"].strip() or None
    if line is not None and line not in tuple(Line):
        problems.add(CONCORDANCE_FIELDS["line"], "Choose a line: sharps or manager")
        line = None
    filters = reviews.ConcordanceFilters(line=line, organisation=typed["organisation"].strip() or None,
                                         date_from=_day(typed["from"], "from", "start", problems),
                                         date_to=_day(typed["to"], "to", "end", problems))
    for _ in range(3):  # each pass drops at most one unusable filter
        try:
            return reviews.report(session, filters=filters, now=now, tz=settings.timezone,
                                  due_days=settings.review_due_days)
        except reviews.FilterError as exc:
            problems.add(CONCORDANCE_FIELDS[exc.field], str(exc))
            filters = reviews.ConcordanceFilters(
                line=filters.line, date_from=filters.date_from,
                organisation=None if exc.field == "organisation" else filters.organisation,
                date_to=None if exc.field == "to" else filters.date_to)
    return reviews.report(session, filters=reviews.ConcordanceFilters(), now=now, tz=settings.timezone,
                          due_days=settings.review_due_days)


def _concordance_chart(result: reviews.Concordance) -> Markup | None:
    weekly = result.weekly
    if not weekly:
        return None
    return column_chart([w["week"] for w in weekly],
                        [("Reviewed", [w["reviewed"] for w in weekly]),
                         ("Under-triaged", [w["under_triage"] for w in weekly])],
                        title="Cases reviewed and cases under-triaged by the rules, by week opened")


@router.get("/reports")
def reports_page(request: Request, user: ClinicalReader, session: SessionDep, now: NowDep, settings: SettingsDep,
                 weeks: str = Query(str(DEFAULT_WEEKS), max_length=10), line: str = LineQ,
                 organisation: str = OrgQ, date_from: str = FromQ, date_to: str = ToQ,
                 eq_from: str = Query("", max_length=20), eq_to: str = Query("", max_length=20)):
    problems = Problems()
    shown = _weeks(weeks, problems)
    report = reports.build(session, now=now, weeks=shown, tz=request.app.state.settings.timezone)
    choices = sorted({*WEEK_CHOICES, shown})
    typed = {"line": line, "organisation": organisation, "from": date_from, "to": date_to}
    conc = _concordance(session, settings, now, typed, problems)
    filters = {k: v for k, v in conc.filters.items() if k in typed and v}
    equality = equality_view.section(session, settings, now, eq_from, eq_to, problems)
    return render(request, "reports.html", {"r": report, "charts": _charts(report), "weeks": shown,
                                            "week_choices": choices, "problems": problems, "flags": _flags(report),
                                            "measures": reports.MEASURES, "labels": reports.MEASURE_LABELS,
                                            "groups": reports.GROUPS, "pivot": _pivot(report),
                                            "conc": conc, "conc_chart": _concordance_chart(conc),
                                            "conc_typed": typed, "conc_query": urlencode(filters),
                                            "organisations": directory.list_organisations(session),
                                            "lines": tuple(Line), "conc_fields": CONCORDANCE_FIELDS,
                                            "eq": equality},
                  status_code=400 if problems else 200)


@router.get("/reports/concordance.csv")
def concordance_csv(request: Request, user: ClinicalReader, session: SessionDep, now: NowDep, settings: SettingsDep,
                    line: str = LineQ, organisation: str = OrgQ, date_from: str = FromQ, date_to: str = ToQ):
    """The counts by rule version for the same filters as the page (declared before the other
    tables' CSV route, which would otherwise take the name)."""
    problems = Problems()
    conc = _concordance(session, settings, now, {"line": line, "organisation": organisation, "from": date_from,
                                                 "to": date_to}, problems)
    if problems:
        return Response("\n".join(problems.messages()) + "\n", status_code=400, media_type="text/plain; charset=utf-8")
    return Response(reports.to_csv(reviews.csv_table(conc)), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="concordance-{now:%Y%m%d}.csv"'})


@router.get("/reports/equality.csv")
def equality_csv(request: Request, user: ClinicalReader, session: SessionDep, now: NowDep, settings: SettingsDep,
                 date_from: str = FromQ, date_to: str = ToQ):
    """The equality-of-access figures (issue #18) for `from`/`to` (declared before the other tables' CSV route)."""
    return equality_view.csv_response(session, settings, now, date_from, date_to)


@router.get("/reports/{table}.csv")
def report_csv(request: Request, table: str, user: ClinicalReader, session: SessionDep, now: NowDep,
               weeks: int = Weeks):
    if table not in reports.TABLE_NAMES:
        raise NotFound("report table", table)
    # Only the table asked for is computed.
    rows = reports.table(session, table, now=now, weeks=weeks, tz=request.app.state.settings.timezone)
    return Response(reports.to_csv(rows), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{table}-{now:%Y%m%d}.csv"'})
