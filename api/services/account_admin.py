"""What administrators do to accounts: invite, deactivate, reactivate, send a set-password link,
unlock; and the one-time link with which a person sets their password.

Every change is audited as a UserEvent on the TARGET account, `details["by"]` naming who made
it, in the caller's session: the route commits once, so a change and its audit commit together.

Set-password links. A link carries a random token (secrets.token_urlsafe(32)); only its SHA-256
is stored (AccountToken), with its purpose and expiry: an invitation lasts INVITE_HOURS, a reset
RESET_HOURS. A link works once. A newer link voids the older unused ones, and so does setting
a password or deactivating the account.

Where the link goes. It is written to the outbox (OutboxMessage, channel "email", `to` the
account's email) in the same transaction as the change. This application sends no email: the
worker's sender (outbox.deliver_pending) takes only "sms" rows, so an email row is never texted
to anyone and stays `queued` for the operator's mail relay, which reads the queued email rows,
sends them and marks them sent. Until a relay runs, an administrator reads the link from the
outbox table and passes it on by hand. No setting is needed here: the link is built on
PUBLIC_BASE_URL.

Deactivation takes a practitioner off the rota and the ladder at once: their Practitioner row
goes inactive, so rota.snapshot (and every page, call transfer and rota gap alert built on it)
passes them over, and each of their pages still waiting for an acknowledgement is withdrawn and
the ladder's next step paged now, instead of at that page's deadline.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.core.config import Settings
from api.domain.escalation import LADDER
from api.enums import CaseStatus, OutboxStatus, PageStatus, PageTier, PractitionerRole
from api.models import AccountToken, Organisation, OutboxMessage, Page, Practitioner, UserAccount, UserEvent
from api.services import accounts, audit, directory, paging
from api.services.accounts import EventType, Role

INVITE_HOURS = 72
RESET_HOURS = 1
# Not an argon2 hash, so accounts.verify_password is False for it whatever is typed: an invited
# account cannot be signed in to until its holder sets a password through their link.
NO_PASSWORD = "!no-password-set"
PAGED_ROLES = frozenset({Role.practitioner, Role.clinical_lead})
ROLE_CHOICES = (Role.practitioner, Role.clinical_lead, Role.manager, Role.admin)
LINK_PATH = "/account/set-password/"
# One @, something either side, a dot in the domain, no spaces: the mail relay finds the rest.
EMAIL_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
MAX_TOKEN_CHARS = 128

EVENT_WORDS = {
    EventType.signed_in: "Signed in",
    EventType.failed: "Sign-in failed",
    EventType.locked_out: "Locked after failed sign-ins",
    EventType.refused_locked: "Sign-in refused: account locked",
    EventType.refused_inactive: "Sign-in refused: account deactivated",
    EventType.throttled: "Sign-in refused: too many failures from the network",
    EventType.signed_out: "Signed out",
    EventType.invited: "Invited",
    EventType.deactivated: "Deactivated",
    EventType.reactivated: "Reactivated",
    EventType.reset_sent: "Set-password link sent",
    EventType.password_set: "Password set",
    EventType.unlocked: "Unlocked",
}


class TokenPurpose(StrEnum):
    invite = "invite"
    reset = "reset"


class Refused(ValueError):
    """An action an administrator may not take on this account now; the message says why."""


class InviteProblems(ValueError):
    """The invitation form's problems, each (field id, what to do)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(message for _, message in problems))
        self.problems = problems


class LinkUnusable(LookupError):
    """A set-password link that cannot be used: unknown (gone=False), or used, void or expired."""

    def __init__(self, *, gone: bool) -> None:
        super().__init__("used, void or expired" if gone else "unknown")
        self.gone = gone


def actor(user: UserAccount) -> str:
    """How a person appears in the audit, as api.web.deps.WebUser.actor."""
    return f"{user.name} ({Role(user.role).value})"


# --- reading ------------------------------------------------------------------------------------

def is_locked(user: UserAccount, now: datetime) -> bool:
    return user.locked_until is not None and user.locked_until > now


