"""Rate limits on the public doors (web chat, SMS, voice): how often one client reaches the bot.

Anyone can write to the web chat, and anyone with a phone can text or call. Without a limit a
script (or a frightened person pressing send) turns ten messages into ten relays to Rasa, ten
cases and ten pages. Over a limit a message is still stored and still answered, with the safety
advice and the crisis numbers (THROTTLED_TEXT), but it is not relayed to Rasa and opens no case,
so it pages nobody: the limits protect the on-call practitioner and the bot, never the person.

The counts are kept by the `limits` library (moving windows) in this process's memory, or in
Redis when the API is scaled out (Settings.door_limit_storage). Keys are keyed hashes: no phone
number or address is written to the store. If the store fails, the message goes through as it
did before there were limits (a Redis outage must not cut people off from the bot).
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from limits import RateLimitItem, parse_many
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.core.config import Settings
from api.enums import TurnStatus
from api.models import ConversationMessage
from api.services import turn_store
from api.services.messages import Reply
from api.services.turn_store import Turn

log = logging.getLogger(__name__)

# What a message over a limit gets: why, and everything the safe answer says that matters now
# (first aid, the emergency department, 999, the crisis numbers). At most 3 SMS segments, GSM-7.
THROTTLED_TEXT = (
    "You are sending messages very fast, so I have kept this one but not read it yet: please wait a few "
    "seconds, then send it again. It has not paged anyone. After a needlestick, cut, bite or splash: let it "
    "bleed, wash it with soap and running water, cover it; rinse eyes, mouth or nose with water. If in doubt, "
    "go to the emergency department now. If a life is at risk, call 999. Urgent mental health help: NHS 111 "
    "option 2, or Samaritans free on 116 123."
)
THROTTLED_SPOKEN = (
    "You have called this helpline many times in a short while, so I cannot put this call through to the "
    "team now. After a needlestick, cut, bite or splash, let it bleed, wash it with soap and running water, "
    "and cover it. If in doubt, go to the emergency department now. If a life is at risk, call 999. For "
    "urgent mental health help, call NHS 111 and choose option 2, or call Samaritans free on 116 123. "
    "You can also text this number. Goodbye."
)

# The limits, by name: the Settings field each is read from.
RULES = {
    "chat_conversation": "door_limit_chat_conversation",
    "chat_client": "door_limit_chat_client",
    "chat_new": "door_limit_chat_new",
    "chat_history": "door_limit_chat_history",
    "sms_number": "door_limit_sms_number",
    "voice_number": "door_limit_voice_number",
    "voice_call": "door_limit_voice_call",
}
# A phone door's key for a caller who withheld their number: all of them share one count.
WITHHELD = "withheld"
# Seconds the store may take: a message waits for it before it is answered.
STORE_TIMEOUT_SECONDS = 0.5


@dataclass(frozen=True)
class Check:
    """One count to take: the rule's name and whose count it is (a conversation, an address)."""

    rule: str
    key: str


class DoorLimits:
    """The limits of one API process (one per app: app.state, see `of`)."""

    def __init__(self, settings: Settings, storage: Storage | None = None) -> None:
        self.storage = storage or _storage(settings.door_limit_storage)
        self.limiter = MovingWindowRateLimiter(self.storage)
        self.rules: dict[str, list[RateLimitItem]] = {
            rule: parse_many(getattr(settings, field)) for rule, field in RULES.items()}
        self._secret = (settings.session_secret or "door-limits").encode()

    def over(self, checks: Sequence[Check]) -> str | None:
        """Count this message against each check in turn; the name of the first rule it is over,
        or None. A message over one rule is not counted against the rules after it."""
        try:
            for check in checks:
                key = self._hashed(check)
                for rate in self.rules[check.rule]:
                    if not self.limiter.hit(rate, check.rule, key):
                        return check.rule
        except Exception:
            log.error("door limits: the store failed; the message goes through unlimited", exc_info=True)
        return None

    def _hashed(self, check: Check) -> str:
        return hmac.new(self._secret, f"{check.rule}:{check.key}".encode(), hashlib.sha256).hexdigest()[:32]


def _storage(uri: str) -> Storage:
    """The store at `uri`; this process's memory if it cannot be made (an unknown scheme, a
    missing driver): a message must never fail for want of its limiter."""
    try:
        if uri.startswith(("redis", "rediss", "valkey")):
            return storage_from_string(uri, socket_timeout=STORE_TIMEOUT_SECONDS,
                                       socket_connect_timeout=STORE_TIMEOUT_SECONDS)
        return storage_from_string(uri)
    except Exception:
        log.critical("door limits: no store at the configured URI; counting in this process's memory",
                     exc_info=True)
        return storage_from_string("memory://")


_building = threading.Lock()


def of(holder: Any, settings: Settings) -> DoorLimits:
    """The limits kept on `holder` (the app's state), built on first use: each app counts its own."""
    found = getattr(holder, "door_limits", None)
    if found is None:
        with _building:
            found = getattr(holder, "door_limits", None)
            if found is None:
                found = DoorLimits(settings)
                holder.door_limits = found
    return found


def phone_key(conversation_id: str, phone: str | None) -> str:
    """A phone door's key: the caller's conversation (a keyed hash of the number), or the shared
    count for withheld numbers (each of their messages is a conversation of its own)."""
    return conversation_id if phone else WITHHELD


def client_address(peer: str | None, forwarded_for: str | None,
                   trusted: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> str:
    """The client's address: the connection's peer, unless the peer is a trusted proxy; then the
    nearest address in X-Forwarded-For that is not itself a trusted proxy (a client can write any
    addresses at the front of the header, never after the proxy's own entry)."""
    address = peer or "unknown"
    if not (trusted and forwarded_for and _trusted(address, trusted)):
        return address
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return address  # a mangled header: the proxy is all that is known
        if not _trusted(hop, trusted):
            return hop
        address = hop
    return address


def _trusted(address: str, trusted: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def established(session: Session, conversation_id: str, *, before_id: int) -> bool:
    """Whether an earlier message of this conversation reached the bot or the safe answer: a
    conversation that never did is new, however many throttled messages it holds."""
    return session.scalar(
        select(ConversationMessage.id).where(
            ConversationMessage.conversation_id == conversation_id, ConversationMessage.direction == "inbound",
            ConversationMessage.id < before_id,
            ConversationMessage.status.in_([TurnStatus.relayed, TurnStatus.safe_answer])).limit(1)
    ) is not None


def answer(session: Session, turn: Turn, *, rule: str, now: datetime, text: str = THROTTLED_TEXT) -> Turn:
    """Answer a stored turn that is over a limit: the safety advice, no relay, no case."""
    log.warning("turn %s over the %s limit: answered without the bot", turn.inbound.id, rule,
                extra={"turn_id": turn.inbound.id, "channel": turn.inbound.channel})
    return turn_store.answer(session, turn, [Reply(text)], now=now, details={"throttled": rule})
