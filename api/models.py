"""Tables (typed SQLAlchemy 2). Alembic owns the schema; create_all is for tests only."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC; always hands back an aware datetime (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        from datetime import timezone

        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        from datetime import timezone

        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class Organisation(Base):
    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]


class Practitioner(Base):
    __tablename__ = "practitioner"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    mobile: Mapped[str] = mapped_column(String(32), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class RotaShift(Base):
    __tablename__ = "rota_shift"

    id: Mapped[int] = mapped_column(primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioner.id", ondelete="RESTRICT"), index=True)
    tier: Mapped[str] = mapped_column(String(16))
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime] = mapped_column(index=True)

    practitioner: Mapped[Practitioner] = relationship(lazy="joined")


class RefCounter(Base):
    """One row per reference prefix; bumped with UPDATE so two processes never share a number."""

    __tablename__ = "ref_counter"

    prefix: Mapped[str] = mapped_column(String(8), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class Case(Base):
    __tablename__ = "case"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(16), unique=True)
    line: Mapped[str] = mapped_column(String(16), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    urgency: Mapped[str | None] = mapped_column(String(16), index=True)
    conversation_id: Mapped[str | None] = mapped_column(String(128), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="RESTRICT"))
    # The organisation (id) a person bound the case to: a practitioner confirming it on the case
    # page, or the manager who made the referral on the web. Only this shows a referral to
    # managers; organisation_id may be no more than a match of what an anonymous person typed.
    # No database reference: adding one would make SQLite copy the whole case table (migration 0006).
    confirmed_organisation_id: Mapped[int | None] = mapped_column(Integer, index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("practitioner.id", ondelete="RESTRICT"))
    contact: Mapped[dict[str, Any]] = mapped_column(default=dict)
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    decision: Mapped[dict[str, Any] | None]
    rule_version: Mapped[str | None] = mapped_column(String(40))
    summary: Mapped[str | None] = mapped_column(Text)
    provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    # Rounds of paging so far. Moved with compare-and-set, so of two processes that see
    # the same overdue page only one pages the next step.
    escalation_round: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str | None] = mapped_column(String(40))
    follow_up_on: Mapped[date | None] = mapped_column(Date)
    # Who the case came from, as the door saw it (never a number the person typed): pages are
    # grouped and abuse marks apply per source (api/services/abuse.py). None: no grouping.
    source_key: Mapped[str | None] = mapped_column(String(160), index=True)
    # The earlier case (id) whose page this one was attached to, instead of a ladder of its own.
    # No database reference: adding one would make SQLite copy the case table (migration 0005).
    grouped_with_id: Mapped[int | None] = mapped_column(Integer)

    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    triaged_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    in_progress_at: Mapped[datetime | None]
    follow_up_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    organisation: Mapped[Organisation | None] = relationship(lazy="joined")
    owner: Mapped[Practitioner | None] = relationship(lazy="joined")
    pages: Mapped[list["Page"]] = relationship(
        back_populates="case", order_by="Page.id", lazy="selectin", passive_deletes="all"
    )


class CaseEvent(Base):
    """Append-only audit trail. Never cascade-deleted with its case."""

    __tablename__ = "case_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="RESTRICT"), index=True)
    type: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(index=True)


class Page(Base):
    __tablename__ = "page"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="RESTRICT"), index=True)
    practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("practitioner.id", ondelete="RESTRICT"))
    tier: Mapped[str] = mapped_column(String(16))
    attempt: Mapped[int] = mapped_column(Integer)
    urgency: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    not_before: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    ack_seconds: Mapped[float] = mapped_column(Float)
    ack_deadline: Mapped[datetime | None] = mapped_column(index=True)
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime]

    case: Mapped[Case] = relationship(back_populates="pages")
    practitioner: Mapped[Practitioner | None] = relationship(lazy="joined")


class AbuseMark(Base):
    """A practitioner's judgement that a source is abusing the helpline: its pages are held
    until `until` (or until lifted). Its cases are still opened, answered and queued."""

    __tablename__ = "abuse_mark"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_key: Mapped[str] = mapped_column(String(160), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="RESTRICT"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    marked_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime]
    until: Mapped[datetime] = mapped_column(index=True)
    lifted_at: Mapped[datetime | None]
    lifted_by: Mapped[str | None] = mapped_column(String(120))

    case: Mapped[Case] = relationship(lazy="joined")


class OutboxMessage(Base):
    __tablename__ = "outbox_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))  # sms (the worker sends it) | email (a mail relay's)
    to: Mapped[str] = mapped_column(String(254))  # E.164 number, or an email address (migration 0007)
    body: Mapped[str] = mapped_column(Text)
    page_id: Mapped[int | None] = mapped_column(ForeignKey("page.id", ondelete="RESTRICT"), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    provider_sid: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    # When a worker took it to send: a `sending` row older than the lease was left by a dead process.
    claimed_at: Mapped[datetime | None]


class ConversationMessage(Base):
    """Every turn in and out, stored before anything that can fail. Also the transcript.

    An inbound turn's provider id (Twilio MessageSid, or CallSid + turn) is unique, so a
    retried webhook finds the stored turn and its stored reply instead of a second turn.
    """

    __tablename__ = "conversation_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(128), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str] = mapped_column(String(8))  # inbound | outbound
    provider_sid: Mapped[str | None] = mapped_column(String(96), unique=True)
    reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("conversation_message.id", ondelete="RESTRICT"))
    text: Mapped[str] = mapped_column(Text)
    # api.enums.TurnStatus. Indexed: recovery looks for the (few) turns still pending.
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(index=True)


class UserAccount(Base):
    """People who sign in to the dashboard: practitioners, clinical leads, admins, managers."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))  # practitioner | clinical_lead | admin | manager
    password_hash: Mapped[str] = mapped_column(String(255))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id", ondelete="RESTRICT"))
    practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("practitioner.id", ondelete="RESTRICT"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    # Sessions issued before this moment are void: signing out ends every session of the account.
    sessions_valid_after: Mapped[datetime | None]
    created_at: Mapped[datetime]

    organisation: Mapped[Organisation | None] = relationship(lazy="joined")


class UserEvent(Base):
    """Append-only audit of sign-ins, failed attempts, lock-outs and sign-outs."""

    __tablename__ = "user_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"), index=True)
    email: Mapped[str] = mapped_column(String(254))  # as typed, so attempts on unknown accounts are kept too
    type: Mapped[str] = mapped_column(String(32))
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(index=True)


