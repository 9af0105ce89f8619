"""Dashboard accounts: argon2 passwords, sign-in with lock-out, the sign-in audit, demo accounts.

Every function takes `now` and leaves its changes in the caller's session; the caller commits,
so an audit row always commits with the change it records.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.models import Organisation, Practitioner, UserAccount, UserEvent

MAX_FAILED_SIGN_INS = 5
LOCK_MINUTES = 15
MIN_PASSWORD_LENGTH = 12


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
STAFF = frozenset({Role.practitioner, Role.clinical_lead, Role.admin})
CLINICAL = frozenset({Role.practitioner, Role.clinical_lead})
ROTA_EDITORS = frozenset({Role.clinical_lead, Role.admin})


class EventType(StrEnum):
    signed_in = "signed_in"
    failed = "sign_in_failed"
    locked_out = "locked_out"  # this failure locked the account
    refused_locked = "sign_in_refused_locked"
    refused_inactive = "sign_in_refused_inactive"
    signed_out = "signed_out"


class AccountError(ValueError):
    pass


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    return PasswordHasher()  # RFC 9106 low-memory profile (argon2id)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # Verified against when the email is unknown, so both paths take the same time.
    return _hasher().hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
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


def authenticate(
    session: Session, *, email: str, password: str, now: datetime, ip: str | None = None,
    user_agent: str | None = None,
) -> SignIn:
    """Check a sign-in, count failures, lock after MAX_FAILED_SIGN_INS, and audit the attempt."""
    typed = normalise_email(email)
    user = session.scalar(select(UserAccount).where(UserAccount.email == typed))
    audit = {"email": typed, "now": now, "user": user, "ip": ip, "user_agent": user_agent}
    if user is None:
        verify_password(_dummy_hash(), password)
        record_event(session, type=EventType.failed, details={"reason": "unknown account"}, **audit)
        return SignIn(None, EventType.failed)
    if user.locked_until is not None and user.locked_until > now:
        record_event(session, type=EventType.refused_locked, details={"locked_until": user.locked_until.isoformat()},
                     **audit)
        return SignIn(None, EventType.refused_locked, user.locked_until)
    if not verify_password(user.password_hash, password):
        user.failed_logins = (user.failed_logins or 0) + 1
        if user.failed_logins >= MAX_FAILED_SIGN_INS:
            user.locked_until = now + timedelta(minutes=LOCK_MINUTES)
            record_event(session, type=EventType.locked_out,
                         details={"failed": user.failed_logins, "locked_until": user.locked_until.isoformat()}, **audit)
            user.failed_logins = 0
            return SignIn(None, EventType.locked_out, user.locked_until)
        record_event(session, type=EventType.failed, details={"reason": "wrong password", "failed": user.failed_logins},
                     **audit)
        return SignIn(None, EventType.failed)
    if not user.active:
        record_event(session, type=EventType.refused_inactive, **audit)
        return SignIn(None, EventType.refused_inactive)
    if _hasher().check_needs_rehash(user.password_hash):
        user.password_hash = _hasher().hash(password)
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
