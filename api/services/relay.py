"""One turn of a conversation, whatever the channel: stored first, relayed to Rasa, answered.

The order is the whole point (docs/architecture.md, "What must never be"):

1. the inbound turn is committed before anything that can fail (idempotent on the
   provider's id: a Twilio retry finds the stored turn and gets the stored answer);
2. it is relayed to Rasa's REST channel with a short timeout;
3. each bot message is stored as an outbound turn (buttons in `details`);
4. if Rasa is down, slow, errors or says nothing, the person gets the safe answer and a
   sharps case is opened (or the conversation's open case gets the words appended), so
   triage and the on-call practitioner see what was said.

Everything here works in the caller's session and commits at the points above.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

import anyio
import httpx
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.core import metrics
from api.core.config import Settings
from api.domain.case_lifecycle import OPEN_STATUSES
from api.enums import CaseKind, Line
from api.models import Case, ConversationMessage, OutboxMessage
from api.services import audit, cases, paging
from api.services.paging import normalise_number

log = logging.getLogger(__name__)

ACTOR = "relay"

# What everyone gets when the assistant cannot answer. First aid, the emergency route,
# and the truth about what happens next (the turn is stored and a case pages on call).
_SAFE_ADVICE = (
    "Sorry, the assistant is not available right now. "
    "If you have had a needlestick, cut, bite or splash: let the wound bleed, wash it with soap and "
    "running water (rinse eyes, mouth or nose with plenty of water), do not scrub or suck it, and cover it. "
    "If in doubt, go to the nearest emergency department now. If a life is at risk, call 999. "
)
# "Told" only when a page really went out for this message's case; otherwise never "wait".
SAFE_ANSWER = _SAFE_ADVICE + "Your message is logged and the on-call practitioner has been paged."
SAFE_ANSWER_NOT_PAGED = (_SAFE_ADVICE + "Your message is kept, but nobody could be alerted automatically, so do "
                         "not wait for a call: go to A&E or call NHS 111 now. For urgent mental health help, call "
                         "NHS 111 and choose option 2, or Samaritans free on 116 123.")

# Caller ids Twilio sends when the number is withheld (the keypad spellings of
# ANONYMOUS, UNAVAILABLE, RESTRICTED, BLOCKED, UNKNOWN) and their plain-word forms.
WITHHELD = frozenset({
    "", "anonymous", "restricted", "unknown", "unavailable", "private", "blocked", "withheld",
    "+266696687", "+86282452253", "+7378742833", "+2562533", "+8656696",
})

PENDING, RELAYED, SAFE, HANDLED = "pending", "relayed", "safe_answer", "handled"

# Metadata on the first message relayed after a safe answer. Rasa may have taken the turn
# that got the safe answer and asked its next question, which the person never saw (or it
# never got that turn at all): the bot must not read this message as the answer to it
# (actions.forms: the form says so and asks again).
MISSED_REPLY = "missed_reply"


class RasaUnavailable(RuntimeError):
    """Rasa did not give a usable answer in time (down, slow, error, or nothing said)."""


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


# --- identities -------------------------------------------------------------------------

def phone_or_none(number: str | None) -> str | None:
    """E.164 for a caller's number, or None when it is withheld or not a phone number."""
    raw = (number or "").strip()
    if raw.lower() in WITHHELD:
        return None
    return normalise_number(raw)


def sms_conversation_id(secret: str, phone: str) -> str:
    """A stable conversation id for a texter that is not their number (HMAC with SESSION_SECRET)."""
    digest = hmac.new(secret.encode(), phone.encode(), hashlib.sha256).hexdigest()
    return f"sms-{digest[:32]}"


def anonymous_conversation_id(secret: str, provider_sid: str) -> str:
    """No usable number: one conversation per message, so strangers never share a thread."""
    digest = hmac.new(secret.encode(), provider_sid.encode(), hashlib.sha256).hexdigest()
    return f"anon-{digest[:32]}"


# --- Rasa -------------------------------------------------------------------------------

def _replies_from_rasa(data: Any) -> list[Reply]:
    if not isinstance(data, list):
        raise RasaUnavailable("Rasa answered something that is not a list of messages")
    replies = []
    for item in data:
        if not isinstance(item, dict):
            continue
        buttons = tuple(
            Button(title=str(b.get("title") or b.get("payload") or ""),
                   payload=str(b.get("payload") or b.get("title") or ""))
            for b in item.get("buttons") or [] if isinstance(b, dict)
        )
        extra = {k: item[k] for k in ("image", "custom", "attachment") if item.get(k) is not None}
        text = str(item.get("text") or "")
        if text or buttons or extra:
            replies.append(Reply(text=text, buttons=buttons, extra=extra))
    if not any(r.text or r.buttons for r in replies):
        raise RasaUnavailable("Rasa said nothing")
    return replies


