"""One turn of a conversation, whatever the channel: stored first, relayed to Rasa, answered.

The order is the whole point (docs/architecture.md, "What must never be", and "One turn"):

1. the inbound turn is committed before anything that can fail (turn_store.start_turn,
   idempotent on the provider's id: a Twilio retry finds the stored turn and its answer);
2. it is relayed to Rasa's REST channel with a short timeout (rasa_client);
3. each bot message is stored as an outbound turn (buttons in `details`);
4. if Rasa is down, slow, errors or says nothing, the person gets the safe answer and a
   sharps case is opened or added to (safe_answer), so triage and on call see what was said.

A turn that stays `pending` (the process died, or the database failed while Rasa thought)
is finished by recovery.py. Nothing here knows which channel a turn came from beyond its
name: the channel adapters (api/channels) read requests and render replies.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import anyio
from sqlalchemy.orm import Session

from api.core import metrics
from api.core.config import Settings
from api.enums import TurnStatus
from api.services.messages import Inbound, Reply
from api.services.rasa_client import RasaUnavailable, post_to_rasa, waiting_limiter
from api.services.safe_answer import safe_answer
from api.services.turn_store import Turn, claim, follows_safe_answer, reload, replies_of, store_replies

log = logging.getLogger(__name__)

# Metadata on the first message relayed after a safe answer. Rasa may have taken the turn
# that got the safe answer and asked its next question, which the person never saw (or it
# never got that turn at all): the bot must not read this message as the answer to it
# (actions.forms: the form says so and asks again).
MISSED_REPLY = "missed_reply"


@dataclass(frozen=True)
class ToRelay:
    """A stored turn that a channel's database step left for Rasa, with the Inbound it came
    from (its `message` may be a chosen button's payload)."""

    turn: Turn
    inbound: Inbound


def _prepare(session: Session, turn: Turn) -> bool:
    """Before the wait for Rasa: whether the turn follows a safe answer; then commit, so no
    database connection is held while Rasa thinks (its actions call this API and need
    connections from the same pool)."""
    missed = follows_safe_answer(session, turn)
    if missed:
        turn.inbound.details = {**(turn.inbound.details or {}), MISSED_REPLY: True}
    session.commit()
    return missed


def _ask_rasa(settings: Settings, inbound: Inbound, missed: bool) -> tuple[list[Reply] | RasaUnavailable, float]:
    """Rasa's answer (or why there is none) and how long it took. No database work."""
    metadata: dict[str, Any] = {"channel": inbound.channel, "phone": inbound.phone}
    if missed:
        metadata[MISSED_REPLY] = True
    started = time.monotonic()
    try:
        replies: list[Reply] | RasaUnavailable = post_to_rasa(
            settings, sender=inbound.conversation_id,
            message=inbound.message if inbound.message is not None else inbound.text, metadata=metadata,
            timeout=settings.rasa_timeout_for(inbound.channel))
    except RasaUnavailable as exc:
        replies = exc
    return replies, time.monotonic() - started


def _finish(session: Session, turn: Turn, outcome: list[Reply] | RasaUnavailable, waited: float, *,
            settings: Settings, clock: Callable[[], datetime], phone: str | None) -> Turn:
    """Store Rasa's answer, or give the safe answer and open a case."""
    if isinstance(outcome, RasaUnavailable):
        metrics.RELAY_SECONDS.labels("unavailable").observe(waited)
        log.warning("turn %s: %s after %.2fs; safe answer", turn.inbound.id, outcome, waited,
                    extra={"turn_id": turn.inbound.id, "channel": turn.inbound.channel})
        return safe_answer(session, turn, settings=settings, now=clock(), phone=phone, reason=str(outcome))
    metrics.RELAY_SECONDS.labels("ok").observe(waited)
    if not claim(session, turn, TurnStatus.relayed, {"rasa_seconds": round(waited, 3)}):
        return reload(session, turn)
    store_replies(session, turn, outcome, status=TurnStatus.relayed, now=clock())
    session.commit()
    metrics.TURNS.labels(turn.inbound.channel, "relayed").inc()
    return Turn(turn.inbound, outcome, new=turn.new)


async def relay_async(session: Session, step: ToRelay, *, settings: Settings,
                      clock: Callable[[], datetime]) -> Turn:
    """Relay a stored turn to Rasa from an async route: the database work on the threadpool,
    the wait for Rasa on a thread of its own (rasa_client.RASA_WAITERS), so that turns waiting
    for Rasa never hold the threads the API needs to answer the action server's calls, which
    Rasa itself is waiting on."""
    missed = await anyio.to_thread.run_sync(_prepare, session, step.turn)
    outcome, waited = await anyio.to_thread.run_sync(partial(_ask_rasa, settings, step.inbound, missed),
                                                     limiter=waiting_limiter())
    return await anyio.to_thread.run_sync(partial(_finish, session, step.turn, outcome, waited,
                                                  settings=settings, clock=clock, phone=step.inbound.phone))


async def relay_if_needed(session: Session, step: Turn | ToRelay, *, settings: Settings,
                          clock: Callable[[], datetime]) -> Turn:
    """The turn's answer: relayed to Rasa if the channel left it for Rasa; otherwise the
    channel already answered it (a keyword, a retry)."""
    if isinstance(step, ToRelay):
        return await relay_async(session, step, settings=settings, clock=clock)
    return step


def settle(session: Session, turn: Turn, *, settings: Settings, clock: Callable[[], datetime],
           phone: str | None, poll_seconds: float = 0.2) -> Turn:
    """A retry of a stored turn: its answer, once the first request has one. If that request
    died before answering, the retry gives the safe answer (never a second Rasa turn)."""
    deadline = time.monotonic() + settings.rasa_timeout_for(turn.inbound.channel) + 2.0
    while turn.inbound.status == TurnStatus.pending and time.monotonic() < deadline:
        time.sleep(poll_seconds)
        session.rollback()
        session.refresh(turn.inbound)
    if turn.inbound.status == TurnStatus.pending:
        return safe_answer(session, turn, settings=settings, now=clock(), phone=phone,
                           reason="first request gave no answer")
    return Turn(turn.inbound, replies_of(session, turn.inbound), new=False)
