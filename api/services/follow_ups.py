"""Follow-ups of a case (issue #18): adding, listing, closing, the worker's consent to reminder
texts, and the two texts the worker process sends (a reminder to the worker, an overdue alert to
the case owner). The days and words are api/domain/follow_ups.py's; the calendar is the shared
England and Wales one (api/triage/bank_holidays.py).

Adding, closing and consent leave their changes (and audit events) in the session for the caller
to commit. The two senders commit each follow-up they claim: a claim is a conditional UPDATE
(`... WHERE reminder_sent_at IS NULL`), so of two worker processes only one queues a text, and the
claim, the outbox row and the audit event commit together.
"""
from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from api.core import phones
from api.core.config import Settings
from api.domain import follow_ups as rules
from api.domain.follow_ups import CANCELLED, DONE, OPEN, State
from api.enums import PractitionerRole
from api.models import Case, ConversationMessage, FollowUp, Practitioner
from api.services import audit, cases, directory, outbox, paging
from api.services.directory import Conflict, InvalidField, NotFound
from api.services.identities import sms_conversation_id
from api.triage.bank_holidays import load_bank_holidays

log = logging.getLogger(__name__)

__all__ = ["FollowUpError", "FollowUpNotOpen", "NotFound", "ReminderPlan", "add", "alert_overdue", "cancel",
           "consented", "for_case", "get", "listing", "mark_done", "mobile_of", "record_consent", "reminder_plan",
           "send_due_reminders", "today_in"]

WHAT_MAX = 200
NOTE_MAX = 2000
PAST_DAYS = 366
AHEAD_YEARS = 2
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

NOT_ASKED = "not asked for"
NOT_AGREED = "the worker has not agreed to reminder texts"
NO_MOBILE = "no mobile number"
ALREADY_SENT = "already sent"
CLOSED = "the follow-up is closed"
DAY_PASSED = "its day has passed"


class FollowUpError(InvalidField):
    """Input that cannot make a follow-up; `field` names it (due_on, what, note). A 422 naming the
    field on the JSON API (api/errors.py answers every InvalidField so)."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(field, message)


class FollowUpNotOpen(Conflict):
    """Done or cancelled already: a 409."""


# --- reading -----------------------------------------------------------------------------------

def today_in(now: datetime, tz: str = "Europe/London") -> date:
    return now.astimezone(ZoneInfo(tz)).date()


def get(session: Session, follow_up_id: int) -> FollowUp:
    """NotFound (a 404) for an id no follow-up has."""
    return directory.get(session, FollowUp, follow_up_id, "follow-up")


def _case_of(session: Session, case: Case | str | None) -> Case | None:
    return cases.get_by_ref(session, case) if isinstance(case, str) else case


def listing(session: Session, *, state: State | str | None = None, case: Case | str | None = None, today: date,
            limit: int | None = None) -> list[FollowUp]:
    """Oldest due first. `state` None: the open ones (due and overdue); `case` a Case or its
    reference (CaseNotFound for an unknown one)."""
    where = []
    if state is None:
        where.append(FollowUp.status == OPEN)
    elif state == "due":
        where += [FollowUp.status == OPEN, FollowUp.due_on >= today]
    elif state == "overdue":
        where += [FollowUp.status == OPEN, FollowUp.due_on < today]
    elif state in (DONE, CANCELLED):
        where.append(FollowUp.status == state)
    else:
        raise FollowUpError(f"Choose a state: {', '.join(rules.STATES)}", "status")
    found = _case_of(session, case)
    if found is not None:
        where.append(FollowUp.case_id == found.id)
    query = select(FollowUp).where(*where).order_by(FollowUp.due_on, FollowUp.id)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def open_counts(session: Session, *, today: date) -> tuple[int, int]:
    """(overdue, due today) among the open follow-ups, counted by the database."""
    overdue, due_today = session.execute(select(
        func.count().filter(FollowUp.due_on < today), func.count().filter(FollowUp.due_on == today),
    ).where(FollowUp.status == OPEN)).one()
    return int(overdue), int(due_today)


def for_case(session: Session, case: Case) -> list[FollowUp]:
    """Every follow-up of the case, open or closed, oldest due first."""
    return list(session.scalars(select(FollowUp).where(FollowUp.case_id == case.id)
                                .order_by(FollowUp.due_on, FollowUp.id)))


def mobile_of(case: Case) -> str | None:
    """The case's phone (E.164) when it is a UK mobile a text can reach, else None."""
    number = phones.e164(str((case.contact or {}).get("phone") or ""))
    return number if number and phones.is_uk_mobile(number) else None