def has_password(user: UserAccount) -> bool:
    return user.password_hash != NO_PASSWORD


@dataclass(frozen=True)
class AccountRow:
    user: UserAccount
    practitioner: Practitioner | None
    role_label: str
    locked: bool
    invited: bool  # no password set yet (templates/account_status.html words the status)


def _row(session: Session, user: UserAccount, now: datetime) -> AccountRow:
    practitioner = session.get(Practitioner, user.practitioner_id) if user.practitioner_id else None
    return AccountRow(user=user, practitioner=practitioner, role_label=accounts.ROLE_LABELS[Role(user.role)],
                      locked=is_locked(user, now), invited=not has_password(user))


def list_accounts(session: Session, *, now: datetime) -> list[AccountRow]:
    users = session.scalars(select(UserAccount).order_by(func.lower(UserAccount.name), UserAccount.id))
    return [_row(session, user, now) for user in users]


def account(session: Session, account_id: int, *, now: datetime) -> AccountRow:
    """The account with this id; directory.NotFound (a 404 page) if there is none."""
    return _row(session, directory.get(session, UserAccount, account_id, "account"), now)


def history(session: Session, user: UserAccount, *, limit: int = 200) -> list[UserEvent]:
    """The account's audit, newest first."""
    return accounts.events(session, user=user, limit=limit)


def organisations(session: Session) -> list[Organisation]:
    return list(session.scalars(select(Organisation).order_by(Organisation.name)))


def latest_link(session: Session, user: UserAccount) -> AccountToken | None:
    return session.scalar(select(AccountToken).where(AccountToken.user_id == user.id)
                          .order_by(AccountToken.id.desc()).limit(1))


# --- invitations --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Invitation:
    name: str
    email: str
    role: Role
    organisation_id: int | None
    mobile: str | None  # E.164; practitioners and clinical leads only


def check_invitation(session: Session, *, name: str, email: str, role: str, organisation: str,
                     mobile: str) -> Invitation:
    """The form's fields, checked in the order they appear; InviteProblems lists every problem."""
    problems: list[tuple[str, str]] = []
    name, email, mobile = name.strip(), accounts.normalise_email(email), mobile.strip()
    if not name:
        problems.append(("name", "Enter the person's full name"))
    elif len(name) > 200:
        problems.append(("name", "Enter a name of 200 characters or fewer"))
    if not email:
        problems.append(("email", "Enter their email address"))
    elif len(email) > 254 or not EMAIL_SHAPE.match(email):
        problems.append(("email", "Enter an email address in the correct format, like name@example.nhs.uk"))
    elif session.scalar(select(UserAccount.id).where(UserAccount.email == email)) is not None:
        problems.append(("email", "An account with this email already exists"))
    chosen = Role(role) if role in {r.value for r in ROLE_CHOICES} else None
    if chosen is None:
        problems.append(("role", "Select the person's role"))
    organisation_id = None
    if chosen == Role.manager:
        organisation_id = int(organisation) if organisation.isdigit() else None
        if organisation_id is None or session.get(Organisation, organisation_id) is None:
            problems.append(("organisation", "Select the organisation the manager works for"))
            organisation_id = None
    number = None
    if chosen in PAGED_ROLES:
        if not mobile:
            problems.append(("mobile", "Enter a mobile number: practitioners and clinical leads are paged on it"))
        elif (number := paging.normalise_number(mobile)) is None:
            problems.append(("mobile", "Enter a UK mobile number, like 07700 900 982"))
        elif (holder := _mobile_holder(session, number)) is not None:
            problems.append(("mobile", f"This mobile number is already on {holder.name}'s account"))
    if problems:
        raise InviteProblems(problems)
    assert chosen is not None
    return Invitation(name=name, email=email, role=chosen, organisation_id=organisation_id, mobile=number)


def _mobile_holder(session: Session, number: str) -> UserAccount | None:
    """The account linked to the practitioner with this mobile, if there is one."""
    return session.scalar(select(UserAccount).join(Practitioner, UserAccount.practitioner_id == Practitioner.id)
                          .where(Practitioner.mobile == number).limit(1))


