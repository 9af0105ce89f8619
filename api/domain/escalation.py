"""The paging ladder: who is paged at each step, and when a page is overdue. Pure.

Step 1 the primary on call, 2 the backup, 3 the clinical lead(s), 4 every active
practitioner. A step with nobody to page is skipped (and said so), so a page never
waits on an empty rota slot.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from api.enums import PageTier

LADDER: tuple[PageTier, ...] = (PageTier.primary, PageTier.backup, PageTier.clinical_lead, PageTier.everyone)
LAST_STEP = len(LADDER)


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    mobile: str


@dataclass(frozen=True)
class RotaSnapshot:
    """Who could be paged at one moment."""

    primary: tuple[Person, ...] = ()
    backup: tuple[Person, ...] = ()
    clinical_leads: tuple[Person, ...] = ()
    everyone: tuple[Person, ...] = ()

    def at(self, tier: PageTier) -> tuple[Person, ...]:
        return {
            PageTier.primary: self.primary,
            PageTier.backup: self.backup,
            PageTier.clinical_lead: self.clinical_leads,
            PageTier.everyone: self.everyone,
        }[tier]

    @property
    def nobody_on_call(self) -> bool:
        return not self.primary and not self.backup


@dataclass(frozen=True)
class StepPlan:
    step: int  # 1-based; 0 means the ladder is exhausted
    tier: PageTier | None
    targets: tuple[Person, ...]
    skipped: tuple[PageTier, ...] = field(default=())

    @property
    def exhausted(self) -> bool:
        return self.step == 0


def plan_step(after_step: int, rota: RotaSnapshot, *, already_paged: frozenset[int] = frozenset()) -> StepPlan:
    """The first step after `after_step` that has someone to page.

    `already_paged` people are left out of later steps (the last step, everyone, would
    otherwise page the primary again) unless nobody else is left.
    """
    skipped: list[PageTier] = []
    for index in range(after_step, LAST_STEP):
        tier = LADDER[index]
        people = rota.at(tier)
        fresh = tuple(p for p in people if p.id not in already_paged)
        targets = fresh if (fresh or tier is not PageTier.everyone) else people
        if targets:
            return StepPlan(step=index + 1, tier=tier, targets=targets, skipped=tuple(skipped))
        skipped.append(tier)
    return StepPlan(step=0, tier=None, targets=(), skipped=tuple(skipped))


# A caller waiting on the line is put through to one person at a time, in ladder order;
# "everyone" is a text to all, not a call.
CALL_STEPS: tuple[PageTier, ...] = (PageTier.primary, PageTier.backup, PageTier.clinical_lead)


def call_order(rota: RotaSnapshot) -> tuple[tuple[PageTier, Person], ...]:
    """Whom a warm transfer rings, in turn: the ladder's people, each once, first tier first."""
    order: list[tuple[PageTier, Person]] = []
    seen: set[int] = set()
    for tier in CALL_STEPS:
        for person in rota.at(tier):
            if person.id not in seen:
                seen.add(person.id)
                order.append((tier, person))
    return tuple(order)


def ack_deadline(sent_at: datetime, ack_seconds: float) -> datetime:
    return sent_at + timedelta(seconds=ack_seconds)


def is_overdue(deadline: datetime | None, now: datetime) -> bool:
    return deadline is not None and now >= deadline


def page_text(*, ref: str, urgency: str, summary: str, callback: str | None, emergency_department: bool,
              link: str | None = None) -> str:
    """The SMS a practitioner receives. Short enough for two SMS segments. `link`, the case page's
    address, comes last with nothing after it, so a phone makes all of it (and only it) a link."""
    parts = [f"OH HELPLINE {urgency.upper()} {ref}", summary]
    if emergency_department:
        parts.append("Caller told to go to ED now.")
    parts.append(f"Call back: {callback}" if callback else "No call-back number yet: see the case.")
    parts.append(f"Reply ACK {ref} to acknowledge.")
    if link:
        parts.append(f"Open: {link}")
    return " ".join(p for p in parts if p)


def call_by(first_sent_at: datetime, ack_seconds: float, steps: int = LAST_STEP) -> datetime:
    """The time we tell the person to stop waiting (go to A&E or call 111): the whole ladder,
    every step given its full acknowledgement window, has run by then."""
    return first_sent_at + timedelta(seconds=ack_seconds * steps)