def consented(case: Case) -> bool:
    """The worker's latest answer to "may we text you reminders?" was yes."""
    answer = (case.contact or {}).get("sms_reminders")
    return isinstance(answer, dict) and answer.get("agreed") is True


@dataclass(frozen=True)
class ReminderPlan:
    """`sends_on`: the London working day whose morning the reminder goes; None with `why_not`
    when none will go. `agreed`: the worker's consent as it stands."""

    sends_on: date | None
    why_not: str | None
    sent_at: datetime | None
    agreed: bool = False


def reminder_plan(fu: FollowUp, today: date, settings: Settings | None = None) -> ReminderPlan:
    """Whether, and on which day, the worker will be reminded (docs/contract.md)."""
    case = fu.case
    agreed = consented(case)
    sends_on = rules.reminder_day(fu.due_on, load_bank_holidays())

    def no(why: str) -> ReminderPlan:
        return ReminderPlan(None, why, fu.reminder_sent_at, agreed)

    if fu.reminder_sent_at is not None:
        return no(ALREADY_SENT)
    if not fu.remind_by_sms:
        return no(NOT_ASKED)
    if fu.status != OPEN:
        return no(CLOSED)
    if not agreed:
        return no(NOT_AGREED)
    if mobile_of(case) is None:
        return no(NO_MOBILE)
    if sends_on < today:
        return no(DAY_PASSED)
    return ReminderPlan(sends_on, None, None, agreed)


# --- adding and closing --------------------------------------------------------------------------

def _years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _due_on(value: date | str, today: date) -> date:
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, str):
        text = value.strip()
        try:
            if not _ISO_DATE.match(text):
                raise ValueError(text)
            value = date.fromisoformat(text)
        except ValueError:
            raise FollowUpError("Enter the date it is due as a real date, like 2027-01-04", "due_on") from None
    if value < today - timedelta(days=PAST_DAYS):
        raise FollowUpError("The date it is due must be within the last year", "due_on")
    if value > _years_later(today, AHEAD_YEARS):
        raise FollowUpError("The date it is due must be within the next two years", "due_on")
    return value


def _one_line(value: str | None, *, field: str, most: int, what: str) -> str:
    text = " ".join((value or "").split())
    if any(unicodedata.category(c) == "Cc" for c in text):
        raise FollowUpError(f"{what} cannot hold control characters", field)
    if len(text) > most:
        raise FollowUpError(f"{what} must be {most} characters or fewer", field)
    return text


def add(session: Session, case: Case, *, due_on: date | str, what: str, remind_by_sms: bool, actor: str,
        now: datetime, tz: str = "Europe/London") -> FollowUp:
    """A follow-up due on `due_on` (a London date), audited as `follow_up_added`."""
    day = _due_on(due_on, today_in(now, tz))
    text = _one_line(what, field="what", most=WHAT_MAX, what="What is to be done")
    if not text:
        raise FollowUpError("Enter what is to be done", "what")
    fu = FollowUp(case_id=case.id, due_on=day, what=text, remind_by_sms=bool(remind_by_sms), status=OPEN,
                  created_by=actor, created_at=now)
    session.add(fu)
    session.flush()
    case.updated_at = now
    reminder = " (reminder text asked for)" if fu.remind_by_sms else ""
    audit.log_event(session, case, type="follow_up_added", actor=actor, now=now,
                    description=f"follow-up due {rules.short_date(day)} {day.year}: {text}{reminder}",
                    details={"follow_up_id": fu.id, "due_on": day.isoformat(), "what": text,
                             "remind_by_sms": fu.remind_by_sms})
    return fu


