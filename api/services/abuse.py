"""Where a case came from (its source), and practitioners' abuse marks on a source.

A source is what the door itself saw, never what the person typed: the phone number a text or
call came from (as its pseudonymous conversation id, api.services.identities), else a client key
the web chat stored on the turn, else the conversation. A typed call-back number is not a source:
anyone can type anyone's number, and a mark on it would silence the pages of someone else.

Pages are grouped per source and held while a source is marked (api/domain/page_gate.py,
applied in api/services/paging.py); marking and lifting are in api/services/cases.py, which
also closes or re-sends the pages concerned.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from api.domain import page_gate
from api.enums import CaseStatus, PageStatus
from api.models import AbuseMark, Case, ConversationMessage, Page
from api.services import audit

# The key on an inbound turn's details where a door may name its client (an opaque value, e.g.
# a keyed hash of a cookie-less web client): cases from one client then share a source even
# when each message started a new conversation.
CLIENT_DETAIL = "client"
MAX_KEY = 160
MAX_ANCHORS = 50


class NoSource(ValueError):
    """The case came from no door (opened through the API without a conversation)."""


def source_key_for(session: Session, conversation_id: str | None) -> str | None:
    if not conversation_id:
        return None
    details = session.scalar(
        select(ConversationMessage.details)
        .where(ConversationMessage.conversation_id == conversation_id, ConversationMessage.direction == "inbound")
        .order_by(ConversationMessage.id.desc()).limit(1))
    client = (details or {}).get(CLIENT_DETAIL) if isinstance(details, dict) else None
    if isinstance(client, str) and client:
        return f"client:{client}"[:MAX_KEY]
    return f"conv:{conversation_id}"[:MAX_KEY]


def describe(source_key: str | None) -> str:
    """What kind of source, for people (the key itself is a pseudonym and says nothing useful)."""
    if not source_key:
        return "none"
    if source_key.startswith("client:"):
        return "web chat client"
    conversation = source_key.removeprefix("conv:")
    if conversation.startswith("sms-"):
        return "phone number"
    if conversation.startswith("web-"):
        return "web chat conversation"
    return "conversation"


# --- silences -------------------------------------------------------------------------------

def silence_for(session: Session, source_key: str | None, now: datetime) -> AbuseMark | None:
    """The mark in force on a source now (the one that lasts longest), or None."""
    if not source_key:
        return None
    return session.scalar(
        select(AbuseMark)
        .where(AbuseMark.source_key == source_key, AbuseMark.lifted_at.is_(None), AbuseMark.until > now)
        .order_by(AbuseMark.until.desc(), AbuseMark.id.desc()).limit(1))


def as_silence(mark: AbuseMark | None) -> page_gate.Silence | None:
    return page_gate.Silence(mark_id=mark.id, until=mark.until, marked_on=mark.case.ref) if mark else None


def mark(session: Session, case: Case, *, reason: str, actor: str, now: datetime, seconds: float) -> AbuseMark:
    if not case.source_key:
        raise NoSource("this case was not opened from a conversation: there is no source to silence")
    until = now + timedelta(seconds=seconds)
    entry = AbuseMark(source_key=case.source_key, case_id=case.id, reason=reason, marked_by=actor,
                      created_at=now, until=until)
    session.add(entry)
    session.flush()
    audit.log_event(
        session, case, type="abuse_marked", actor=actor, now=now,
        description=f"marked as abuse: pages from this {describe(case.source_key)} held until "
                    f"{until:%Y-%m-%d %H:%M} UTC (an emergency or a crisis still pages)",
        details={"mark_id": entry.id, "until": until.isoformat(), "reason": reason,
                 "source": describe(case.source_key)},
    )
    return entry


def lift(session: Session, case: Case, *, actor: str, now: datetime) -> list[AbuseMark]:
    """End every mark in force on the case's source; each is audited on the case it was made on
    and, when lifted from another case of the source, on that one too."""
    if not case.source_key:
        return []
    marks = list(session.scalars(
        select(AbuseMark)
        .where(AbuseMark.source_key == case.source_key, AbuseMark.lifted_at.is_(None), AbuseMark.until > now)
        .order_by(AbuseMark.id)))
    for entry in marks:
        entry.lifted_at = now
        entry.lifted_by = actor
        for target in {entry.case_id: entry.case, case.id: case}.values():
            audit.log_event(session, target, type="abuse_lifted", actor=actor, now=now,
                            description=f"abuse mark made on {entry.case.ref} lifted: pages from this source resume",
                            details={"mark_id": entry.id, "was_until": entry.until.isoformat()})
    session.flush()
    return marks


# --- grouping -------------------------------------------------------------------------------

def anchors(session: Session, case: Case, *, now: datetime, window: timedelta) -> list[page_gate.Anchor]:
    """Earlier open cases of the case's source that paged within the window or still wait for
    an acknowledgement, oldest first: the pages a new case of that source may join."""
    if not case.source_key:
        return []
    recent = exists().where(Page.case_id == Case.id, Page.sent_at.is_not(None),
                            or_(Page.sent_at > now - window, Page.status == PageStatus.pending))
    rows = session.scalars(
        select(Case).where(Case.source_key == case.source_key, Case.id != case.id,
                           Case.status != CaseStatus.closed, recent)
        .order_by(Case.id).limit(MAX_ANCHORS))
    found = []
    for other in rows:
        sent = [p for p in other.pages if p.sent_at is not None]
        if not sent:
            continue
        found.append(page_gate.Anchor(
            case_id=other.id, ref=other.ref, urgency=other.urgency,
            crisis=page_gate.is_crisis(other.kind, (other.decision or {}).get("rules_fired")),
            last_paged_at=max(p.sent_at for p in sent), live=any(p.status == PageStatus.pending for p in sent),
            page_id=min(p.id for p in sent)))
    return found


def grouped_into(session: Session, case: Case) -> list[Case]:
    """The cases attached to this case's page."""
    return list(session.scalars(select(Case).where(Case.grouped_with_id == case.id).order_by(Case.id)))


