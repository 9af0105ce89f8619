"""Practitioner reviews and the concordance report (issue #17), for the operator's token only: the
action server (bot token) neither records a clinical judgement nor reads clinical reports.

- POST /api/cases/{ref}/review: the practitioner's own urgency (201); 409 while the case has no
  urgency from the rules. A changed mind is another POST: a new row, a new audit event.
- GET /api/cases/{ref}/reviews: every review of the case, oldest first (the last one counts).
- GET /api/reports/concordance(.csv): counts by rule version; filters `line`, `organisation`
  (a code), `from` and `to` (dates the cases were opened, in the service's time zone, both days
  included: api/services/reviews.py).
"""
from datetime import date
from typing import Any

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.exceptions import RequestValidationError
from starlette.responses import Response

from api.deps import NowDep, Operator, SessionDep, SettingsDep
from api.enums import Line
from api.models import Case, CaseReview
from api.schemas import CaseReviewCreate, CaseReviewRead
from api.services import cases, reports, reviews

router = APIRouter(tags=["reviews"])


def _read(case: Case, review: CaseReview) -> CaseReviewRead:
    verdict = reviews.verdict_of(review)
    return CaseReviewRead(ref=case.ref, urgency=review.urgency, rules_urgency=review.rules_urgency,
                          rule_version=review.rule_version, verdict=verdict, under_triaged=verdict == "under_triage",
                          by=review.by, actor=review.actor, note=review.note, created_at=review.created_at)


@router.post("/api/cases/{ref}/review", response_model=CaseReviewRead, status_code=status.HTTP_201_CREATED)
def record_review(ref: str, body: CaseReviewCreate, session: SessionDep, now: NowDep, caller: Operator):
    """The practitioner's urgency beside the rules'; audited as `review_recorded` by the caller."""
    case = cases.get_by_ref(session, ref)
    try:
        review = reviews.record(session, case, urgency=body.urgency.value, by=body.by, note=body.note,
                                actor=caller.actor, now=now)
    except reviews.NotTriaged as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    session.commit()
    return _read(case, review)


@router.get("/api/cases/{ref}/reviews", response_model=list[CaseReviewRead])
def list_reviews(ref: str, session: SessionDep, _: Operator):
    case = cases.get_by_ref(session, ref)
    return [_read(case, r) for r in reviews.history(session, case)]


def _report(session, settings, now, line: Line | None, organisation: str | None, date_from: date | None,
            date_to: date | None) -> reviews.Concordance:
    filters = reviews.ConcordanceFilters(line=line.value if line else None, organisation=organisation or None,
                                         date_from=date_from, date_to=date_to)
    try:
        return reviews.report(session, filters=filters, now=now, tz=settings.timezone,
                              due_days=settings.review_due_days)
    except reviews.FilterError as exc:
        raise RequestValidationError([{"loc": ["query", exc.field], "msg": str(exc), "type": "value_error"}]) from None


LineQuery = Query(None, description="sharps or manager")
OrgQuery = Query(None, max_length=32, description="An organisation code")
FromQuery = Query(None, alias="from", description="First day the cases were opened (local date, included)")
ToQuery = Query(None, alias="to", description="Last day the cases were opened (local date, included)")


@router.get("/api/reports/concordance")
def concordance(session: SessionDep, settings: SettingsDep, now: NowDep, _: Operator,
                line: Line | None = LineQuery, organisation: str | None = OrgQuery,
                date_from: date | None = FromQuery, date_to: date | None = ToQuery) -> dict[str, Any]:
    """Reviews against the rules, by rule version; the triaged cases still without a review
    REVIEW_DUE_DAYS after they were opened."""
    return _report(session, settings, now, line, organisation, date_from, date_to).to_dict()


@router.get("/api/reports/concordance.csv")
def concordance_csv(session: SessionDep, settings: SettingsDep, now: NowDep, _: Operator,
                    line: Line | None = LineQuery, organisation: str | None = OrgQuery,
                    date_from: date | None = FromQuery, date_to: date | None = ToQuery) -> Response:
    result = _report(session, settings, now, line, organisation, date_from, date_to)
    return Response(reports.to_csv(reviews.csv_table(result)), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="concordance-{now:%Y%m%d}.csv"'})
