"""What a manager sees: their organisation's manager-line cases, whom each is about (the employee's
name, which the manager gave), one status in the manager's words, and the outcome report once a
practitioner releases it. Never the other answers, the transcript or clinical notes.

A referral reaches an organisation's managers only once a person has bound it to that
organisation (`confirmed_organisation_id`): the manager who made it on the web, or a practitioner
confirming the organisation on the case page. The organisation matched from what someone typed
to the bot ("riverside") is only a suggestion: anyone can type any workplace.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.core import phones
from api.core.config import Settings
from api.enums import CaseKind, CaseStatus, Channel, Line
from api.models import Case, CaseEvent, Organisation, UserAccount
from api.services import audit, cases
from api.services.casework import RELEASE_EVENT, CaseworkError

CONFIRM_EVENT = "organisation_confirmed"


class NotYourOrganisation(PermissionError):
    pass


class NotAReferral(LookupError):
    pass


REASONS = {"mental_health": "Mental health", "musculoskeletal": "Musculoskeletal", "other": "Other"}


class ReferralStatus(StrEnum):
    """The one status a manager sees, in their words (the value is what the pages and the CSV say)."""

    received = "Received"
    with_practitioner = "A practitioner is looking at it"
    follow_up = "Follow-up planned"
    report_available = "Outcome report available"
    closed = "Closed"


def referral_status(case: Case, released: CaseEvent | None) -> ReferralStatus:
    """A released report is what a manager waits for, so it outranks the case's own status (the
    case may still be open for follow-up, or closed: either way the report is the news)."""
    if released is not None:
        return ReferralStatus.report_available
    if case.status == CaseStatus.closed:
        return ReferralStatus.closed
    if case.status == CaseStatus.follow_up:
        return ReferralStatus.follow_up
    if case.status in (CaseStatus.acknowledged, CaseStatus.in_progress):
        return ReferralStatus.with_practitioner
    return ReferralStatus.received


def status_of(session: Session, case: Case) -> tuple[ReferralStatus, bool]:
    """A manager-line case's one status, and whether an outcome report is released."""
    released = _releases(session, [case.id]).get(case.id)
    return referral_status(case, released), released is not None


@dataclass
class ReferralRow:
    case: Case
    status: ReferralStatus
    released: CaseEvent | None
    milestones: list[tuple[str, datetime]]

    @property
    def employee_name(self) -> str | None:
        """Whom the referral is about: the web form and the bot's referral flow both store it."""
        name = (self.case.answers or {}).get("employee_name")
        return (name.strip() or None) if isinstance(name, str) else None


def _releases(session: Session, case_ids: list[int]) -> dict[int, CaseEvent]:
    if not case_ids:
        return {}
    latest: dict[int, CaseEvent] = {}
    for event in session.scalars(select(CaseEvent).where(CaseEvent.case_id.in_(case_ids),
                                                         CaseEvent.type == RELEASE_EVENT).order_by(CaseEvent.id)):
        latest[event.case_id] = event
    return latest


def _milestones(case: Case, released: CaseEvent | None) -> list[tuple[str, datetime]]:
    """What has happened so far, oldest first (the history; the status says where it is now)."""
    steps = [("Received by occupational health", case.created_at),
             ("A practitioner picked it up", case.acknowledged_at or case.in_progress_at),
             ("Outcome report released to you", released.created_at if released else None),
             ("Closed", case.closed_at)]
    return sorted(((name, at) for name, at in steps if at is not None), key=lambda step: step[1])


def _row(case: Case, released: CaseEvent | None) -> ReferralRow:
    return ReferralRow(case=case, status=referral_status(case, released), released=released,
                       milestones=_milestones(case, released))


def for_manager(session: Session, manager: UserAccount) -> list[ReferralRow]:
    if manager.organisation_id is None:
        return []
    rows = list(session.scalars(
        select(Case).where(Case.line == Line.manager, Case.confirmed_organisation_id == manager.organisation_id)
        .order_by(Case.created_at.desc(), Case.id.desc())
    ))
    released = _releases(session, [c.id for c in rows])
    return [_row(c, released.get(c.id)) for c in rows]


