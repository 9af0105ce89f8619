"""Stored turns: an Inbound committed before anything that can fail, and the replies it got.

Each inbound turn moves from `pending` exactly once (claim: a conditional UPDATE), so of two
requests handling the same turn (a Twilio retry, recovery after a crash) only one answers it.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.core import metrics
from api.enums import TurnStatus
from api.models import ConversationMessage
from api.services.messages import Button, Inbound, Reply

# Kept on a pending turn only, so recovery can text the safe answer to a person whose turn
# was never answered; dropped the moment the turn is answered (the case holds the number).
REPLY_TO = "reply_to"


@dataclass
class Turn:
    inbound: ConversationMessage
    replies: list[Reply]
    new: bool  # False: a retry of a turn that was already stored

    @property
    def status(self) -> str:
        return self.inbound.status

    @property
    def case_ref(self) -> str | None:
        return (self.inbound.details or {}).get("case_ref")


def reply_from_row(row: ConversationMessage) -> Reply:
    details = row.details or {}
    buttons = tuple(Button(title=b["title"], payload=b["payload"]) for b in details.get("buttons") or [])
    extra = {k: details[k] for k in ("image", "custom", "attachment") if details.get(k) is not None}
    return Reply(text=row.text, buttons=buttons, extra=extra)


def find_turn(session: Session, provider_sid: str) -> ConversationMessage | None:
    return session.scalar(select(ConversationMessage).where(ConversationMessage.provider_sid == provider_sid))


def replies_of(session: Session, inbound: ConversationMessage) -> list[Reply]:
    rows = session.scalars(
        select(ConversationMessage)
        .where(ConversationMessage.reply_to_id == inbound.id, ConversationMessage.direction == "outbound")
        .order_by(ConversationMessage.id)
    )
    return [reply_from_row(r) for r in rows if not (r.details or {}).get("system")]


def start_turn(session: Session, inbound: Inbound, *, details: dict[str, Any] | None = None) -> Turn:
    """Store the inbound turn and commit, before anything else. A known provider id is a retry."""
    if inbound.provider_sid:
        existing = find_turn(session, inbound.provider_sid)
        if existing is not None:
            return Turn(existing, replies_of(session, existing), new=False)
    stored = {**inbound.details, **(details or {})}
    if inbound.phone:
        stored[REPLY_TO] = inbound.phone
    row = ConversationMessage(
        conversation_id=inbound.conversation_id, channel=inbound.channel, direction="inbound",
        provider_sid=inbound.provider_sid, text=inbound.text, status=TurnStatus.pending, details=stored,
        created_at=inbound.received_at,
    )
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        # The same webhook arrived twice at once: the other request stored it first.
        session.rollback()
        existing = find_turn(session, inbound.provider_sid) if inbound.provider_sid else None
        if existing is None:
            raise
        return Turn(existing, replies_of(session, existing), new=False)
    return Turn(row, [], new=True)


def reply_to(turn: Turn) -> str | None:
    """The number a pending turn's answer can be texted to (None once answered, or never given)."""
    return (turn.inbound.details or {}).get(REPLY_TO)


def store_replies(session: Session, turn: Turn, replies: Iterable[Reply], *, status: TurnStatus, now: datetime,
                  details: dict[str, Any] | None = None) -> list[Reply]:
    stored = []
    for reply in replies:
        row_details: dict[str, Any] = {"buttons": [b.as_dict() for b in reply.buttons]}
        row_details.update(reply.extra)
        row_details.update(details or {})
        session.add(ConversationMessage(
            conversation_id=turn.inbound.conversation_id, channel=turn.inbound.channel, direction="outbound",
            reply_to_id=turn.inbound.id, text=reply.text, status=status, details=row_details, created_at=now,
        ))
        stored.append(reply)
    return stored


def claim(session: Session, turn: Turn, status: TurnStatus, details: dict[str, Any] | None = None) -> bool:
    """Move a pending turn on; of two requests handling the same turn only one wins. The
    winner's turn gets `details` merged in and loses the pending-only call-back number."""
    won = session.execute(
        update(ConversationMessage)
        .where(ConversationMessage.id == turn.inbound.id, ConversationMessage.status == TurnStatus.pending)
        .values(status=status)
    ).rowcount
    if won:
        merged = {**(turn.inbound.details or {}), **(details or {})}
        merged.pop(REPLY_TO, None)
        turn.inbound.details = merged
    return bool(won)


def reload(session: Session, turn: Turn) -> Turn:
    session.rollback()
    session.refresh(turn.inbound)
    return Turn(turn.inbound, replies_of(session, turn.inbound), new=False)


