"""What a person said (Inbound) and what the bot says back (Reply): plain records, no channel.

A channel adapter (api/channels) turns a webhook or a chat request into an Inbound and a
list of Replies into its own response; everything below the channels works on these two.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Button:
    title: str
    payload: str

    def as_dict(self) -> dict[str, str]:
        return {"title": self.title, "payload": self.payload}


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: tuple[Button, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)  # image / custom / attachment from Rasa

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "buttons": [b.as_dict() for b in self.buttons]}


@dataclass(frozen=True)
class Inbound:
    """One message from a person, as its channel adapter read it.

    `provider_sid` is the idempotency key (a Twilio retry carries the same one); `phone` is
    the E.164 number to call back, or None; `message` is what Rasa is sent instead of `text`
    when they differ (a button's payload); `details` is stored on the turn as it is.
    """

    channel: str
    conversation_id: str
    text: str
    received_at: datetime
    provider_sid: str | None = None
    phone: str | None = None
    message: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_record(self) -> dict[str, Any]:
        """A JSON-safe dict (the spool keeps these on disk)."""
        return {"channel": self.channel, "conversation_id": self.conversation_id, "text": self.text,
                "received_at": self.received_at.isoformat(), "provider_sid": self.provider_sid,
                "phone": self.phone, "message": self.message, "details": dict(self.details)}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Inbound:
        """The inverse of to_record; KeyError, TypeError or ValueError for a damaged record."""
        details = record.get("details") or {}
        if not isinstance(details, dict):
            raise TypeError("details is not an object")
        return cls(channel=str(record["channel"]), conversation_id=str(record["conversation_id"]),
                   text=str(record.get("text") or ""), received_at=datetime.fromisoformat(record["received_at"]),
                   provider_sid=record.get("provider_sid"), phone=record.get("phone"),
                   message=record.get("message"), details=details)
