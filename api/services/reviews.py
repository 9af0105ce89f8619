"""Practitioner reviews (issue #17): the practitioner's own urgency for a case once they have spoken
to the person, kept beside the rules' urgency, and the concordance report counted from them.

Reviews are append-only (api.models.CaseReview): a changed mind is a new row and a new
`review_recorded` audit event, and the newest row of a case is the one that counts. Each row keeps
the rules' urgency and rule version at the moment it was recorded, so concordance by rule version
can be counted again at any time, whatever later answers did to the case.

The report's filters (`ConcordanceFilters`):
- line: the case's line (sharps | manager);
- organisation: an organisation code; a case belongs to the organisation a practitioner confirmed
  for it, else the one it was opened with;
- period (`date_from`, `date_to`): the days the CASES WERE OPENED, as calendar dates in the
  service's time zone (Settings.timezone, Europe/London), both days included. (The case's opening,
  not the review's time: the decision being judged was made then, under the rule version in
  force then.)
The list of cases waiting for a review: every triaged case (the rules gave it an urgency) within
the same filters that was opened at least REVIEW_DUE_DAYS days ago and has no review yet.

Callers pass `now`; changes are left in the session for the caller to commit.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.orm import Session

from api.domain import concordance
from api.domain.concordance import ReviewedCase, Verdict, VersionCounts
from api.enums import Line
from api.models import Case, CaseReview, Organisation
from api.services import audit
from api.services.reports import Table

#: the most unreviewed cases listed (oldest first); the count is of all of them
UNREVIEWED_LIMIT = 500
VERDICT_WORDS = {"agree": "agrees with the rules", "under_triage": "under-triaged by the rules",
                 "over_triage": "over-triaged by the rules"}


class NotTriaged(ValueError):
    """The case has no urgency from the rules yet: there is nothing to review against."""


class FilterError(ValueError):
    """A filter of the concordance report that cannot be used; `field` names it
    (line, organisation, from, to)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


# --- recording a review --------------------------------------------------------------------------

def record(session: Session, case: Case, *, urgency: str, by: str, note: str | None, actor: str,
           now: datetime) -> CaseReview:
    """Record the practitioner's urgency for `case` beside the rules' urgency now, audited as
    `review_recorded` by `actor` (who sent it); `by` is the practitioner as named."""
    if case.urgency is None:
        raise NotTriaged(f"{case.ref} has no urgency from the rules yet: a review is recorded once the case "
                         "is triaged, to compare with the rules' decision")
    verdict = concordance.classify(urgency, case.urgency)  # UnknownUrgency for anything else
    by = by.strip()
    if not by:
        raise ValueError("name the practitioner who reviewed the case")
    previous = latest(session, case)
    review = CaseReview(case_id=case.id, urgency=urgency, rules_urgency=case.urgency, rule_version=case.rule_version,
                        by=by, actor=actor, note=(note or "").strip() or None, created_at=now)
    session.add(review)
    session.flush()
    changed = f"; was {previous.urgency}" if previous is not None else ""
    audit.log_event(
        session, case, type="review_recorded", actor=actor, now=now,
        description=(f"practitioner review by {by}: {urgency} (the rules said {case.urgency}, "
                     f"{case.rule_version or 'no version'}): {VERDICT_WORDS[verdict]}{changed}"),
        details={"review_id": review.id, "urgency": urgency, "rules_urgency": case.urgency,
                 "rule_version": case.rule_version, "by": by, "note": review.note, "verdict": verdict,
                 "previous_urgency": previous.urgency if previous is not None else None},
    )
    case.updated_at = now
    return review


def history(session: Session, case: Case) -> list[CaseReview]:
    """Every review of the case, oldest first."""
    return list(session.scalars(select(CaseReview).where(CaseReview.case_id == case.id).order_by(CaseReview.id)))


def latest(session: Session, case: Case) -> CaseReview | None:
    """The review that counts: the newest (by id: rows recorded at the same instant keep their order)."""
    return session.scalar(select(CaseReview).where(CaseReview.case_id == case.id)
                          .order_by(CaseReview.id.desc()).limit(1))