def get_for_manager(session: Session, manager: UserAccount, ref: str) -> ReferralRow:
    """404 for no such manager-line case; 403 unless a person bound it to the manager's organisation."""
    case = cases.get_by_ref(session, ref)
    if case.line != Line.manager:
        raise NotAReferral(ref)
    if manager.organisation_id is None or case.confirmed_organisation_id != manager.organisation_id:
        raise NotYourOrganisation(ref)
    return _row(case, _releases(session, [case.id]).get(case.id))


def is_bound(case: Case) -> bool:
    """Whether a person has bound this referral to an organisation, so its managers may see it."""
    return case.line == Line.manager and case.confirmed_organisation_id is not None


@dataclass
class Binding:
    """The case page's organisation panel for a referral."""

    suggested: Organisation | None  # what the case holds now (matched from free text, or given)
    confirmed: Organisation | None  # what a person bound it to: what managers go by
    choices: list[Organisation]

    @property
    def differs(self) -> bool:
        return self.confirmed is not None and self.suggested is not None and self.confirmed.id != self.suggested.id


def binding(session: Session, case: Case) -> Binding | None:
    """None for a case that is not a referral: only referrals are shown to managers."""
    if case.line != Line.manager:
        return None
    confirmed = session.get(Organisation, case.confirmed_organisation_id) if case.confirmed_organisation_id else None
    choices = list(session.scalars(select(Organisation).order_by(Organisation.name)))
    return Binding(suggested=case.organisation, confirmed=confirmed, choices=choices)


def confirm_organisation(session: Session, case: Case, *, code: str, actor: str, now: datetime) -> Organisation:
    """A person binds the referral to an organisation (the suggestion or another): from now on
    that organisation's managers see its status and released report. Audited with who did it."""
    if case.line != Line.manager:
        raise CaseworkError("only a manager's referral is shown to an organisation")
    org = session.scalar(select(Organisation).where(Organisation.code == code.strip().upper())) if code else None
    if org is None:
        raise CaseworkError("choose an organisation from the list")
    before = session.get(Organisation, case.confirmed_organisation_id) if case.confirmed_organisation_id else None
    previous = {"suggested": case.organisation.code if case.organisation else None,
                "confirmed_before": before.code if before else None}
    case.organisation = org
    case.confirmed_organisation_id = org.id
    case.updated_at = now
    audit.log_event(session, case, type=CONFIRM_EVENT, actor=actor, now=now,
                    description=f"organisation confirmed as {org.code}: its managers can now follow this referral",
                    details={"code": org.code, **previous})
    return org


# Ofcom's ranges for drama and tests (07700 900xxx, 01632 960xxx) are well-formed UK numbers that
# phonenumbers calls invalid because they are never allocated; a manager may give one in a demo.
_DRAMA = re.compile(r"^(7700900|1632960)\d{3}$")
_PHONE_CHARACTERS = re.compile(r"^[0-9+() .-]+$")


def uk_phone_number(text: str) -> str | None:
    """A UK phone number as typed ("07700 900 982", "+44 7700 900982") in E.164, or None if it is not one."""
    text = text.strip()
    if not _PHONE_CHARACTERS.match(text):
        return None
    parsed = phones.parse(text)
    # Stricter than dialable: a referral's call-back is a UK line that exists (or a drama number).
    if parsed is None or parsed.country_code != 44 or not (
            phonenumbers.is_valid_number(parsed) or _DRAMA.match(str(parsed.national_number))):
        return None
    return phones.link(parsed)


def create_referral(session: Session, manager: UserAccount, *, answers: dict[str, Any], phone: str | None,
                    now: datetime, settings: Settings) -> Case:
    """A referral made on the web by a signed-in manager, for their own organisation."""
    org = manager.organisation
    data = {
        "line": Line.manager, "kind": CaseKind.referral, "channel": Channel.web,
        "organisation_code": org.code if org else None,
        "contact": {"name": manager.name, "role": "manager", "email": manager.email, "phone": phone or None},
        "answers": answers,
    }
    actor = f"{manager.name} (manager)"
    case = cases.create(session, data=data, now=now, settings=settings, actor=actor)
    if org is not None:
        # A signed-in manager of that organisation made it: bound by a person from the start.
        confirm_organisation(session, case, code=org.code, actor=actor, now=now)
    return case
