"""Dashboard accounts: argon2 passwords, sign-in with lock-out, the sign-in audit, demo accounts.

Every function takes `now` and leaves its changes in the caller's session; the caller commits,
so an audit row always commits with the change it records. The one exception is the attempt
that `authenticate` counts before it checks a password: that is committed at once (see there).
"""
from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import and_, case, func, literal, or_, select, update
from sqlalchemy.orm import Session

from api.models import Organisation, Practitioner, UserAccount, UserEvent

MAX_FAILED_SIGN_INS = 5
LOCK_MINUTES = 15
MIN_PASSWORD_LENGTH = 12
# Each argon2 check takes 64 MiB and most of a core: a burst of sign-ins (one per threadpool
# thread) queues here instead of taking gigabytes at once.
HASHES_AT_ONCE = 4


class Role(StrEnum):
    practitioner = "practitioner"
    clinical_lead = "clinical_lead"
    admin = "admin"
    manager = "manager"


ROLE_LABELS = {
    Role.practitioner: "OH practitioner",
    Role.clinical_lead: "Clinical lead",
    Role.admin: "Administrator",
    Role.manager: "Manager",
}
# Who may do what. The web routes check these; nothing else decides access.
# STAFF read the rota. Only CLINICAL staff see clinical content (the queue, case pages with their
# transcripts, reports): an admin keeps the rota and the accounts, and is refused those pages.
STAFF = frozenset({Role.practitioner, Role.clinical_lead, Role.admin})
CLINICAL = frozenset({Role.practitioner, Role.clinical_lead})
ROTA_EDITORS = frozenset({Role.clinical_lead, Role.admin})


class EventType(StrEnum):
    signed_in = "signed_in"
    failed = "sign_in_failed"
    locked_out = "locked_out"  # this failure locked the account
    refused_locked = "sign_in_refused_locked"
    refused_inactive = "sign_in_refused_inactive"
    throttled = "sign_in_throttled"  # too many failures from the address: no password checked
    signed_out = "signed_out"
    # Changes an administrator makes (api/services/account_admin.py), recorded on the target account.
    invited = "account_invited"
    deactivated = "account_deactivated"
    reactivated = "account_reactivated"
    reset_sent = "password_reset_sent"
    password_set = "password_set"
    unlocked = "account_unlocked"


class AccountError(ValueError):
    pass


_hash_slots = threading.BoundedSemaphore(HASHES_AT_ONCE)


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    return PasswordHasher()  # RFC 9106 low-memory profile (argon2id)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # Verified against when the email is unknown or the account locked, so every refusal takes
    # the time of a real check and the response time does not tell which accounts exist.
    return _hash(secrets.token_urlsafe(16))


def _hash(password: str) -> str:
    with _hash_slots:
        return _hasher().hash(password)


def hash_password(password: str) -> str:
    """Blocking (tens of milliseconds): call it from a sync route (the threadpool), never from async code."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return _hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Blocking, like hash_password."""
    with _hash_slots:
        try:
            return _hasher().verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


def normalise_email(email: str) -> str:
    return email.strip().lower()


def create_account(
    session: Session, *, email: str, name: str, role: str, password: str, now: datetime,
    organisation_id: int | None = None, practitioner_id: int | None = None,
) -> UserAccount:
    role = Role(role)
    if role == Role.manager and organisation_id is None:
        raise AccountError("a manager account belongs to an organisation")
    user = UserAccount(
        email=normalise_email(email), name=name, role=role, password_hash=hash_password(password),
        organisation_id=organisation_id, practitioner_id=practitioner_id, active=True, failed_logins=0,
        created_at=now,
    )
    session.add(user)
    session.flush()
    return user


def record_event(
    session: Session, *, type: str, email: str, now: datetime, user: UserAccount | None = None,
    ip: str | None = None, user_agent: str | None = None, details: dict | None = None,
) -> UserEvent:
    event = UserEvent(
        user_id=user.id if user else None, email=email[:254], type=type, ip=(ip or None) and ip[:64],
        user_agent=(user_agent or None) and user_agent[:255], details=details or {}, created_at=now,
    )
    session.add(event)
    return event


@dataclass(frozen=True)
class SignIn:
    user: UserAccount | None
    event: str
    locked_until: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.user is not None and self.event == EventType.signed_in