def verdict_of(review: CaseReview) -> Verdict | None:
    return concordance.classify(review.urgency, review.rules_urgency) if review.rules_urgency else None


@dataclass(frozen=True)
class CaseReviews:
    """What the case page shows: the review that counts, the earlier ones, and its verdict."""

    latest: CaseReview | None
    earlier: list[CaseReview]
    verdict: Verdict | None

    @property
    def under_triaged(self) -> bool:
        return self.verdict == "under_triage"


def for_case(session: Session, case: Case) -> CaseReviews:
    rows = history(session, case)
    newest = rows[-1] if rows else None
    return CaseReviews(latest=newest, earlier=list(reversed(rows[:-1])),
                       verdict=verdict_of(newest) if newest is not None else None)


# --- the concordance report -----------------------------------------------------------------------

@dataclass(frozen=True)
class ConcordanceFilters:
    line: str | None = None
    organisation: str | None = None  # a code
    date_from: date | None = None
    date_to: date | None = None

    def to_dict(self, tz: str) -> dict[str, Any]:
        return {"line": self.line, "organisation": self.organisation,
                "from": self.date_from.isoformat() if self.date_from else None,
                "to": self.date_to.isoformat() if self.date_to else None,
                "period_of": "case opened", "timezone": tz}


@dataclass
class Concordance:
    by_rule_version: list[VersionCounts]
    totals: VersionCounts
    weekly: list[dict[str, Any]]
    under_triaged: list[dict[str, Any]]  # each under-triaged case, for the clinical lead
    unreviewed: list[dict[str, Any]]
    unreviewed_count: int
    review_due_days: int
    filters: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        totals = self.totals.to_dict()
        totals.pop("rule_version")
        return {
            "by_rule_version": [v.to_dict() for v in self.by_rule_version],
            "totals": totals,
            "unreviewed": [{**u, "opened_at": u["opened_at"].isoformat()} for u in self.unreviewed],
            "unreviewed_count": self.unreviewed_count,
            "review_due_days": self.review_due_days,
            "filters": self.filters,
            "weekly": self.weekly,
            "under_triaged": [{**u, "reviewed_at": u["reviewed_at"].isoformat()} for u in self.under_triaged],
        }


def check_filters(session: Session, filters: ConcordanceFilters) -> Organisation | None:
    """FilterError for a filter that cannot be used; the organisation a code names."""
    if filters.line is not None and filters.line not in tuple(Line):
        raise FilterError("line", f"Choose a line: {' or '.join(Line)}")
    org = None
    if filters.organisation:
        org = session.scalar(select(Organisation).where(Organisation.code == filters.organisation.strip().upper()))
        if org is None:
            raise FilterError("organisation", f"No organisation has the code {filters.organisation}")
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        raise FilterError("to", "The end of the period must be the same as or after its start")
    return org


def _local_midnight(day: date, zone: ZoneInfo) -> datetime | None:
    """The UTC moment the local day starts; None beyond the calendar's ends (year 1, year 9999),
    where the bound excludes nothing."""
    try:
        return datetime.combine(day, time(0), tzinfo=zone).astimezone(timezone.utc)
    except OverflowError:
        return None


def _case_filters(filters: ConcordanceFilters, org: Organisation | None, zone: ZoneInfo) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if filters.line:
        where.append(Case.line == filters.line)
    if org is not None:
        where.append(func.coalesce(Case.confirmed_organisation_id, Case.organisation_id) == org.id)
    start = _local_midnight(filters.date_from, zone) if filters.date_from else None
    if start is not None:
        where.append(Case.created_at >= start)
    end = None
    if filters.date_to and filters.date_to < date.max:  # the last day is included: up to the next midnight
        end = _local_midnight(filters.date_to + timedelta(days=1), zone)
    if end is not None:
        where.append(Case.created_at < end)
    return where