# Turns waiting for Rasa at once, per process (relay_async). They wait on threads of their
# own, so a busy Rasa never takes the threadpool the API needs to answer the action server.
RASA_WAITERS = 200
# Idle connections to Rasa are dropped after this long: below Sanic's 5 s keep-alive
# timeout, so a turn is never sent on a connection Rasa is about to close.
RASA_KEEPALIVE_SECONDS = 2.0

_rasa_client: httpx.Client | None = None
_rasa_client_lock = threading.Lock()
_waiters: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter]" = weakref.WeakKeyDictionary()


def rasa_client() -> httpx.Client:
    """One pooled client per process (thread-safe). A new httpx.Client per turn cost ~27 ms of
    CPU (it builds an SSL context) and a new TCP connection."""
    global _rasa_client
    with _rasa_client_lock:
        if _rasa_client is None or _rasa_client.is_closed:
            _rasa_client = httpx.Client(limits=httpx.Limits(
                max_connections=RASA_WAITERS, max_keepalive_connections=50, keepalive_expiry=RASA_KEEPALIVE_SECONDS))
        return _rasa_client


def _waiting_limiter() -> anyio.CapacityLimiter:
    loop = asyncio.get_running_loop()
    limiter = _waiters.get(loop)
    if limiter is None:
        limiter = _waiters[loop] = anyio.CapacityLimiter(RASA_WAITERS)
    return limiter


def post_to_rasa(settings: Settings, *, sender: str, message: str, metadata: dict[str, Any],
                 timeout: float) -> list[Reply]:
    """POST one user message to Rasa's REST channel; the bot's messages, or RasaUnavailable.

    Rasa 3.6's RestInput passes `metadata` on to the UserMessage, so it is stored on the
    tracker's `user` event (and in `session_started_metadata` when a session starts).
    """
    url = settings.rasa_url.rstrip("/") + "/webhooks/rest/webhook"
    body = {"sender": sender, "message": message, "metadata": metadata}
    try:
        response = rasa_client().post(url, json=body, timeout=timeout)
    except httpx.HTTPError as exc:
        raise RasaUnavailable(f"{type(exc).__name__} talking to Rasa") from exc
    if response.status_code != 200:
        raise RasaUnavailable(f"Rasa answered HTTP {response.status_code}")
    try:
        data = response.json()
    except ValueError as exc:
        raise RasaUnavailable("Rasa answered with something that is not JSON") from exc
    return _replies_from_rasa(data)


# --- stored turns -----------------------------------------------------------------------

def _reply_from_row(row: ConversationMessage) -> Reply:
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
    return [_reply_from_row(r) for r in rows if not (r.details or {}).get("system")]


def start_turn(
    session: Session, *, provider_sid: str | None, conversation_id: str, channel: str, text: str,
    now: datetime, details: dict[str, Any] | None = None,
) -> Turn:
    """Store the inbound turn and commit, before anything else. A known provider id is a retry."""
    if provider_sid:
        existing = find_turn(session, provider_sid)
        if existing is not None:
            return Turn(existing, replies_of(session, existing), new=False)
    inbound = ConversationMessage(
        conversation_id=conversation_id, channel=channel, direction="inbound", provider_sid=provider_sid,
        text=text, status=PENDING, details=dict(details or {}), created_at=now,
    )
    session.add(inbound)
    try:
        session.commit()
    except IntegrityError:
        # The same webhook arrived twice at once: the other request stored it first.
        session.rollback()
        existing = find_turn(session, provider_sid) if provider_sid else None
        if existing is None:
            raise
        return Turn(existing, replies_of(session, existing), new=False)
    return Turn(inbound, [], new=True)


