"""Equality of access (issue #18).

- POST /api/equality (operator or bot token): one conversation's optional answers, stored apart
  from any case (201 {"recorded": true}); 422 naming an unknown question or code, or for no answer.
- GET /api/reports/equality(.csv) (operator token only): counts by question and answer, overall
  and by organisation type, and uptake by organisation type, counts below 5 suppressed; `from`
  and `to` are London dates, both included (default: the last 12 months to today).
"""
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, status
from fastapi.exceptions import RequestValidationError
from starlette.responses import Response

from api.deps import NowDep, Operator, OperatorOrBot, SessionDep, SettingsDep
from api.domain import equality as eq
from api.schemas_equality import EqualityCreate, EqualityRecorded
from api.services import equality

router = APIRouter(tags=["equality"])


@router.post("/api/equality", response_model=EqualityRecorded, status_code=status.HTTP_201_CREATED)
def record_answers(body: EqualityCreate, session: SessionDep, settings: SettingsDep, now: NowDep,
                   _: OperatorOrBot) -> EqualityRecorded:
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    try:
        equality.record(session, line=body.line.value, channel=body.channel.value, answers=body.answers,
                        today=today)
    except eq.InvalidAnswers as exc:
        loc = ["body", "answers"] + ([exc.question] if exc.question else [])
        raise RequestValidationError([{"loc": loc, "msg": str(exc), "type": "value_error"}]) from None
    session.commit()
    return EqualityRecorded(recorded=True)


FromQuery = Query(None, alias="from", description="First day (London date, included)")
ToQuery = Query(None, alias="to", description="Last day (London date, included)")


def _report(session, settings, now, date_from: date | None, date_to: date | None) -> equality.EqualityReport:
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    end = date_to or today
    start = date_from or eq.default_period(end)[0]
    if start > end:
        raise RequestValidationError([{"loc": ["query", "to" if date_to else "from"], "type": "value_error",
                                       "msg": "The end of the period must be the same as or after its start"}])
    return equality.report(session, start=start, end=end, tz=settings.timezone)


@router.get("/api/reports/equality")
def equality_report(session: SessionDep, settings: SettingsDep, now: NowDep, _: Operator,
                    date_from: date | None = FromQuery, date_to: date | None = ToQuery) -> dict[str, Any]:
    return _report(session, settings, now, date_from, date_to).to_dict()


@router.get("/api/reports/equality.csv")
def equality_csv(session: SessionDep, settings: SettingsDep, now: NowDep, _: Operator,
                 date_from: date | None = FromQuery, date_to: date | None = ToQuery) -> Response:
    result = _report(session, settings, now, date_from, date_to)
    return Response(equality.to_csv(result), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="equality-{now:%Y%m%d}.csv"'})