def _newest():
    """The id of each case's newest review: the one that counts (rows of one instant keep their order)."""
    return select(func.max(CaseReview.id).label("id")).group_by(CaseReview.case_id).subquery("newest")


def newest_urgencies(session: Session, where: list[ColumnElement[bool]]) -> dict[int, str]:
    """Case id -> the practitioner's urgency in its newest review, for the cases `where` selects."""
    newest = _newest()
    rows = session.execute(select(CaseReview.case_id, CaseReview.urgency).join(newest, CaseReview.id == newest.c.id)
                           .join(Case, Case.id == CaseReview.case_id).where(*where))
    return dict(rows.tuples().all())


def _newest_reviews(session: Session, where: list[ColumnElement[bool]]) -> list[tuple[CaseReview, Case]]:
    newest = _newest()
    query = (select(CaseReview, Case).join(newest, CaseReview.id == newest.c.id)
             .join(Case, Case.id == CaseReview.case_id)
             .where(CaseReview.rules_urgency.is_not(None), *where).order_by(Case.ref))
    return [(review, case) for review, case in session.execute(query)]


def _unreviewed(session: Session, where: list[ColumnElement[bool]], *, now: datetime,
                due_days: int) -> tuple[list[dict[str, Any]], int]:
    due = [Case.urgency.is_not(None), Case.created_at <= concordance.review_due_before(now, due_days),
           ~exists(select(CaseReview.id).where(CaseReview.case_id == Case.id)), *where]
    count = session.scalar(select(func.count()).select_from(Case).where(*due)) or 0
    rows = session.execute(select(Case.ref, Case.created_at, Case.line, Case.urgency, Case.rule_version)
                           .where(*due).order_by(Case.created_at, Case.id).limit(UNREVIEWED_LIMIT))
    return [{"ref": ref, "opened_at": opened, "days": concordance.days_waiting(opened, now), "line": line,
             "urgency": urgency, "rule_version": version}
            for ref, opened, line, urgency, version in rows], count


def report(session: Session, *, filters: ConcordanceFilters, now: datetime, tz: str,
           due_days: int) -> Concordance:
    """The concordance report (FilterError for a filter that cannot be used)."""
    org = check_filters(session, filters)
    zone = ZoneInfo(tz)
    where = _case_filters(filters, org, zone)
    reviewed = _newest_reviews(session, where)
    rows = [ReviewedCase(ref=case.ref, rule_version=review.rule_version, rules_urgency=review.rules_urgency or "",
                         urgency=review.urgency, opened_at=case.created_at) for review, case in reviewed]
    under = [{"ref": case.ref, "line": case.line, "rule_version": review.rule_version,
              "rules_urgency": review.rules_urgency, "urgency": review.urgency, "by": review.by,
              "reviewed_at": review.created_at, "note": review.note}
             for review, case in reviewed if verdict_of(review) == "under_triage"]
    unreviewed, count = _unreviewed(session, where, now=now, due_days=due_days)
    return Concordance(by_rule_version=concordance.by_rule_version(rows), totals=concordance.totals(rows),
                       weekly=concordance.weekly(rows, zone), under_triaged=under, unreviewed=unreviewed,
                       unreviewed_count=count, review_due_days=due_days, filters=filters.to_dict(tz))


CSV_COLUMNS = ["rule_version", "reviewed", "agree", "under_triage", "over_triage", "cases_under_triaged",
               "cases_over_triaged"]


def csv_table(result: Concordance) -> Table:
    """The counts by rule version, then the totals ("all"), for reports.to_csv; case references
    separated by spaces."""
    def row(counts: VersionCounts, label: str | None) -> list[Any]:
        d = counts.to_dict()
        return [label, d["reviewed"], d["agree"], d["under_triage"], d["over_triage"],
                " ".join(d["cases_under_triaged"]), " ".join(d["cases_over_triaged"])]

    rows = [row(v, v.rule_version or "(none)") for v in result.by_rule_version]
    rows.append(row(result.totals, "all"))
    return Table("concordance", "Concordance by rule version", CSV_COLUMNS, rows)
