"""Request and response bodies of the follow-up routes (issue #18; docs/contract.md "Follow-ups").

The due date and `what` are checked by api/services/follow_ups.py (one set of kind messages for the
JSON API and the case page); the schemas only bound their size."""
from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field


class FollowUpCreate(BaseModel):
    due_on: str = Field(max_length=40, description="YYYY-MM-DD, a London date within a year back and two ahead")
    what: str = Field(max_length=1000, description="What is to be done (for staff: no text to the worker carries it)")
    remind_by_sms: bool = False
    actor: str | None = Field(None, max_length=120, description="Accepted and ignored: events name the token's caller")


class FollowUpClose(BaseModel):
    actor: str | None = Field(None, max_length=120, description="Accepted and ignored: events name the token's caller")
    note: str | None = Field(None, max_length=2000)


class ReminderRead(BaseModel):
    agreed: bool
    sends_on: date | None
    sent_at: datetime | None
    why_not: str | None


class FollowUpRead(BaseModel):
    id: int
    case_ref: str
    due_on: date
    what: str
    remind_by_sms: bool
    status: Literal["open", "done", "cancelled"]
    state: Literal["due", "overdue", "done", "cancelled"]
    reminder: ReminderRead
    created_at: datetime
    created_by: str
    closed_at: datetime | None
    closed_by: str | None
    note: str | None


class ReminderConsent(BaseModel):
    agreed: bool
    words: str | None = Field(None, max_length=2000, description="What the worker said, for the case record")


class ReminderConsentRead(BaseModel):
    ref: str
    agreed: bool
    phone: str | None = Field(description="The UK mobile the reminders go to (E.164); null: the case has none")
