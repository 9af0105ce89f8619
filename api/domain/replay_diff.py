"""What a candidate rule file would change, case by case, against the live one (pure).

The service (api/services/replay.py) runs both rule sets over each past case's stored answers at
its original decision time; this module compares the two decisions and counts them against the
practitioners' own urgencies (their reviews). Nothing here knows about the database.

- `changed`: the urgency or the set of rules fired differs (the issue's definition). Rules that
  fire in another order are the same rules.
- `direction`: "down" when the candidate's urgency is lower than the live one's. Every case that
  would move down is one the clinical lead examines before signing a release off.
- against a review: "under" when an urgency is below the practitioner's, "over" when above.
- `changed_otherwise`: same urgency and rules, but what the person is told or who is paged
  differs (the A&E instruction, the page, the route, the PEP window, the advice): not part of
  `changed`, listed so that such an edit is not invisible either.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from api.domain.concordance import URGENCY_ORDER, rank

# Decision fields compared for `changed_otherwise` (beyond urgency and the rules fired).
OTHER_FIELDS = ("go_to_emergency_department", "page_on_call", "route", "pep_window_open", "page_not_before")


def direction(was: str, now: str) -> str:
    """"down", "up" or "same": where the candidate moves a case's urgency."""
    if rank(now) < rank(was):
        return "down"
    return "up" if rank(now) > rank(was) else "same"


def against_review(urgency: str, reviewed: str | None) -> str | None:
    """"under" (below the practitioner's urgency), "over" (above), "agree", or None (no review)."""
    if reviewed is None or reviewed not in URGENCY_ORDER:
        return None
    if rank(urgency) < rank(reviewed):
        return "under"
    return "over" if rank(urgency) > rank(reviewed) else "agree"


def _advice_codes(decision: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(a.get("code", "") for a in decision.get("advice") or () if isinstance(a, Mapping))


def other_differences(was: Mapping[str, Any], now: Mapping[str, Any]) -> tuple[str, ...]:
    """The decision fields besides urgency and rules that differ (advice: its codes, in order)."""
    fields = [f for f in OTHER_FIELDS if was.get(f) != now.get(f)]
    if _advice_codes(was) != _advice_codes(now):
        fields.append("advice")
    return tuple(fields)


@dataclass(frozen=True)
class CaseReplay:
    """One past case: the live rules' decision (`was`) and the candidate's (`now`) on the same
    answers at the same moment, and what is on record about it."""

    ref: str
    decided_at: datetime  # the original decision time both rule sets were run at
    decided_under: str | None  # the rule version that made the stored decision
    stored: str | None  # the urgency stored on the case
    reviewed: str | None  # the practitioner's urgency (newest review), if any
    was: str
    now: str
    rules_fired_was: tuple[str, ...]
    rules_fired_now: tuple[str, ...]
    other: tuple[str, ...] = ()  # other_differences(was, now)

    @classmethod
    def of(cls, *, ref: str, decided_at: datetime, decided_under: str | None, stored: str | None,
           reviewed: str | None, was: Mapping[str, Any], now: Mapping[str, Any]) -> CaseReplay:
        return cls(ref=ref, decided_at=decided_at, decided_under=decided_under, stored=stored, reviewed=reviewed,
                   was=was["urgency"], now=now["urgency"], rules_fired_was=tuple(was.get("rules_fired") or ()),
                   rules_fired_now=tuple(now.get("rules_fired") or ()), other=other_differences(was, now))

    @property
    def changed(self) -> bool:
        return self.was != self.now or set(self.rules_fired_was) != set(self.rules_fired_now)

    @property
    def direction(self) -> str:
        return direction(self.was, self.now)

    @property
    def rules_removed(self) -> tuple[str, ...]:
        return tuple(r for r in self.rules_fired_was if r not in self.rules_fired_now)

    @property
    def rules_added(self) -> tuple[str, ...]:
        return tuple(r for r in self.rules_fired_now if r not in self.rules_fired_was)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ref": self.ref, "was": self.was, "now": self.now,
            "rules_fired_was": list(self.rules_fired_was), "rules_fired_now": list(self.rules_fired_now),
            "decided_under": self.decided_under, "reviewed": self.reviewed,
            "direction": self.direction, "decided_at": self.decided_at.isoformat(), "stored": self.stored,
        }


@dataclass(frozen=True)
class ReplayDiff:
    line: str
    candidate_version: str
    live_version: str
    version_released: bool  # the candidate's version is already a shipped file
    cases: tuple[CaseReplay, ...]  # every case replayed, in case order

    @property
    def changed(self) -> tuple[CaseReplay, ...]:
        return tuple(c for c in self.cases if c.changed)

    @property
    def moved_down(self) -> tuple[CaseReplay, ...]:
        return tuple(c for c in self.cases if c.direction == "down")

    @property
    def moved_up(self) -> tuple[CaseReplay, ...]:
        return tuple(c for c in self.cases if c.direction == "up")

    @property
    def changed_otherwise(self) -> tuple[CaseReplay, ...]:
        return tuple(c for c in self.cases if not c.changed and c.other)

    @property
    def reviewed(self) -> tuple[CaseReplay, ...]:
        return tuple(c for c in self.cases if c.reviewed is not None)

    def versus_review(self, which: str, verdict: str) -> tuple[CaseReplay, ...]:
        """Reviewed cases whose `which` ("now": the candidate, "was": live) urgency is `verdict`."""
        return tuple(c for c in self.reviewed if against_review(getattr(c, which), c.reviewed) == verdict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "candidate_version": self.candidate_version,
            "live_version": self.live_version,
            "version_released": self.version_released,
            "cases": len(self.cases),
            "changed": [c.to_dict() for c in self.changed],
            "would_under_triage_vs_review": len(self.versus_review("now", "under")),
            "would_over_triage_vs_review": len(self.versus_review("now", "over")),
            "cases_would_under_triage_vs_review": [c.ref for c in self.versus_review("now", "under")],
            "live_under_triage_vs_review": len(self.versus_review("was", "under")),
            "live_over_triage_vs_review": len(self.versus_review("was", "over")),
            "reviewed": len(self.reviewed),
            "moved_down": len(self.moved_down),
            "moved_up": len(self.moved_up),
            "changed_otherwise": [{"ref": c.ref, "fields": list(c.other)} for c in self.changed_otherwise],
        }