def _close(session: Session, fu: FollowUp | int, *, to: str, actor: str, note: str | None, now: datetime) -> FollowUp:
    if isinstance(fu, int):
        fu = get(session, fu)
    text = _one_line(note, field="note", most=NOTE_MAX, what="The note") or None
    # Conditional on `open`: of two people closing it at once, one wins and the other is told.
    won = session.execute(
        update(FollowUp).where(FollowUp.id == fu.id, FollowUp.status == OPEN)
        .values(status=to, closed_at=now, closed_by=actor, close_note=text)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(fu)
    if not won:
        raise FollowUpNotOpen(f"the follow-up {fu.id} is already {fu.status}")
    case = fu.case
    case.updated_at = now
    word = "done" if to == DONE else "cancelled"
    audit.log_event(session, case, type=f"follow_up_{word}", actor=actor, now=now,
                    description=f"follow-up due {rules.short_date(fu.due_on)} {fu.due_on.year} {word}: {fu.what}"
                                + (f" ({text})" if text else ""),
                    details={"follow_up_id": fu.id, "due_on": fu.due_on.isoformat(), "note": text})
    return fu


def mark_done(session: Session, fu: FollowUp | int, *, actor: str, now: datetime, note: str | None = None) -> FollowUp:
    """FollowUpNotOpen (409) unless open; audited as `follow_up_done` with the note."""
    return _close(session, fu, to=DONE, actor=actor, note=note, now=now)


def cancel(session: Session, fu: FollowUp | int, *, actor: str, now: datetime, note: str | None = None) -> FollowUp:
    """FollowUpNotOpen (409) unless open; audited as `follow_up_cancelled` with the note."""
    return _close(session, fu, to=CANCELLED, actor=actor, note=note, now=now)


def record_consent(session: Session, case: Case, *, agreed: bool, words: str | None, actor: str,
                   now: datetime) -> Case:
    """The worker's answer to reminder texts; the latest counts (a later no withdraws a yes)."""
    # A new dict: the JSON column is only written when the attribute is assigned.
    case.contact = {**(case.contact or {}),
                    "sms_reminders": {"agreed": bool(agreed), "at": now.isoformat(), "channel": "sms"}}
    case.updated_at = now
    said = " ".join((words or "").split())[:500] or None
    audit.log_event(session, case, type="reminder_consent", actor=actor, now=now,
                    description=("agreed to" if agreed else "did not agree to") + " reminder texts"
                                + (f': "{said}"' if said else ""),
                    details={"agreed": bool(agreed), "words": said, "channel": "sms"})
    return case


# --- the worker's two texts ---------------------------------------------------------------------

def _claim(session: Session, fu_id: int, column: Any, now: datetime) -> bool:
    """Compare-and-set on the follow-up's sent column: of two processes, one wins."""
    return bool(session.execute(
        update(FollowUp).where(FollowUp.id == fu_id, FollowUp.status == OPEN, column.is_(None))
        .values({column.key: now}).execution_options(synchronize_session=False)
    ).rowcount)


def _helpline_phone(settings: Settings) -> str | None:
    parsed = phones.parse(settings.helpline_phone_number) if settings.helpline_phone_number else None
    return phones.readable(parsed) if parsed is not None else None


def opted_out(session: Session, settings: Settings, mobile: str) -> bool:
    """Whether the number's latest Twilio keyword was STOP (or another opt-out word): Twilio then
    refuses texts to it, and a STOP after agreeing withdraws the agreement too. START undoes it."""
    conversation = sms_conversation_id(settings.session_secret, mobile)
    for details in session.scalars(
            select(ConversationMessage.details).where(ConversationMessage.conversation_id == conversation,
                                                      ConversationMessage.direction == "inbound")
            .order_by(ConversationMessage.id.desc()).limit(200)):
        word = (details or {}).get("keyword")
        if word in ("stop", "start"):
            return word == "stop"
    return False


def send_due_reminders(session: Session, *, settings: Settings, now: datetime) -> int:
    """Queue the reminder of every open follow-up whose reminder is due now (London), to a
    worker who agreed and has a UK mobile: one text per follow-up, ever. Returns texts queued."""
    local = now.astimezone(ZoneInfo(settings.timezone))
    today = local.date()
    holidays = load_bank_holidays()
    due_days = rules.due_days_reminded_on(today, holidays)
    if local.hour < settings.follow_up_reminder_hour or not due_days:
        return 0
    candidates = list(session.scalars(
        select(FollowUp.id).where(FollowUp.status == OPEN, FollowUp.remind_by_sms.is_(True),
                                  FollowUp.reminder_sent_at.is_(None), FollowUp.due_on.in_(due_days))
        .order_by(FollowUp.due_on, FollowUp.id)))
    queued = 0
    phone = _helpline_phone(settings)
    for fu_id in candidates:
        fu = session.get(FollowUp, fu_id)
        if fu is None or not rules.reminder_due(local, fu.due_on, settings.follow_up_reminder_hour, holidays):
            continue
        to = mobile_of(fu.case)
        if to is None or not consented(fu.case) or opted_out(session, settings, to):
            continue
        body = rules.reminder_text(phone, rules.when_words(fu.due_on, today))
        if rules.has_clinical_words(body):
            log.error("follow-up reminder refused: the text has clinical words %s", rules.clinical_words_in(body),
                      extra={"follow_up_id": fu.id})
            continue
        if not _claim(session, fu.id, FollowUp.reminder_sent_at, now):
            session.rollback()
            continue
        message = outbox.enqueue_sms(session, to=to, body=body, now=now)
        session.flush()
        audit.log_event(session, fu.case, type="follow_up_reminder_sent", now=now,
                        description=f"reminder text queued for the follow-up due {rules.short_date(fu.due_on)}",
                        details={"follow_up_id": fu.id, "due_on": fu.due_on.isoformat(), "outbox_id": message.id})
        session.commit()
        queued += 1
    return queued


def _alert_to(session: Session, case: Case) -> list[Practitioner]:
    if case.owner is not None and case.owner.active:
        return [case.owner]
    return list(session.scalars(select(Practitioner).where(
        Practitioner.role == PractitionerRole.clinical_lead, Practitioner.active.is_(True)).order_by(Practitioner.id)))


def alert_overdue(session: Session, *, settings: Settings, now: datetime) -> int:
    """Text the case owner (no active owner: every active clinical lead) once about each open
    follow-up from the alert hour of the first working day after it was due. Returns follow-ups
    alerted."""
    local = now.astimezone(ZoneInfo(settings.timezone))
    holidays = load_bank_holidays()
    candidates = list(session.scalars(
        select(FollowUp.id).where(FollowUp.status == OPEN, FollowUp.overdue_alerted_at.is_(None),
                                  FollowUp.due_on < local.date())
        .order_by(FollowUp.due_on, FollowUp.id)))
    alerted = 0
    for fu_id in candidates:
        fu = session.get(FollowUp, fu_id)
        if fu is None or not rules.overdue_alert_due(local, fu.due_on, settings.follow_up_alert_hour, holidays):
            continue
        if not _claim(session, fu.id, FollowUp.overdue_alerted_at, now):
            session.rollback()
            continue
        case = fu.case
        people = _alert_to(session, case)
        body = rules.overdue_alert_text(case.ref, fu.due_on, paging.case_link(settings, case.ref))
        messages = [outbox.enqueue_sms(session, to=person.mobile, body=body, now=now) for person in people]
        session.flush()
        names = ", ".join(p.name for p in people)
        if not people:
            # Claimed all the same: the dashboard's list shows it overdue, and an alert retried
            # every tick would only fill the log.
            log.warning("overdue follow-up %s: no owner and no active clinical lead to text", fu.id)
        told = f"texted {names}" if people else "nobody to text (no owner, no clinical lead)"
        audit.log_event(session, case, type="follow_up_overdue_alert", now=now,
                        description=f"follow-up due {rules.short_date(fu.due_on)} overdue: {told}",
                        details={"follow_up_id": fu.id, "due_on": fu.due_on.isoformat(),
                                 "to": [p.id for p in people], "outbox_ids": [m.id for m in messages]})
        session.commit()
        alerted += 1
    return alerted
