"""Who a message is from: the caller's number, and conversation ids that never are that number.

The SMS adapter names its conversations with these, and retention and subject access find a
person's SMS conversation the same way (from the number they give), so they live here,
below both.
"""
from __future__ import annotations

import hashlib
import hmac

from api.services.paging import normalise_number

# Caller ids Twilio sends when the number is withheld (the keypad spellings of
# ANONYMOUS, UNAVAILABLE, RESTRICTED, BLOCKED, UNKNOWN) and their plain-word forms.
WITHHELD = frozenset({
    "", "anonymous", "restricted", "unknown", "unavailable", "private", "blocked", "withheld",
    "+266696687", "+86282452253", "+7378742833", "+2562533", "+8656696",
})


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


def web_client_id(secret: str, address: str) -> str:
    """A web chat client's address as a pseudonym (HMAC with SESSION_SECRET): cookie-less bursts from
    one address are one source for page grouping and abuse marks, and no address is stored."""
    digest = hmac.new(secret.encode(), f"web-client:{address}".encode(), hashlib.sha256).hexdigest()
    return digest[:32]