class AccountToken(Base):
    """A one-time set-password link (an invitation or a reset). Only the SHA-256 of the token is
    kept: the link itself goes out in the outbox and a copy of this table opens no account."""

    __tablename__ = "account_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # hex SHA-256
    purpose: Mapped[str] = mapped_column(String(16))  # invite | reset
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    # Set when a newer link, a deactivation or a password set by another link made this one void.
    voided_at: Mapped[datetime | None]


class CaseReview(Base):
    """A practitioner's own urgency for a case once they have spoken to the person, beside the
    rules' urgency at that moment. Append-only: a changed mind is a new row, the newest counts,
    so concordance by rule version can be counted again from the rows at any time."""

    __tablename__ = "case_review"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="RESTRICT"), index=True)
    urgency: Mapped[str] = mapped_column(String(16))  # the practitioner's
    rules_urgency: Mapped[str | None] = mapped_column(String(16))  # the case's (the rules') when reviewed
    rule_version: Mapped[str | None] = mapped_column(String(40))
    by: Mapped[str] = mapped_column(String(200))  # the practitioner, as named
    actor: Mapped[str] = mapped_column(String(120))  # who sent it (signed-in user or token)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(index=True)


class FollowUp(Base):
    """Something to do for a case on a day: a result to chase, a vaccine dose, a blood test.
    `what` is for staff only: no text to the worker ever carries it (api/domain/follow_ups.py)."""

    __tablename__ = "follow_up"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="RESTRICT"), index=True)
    due_on: Mapped[date] = mapped_column(Date, index=True)  # a London date
    what: Mapped[str] = mapped_column(String(200))
    remind_by_sms: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), index=True)  # open | done | cancelled
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]  # done or cancelled
    closed_by: Mapped[str | None] = mapped_column(String(120))
    close_note: Mapped[str | None] = mapped_column(Text)
    # Set in the same transaction as the reminder's outbox row: a follow-up is reminded once.
    reminder_sent_at: Mapped[datetime | None]
    overdue_alerted_at: Mapped[datetime | None]

    case: Mapped[Case] = relationship(lazy="joined")


class EqualityResponse(Base):
    """The optional equality-of-access answers of one conversation. Kept apart from the case on
    purpose: no case, conversation, person or time of day, only the London date and the door, so a
    row cannot be joined back to who gave it. Every answer is a code (api/domain/equality.py)."""

    __tablename__ = "equality_response"

    id: Mapped[int] = mapped_column(primary_key=True)
    answered_on: Mapped[date] = mapped_column(Date, index=True)
    line: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    age_band: Mapped[str | None] = mapped_column(String(32))
    sex: Mapped[str | None] = mapped_column(String(32))
    ethnic_group: Mapped[str | None] = mapped_column(String(32))
    disability: Mapped[str | None] = mapped_column(String(32))
    staff_group: Mapped[str | None] = mapped_column(String(48))
    organisation_type: Mapped[str | None] = mapped_column(String(32))


class ConversationOrigin(Base):
    """The organisation a conversation came in through (a poster's chat link carries its code),
    so uptake can be counted by practice even when no case is opened."""

    __tablename__ = "conversation_origin"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(128), unique=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="RESTRICT"), index=True)
    via: Mapped[str] = mapped_column(String(16))  # poster
    created_at: Mapped[datetime] = mapped_column(index=True)

    organisation: Mapped[Organisation] = relationship(lazy="joined")
