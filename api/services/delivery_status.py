"""Twilio's delivery reports for the texts the notifier sent: the outbox row, and the page's case told."""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.enums import OutboxStatus
from api.models import OutboxMessage, Page
from api.services import audit

log = logging.getLogger(__name__)

FAILED_STATES = {"failed", "undelivered"}
DELIVERED_STATES = {"delivered", "read"}


def record_sms_status(session: Session, *, message_sid: str, status: str, error_code: str | None,
                      now: datetime) -> OutboxMessage | None:
    message = session.scalar(select(OutboxMessage).where(OutboxMessage.provider_sid == message_sid))
    if message is None:
        log.info("status callback for an unknown message (%s)", status)
        return None
    status = status.lower()
    if status in FAILED_STATES:
        message.status = OutboxStatus.failed
        message.error = f"twilio {status}" + (f" (error {error_code})" if error_code else "")
    elif status in DELIVERED_STATES | {"sent"} and message.status in (OutboxStatus.queued, OutboxStatus.sending):
        message.status = OutboxStatus.sent
    if message.page_id is not None and status in FAILED_STATES | DELIVERED_STATES:
        page = session.get(Page, message.page_id)
        if page is not None:
            seen = [e for e in audit.events_for(session, page.case) if e.type == "page_delivery"
                    and e.details.get("message_sid") == message_sid and e.details.get("status") == status]
            if not seen:
                who = page.practitioner.name if page.practitioner else message.to[-4:]
                audit.log_event(session, page.case, type="page_delivery", actor="twilio", now=now,
                                description=f"page text to {who}: {status}",
                                details={"page_id": page.id, "message_sid": message_sid, "status": status,
                                         "error_code": error_code})
    session.commit()
    return message
