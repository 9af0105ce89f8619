"""Whether a case's page goes out, is grouped with an earlier page, or is held. Pure.

A public door can be made to open case after case (a burst of crisis messages, a script
without cookies). Each case is still stored, answered and queued; what is limited is the
ladder of pages, which costs someone's night: cases from one source page once per window,
and a source a practitioner marked as abuse pages only for an emergency or a crisis.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from api.enums import CaseKind, Urgency

# Higher is more urgent; an unknown urgency ranks with urgent (never routine).
_RANK = {Urgency.routine: 0, Urgency.urgent: 1, None: 1, Urgency.emergency: 2}

CRISIS_RULE = "crisis"


class Verdict(StrEnum):
    page = "page"  # start (or continue) this case's own ladder
    group = "group"  # attach to an earlier case's page; no ladder of its own
    hold = "hold"  # the source is marked as abuse: no page (the case is still on the queue)


@dataclass(frozen=True)
class Need:
    """What the case being paged needs."""

    urgency: str | None
    crisis: bool

    @property
    def exempt(self) -> bool:
        """Paged even from a source marked as abuse (once per window): a mark is one person's
        judgement of earlier messages, and an emergency or a crisis that goes unanswered is the
        harm this service exists to prevent. Everything else from that source is held."""
        return self.crisis or self.urgency == Urgency.emergency


@dataclass(frozen=True)
class Anchor:
    """An earlier open case from the same source that has paged."""

    case_id: int
    ref: str
    urgency: str | None
    crisis: bool
    last_paged_at: datetime  # its newest round
    live: bool  # a page of it is still waiting for acknowledgement
    page_id: int | None = None  # its first page, named in the grouping events

    def covers(self, need: Need) -> bool:
        """Its page says at least as much as this case's would: as urgent, and a crisis if this
        is one (a crisis case is never hidden behind a needlestick's page)."""
        return _RANK.get(self.urgency, 1) >= _RANK.get(need.urgency, 1) and (self.crisis or not need.crisis)


@dataclass(frozen=True)
class Silence:
    """An abuse mark on the source, in force until `until`."""

    mark_id: int
    until: datetime
    marked_on: str  # the case reference the mark was made on


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    anchor: Anchor | None = None
    silence: Silence | None = None

    @property
    def pages(self) -> bool:
        return self.verdict == Verdict.page


def is_crisis(kind: str | None, rules_fired: Sequence[str] | None) -> bool:
    return kind == CaseKind.crisis or CRISIS_RULE in (rules_fired or ())


def in_window(anchor: Anchor, *, now: datetime, window: timedelta) -> bool:
    return anchor.live or now - anchor.last_paged_at < window


def decide(need: Need, *, starting: bool, anchors: Sequence[Anchor], silence: Silence | None,
           now: datetime, window: timedelta) -> Decision:
    """`starting`: the case has never paged (a later round of its own ladder is never grouped,
    but is held while its source is silenced, unless exempt). `anchors`: earlier open cases from
    the same source that paged, oldest first; the first that covers this case, paged within the
    window or still waiting, takes it."""
    if silence is not None and now >= silence.until:
        silence = None
    if starting:
        for anchor in anchors:
            if anchor.covers(need) and in_window(anchor, now=now, window=window):
                return Decision(Verdict.group, anchor=anchor, silence=silence)
    if silence is not None and not need.exempt:
        return Decision(Verdict.hold, silence=silence)
    return Decision(Verdict.page, silence=silence)
