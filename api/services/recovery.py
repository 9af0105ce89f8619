"""Turns nobody answered: the worker's guarded step that leaves no message pending.

A turn stays `pending` when the process handling it died (killed, out of memory, deployed
over) or its database failed while it waited for Rasa, and the spool did not have it. Twilio
does not retry by default, so nobody else will come back for it. Once it is older than
STALE_TURN_SECONDS (longer than any live wait for Rasa) it gets the safe answer and a case
through the API's own triage, which pages on call; an SMS sender, who was told nothing, is
texted the safe answer.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from api.core.config import Settings
from api.enums import TurnStatus
from api.services import outbox, safe_answer, turn_store
from api.services.turn_store import Turn

log = logging.getLogger(__name__)

REASON = "no answer was recorded: the process handling it stopped"


def finish_stale_turns(session: Session, settings: Settings, clock: Callable[[], datetime], limit: int = 50) -> int:
    now = clock()
    rows = turn_store.stale_pending(session, older_than=now - timedelta(seconds=settings.stale_turn_seconds),
                                    limit=limit)
    finished = 0
    for row in rows:
        turn = Turn(row, [], new=False)
        phone = turn_store.reply_to(turn)
        done = safe_answer.safe_answer(session, turn, settings=settings, now=clock(), phone=phone, reason=REASON)
        if done.status != TurnStatus.safe_answer or (done.inbound.details or {}).get("safe_reason") != REASON:
            continue  # a late request answered it first
        finished += 1
        if row.channel == "sms" and phone and done.replies:
            outbox.enqueue_sms(session, to=phone, body=done.replies[0].text, now=clock())
            session.commit()
        log.warning("turn %s (%s) was left pending; finished with the safe answer", row.id, row.channel,
                    extra={"turn_id": row.id, "channel": row.channel, "case_ref": done.case_ref})
    return finished
