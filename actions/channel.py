"""Which channel the person is on, from the API relay's metadata on every message.

Responses pick their wording by the `channel` slot (domain.yml: a voice variant on slot
channel == voice; numbered choices on texts). The slot is set when a session starts, and again
whenever the person moves channel mid-conversation (a call that dropped, carried on by text),
so the next question comes in the new channel's words.
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet

from actions import names as n
from actions import parsing
from actions.sync import CHANNELS

# Only a text numbers its choices in words ("Reply 1 for ..."); a call hears "say X, or press 1"
# from its own voice variants, and the web shows buttons.
NUMBERED_CHANNELS = ("sms",)
E164 = re.compile(r"\+\d{8,15}")


def channel_slots(metadata: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """Slots from the API relay's metadata: {"channel": "sms"|"voice"|"web", "phone": "+44..."}."""
    metadata = metadata or {}
    slots: Dict[str, Any] = {}
    channel = metadata.get("channel")
    if channel in CHANNELS:
        slots[n.SLOT_CHANNEL] = channel
        slots[n.SLOT_NUMBERED_CHOICES] = channel in NUMBERED_CHANNELS
    raw = str(metadata.get("phone") or "").strip()
    # The relay sends the sender's E.164 number (from Twilio): keep it even when it is a
    # number that phonenumbers calls invalid (e.g. Ofcom's 07700 900xxx test range).
    phone = parsing.parse_phone(raw) or (raw if E164.fullmatch(raw) else None)
    if phone:
        slots[n.SLOT_SENDER_PHONE] = phone
    return slots


def channel_switch(tracker: Tracker) -> List[EventType]:
    """SlotSets when this message came on another channel than the conversation's slot says."""
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    channel = metadata.get("channel")
    if channel not in CHANNELS or channel == tracker.get_slot(n.SLOT_CHANNEL):
        return []
    return [SlotSet(n.SLOT_CHANNEL, channel), SlotSet(n.SLOT_NUMBERED_CHOICES, channel in NUMBERED_CHANNELS)]
