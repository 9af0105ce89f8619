"""Outbound messages: queued in the caller's transaction, delivered after commit.

A row is claimed (`sending`, claimed_at) before the provider is called, so two workers never
send it twice; a row still `sending` after the lease was taken by a process that died
mid-send and is queued again (`reclaim_stale`): a page text goes out late, never not at all.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from api.enums import OutboxStatus
from api.models import OutboxMessage
from api.notifier import Notifier

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


def enqueue_sms(session: Session, *, to: str, body: str, now: datetime, page_id: int | None = None) -> OutboxMessage:
    message = OutboxMessage(
        channel="sms", to=to, body=body, page_id=page_id, status=OutboxStatus.queued, created_at=now
    )
    session.add(message)
    return message


def deliver_pending(session: Session, notifier: Notifier, *, now: datetime, limit: int = 50) -> int:
    """Send queued texts. Each row is claimed with a conditional UPDATE so two workers
    never send the same text twice. Only `sms` rows: an `email` row (a set-password link,
    api/services/account_admin.py) is left queued for the operator's mail relay, never texted."""
    ids = list(
        session.scalars(
            select(OutboxMessage.id)
            .where(OutboxMessage.channel == "sms", OutboxMessage.status == OutboxStatus.queued,
                   OutboxMessage.attempts < MAX_ATTEMPTS)
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
    )
    delivered = 0
    for message_id in ids:
        claimed = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.status == OutboxStatus.queued)
            .values(status=OutboxStatus.sending, attempts=OutboxMessage.attempts + 1, claimed_at=now)
        ).rowcount
        session.commit()
        if not claimed:
            continue
        message = session.get(OutboxMessage, message_id)
        assert message is not None
        try:
            result = notifier.send_sms(to=message.to, body=message.body)
        except Exception as exc:  # any provider failure: keep it queued for the next tick
            log.warning("sms delivery failed for outbox %s: %s", message_id, type(exc).__name__)
            message.status = OutboxStatus.queued if message.attempts < MAX_ATTEMPTS else OutboxStatus.failed
            message.error = str(exc)[:500]
        else:
            message.status = OutboxStatus.logged if result.logged_only else OutboxStatus.sent
            message.provider_sid = result.provider_sid
            message.sent_at = now
            delivered += 1
        session.commit()
    return delivered


def reclaim_stale(session: Session, *, now: datetime, lease_seconds: float) -> int:
    """Queue again the texts a dead process left `sending` (failed once they used every attempt).

    The provider may have sent one before the process died: a page arriving twice is better
    than a page never sent."""
    cutoff = now - timedelta(seconds=lease_seconds)
    stale = (OutboxMessage.status == OutboxStatus.sending,
             or_(OutboxMessage.claimed_at < cutoff, OutboxMessage.claimed_at.is_(None)))
    requeued = session.execute(
        update(OutboxMessage).where(*stale, OutboxMessage.attempts < MAX_ATTEMPTS)
        .values(status=OutboxStatus.queued, claimed_at=None, error="the process sending it stopped")
    ).rowcount
    given_up = session.execute(
        update(OutboxMessage).where(*stale)
        .values(status=OutboxStatus.failed, error="the process sending it stopped; no attempts left")
    ).rowcount
    session.commit()
    if requeued or given_up:
        log.warning("outbox: %s texts left sending by a stopped process queued again, %s failed", requeued,
                    given_up, extra={"requeued": requeued, "failed": given_up})
    return requeued + given_up