def _practitioner_for(session: Session, invitation: Invitation, *, now: datetime) -> Practitioner:
    """The practitioner who is paged for this account: the one with the mobile (on the rota
    before they had an account), else a new one. Active, as the account is; a clinical lead's
    row says so, since the ladder's lead step is chosen by it."""
    assert invitation.mobile is not None
    person = session.scalar(select(Practitioner).where(Practitioner.mobile == invitation.mobile))
    lead = invitation.role == Role.clinical_lead
    if person is None:
        person = Practitioner(name=invitation.name, mobile=invitation.mobile, created_at=now,
                              role=PractitionerRole.clinical_lead if lead else PractitionerRole.nurse)
        session.add(person)
    elif lead:
        person.role = PractitionerRole.clinical_lead
    elif person.role == PractitionerRole.clinical_lead:
        person.role = PractitionerRole.nurse
    person.active = True
    session.flush()
    return person


@dataclass(frozen=True)
class Invited:
    user: UserAccount
    link: str


def invite(session: Session, invitation: Invitation, *, by: UserAccount, now: datetime,
           settings: Settings) -> Invited:
    """Make the account (no usable password), link its practitioner, and put an invitation link
    in the outbox. InviteProblems (the session rolled back) if another request took the email
    or the mobile since `check_invitation`."""
    try:
        practitioner = _practitioner_for(session, invitation, now=now) if invitation.role in PAGED_ROLES else None
        user = UserAccount(
            email=invitation.email, name=invitation.name, role=invitation.role, password_hash=NO_PASSWORD,
            organisation_id=invitation.organisation_id, practitioner_id=practitioner.id if practitioner else None,
            active=True, failed_logins=0, created_at=now,
        )
        session.add(user)
        session.flush()
    except IntegrityError:
        session.rollback()
        if session.scalar(select(UserAccount.id).where(UserAccount.email == invitation.email)) is not None:
            raise InviteProblems([("email", "An account with this email already exists")]) from None
        raise InviteProblems([("mobile", "This mobile number is already in use. Check it and try again")]) from None
    link = _issue_link(session, user, TokenPurpose.invite, by=by, now=now, settings=settings)
    details = {"by": actor(by), "role": str(invitation.role), "link_expires_at": link.expires_at.isoformat()}
    if practitioner is not None:
        details |= {"practitioner_id": practitioner.id, "mobile": practitioner.mobile}
    if invitation.organisation_id is not None:
        details["organisation_id"] = invitation.organisation_id
    accounts.record_event(session, type=EventType.invited, email=user.email, user=user, now=now, details=details)
    return Invited(user=user, link=link.url)


# --- set-password links -------------------------------------------------------------------------

def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Link:
    url: str
    expires_at: datetime


def _void_links(session: Session, user: UserAccount, *, now: datetime) -> int:
    return session.execute(
        update(AccountToken)
        .where(AccountToken.user_id == user.id, AccountToken.used_at.is_(None), AccountToken.voided_at.is_(None))
        .values(voided_at=now).execution_options(synchronize_session=False)
    ).rowcount


def _issue_link(session: Session, user: UserAccount, purpose: TokenPurpose, *, by: UserAccount, now: datetime,
                settings: Settings) -> Link:
    _void_links(session, user, now=now)
    token = secrets.token_urlsafe(32)
    hours = INVITE_HOURS if purpose == TokenPurpose.invite else RESET_HOURS
    expires_at = now + timedelta(hours=hours)
    session.add(AccountToken(user_id=user.id, token_hash=_digest(token), purpose=purpose, created_by=actor(by)[:120],
                             created_at=now, expires_at=expires_at))
    url = settings.public_base_url.rstrip("/") + LINK_PATH + token
    session.add(OutboxMessage(channel="email", to=user.email, body=_email_body(user, purpose, url, hours),
                              status=OutboxStatus.queued, attempts=0, created_at=now))
    session.flush()
    return Link(url=url, expires_at=expires_at)