# --- what the queue and the case page show ------------------------------------------------

@dataclass(frozen=True)
class Flags:
    silenced: AbuseMark | None = None
    grouped_with: str | None = None  # the reference of the case whose page this one joined
    grouped_here: list[str] = field(default_factory=list)  # cases that joined this one's page
    source: str = "none"

    @property
    def silenced_until(self) -> datetime | None:
        return self.silenced.until if self.silenced else None


def flags_for(session: Session, cases: Iterable[Case], *, now: datetime) -> dict[int, Flags]:
    """The queue's flags, with one query for the marks in force on all the rows' sources."""
    rows = list(cases)
    keys = {c.source_key for c in rows if c.source_key}
    marks: dict[str, AbuseMark] = {}
    if keys:
        for entry in session.scalars(
                select(AbuseMark).where(AbuseMark.source_key.in_(keys), AbuseMark.lifted_at.is_(None),
                                        AbuseMark.until > now).order_by(AbuseMark.until)):
            marks[entry.source_key] = entry  # the longest lasting wins
    anchor_ids = {c.grouped_with_id for c in rows if c.grouped_with_id}
    refs = dict(session.execute(select(Case.id, Case.ref).where(Case.id.in_(anchor_ids))).tuples().all()) \
        if anchor_ids else {}
    return {c.id: Flags(silenced=marks.get(c.source_key or ""), source=describe(c.source_key),
                        grouped_with=refs.get(c.grouped_with_id) if c.grouped_with_id else None)
            for c in rows}


def case_flags(session: Session, case: Case, *, now: datetime) -> Flags:
    anchor = session.get(Case, case.grouped_with_id) if case.grouped_with_id else None
    return Flags(silenced=silence_for(session, case.source_key, now), source=describe(case.source_key),
                 grouped_with=anchor.ref if anchor else None,
                 grouped_here=[c.ref for c in grouped_into(session, case)])