def answer(session: Session, turn: Turn, replies: list[Reply], *, now: datetime,
           status: TurnStatus = TurnStatus.handled, details: dict[str, Any] | None = None) -> Turn:
    """Answer a stored turn without Rasa (STOP, HELP, ACK...)."""
    if not claim(session, turn, status, details):
        return reload(session, turn)
    store_replies(session, turn, replies, status=status, now=now)
    session.commit()
    metrics.TURNS.labels(turn.inbound.channel, "handled").inc()
    session.refresh(turn.inbound)
    return Turn(turn.inbound, list(replies), new=turn.new)


def follows_safe_answer(session: Session, turn: Turn) -> bool:
    """True when the conversation's last turn before this one that needed the bot got the
    safe answer, so the person has not seen the bot's latest reply."""
    previous = session.scalar(
        select(ConversationMessage.status)
        .where(ConversationMessage.conversation_id == turn.inbound.conversation_id,
               ConversationMessage.direction == "inbound", ConversationMessage.id < turn.inbound.id,
               ConversationMessage.status.in_([TurnStatus.relayed, TurnStatus.safe_answer]))
        .order_by(ConversationMessage.id.desc()).limit(1)
    )
    return previous == TurnStatus.safe_answer


def remember_response(session: Session, turn: Turn, key: str, body: str) -> None:
    """Keep what was sent back (TwiML), so a retry gets exactly the same answer."""
    turn.inbound.details = {**(turn.inbound.details or {}), key: body}
    session.commit()


def last_buttons(session: Session, conversation_id: str, *, before_id: int | None = None) -> tuple[Button, ...]:
    """The choices offered by the bot's last answer in this conversation (for a bare "2")."""
    query = select(ConversationMessage).where(
        ConversationMessage.conversation_id == conversation_id, ConversationMessage.direction == "outbound"
    )
    if before_id is not None:
        query = query.where(ConversationMessage.id < before_id)
    latest = session.scalar(query.order_by(ConversationMessage.id.desc()).limit(1))
    if latest is None:
        return ()
    group = [latest]
    if latest.reply_to_id is not None:
        group = list(session.scalars(
            select(ConversationMessage)
            .where(ConversationMessage.reply_to_id == latest.reply_to_id,
                   ConversationMessage.direction == "outbound")
            .order_by(ConversationMessage.id)
        ))
    for row in reversed(group):
        reply = reply_from_row(row)
        if reply.buttons:
            return reply.buttons
    return ()


def last_replies(session: Session, conversation_id: str, *, channel: str | None = None,
                 before_id: int | None = None) -> list[Reply]:
    """The bot's most recent answer (to repeat a prompt after silence on a call), optionally the
    latest on one channel, or before a given row."""
    query = select(ConversationMessage).where(
        ConversationMessage.conversation_id == conversation_id,
        ConversationMessage.direction == "outbound", ConversationMessage.reply_to_id.is_not(None))
    if channel is not None:
        query = query.where(ConversationMessage.channel == channel)
    if before_id is not None:
        query = query.where(ConversationMessage.id < before_id)
    latest = session.scalar(query.order_by(ConversationMessage.id.desc()).limit(1))
    if latest is None:
        return []
    inbound = session.get(ConversationMessage, latest.reply_to_id)
    return replies_of(session, inbound) if inbound is not None else []


def active_since(session: Session, conversation_id: str, since: datetime) -> bool:
    """Whether the person said anything in this conversation since then."""
    return session.scalar(
        select(ConversationMessage.id).where(
            ConversationMessage.conversation_id == conversation_id, ConversationMessage.direction == "inbound",
            ConversationMessage.created_at >= since).limit(1)
    ) is not None


def highest_turn(session: Session, call_sid: str) -> int:
    """The highest turn number stored for a call (turn keys are 'CallSid:N')."""
    keys = session.scalars(
        select(ConversationMessage.provider_sid).where(
            ConversationMessage.provider_sid.startswith(f"{call_sid}:", autoescape=True),
            ConversationMessage.direction == "inbound")
    )
    numbers = [int(k.rsplit(":", 1)[1]) for k in keys if k and k.rsplit(":", 1)[-1].isdigit()]
    return max(numbers, default=0)


def stale_pending(session: Session, *, older_than: datetime, limit: int) -> list[ConversationMessage]:
    """Inbound turns still pending that no live request can be holding any more."""
    return list(session.scalars(
        select(ConversationMessage)
        .where(ConversationMessage.status == TurnStatus.pending, ConversationMessage.direction == "inbound",
               ConversationMessage.created_at < older_than)
        .order_by(ConversationMessage.id).limit(limit)
    ))


def transcript(session: Session, conversation_id: str, *, channel: str,
               newest: int) -> tuple[list[ConversationMessage], bool]:
    """The conversation's newest `newest` rows on this channel, oldest first, and whether older ones exist."""
    rows = list(session.scalars(
        select(ConversationMessage)
        .where(ConversationMessage.conversation_id == conversation_id, ConversationMessage.channel == channel)
        .order_by(ConversationMessage.id.desc())
        .limit(newest + 1)
    ))
    return list(reversed(rows[:newest])), len(rows) > newest
