"""The annual quality report for the commissioner (issue #18): one page of the service's figures
over a period of whole days in the service's time zone, both days included.

Every figure that the service reports already counts comes from the same query here
(api/services/reports.py over `reports.days`, the concordance from api/services/reviews.py, the
equality of access from api/services/equality.py), so this page and /reports never disagree.
Only what nothing else counts is queried here: follow-ups due, the rule versions of the cases
opened, and uptake by organisation. `now` is passed in; the period is cut at now.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.domain.quality import FollowUpCompletion, follow_up_completion
from api.enums import Line
from api.models import Case, ConversationOrigin, FollowUp, Organisation
from api.services import equality, reports, reviews
from api.triage.ruleset import load_rules

URGENCIES = ("emergency", "urgent", "routine")
NOT_TRIAGED = "not_triaged"
NO_ORGANISATION = "(none)"


@dataclass(frozen=True)
class Count:
    value: str
    contacts: int
    cases: int


@dataclass(frozen=True)
class Times:
    """One measure over the cases opened in the period (seconds; None with no case measured)."""

    measure: str
    label: str
    n: int
    median: float | None
    p90: float | None


@dataclass(frozen=True)
class RuleVersion:
    line: str
    version: str | None  # None: cases not triaged
    cases: int


@dataclass(frozen=True)
class OrganisationUptake:
    code: str
    name: str
    type: str
    cases: int
    poster_contacts: int


@dataclass(frozen=True)
class TypeUptake:
    type: str
    organisations: int  # in the directory
    reached: int  # with a case or a poster contact in the period
    cases: int
    poster_contacts: int


@dataclass(frozen=True)
class Uptake:
    organisations: list[OrganisationUptake]  # those with a case or a poster contact, most cases first
    by_type: list[TypeUptake]
    cases_without_organisation: int
    poster_contacts: int

    @property
    def reached(self) -> int:
        return len(self.organisations)


@dataclass
class QualityReport:
    """The report's figures; the page (api/web/templates/quality.html) gives each its definition."""

    start: date
    end: date
    now: datetime
    tz: str
    contacts: int
    cases: int
    by_line: list[Count]
    by_channel: list[Count]
    times: dict[str, Times]  # first_reply, page, acknowledgement
    escalated: dict[str, int]  # urgency (and not_triaged) -> cases paged; "all" the total
    concordance: reviews.Concordance
    follow_ups: FollowUpCompletion
    satisfaction: dict[str, Any]  # n, mean, satisfied_percent
    ratings: list[list[Any]]  # score, count, percent
    equality: equality.EqualityReport
    rule_versions: list[RuleVersion]  # of the cases opened in the period
    live_rules: dict[str, str]  # line -> the version in force now
    uptake: Uptake
    review_due_days: int = 7

    @property
    def period_label(self) -> str:
        return f"{self.start.day} {self.start:%B %Y} to {self.end.day} {self.end:%B %Y}"


def _volume(session: Session, p: reports.Period) -> tuple[dict[str, list[Count]], int, int]:
    table, weekly = reports.volume(session, p)
    found: dict[str, list[Count]] = {}
    for _label, dimension, value, contacts, cases in table.rows:
        found.setdefault(dimension, []).append(Count(value, contacts, cases))
    return found, sum(w["contacts"] for w in weekly), sum(w["cases"] for w in weekly)


def _times(stats: dict[tuple[str, str], dict[str, Any]]) -> dict[str, Times]:
    return {m: Times(m, reports.MEASURE_LABELS[m], stats[(m, "all")]["n"], stats[(m, "all")]["median"],
                     stats[(m, "all")]["p90"]) for m in reports.MEASURES}


def _escalated(stats: dict[tuple[str, str], dict[str, Any]]) -> dict[str, int]:
    """Cases opened in the period with a page of their own sent: the "time to page" measure's n."""
    paged = {u: stats[("page", u)]["n"] for u in URGENCIES}
    total = stats[("page", "all")]["n"]
    return {**paged, NOT_TRIAGED: total - sum(paged.values()), "all": total}