def _store_replies(session: Session, turn: Turn, replies: Iterable[Reply], *, status: str, now: datetime,
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


def _claim(session: Session, turn: Turn, status: str) -> bool:
    """Move a pending turn on; of two requests handling the same turn only one wins."""
    won = session.execute(
        update(ConversationMessage)
        .where(ConversationMessage.id == turn.inbound.id, ConversationMessage.status == PENDING)
        .values(status=status)
    ).rowcount
    return bool(won)


def _reload(session: Session, turn: Turn) -> Turn:
    session.rollback()
    session.refresh(turn.inbound)
    return Turn(turn.inbound, replies_of(session, turn.inbound), new=False)


def answer(session: Session, turn: Turn, replies: list[Reply], *, now: datetime, status: str = HANDLED,
           details: dict[str, Any] | None = None) -> Turn:
    """Answer a stored turn without Rasa (STOP, HELP, ACK...)."""
    if not _claim(session, turn, status):
        return _reload(session, turn)
    if details:
        turn.inbound.details = {**(turn.inbound.details or {}), **details}
    _store_replies(session, turn, replies, status=status, now=now)
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
               ConversationMessage.status.in_([RELAYED, SAFE]))
        .order_by(ConversationMessage.id.desc()).limit(1)
    )
    return previous == SAFE


def _prepare(session: Session, turn: Turn) -> bool:
    """Before the wait for Rasa: whether the turn follows a safe answer; then commit, so no
    database connection is held while Rasa thinks (its actions call this API and need
    connections from the same pool)."""
    missed = follows_safe_answer(session, turn)
    if missed:
        turn.inbound.details = {**(turn.inbound.details or {}), MISSED_REPLY: True}
    session.commit()
    return missed


def _ask_rasa(settings: Settings, turn: Turn, phone: str | None, message: str | None,
              missed: bool = False) -> tuple[list[Reply] | RasaUnavailable, float]:
    """Rasa's answer (or why there is none) and how long it took. No database work."""
    metadata: dict[str, Any] = {"channel": turn.inbound.channel, "phone": phone}
    if missed:
        metadata[MISSED_REPLY] = True
    started = time.monotonic()
    try:
        replies: list[Reply] | RasaUnavailable = post_to_rasa(
            settings, sender=turn.inbound.conversation_id,
            message=message if message is not None else turn.inbound.text, metadata=metadata,
            timeout=settings.rasa_timeout_for(turn.inbound.channel))
    except RasaUnavailable as exc:
        replies = exc
    return replies, time.monotonic() - started


def relay(
    session: Session, turn: Turn, *, settings: Settings, clock: Callable[[], datetime], phone: str | None,
    message: str | None = None,
) -> Turn:
    """Relay a stored turn to Rasa (as `message`, e.g. a button's payload, if given)."""
    missed = _prepare(session, turn)
    outcome, waited = _ask_rasa(settings, turn, phone, message, missed)
    return _finish_relay(session, turn, outcome, waited, settings=settings, clock=clock, phone=phone)


async def relay_async(
    session: Session, turn: Turn, *, settings: Settings, clock: Callable[[], datetime], phone: str | None,
    message: str | None = None,
) -> Turn:
    """relay() for an async route: the database work on the threadpool, the wait for Rasa on a
    thread of its own (RASA_WAITERS), so that turns waiting for Rasa never hold the threads the
    API needs to answer the action server's calls, which Rasa itself is waiting on."""
    missed = await anyio.to_thread.run_sync(_prepare, session, turn)
    outcome, waited = await anyio.to_thread.run_sync(partial(_ask_rasa, settings, turn, phone, message, missed),
                                                     limiter=_waiting_limiter())
    return await anyio.to_thread.run_sync(partial(_finish_relay, session, turn, outcome, waited,
                                                  settings=settings, clock=clock, phone=phone))


@dataclass(frozen=True)
class ToRelay:
    """A stored turn that a route's database step left for Rasa (as `message`, e.g. a
    button's payload, if given)."""

    turn: Turn
    phone: str | None
    message: str | None


async def relay_if_needed(session: Session, step: Turn | ToRelay, *, settings: Settings,
                          clock: Callable[[], datetime]) -> Turn:
    """The turn's answer: relayed to Rasa (relay_async) if the route left it for Rasa; otherwise
    the route already answered it (a keyword, a retry)."""
    if isinstance(step, ToRelay):
        return await relay_async(session, step.turn, settings=settings, clock=clock, phone=step.phone,
                                 message=step.message)
    return step


def _finish_relay(session: Session, turn: Turn, outcome: list[Reply] | RasaUnavailable, waited: float, *,
                  settings: Settings, clock: Callable[[], datetime], phone: str | None) -> Turn:
    """Store Rasa's answer, or give the safe answer and open a case."""
    if isinstance(outcome, RasaUnavailable):
        exc = outcome
        metrics.RELAY_SECONDS.labels("unavailable").observe(waited)
        log.warning("turn %s: %s after %.2fs; safe answer", turn.inbound.id, exc, waited,
                    extra={"turn_id": turn.inbound.id, "channel": turn.inbound.channel})
        return safe_answer(session, turn, settings=settings, now=clock(), phone=phone, reason=str(exc))
    replies = outcome
    metrics.RELAY_SECONDS.labels("ok").observe(waited)
    if not _claim(session, turn, RELAYED):
        return _reload(session, turn)
    turn.inbound.details = {**(turn.inbound.details or {}), "rasa_seconds": round(waited, 3)}
    _store_replies(session, turn, replies, status=RELAYED, now=clock())
    session.commit()
    metrics.TURNS.labels(turn.inbound.channel, "relayed").inc()
    return Turn(turn.inbound, replies, new=turn.new)


