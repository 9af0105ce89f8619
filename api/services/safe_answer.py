"""The safe answer: what a person is told when the assistant cannot answer, and the case
that makes sure a person (triage, the on-call practitioner) still sees what they said."""
from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.core import metrics
from api.core.config import Settings
from api.domain.case_lifecycle import OPEN_STATUSES
from api.enums import CaseKind, Line, TurnStatus
from api.models import Case
from api.services import cases, paging
from api.services.messages import Reply
from api.services.turn_store import Turn, claim, reload, reply_to, store_replies

log = logging.getLogger(__name__)

ACTOR = "relay"

# First aid, the emergency route, and the truth about what happens next. Each answer is at
# most 3 SMS segments (459 GSM-7 characters; tests/api/channels/test_sms_responses.py).
_SAFE_ADVICE = (
    "Sorry, the assistant is not available now. "
    "After a needlestick, cut, bite or splash: let the wound bleed, wash it with soap and running water, "
    "don't scrub or suck it, cover it. Rinse eyes, mouth or nose with plenty of water. "
    "If a life is at risk, call 999. "
)
# "Paged" only when a page really went out for this message's case; otherwise never "wait".
SAFE_ANSWER = _SAFE_ADVICE + ("If in doubt, go to the nearest emergency department now. "
                              "Your message is logged and the on-call practitioner has been paged. "
                              "Urgent mental health help: NHS 111 option 2, or Samaritans free on 116 123.")
SAFE_ANSWER_NOT_PAGED = (_SAFE_ADVICE + "Your message is kept but nobody could be paged, so do not wait for a call: "
                         "go to the emergency department or call NHS 111 now. Urgent mental health help: NHS 111 "
                         "option 2, or Samaritans free on 116 123.")


def open_case_for(session: Session, conversation_id: str) -> Case | None:
    return session.scalar(
        select(Case)
        .where(Case.conversation_id == conversation_id, Case.status.in_([str(s) for s in OPEN_STATUSES]))
        .order_by(Case.id.desc())
        .limit(1)
    )


# A first message of only these words says nothing about an injury or a crisis: while the bot is
# down it is answered with the safe answer like any other, but opens no case, so "hi" pages nobody
# (issue #15). Anything more, or any message once the conversation has a case, is kept on a case.
_CONTENT_FREE = frozenset({
    "hi", "hii", "hello", "hey", "hiya", "yo", "morning", "good", "afternoon", "evening", "there", "ok", "okay",
    "thanks", "thank", "you", "ta", "cheers", "test", "testing", "start", "bye", "please",
})


def content_free(text: str) -> bool:
    words = re.findall(r"[a-z]+", text.lower())
    return bool(words) and len(words) <= 4 and all(w in _CONTENT_FREE for w in words) and not re.search(r"\d", text)


def _case_for(session: Session, turn: Turn, *, settings: Settings, now: datetime,
              phone: str | None) -> Case | None:
    inbound = turn.inbound
    said = inbound.text
    choice = (inbound.details or {}).get("choice") or {}
    if choice.get("title") and choice["title"] != said:
        said = f"{said} ({choice['title']})"  # "2" means little in a case summary
    case = open_case_for(session, inbound.conversation_id)
    if case is not None:
        summary = f"{case.summary}\n{said}" if case.summary else said
        data: dict[str, Any] = {"summary": summary}
        if phone and not (case.contact or {}).get("phone"):
            data["contact"] = {"phone": phone}
        return cases.update(session, case, data=data, now=now, settings=settings, actor=ACTOR)
    if content_free(inbound.text) and not choice:
        return None
    return cases.create(session, data={
        "line": Line.sharps, "kind": CaseKind.exposure, "channel": inbound.channel,
        "conversation_id": inbound.conversation_id, "contact": {"phone": phone} if phone else {},
        "summary": said,
    }, now=now, settings=settings, actor=ACTOR)


def safe_answer(session: Session, turn: Turn, *, settings: Settings, now: datetime, phone: str | None,
                reason: str, told: str | None = None) -> Turn:
    """The safe answer for a stored turn, and a case through the API's own triage.

    `told`: the words the person already got (the spool answered while the database was
    down), stored as they were; otherwise SAFE_ANSWER when the case paged, else NOT_PAGED.
    """
    reply = Reply(text=told or SAFE_ANSWER_NOT_PAGED)
    try:
        phone = phone or reply_to(turn)
        if not claim(session, turn, TurnStatus.safe_answer, {"safe_reason": reason}):
            return reload(session, turn)
        case = _case_for(session, turn, settings=settings, now=now, phone=phone)
        if case is not None and told is None and paging.has_sent_pages(case):
            reply = Reply(text=SAFE_ANSWER)
        if case is not None:
            turn.inbound.details = {**(turn.inbound.details or {}), "case_ref": case.ref}
        store_replies(session, turn, [reply], status=TurnStatus.safe_answer, now=now,
                      details={"case_ref": case.ref} if case is not None else {})
        session.commit()
    except Exception:
        # The case could not be written: the turn is stored, the person still gets the advice.
        log.critical("turn %s: could not open a case for the safe answer", turn.inbound.id, exc_info=True,
                     extra={"turn_id": turn.inbound.id, "channel": turn.inbound.channel})
        session.rollback()
        reply = Reply(text=told or SAFE_ANSWER_NOT_PAGED)
        if not claim(session, turn, TurnStatus.safe_answer, {"safe_reason": reason, "case_error": True}):
            return reload(session, turn)
        store_replies(session, turn, [reply], status=TurnStatus.safe_answer, now=now)
        session.commit()
    metrics.TURNS.labels(turn.inbound.channel, "safe_answer").inc()
    session.refresh(turn.inbound)
    return Turn(turn.inbound, [reply], new=turn.new)