def _opened(p: reports.Period) -> list[Any]:
    return [Case.created_at >= p.start, Case.created_at <= p.now]


def _follow_ups(session: Session, start: date, end: date, *, today: date, zone: ZoneInfo) -> FollowUpCompletion:
    rows = session.execute(select(FollowUp.status, FollowUp.due_on, FollowUp.closed_at)
                           .where(FollowUp.due_on >= start, FollowUp.due_on <= end))
    return follow_up_completion(rows.tuples(), today=today, zone=zone)


def _rule_versions(session: Session, p: reports.Period) -> list[RuleVersion]:
    rows = session.execute(select(Case.line, Case.rule_version, func.count()).where(*_opened(p))
                           .group_by(Case.line, Case.rule_version))
    found = [RuleVersion(line, version, int(n)) for line, version, n in rows]
    return sorted(found, key=lambda r: (r.line, r.version is None, r.version or ""))


def live_rules() -> dict[str, str]:
    """The rule version each line decides with now: its newest rule file."""
    return {line.value: load_rules(line.value).version for line in Line}


def _uptake(session: Session, p: reports.Period) -> Uptake:
    """Cases by organisation (the one a practitioner confirmed, else the one the case was opened
    with, as the concordance report picks it) and conversations begun from its poster's link."""
    org_of_case = func.coalesce(Case.confirmed_organisation_id, Case.organisation_id)
    cases = dict(session.execute(select(org_of_case, func.count()).where(*_opened(p)).group_by(org_of_case))
                 .tuples().all())
    posters = dict(session.execute(
        select(ConversationOrigin.organisation_id, func.count())
        .where(ConversationOrigin.created_at >= p.start, ConversationOrigin.created_at <= p.now)
        .group_by(ConversationOrigin.organisation_id)).tuples().all())
    directory = session.execute(select(Organisation.id, Organisation.code, Organisation.name, Organisation.type)).all()
    rows, types = [], {}
    for org_id, code, name, org_type in directory:
        n_cases, n_posters = int(cases.get(org_id, 0)), int(posters.get(org_id, 0))
        kind = types.setdefault(org_type, [0, 0, 0, 0])
        kind[0] += 1
        if n_cases or n_posters:
            rows.append(OrganisationUptake(code, name, org_type, n_cases, n_posters))
            kind[1] += 1
            kind[2] += n_cases
            kind[3] += n_posters
    rows.sort(key=lambda r: (-r.cases, -r.poster_contacts, r.name, r.code))
    by_type = [TypeUptake(t, *counts) for t, counts in sorted(types.items())]
    return Uptake(organisations=rows, by_type=by_type, cases_without_organisation=int(cases.get(None, 0)),
                  poster_contacts=sum(int(n) for n in posters.values()))


def annual(session: Session, *, start: date, end: date, now: datetime, tz: str = "Europe/London",
           review_due_days: int = 7) -> QualityReport:
    """The report for the London days `start` to `end`, both included, counted up to `now`."""
    zone = ZoneInfo(tz)
    p = reports.days(start, end, now=now, tz=tz)
    volume, contacts, n_cases = _volume(session, p)
    _table, stats = reports.response_times(session, p)
    ratings_table, satisfaction = reports.ratings(session, p)
    concordance = reviews.report(session, filters=reviews.ConcordanceFilters(date_from=start, date_to=end),
                                 now=now, tz=tz, due_days=review_due_days)
    return QualityReport(
        start=start, end=end, now=now, tz=tz, contacts=contacts, cases=n_cases,
        by_line=volume.get("line", []), by_channel=volume.get("channel", []),
        times=_times(stats), escalated=_escalated(stats), concordance=concordance,
        follow_ups=_follow_ups(session, start, end, today=now.astimezone(zone).date(), zone=zone),
        satisfaction=satisfaction, ratings=ratings_table.rows,
        equality=equality.report(session, start=start, end=end),
        rule_versions=_rule_versions(session, p), live_rules=live_rules(), uptake=_uptake(session, p),
        review_due_days=review_due_days,
    )
