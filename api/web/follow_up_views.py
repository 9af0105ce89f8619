"""What the staff pages show of follow-ups (issue #18): the case page's card (the case's
follow-ups with their state and reminder, whether a reminder text can be asked for, and the
sharps template's suggestions) and the dashboard's counts. Read only: the changes are
api/web/routes/follow_ups.py's."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from api.core.config import Settings
from api.domain.follow_up_template import TemplateItem, sharps_template
from api.domain.follow_ups import state_of
from api.models import Case, FollowUp
from api.services import follow_ups
from api.triage.bank_holidays import load_bank_holidays

STATE_LABELS = {"due": "Due", "overdue": "Overdue", "done": "Done", "cancelled": "Cancelled"}
STATE_TAGS = {"due": "tag-blue", "overdue": "tag-red", "done": "tag-green", "cancelled": "tag-grey"}


@dataclass(frozen=True)
class Row:
    fu: FollowUp
    state: str
    plan: follow_ups.ReminderPlan

    @property
    def label(self) -> str:
        return STATE_LABELS[self.state]

    @property
    def tag(self) -> str:
        return STATE_TAGS[self.state]

    @property
    def is_open(self) -> bool:
        return self.fu.status == "open"

    @property
    def no_reminder(self) -> str | None:
        """Why no text will go, for an open follow-up that has not had one ("No reminder: ...")."""
        if self.plan.sends_on or self.plan.sent_at or not self.is_open:
            return None
        return self.plan.why_not


@dataclass(frozen=True)
class Card:
    rows: list[Row]
    # Why a reminder text cannot be asked for (None: it can): the worker's consent and a mobile.
    why_no_texts: str | None
    template: list[TemplateItem]  # empty unless a sharps case


def row(fu: FollowUp, today: date, settings: Settings) -> Row:
    return Row(fu, state_of(fu.status, fu.due_on, today), follow_ups.reminder_plan(fu, today, settings))


def why_no_texts(case: Case) -> str | None:
    if not follow_ups.consented(case):
        return "the worker has not agreed to reminder texts"
    if follow_ups.mobile_of(case) is None:
        return "there is no mobile number for the worker"
    return None


def card(session: Session, case: Case, *, today: date, settings: Settings) -> Card:
    template: list[TemplateItem] = []
    if case.line == "sharps":
        opened_on = case.created_at.astimezone(ZoneInfo(settings.timezone)).date()
        template = sharps_template(case.decision, case.answers, opened_on, load_bank_holidays(),
                                   tz=settings.timezone)
    return Card([row(fu, today, settings) for fu in follow_ups.for_case(session, case)], why_no_texts(case),
                template)


@dataclass(frozen=True)
class Counts:
    overdue: int
    due_today: int


def counts(session: Session, today: date) -> Counts:
    return Counts(*follow_ups.open_counts(session, today=today))