def _email_body(user: UserAccount, purpose: TokenPurpose, url: str, hours: int) -> str:
    within = f"{hours} hour{'s' if hours != 1 else ''}"
    if purpose == TokenPurpose.invite:
        opening = (f"An account has been made for you on the occupational health helpline's staff pages "
                   f"({accounts.ROLE_LABELS[Role(user.role)]}).")
    else:
        opening = "An administrator has sent you a link to set a new password for the occupational health helpline."
    return (f"Subject: Set your password for the OH helpline\n\nHello {user.name},\n\n{opening}\n\n"
            f"Set your password within {within} at:\n{url}\n\nThe link works once. If it has run out, "
            f"ask an administrator for a new one. If you did not expect this, tell your administrator.\n")


def send_link(session: Session, user: UserAccount, *, by: UserAccount, now: datetime, settings: Settings) -> Link:
    """A new set-password link in the outbox, the older ones void. An account that never set
    a password gets a fresh invitation (INVITE_HOURS), any other a reset (RESET_HOURS)."""
    if not user.active:
        raise Refused(f"{user.name}'s account is deactivated. Reactivate it before sending a link.")
    purpose = TokenPurpose.reset if has_password(user) else TokenPurpose.invite
    link = _issue_link(session, user, purpose, by=by, now=now, settings=settings)
    accounts.record_event(session, type=EventType.reset_sent, email=user.email, user=user, now=now,
                          details={"by": actor(by), "purpose": str(purpose),
                                   "link_expires_at": link.expires_at.isoformat()})
    return link


def link_holder(session: Session, token: str, *, now: datetime) -> tuple[AccountToken, UserAccount]:
    """The link's row and account, if it can still set a password; else LinkUnusable."""
    row = None
    if token and len(token) <= MAX_TOKEN_CHARS:
        row = session.scalar(select(AccountToken).where(AccountToken.token_hash == _digest(token)))
    if row is None:
        raise LinkUnusable(gone=False)
    user = session.get(UserAccount, row.user_id)
    if row.used_at is not None or row.voided_at is not None or row.expires_at <= now or user is None or not user.active:
        raise LinkUnusable(gone=True)
    return row, user


def set_password(session: Session, token: str, password: str, *, now: datetime) -> UserAccount:
    """Set the password through a link, once. Blocking (argon2): call it from a sync route.
    Raises LinkUnusable, or accounts.AccountError for a short password (the link stays usable)."""
    row, user = link_holder(session, token, now=now)
    password_hash = accounts.hash_password(password)
    # Of two submissions of one link (a double click, two tabs), one sets the password.
    won = session.execute(
        update(AccountToken)
        .where(AccountToken.id == row.id, AccountToken.used_at.is_(None), AccountToken.voided_at.is_(None))
        .values(used_at=now).execution_options(synchronize_session=False)
    ).rowcount
    if not won:
        raise LinkUnusable(gone=True)
    _void_links(session, user, now=now)
    user.password_hash = password_hash
    user.failed_logins, user.locked_until = 0, None
    user.sessions_valid_after = now  # whoever held a session before this password is signed out
    accounts.record_event(session, type=EventType.password_set, email=user.email, user=user, now=now,
                          details={"by": actor(user), "via": f"{row.purpose} link", "token_id": row.id})
    return user


# --- deactivate, reactivate, unlock -------------------------------------------------------------

@dataclass(frozen=True)
class Deactivated:
    user: UserAccount
    pages_moved_on: tuple[str, ...]  # references of the cases whose waiting page was passed on


