"""Small helpers to show answers and API results through domain responses.
Words shown to people come from domain.yml (the `utter_answer_labels` data
response), never from Python strings."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Dict, Iterable, List, Optional

from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import names as n
from actions.api_client import Advice
from actions.forms import LONDON

def _data(domain: DomainDict, response: str) -> Dict[str, Any]:
    variants = (domain.get("responses") or {}).get(response) or [{}]
    return variants[0].get("custom") or {}


def labels(domain: DomainDict) -> Dict[str, Any]:
    return _data(domain, n.UTTER_ANSWER_LABELS)


def fallback_labels(domain: DomainDict) -> Dict[str, str]:
    return _data(domain, n.UTTER_FALLBACK_LABELS)


def label(domain: DomainDict, group: str, value: Any) -> str:
    """The words for a stored value; a list is joined; None/unknown -> "not known"."""
    table = labels(domain)
    unknown = table.get("unknown_value", n.UNKNOWN)
    if value is None:
        return unknown
    if isinstance(value, (list, tuple)):
        return ", ".join(label(domain, group, v) for v in value) or unknown
    return str((table.get(group) or {}).get(value, unknown if value == n.UNKNOWN else value))


def when_text(value: Any, domain: DomainDict) -> str:
    """An ISO time shown as "Sun 23 Nov, 14:05" (London time)."""
    if not value or value == n.UNKNOWN:
        return label(domain, "occurred_at", n.UNKNOWN)
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(LONDON)
    return moment.strftime("%a %d %b, %H:%M")


def date_text(value: Any) -> str:
    try:
        # Python 3.10's fromisoformat does not read the API's "Z" suffix.
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except (TypeError, ValueError):
        return str(value or "")
    if moment.tzinfo is not None:
        moment = moment.astimezone(LONDON)
    return moment.strftime("%d %b %Y, %H:%M")


# First aid is always the first reply, before any question: not repeated from the API.
ALREADY_SAID = ("first_aid_",)


def day_text(value: Any) -> str:
    """"2026-11-03" -> "3 Nov 2026"."""
    try:
        day = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return f"{day.day} {day.strftime('%b %Y')}"


def unsaid(advice: Iterable[Advice], said: Iterable[str]) -> List[Advice]:
    """The items still to say, in the API's order (most urgent first); first aid is the
    opening message's, and each item is said once."""
    done = set(said or ())
    return [a for a in advice if not a.code.startswith(ALREADY_SAID) and a.code not in done]


def show_advice(dispatcher: CollectingDispatcher, items: List[Advice], channel: Optional[str]) -> None:
    """Every item, in the channel's form: the web one message per item with its source; a text
    one message, sources once at the end (fewer segments); a call one spoken block the caller
    can hear again. Nothing is capped: what the rules give reaches the person."""
    if not items:
        return
    if channel in ("sms", "voice"):
        # a call marks the block so the caller can press star to hear it again (api/channels/voice.py)
        dispatcher.utter_message(response=n.UTTER_API_ADVICE_PLAIN,
                                 advice_text=("\n\n" if channel == "sms" else " ").join(a.text for a in items),
                                 **({"json_message": {"advice": True}} if channel == "voice" else {}))
        sources = list(dict.fromkeys(a.source for a in items if a.source))
        if channel == "sms" and sources:
            dispatcher.utter_message(response=n.UTTER_API_ADVICE_SOURCES, advice_sources="; ".join(sources))
        return
    for item in items:
        dispatcher.utter_message(response=n.UTTER_API_ADVICE, advice_text=item.text,
                                 advice_source=item.source or "OH helpline")


def call_by_text(value: Optional[str], now: Optional[datetime] = None) -> Optional[str]:
    """"03:40", or "03:40 on Tue 2 Dec" when it is not today (London time)."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    moment = moment.astimezone(LONDON)
    today = (now or datetime.now(timezone.utc)).astimezone(LONDON).date()
    clock = moment.strftime("%H:%M")
    if moment.date() == today:
        return clock
    return f"{clock} on {moment.strftime('%a')} {moment.day} {moment.strftime('%b')}"


def phone_text(value: Optional[str]) -> Optional[str]:
    if not value or value == n.UNKNOWN:
        return None
    return value
