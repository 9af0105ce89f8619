"""Tracker builders: every test builds exactly the tracker it needs (no JSON files,
nothing shared between tests)."""
from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional, Sequence

from rasa_sdk import Tracker
from rasa_sdk.events import ActionExecuted, SlotSet

from actions import names as n

SENDER = "conv-123"


def parse_data(text: Optional[str], intent: Optional[str], entities: Sequence[Dict[str, Any]] = (),
               metadata: Optional[Dict[str, Any]] = None, ranking: Optional[List[Dict[str, Any]]] = None,
               response_key: Optional[str] = None) -> Dict[str, Any]:
    data: Dict[str, Any] = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.95} if intent else {},
        "entities": [dict(e) for e in entities],
        "intent_ranking": ranking or ([{"name": intent, "confidence": 0.95}] if intent else []),
        "metadata": metadata or {},
    }
    if response_key:
        data["response_selector"] = {n.INTENT_MANAGER_FAQ: {"response": {"intent_response_key": response_key}}}
    return data


def entity(name: str, value: Any) -> Dict[str, Any]:
    return {"entity": name, "value": value}


def user_event(text: Optional[str], intent: Optional[str], entities: Sequence[Dict[str, Any]] = (),
               metadata: Optional[Dict[str, Any]] = None, **extra: Any) -> Dict[str, Any]:
    return {"event": "user", "text": text, "parse_data": parse_data(text, intent, entities, metadata, **extra),
            "metadata": metadata or {}}


def bot_event(text: str, buttons: Optional[List[Dict[str, str]]] = None,
              utter_action: Optional[str] = None) -> Dict[str, Any]:
    """A bot message; `utter_action` as Rasa records a response's name in the event's metadata."""
    return {"event": "bot", "text": text, "data": {"buttons": buttons} if buttons else {},
            "metadata": {"utter_action": utter_action} if utter_action else {}}


def make_tracker(*, text: Optional[str] = None, intent: Optional[str] = None,
                 entities: Sequence[Dict[str, Any]] = (), slots: Optional[Dict[str, Any]] = None,
                 events: Optional[Iterable[Dict[str, Any]]] = None, active_loop: Optional[str] = None,
                 latest_action: str = n.ACTION_LISTEN, metadata: Optional[Dict[str, Any]] = None,
                 sender_id: str = SENDER, ranking: Optional[List[Dict[str, Any]]] = None,
                 response_key: Optional[str] = None) -> Tracker:
    """A tracker whose latest message is `text`/`intent`; `events` come before it unless
    they already contain the user event."""
    history = list(events or [])
    latest = parse_data(text, intent, entities, metadata, ranking, response_key)
    if intent is not None or text is not None:
        history.append(user_event(text, intent, entities, metadata, ranking=ranking, response_key=response_key))
    return Tracker.from_dict({
        "sender_id": sender_id,
        "slots": dict(slots or {}),
        "latest_message": latest,
        "events": history,
        "paused": False,
        "followup_action": None,
        "active_loop": {"name": active_loop} if active_loop else {},
        "latest_action_name": latest_action,
    })


def form_turn(form: str, *, text: Optional[str] = None, intent: str = n.INTENT_INFORM,
              entities: Sequence[Dict[str, Any]] = (), slots: Optional[Dict[str, Any]] = None,
              requested: Optional[str] = None, metadata: Optional[Dict[str, Any]] = None,
              **values: Any) -> Tracker:
    """The tracker a form's validation action sees: the form is active, the latest
    message was just read, and `values` are the trailing SlotSets to validate
    (Tracker.slots_to_validate reads only that trailing run)."""
    current = dict(slots or {})
    current.update(values)
    if requested is None and values:
        requested = next(iter(values))
    current[n.SLOT_REQUESTED] = requested
    events: List[Dict[str, Any]] = [user_event(text, intent, entities, metadata), ActionExecuted(form)]
    events += [SlotSet(name, value) for name, value in values.items()]
    return Tracker.from_dict({
        "sender_id": SENDER,
        "slots": current,
        "latest_message": parse_data(text, intent, entities, metadata),
        "events": events,
        "paused": False,
        "followup_action": None,
        "active_loop": {"name": form},
        "latest_action_name": form,
    })


def responses(dispatcher) -> List[Optional[str]]:
    return [m.get("response") for m in dispatcher.messages]


def slot_events(events: Iterable[Dict[str, Any]]) -> Dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