def _count_attempt(session: Session, user_id: int, *, now: datetime) -> tuple[int, datetime | None] | None:
    """Count one sign-in attempt against the account, before its password is checked, and lock it
    when this is attempt MAX_FAILED_SIGN_INS: one conditional UPDATE, so parallel attempts each
    get their own number and exactly one of them locks. None when the account is locked now
    (nothing counted: attempts during a lock never lengthen it, and it ends by time alone).

    Returns (this attempt's number, the lock it set or None). A lock that has run out starts
    the count again at 1.
    """
    locked_until = UserAccount.locked_until
    lapsed = and_(locked_until.is_not(None), locked_until <= now)
    attempt = case((lapsed, 1), else_=func.coalesce(UserAccount.failed_logins, 0) + 1)
    lock_end = literal(now + timedelta(minutes=LOCK_MINUTES), locked_until.type)
    row = session.execute(
        update(UserAccount)
        .where(UserAccount.id == user_id, or_(locked_until.is_(None), locked_until <= now))
        .values(failed_logins=attempt,
                locked_until=case((attempt >= MAX_FAILED_SIGN_INS, lock_end), else_=literal(None, locked_until.type)))
        .returning(UserAccount.failed_logins, UserAccount.locked_until)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    return None if row is None else (row[0], row[1])


def authenticate(
    session: Session, *, email: str, password: str, now: datetime, ip: str | None = None,
    user_agent: str | None = None,
) -> SignIn:
    """Check a sign-in, lock after MAX_FAILED_SIGN_INS attempts in a row, and audit the attempt.

    The attempt is counted (and the lock set) before the password is checked, and committed at
    once, so twenty attempts sent together are numbered 1 to 20: the fifth locks the account and
    the rest are refused without a password check. A right password then clears the count. Blocking
    (argon2): call it from a sync route, which runs in the threadpool, off the event loop.
    """
    typed = normalise_email(email)
    user = session.scalar(select(UserAccount).where(UserAccount.email == typed))
    audit = {"email": typed, "now": now, "user": user, "ip": ip, "user_agent": user_agent}
    if user is None:
        verify_password(_dummy_hash(), password)
        record_event(session, type=EventType.failed, details={"reason": "unknown account"}, **audit)
        return SignIn(None, EventType.failed)
    counted = _count_attempt(session, user.id, now=now)
    session.commit()  # the count must be seen by every parallel attempt before this one's slow check
    if counted is None:
        verify_password(_dummy_hash(), password)
        session.refresh(user)
        record_event(session, type=EventType.refused_locked,
                     details={"locked_until": user.locked_until.isoformat() if user.locked_until else None}, **audit)
        return SignIn(None, EventType.refused_locked, user.locked_until)
    attempt, locked_until = counted
    if not verify_password(user.password_hash, password):
        if locked_until is not None:
            record_event(session, type=EventType.locked_out,
                         details={"failed": attempt, "locked_until": locked_until.isoformat()}, **audit)
            return SignIn(None, EventType.locked_out, locked_until)
        record_event(session, type=EventType.failed, details={"reason": "wrong password", "failed": attempt},
                     **audit)
        return SignIn(None, EventType.failed)
    session.refresh(user)
    if not user.active:
        record_event(session, type=EventType.refused_inactive, **audit)
        return SignIn(None, EventType.refused_inactive)
    if _hasher().check_needs_rehash(user.password_hash):
        user.password_hash = _hash(password)
    # An attempt counted before this one was checked may have locked the account meanwhile; this
    # one began before the lock and knew the password, so it clears it.
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    record_event(session, type=EventType.signed_in, details={"role": str(user.role)}, **audit)
    return SignIn(user, EventType.signed_in)


def sign_out(session: Session, user: UserAccount, *, now: datetime, ip: str | None = None,
             user_agent: str | None = None) -> None:
    """End every session of the account (a copied cookie stops working too) and audit it."""
    user.sessions_valid_after = now
    record_event(session, type=EventType.signed_out, email=user.email, user=user, now=now, ip=ip,
                 user_agent=user_agent)


def session_user(session: Session, *, user_id: int, issued_at: datetime) -> UserAccount | None:
    """The account a session cookie names, if it may still act: active, unlocked, not signed out since."""
    user = session.get(UserAccount, user_id)
    if user is None or not user.active:
        return None
    if user.sessions_valid_after is not None and issued_at < user.sessions_valid_after:
        return None
    return user


def events(session: Session, *, user: UserAccount | None = None, limit: int = 200) -> list[UserEvent]:
    query = select(UserEvent).order_by(UserEvent.id.desc()).limit(limit)
    if user is not None:
        query = query.where(UserEvent.user_id == user.id)
    return list(session.scalars(query))


# --- demo accounts (development only) -----------------------------------------------------------

DEMO_DOMAIN = "demo.oh-helpline.test"  # reserved TLD: never a real mailbox
DEMO_ACCOUNTS = [
    # (email local part, name, role, practitioner mobile to link, organisation code)
    ("practitioner", "Alex Morgan", Role.practitioner, "+447700900101", None),
    ("lead", "Dr Sam Okafor", Role.clinical_lead, "+447700900103", None),
    ("admin", "Jo Admin", Role.admin, None, None),
    ("manager", "Chris Manager (Riverside)", Role.manager, None, "Y00001"),
]


def _demo_password() -> str:
    return "demo-" + secrets.token_urlsafe(12)


def seed_accounts(session: Session, now: datetime, *, environment: str = "development") -> dict[str, tuple[str, str]]:
    """Create (or reset) one demo account per role with a fresh random password.

    Returns {role: (email, password)} for the caller to print. Refuses to run in production.
    Links the practitioner and lead accounts to the demo practitioners and the manager to a
    demo organisation when those exist (api.seed creates them first).
    """
    if environment == "production":
        raise AccountError("demo accounts are for development only")
    made: dict[str, tuple[str, str]] = {}
    for local, name, role, mobile, org_code in DEMO_ACCOUNTS:
        email = f"{local}@{DEMO_DOMAIN}"
        password = _demo_password()
        practitioner_id = None
        if mobile:
            practitioner_id = session.scalar(select(Practitioner.id).where(Practitioner.mobile == mobile))
        organisation_id = None
        if org_code:
            organisation_id = session.scalar(select(Organisation.id).where(Organisation.code == org_code))
            if organisation_id is None:
                continue  # no organisation to manage: no manager account
        user = session.scalar(select(UserAccount).where(UserAccount.email == email))
        if user is None:
            user = create_account(session, email=email, name=name, role=role, password=password, now=now,
                                  organisation_id=organisation_id, practitioner_id=practitioner_id)
        else:
            user.password_hash = hash_password(password)
            user.role, user.name, user.active = role, name, True
            user.organisation_id, user.practitioner_id = organisation_id, practitioner_id
            user.failed_logins, user.locked_until = 0, None
        made[str(role)] = (email, password)
    session.flush()
    return made