def open_case_for(session: Session, conversation_id: str) -> Case | None:
    return session.scalar(
        select(Case)
        .where(Case.conversation_id == conversation_id, Case.status.in_([str(s) for s in OPEN_STATUSES]))
        .order_by(Case.id.desc())
        .limit(1)
    )


def _case_for_safe_answer(session: Session, turn: Turn, *, settings: Settings, now: datetime,
                          phone: str | None) -> Case:
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
    return cases.create(session, data={
        "line": Line.sharps, "kind": CaseKind.exposure, "channel": inbound.channel,
        "conversation_id": inbound.conversation_id, "contact": {"phone": phone} if phone else {},
        "summary": said,
    }, now=now, settings=settings, actor=ACTOR)


def safe_answer(session: Session, turn: Turn, *, settings: Settings, now: datetime, phone: str | None,
                reason: str) -> Turn:
    """The safe answer for a stored turn, and a case through the API's own triage."""
    reply = Reply(text=SAFE_ANSWER_NOT_PAGED)
    try:
        if not _claim(session, turn, SAFE):
            return _reload(session, turn)
        case = _case_for_safe_answer(session, turn, settings=settings, now=now, phone=phone)
        if paging.has_sent_pages(case):
            reply = Reply(text=SAFE_ANSWER)
        turn.inbound.details = {**(turn.inbound.details or {}), "case_ref": case.ref, "safe_reason": reason}
        _store_replies(session, turn, [reply], status=SAFE, now=now, details={"case_ref": case.ref})
        session.commit()
    except Exception:
        # The case could not be written: the turn is stored, the person still gets the advice.
        log.critical("turn %s: could not open a case for the safe answer", turn.inbound.id, exc_info=True,
                     extra={"turn_id": turn.inbound.id, "channel": turn.inbound.channel})
        session.rollback()
        if not _claim(session, turn, SAFE):
            return _reload(session, turn)
        turn.inbound.details = {**(turn.inbound.details or {}), "safe_reason": reason, "case_error": True}
        _store_replies(session, turn, [reply], status=SAFE, now=now)
        session.commit()
    metrics.TURNS.labels(turn.inbound.channel, "safe_answer").inc()
    session.refresh(turn.inbound)
    return Turn(turn.inbound, [reply], new=turn.new)


def settle(session: Session, turn: Turn, *, settings: Settings, clock: Callable[[], datetime],
           phone: str | None, poll_seconds: float = 0.2) -> Turn:
    """A retry of a stored turn: its answer, once the first request has one. If that request
    died before answering, the retry gives the safe answer (never a second Rasa turn)."""
    deadline = time.monotonic() + settings.rasa_timeout_for(turn.inbound.channel) + 2.0
    while turn.inbound.status == PENDING and time.monotonic() < deadline:
        time.sleep(poll_seconds)
        session.rollback()
        session.refresh(turn.inbound)
    if turn.inbound.status == PENDING:
        return safe_answer(session, turn, settings=settings, now=clock(), phone=phone,
                           reason="first request gave no answer")
    return Turn(turn.inbound, replies_of(session, turn.inbound), new=False)


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
        reply = _reply_from_row(row)
        if reply.buttons:
            return reply.buttons
    return ()


def last_replies(session: Session, conversation_id: str) -> list[Reply]:
    """The bot's most recent answer (to repeat a prompt after silence on a call)."""
    latest = session.scalar(
        select(ConversationMessage)
        .where(ConversationMessage.conversation_id == conversation_id,
               ConversationMessage.direction == "outbound", ConversationMessage.reply_to_id.is_not(None))
        .order_by(ConversationMessage.id.desc()).limit(1)
    )
    if latest is None:
        return []
    inbound = session.get(ConversationMessage, latest.reply_to_id)
    return replies_of(session, inbound) if inbound is not None else []


# --- voice: warm transfer ---------------------------------------------------------------

