"""Concordance: the practitioner's own urgency beside the rules'. Pure: the caller passes the rows
(the newest review of each case) and the clock.

- agree: the practitioner's urgency is the rules' urgency;
- under_triage: the practitioner's is HIGHER than the rules' (the rules under-called the case:
  a safety signal for the clinical lead);
- over_triage: the practitioner's is LOWER (the rules paged more than the case needed).

Urgencies are ordered routine < urgent < emergency: the order of api.enums.Urgency, which is the
triage rules' URGENCY_ORDER (the order every decision is raised by; a test holds the two equal, so
the report and the rules never disagree on "higher"). Read from api.enums because the import
contracts keep api.domain and api.triage independent of each other.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from api.enums import Urgency

Verdict = Literal["agree", "under_triage", "over_triage"]
VERDICTS: tuple[Verdict, ...] = ("agree", "under_triage", "over_triage")
#: lowest to highest; equal to api.triage.URGENCY_ORDER (tests/api/domain/test_concordance.py)
URGENCY_ORDER: tuple[str, ...] = tuple(u.value for u in Urgency)
#: the most weeks the chart over time shows (the newest ones)
MAX_WEEKS = 52


class UnknownUrgency(ValueError):
    pass


def rank(urgency: str) -> int:
    """The urgency's place in URGENCY_ORDER (routine 0, urgent 1, emergency 2)."""
    try:
        return URGENCY_ORDER.index(urgency)
    except ValueError:
        raise UnknownUrgency(f"unknown urgency {urgency!r}; expected one of {', '.join(URGENCY_ORDER)}") from None


def classify(reviewed: str, rules: str) -> Verdict:
    """The practitioner's urgency (`reviewed`) against the rules' (`rules`)."""
    diff = rank(reviewed) - rank(rules)
    if diff > 0:
        return "under_triage"
    if diff < 0:
        return "over_triage"
    return "agree"


@dataclass(frozen=True)
class ReviewedCase:
    """One case's newest review: what the rules said (and which version said it) and what the
    practitioner said. `opened_at` is when the case was opened (UTC), for the chart over time."""

    ref: str
    rule_version: str | None
    rules_urgency: str
    urgency: str
    opened_at: datetime | None = None

    @property
    def verdict(self) -> Verdict:
        return classify(self.urgency, self.rules_urgency)


@dataclass
class VersionCounts:
    """The counts for one rule version (or for all of them: the totals)."""

    rule_version: str | None
    reviewed: int = 0
    agree: int = 0
    under_triage: int = 0
    over_triage: int = 0
    cases_under_triaged: list[str] = field(default_factory=list)
    cases_over_triaged: list[str] = field(default_factory=list)

    def add(self, row: ReviewedCase) -> None:
        verdict = row.verdict
        self.reviewed += 1
        if verdict == "agree":
            self.agree += 1
        elif verdict == "under_triage":
            self.under_triage += 1
            self.cases_under_triaged.append(row.ref)
        else:
            self.over_triage += 1
            self.cases_over_triaged.append(row.ref)

    def to_dict(self) -> dict[str, Any]:
        return {"rule_version": self.rule_version, "reviewed": self.reviewed, "agree": self.agree,
                "under_triage": self.under_triage, "over_triage": self.over_triage,
                "cases_under_triaged": sorted(self.cases_under_triaged),
                "cases_over_triaged": sorted(self.cases_over_triaged)}


def _version_key(version: str | None) -> tuple[bool, str]:
    # Versions are date-like ("sharps-2026.11.1"): text order is release order within a line.
    # A review with no version (a case triaged before versions were stored) sorts last.
    return (version is None, version or "")


def by_rule_version(rows: Iterable[ReviewedCase]) -> list[VersionCounts]:
    """One VersionCounts per rule version that has a reviewed case, in version order."""
    counts: dict[str | None, VersionCounts] = {}
    for row in rows:
        counts.setdefault(row.rule_version, VersionCounts(row.rule_version)).add(row)
    return [counts[v] for v in sorted(counts, key=_version_key)]


def totals(rows: Iterable[ReviewedCase]) -> VersionCounts:
    """Every row counted together (rule_version None)."""
    total = VersionCounts(None)
    for row in rows:
        total.add(row)
    return total


def iso_week(moment: datetime, zone: ZoneInfo) -> str:
    year, week, _ = moment.astimezone(zone).isocalendar()
    return f"{year}-W{week:02d}"


def weekly(rows: Iterable[ReviewedCase], zone: ZoneInfo, *, max_weeks: int = MAX_WEEKS) -> list[dict[str, Any]]:
    """Reviewed and under-triaged cases per local ISO week the case was opened in: every week from
    the first such week to the last (empty weeks shown as 0, so the chart's gaps are real), the
    newest `max_weeks` of them."""
    per_week: dict[str, list[int]] = {}
    days: list[date] = []
    for row in rows:
        if row.opened_at is None:
            continue
        key = iso_week(row.opened_at, zone)
        counts = per_week.setdefault(key, [0, 0])
        counts[0] += 1
        counts[1] += row.verdict == "under_triage"
        days.append(row.opened_at.astimezone(zone).date())
    if not days:
        return []
    first, last = min(days), max(days)
    monday, out = first - timedelta(days=first.weekday()), []
    while monday <= last:
        year, week, _ = monday.isocalendar()
        key = f"{year}-W{week:02d}"
        reviewed, under = per_week.get(key, (0, 0))
        out.append({"week": key, "reviewed": reviewed, "under_triage": under})
        monday += timedelta(weeks=1)
    return out[-max_weeks:]


def days_waiting(opened_at: datetime, now: datetime) -> int:
    """Whole days since the case was opened."""
    return max(0, (now - opened_at) // timedelta(days=1))


def review_due_before(now: datetime, due_days: int) -> datetime:
    """A triaged case opened at or before this moment and still not reviewed is overdue a review:
    it has been open `due_days` whole days."""
    return now - timedelta(days=due_days)
