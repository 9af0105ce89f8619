"""What a manager sees: their organisation's manager-line cases, their status, and the outcome
report once a practitioner releases it. Never the answers, transcript or clinical notes.

A referral reaches an organisation's managers only once a person has bound it to that
organisation (`confirmed_organisation_id`): the manager who made it on the web, or a practitioner
confirming the organisation on the case page. The organisation matched from what someone typed
to the bot ("riverside") is only a suggestion: anyone can type any workplace.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.core.config import Settings
from api.enums import CaseKind, Channel, Line
from api.models import Case, CaseEvent, Organisation, UserAccount
from api.services import audit, cases
from api.services.casework import RELEASE_EVENT, CaseworkError
from api.services.views import STATUS_WORDS

CONFIRM_EVENT = "organisation_confirmed"


class NotYourOrganisation(PermissionError):
    pass


class NotAReferral(LookupError):
    pass


REASONS = {"mental_health": "Mental health", "musculoskeletal": "Musculoskeletal", "other": "Other"}


@dataclass
class ReferralRow:
    case: Case
    status_words: str
    released: CaseEvent | None
    milestones: list[tuple[str, datetime]]


def _releases(session: Session, case_ids: list[int]) -> dict[int, CaseEvent]:
    if not case_ids:
        return {}
    latest: dict[int, CaseEvent] = {}
    for event in session.scalars(select(CaseEvent).where(CaseEvent.case_id.in_(case_ids),
                                                         CaseEvent.type == RELEASE_EVENT).order_by(CaseEvent.id)):
        latest[event.case_id] = event
    return latest


def _milestones(case: Case) -> list[tuple[str, datetime]]:
    steps = [("Received", case.created_at), ("Accepted by OH", case.acknowledged_at),
             ("Being handled", case.in_progress_at), ("Closed", case.closed_at)]
    return [(name, at) for name, at in steps if at is not None]


def _row(case: Case, released: CaseEvent | None) -> ReferralRow:
    return ReferralRow(case=case, status_words=STATUS_WORDS.get(case.status, case.status), released=released,
                       milestones=_milestones(case))


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
