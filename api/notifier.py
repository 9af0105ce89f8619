"""How an outbound text leaves the building.

The default writes nothing anywhere but the outbox table and the log, so the product runs
offline. The Twilio sender is chosen once, at start-up, when credentials are configured.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger("helpline.notifier")


@dataclass(frozen=True)
class Delivery:
    provider_sid: str | None
    logged_only: bool


class Notifier(Protocol):
    def send_sms(self, *, to: str, body: str) -> Delivery: ...


class LogNotifier:
    """Offline: the outbox row is the record; the log line is the 'delivery'."""

    def send_sms(self, *, to: str, body: str) -> Delivery:
        # The number's tail only: logs never carry full numbers.
        log.info("outbox sms to ...%s: %s", to[-4:], body.split(" ")[:4])
        return Delivery(provider_sid=None, logged_only=True)


class NotifierError(RuntimeError):
    """A send that failed and may be retried."""