def deactivate(session: Session, user: UserAccount, *, by: UserAccount, now: datetime,
               settings: Settings) -> Deactivated:
    """Sign them out everywhere, void their links, and take their practitioner off the rota and
    the ladder (their waiting pages passed on at once). Refused for oneself and the last admin."""
    if user.id == by.id:
        raise Refused("You cannot deactivate your own account. Ask another administrator to do it.")
    if not user.active:
        return Deactivated(user=user, pages_moved_on=())
    if user.role == Role.admin and not session.scalar(
            select(func.count()).select_from(UserAccount)
            .where(UserAccount.role == Role.admin, UserAccount.active.is_(True), UserAccount.id != user.id)):
        raise Refused(f"{user.name} is the last active administrator. Invite or reactivate another "
                      f"administrator first.")
    user.active = False
    user.sessions_valid_after = now
    _void_links(session, user, now=now)
    practitioner = session.get(Practitioner, user.practitioner_id) if user.practitioner_id else None
    moved: list[str] = []
    if practitioner is not None and practitioner.active:
        practitioner.active = False
        session.flush()  # the rota snapshot the ladder reads below must already leave them out
        moved = _pass_pages_on(session, practitioner, by=actor(by), now=now, settings=settings)
    details: dict = {"by": actor(by), "pages_moved_on": moved}
    if practitioner is not None:
        details["practitioner_id"] = practitioner.id
    accounts.record_event(session, type=EventType.deactivated, email=user.email, user=user, now=now, details=details)
    return Deactivated(user=user, pages_moved_on=tuple(moved))


def _pass_pages_on(session: Session, practitioner: Practitioner, *, by: str, now: datetime,
                   settings: Settings) -> list[str]:
    """Withdraw the practitioner's pages still waiting for an acknowledgement and, where the
    ladder was waiting on that page alone, page its next step now (as an overdue page would)."""
    moved: list[str] = []
    waiting = list(session.scalars(select(Page).where(Page.practitioner_id == practitioner.id,
                                                      Page.status == PageStatus.pending).order_by(Page.id)))
    for page in waiting:
        # Conditional, as the worker's claim of an overdue page is: of the two, one moves it on.
        won = session.execute(
            update(Page).where(Page.id == page.id, Page.status == PageStatus.pending)
            .values(status=PageStatus.superseded).execution_options(synchronize_session=False)
        ).rowcount
        session.refresh(page)
        if not won:
            continue
        case = page.case
        session.refresh(case)
        audit.log_event(session, case, type="page_withdrawn", actor=by, now=now,
                        description=f"page {page.id} to {practitioner.name} withdrawn: their account was "
                                    f"deactivated, so the ladder moves on now",
                        details={"page_id": page.id, "practitioner_id": practitioner.id, "round": page.attempt})
        others_waiting = any(p.status == PageStatus.pending for p in case.pages)
        latest = page.attempt == case.escalation_round
        if latest and not others_waiting and case.status not in (CaseStatus.acknowledged, CaseStatus.closed):
            paging.page_round(session, case, after_step=LADDER.index(PageTier(page.tier)) + 1, now=now,
                              settings=settings, reason=f"page {page.id}'s practitioner deactivated",
                              expected_round=page.attempt)
        moved.append(case.ref)
    return moved


def reactivate(session: Session, user: UserAccount, *, by: UserAccount, now: datetime) -> bool:
    """The account may sign in again and its practitioner be paged (when on a shift). False when
    it was active already (nothing changed, nothing audited)."""
    if user.active:
        return False
    user.active = True
    practitioner = session.get(Practitioner, user.practitioner_id) if user.practitioner_id else None
    details: dict = {"by": actor(by)}
    if practitioner is not None:
        practitioner.active = True
        details["practitioner_id"] = practitioner.id
    accounts.record_event(session, type=EventType.reactivated, email=user.email, user=user, now=now, details=details)
    return True


def unlock(session: Session, user: UserAccount, *, by: UserAccount, now: datetime) -> bool:
    """End a lock after failed sign-ins. False when it was not locked (nothing audited)."""
    if not is_locked(user, now):
        return False
    details = {"by": actor(by), "locked_until": user.locked_until.isoformat() if user.locked_until else None,
               "failed_logins": user.failed_logins}
    user.locked_until, user.failed_logins = None, 0
    accounts.record_event(session, type=EventType.unlocked, email=user.email, user=user, now=now, details=details)
    return True
