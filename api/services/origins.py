"""Where a conversation came in from: a poster's chat link names its organisation
(`/chat?org=CODE`, api/channels/webchat.py), kept once per conversation as a ConversationOrigin,
so uptake is counted by organisation even when no case is opened (api/services/quality.py). A
case opened from the conversation with no organisation of its own takes this one, unconfirmed."""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from api.models import ConversationMessage, ConversationOrigin, Organisation

log = logging.getLogger(__name__)
POSTER = "poster"


def known_code(session: Session, code: str | None) -> str | None:
    """The organisation code as stored, if an organisation has it; None for anything else, and
    while the database cannot answer (the chat page opens all the same, uncounted)."""
    if not code or not code.strip() or len(code) > 32:
        return None
    try:
        return session.scalar(select(Organisation.code).where(Organisation.code == code.strip().upper()))
    except SQLAlchemyError as exc:
        log.warning("chat link's organisation not checked: %s", type(exc).__name__)
        session.rollback()
        return None


def record_first(session: Session, *, conversation_id: str, code: str, turn_id: int, now: datetime,
                 via: str = POSTER) -> ConversationOrigin | None:
    """Keep the origin of a conversation whose first stored turn is `turn_id`; nothing for a later
    turn, a conversation that already has one, or a code no organisation has (any longer). Commits."""
    earlier = session.scalar(select(ConversationMessage.id).where(
        ConversationMessage.conversation_id == conversation_id, ConversationMessage.id < turn_id).limit(1))
    if earlier is not None or session.scalar(select(ConversationOrigin.id).where(
            ConversationOrigin.conversation_id == conversation_id)) is not None:
        return None
    org = session.scalar(select(Organisation).where(Organisation.code == code))
    if org is None:
        return None
    origin = ConversationOrigin(conversation_id=conversation_id, organisation_id=org.id, via=via, created_at=now)
    session.add(origin)
    try:
        session.commit()
    except IntegrityError:  # the same first turn stored twice at once: the other request kept it
        session.rollback()
        return None
    return origin


def organisation_of(session: Session, conversation_id: str | None) -> Organisation | None:
    """The organisation the conversation came in through, if any."""
    if not conversation_id:
        return None
    return session.scalar(select(Organisation).join(ConversationOrigin, ConversationOrigin.organisation_id
                                                    == Organisation.id)
                          .where(ConversationOrigin.conversation_id == conversation_id))