def transfer_of(session: Session, call_sid: str) -> ConversationMessage | None:
    return find_turn(session, f"{call_sid}:transfer")


def start_transfer(session: Session, turn: Turn, case: Case, *, targets: list[dict[str, Any]], text: str,
                   now: datetime) -> ConversationMessage | None:
    """Record (once per call) that the caller is being put through to the on-call practitioner."""
    call_sid = turn.inbound.conversation_id
    row = ConversationMessage(
        conversation_id=call_sid, channel=turn.inbound.channel, direction="outbound",
        provider_sid=f"{call_sid}:transfer", reply_to_id=turn.inbound.id, text=text, status=HANDLED,
        details={"system": True, "transfer": {"ref": case.ref, "targets": targets}}, created_at=now,
    )
    session.add(row)
    audit.log_event(session, case, type="call_transfer", actor=ACTOR, now=now,
                    description=f"caller being put through to {targets[0]['name']} ({targets[0]['tier']})"
                    if targets else "caller could not be put through: nobody on the rota",
                    details={"call_sid": call_sid, "targets": [{k: t[k] for k in ("id", "tier")} for t in targets]})
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return None
    return row


def record_dial_result(session: Session, *, call_sid: str, attempt: int, dial_status: str, text: str,
                       now: datetime) -> tuple[ConversationMessage, bool]:
    """One row per dial attempt's outcome (idempotent on CallSid + attempt); audit on the case."""
    key = f"{call_sid}:dial:{attempt}"
    existing = find_turn(session, key)
    if existing is not None:
        return existing, False
    transfer = transfer_of(session, call_sid)
    info = (transfer.details or {}).get("transfer", {}) if transfer else {}
    targets = info.get("targets") or []
    row = ConversationMessage(
        conversation_id=call_sid, channel="voice", direction="outbound", provider_sid=key,
        reply_to_id=transfer.reply_to_id if transfer else None, text=text, status=HANDLED,
        details={"system": True, "dial": {"attempt": attempt, "status": dial_status}}, created_at=now,
    )
    session.add(row)
    case = session.scalar(select(Case).where(Case.ref == info["ref"])) if info.get("ref") else None
    if case is not None and attempt < len(targets):
        who = targets[attempt]
        audit.log_event(session, case, type="call_transfer_result", actor=ACTOR, now=now,
                        description=f"call to {who['name']} ({who['tier']}): {dial_status}",
                        details={"call_sid": call_sid, "practitioner_id": who["id"], "tier": who["tier"],
                                 "status": dial_status})
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return find_turn(session, key), False  # type: ignore[return-value]
    return row, True


def log_case_event(session: Session, ref: str, *, type: str, description: str, now: datetime,
                   details: dict[str, Any]) -> None:
    case = session.scalar(select(Case).where(Case.ref == ref))
    if case is not None:
        audit.log_event(session, case, type=type, actor=ACTOR, now=now, description=description, details=details)
        session.commit()


# --- SMS delivery status ----------------------------------------------------------------

FAILED_STATES = {"failed", "undelivered"}
DELIVERED_STATES = {"delivered", "read"}


def record_sms_status(session: Session, *, message_sid: str, status: str, error_code: str | None,
                      now: datetime) -> OutboxMessage | None:
    """A Twilio status callback: the outbox row by provider_sid, and the page's case told."""
    message = session.scalar(select(OutboxMessage).where(OutboxMessage.provider_sid == message_sid))
    if message is None:
        log.info("status callback for an unknown message (%s)", status)
        return None
    status = status.lower()
    if status in FAILED_STATES:
        message.status = "failed"
        message.error = f"twilio {status}" + (f" (error {error_code})" if error_code else "")
    elif status in DELIVERED_STATES | {"sent"} and message.status in ("queued", "sending"):
        message.status = "sent"
    if message.page_id is not None and status in FAILED_STATES | DELIVERED_STATES:
        from api.models import Page  # local: only this path needs it

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


def highest_turn(session: Session, call_sid: str) -> int:
    """The highest turn number stored for a call (turn keys are 'CallSid:N')."""
    keys = session.scalars(
        select(ConversationMessage.provider_sid).where(
            ConversationMessage.conversation_id == call_sid, ConversationMessage.direction == "inbound")
    )
    numbers = [int(k.rsplit(":", 1)[1]) for k in keys if k and k.rsplit(":", 1)[-1].isdigit()]
    return max(numbers, default=0)


def case_by_ref(session: Session, ref: str) -> Case | None:
    if not ref:
        return None
    return session.scalar(select(Case).where(Case.ref == ref.upper()))
