"""Crisis words, in any state: the emergency route first, then the API pages on-call
and the case goes to the highest urgency; any form is closed."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import names as n
from actions.api_client import get_api
from actions.sync import Outbox, case_fields, conversation_phone

MAX_QUOTE = 500


class ActionCrisis(Action):
    def name(self) -> Text:
        return n.ACTION_CRISIS

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        # 1. The emergency route, before anything that could fail or take time.
        dispatcher.utter_message(response=n.UTTER_CRISIS)

        # 2. Page on-call through the API: flag the open case, or open a crisis case.
        outbox = Outbox.from_tracker(get_api(), tracker)
        said = ((tracker.latest_message or {}).get("text") or "")[:MAX_QUOTE]
        ref = tracker.get_slot(n.SLOT_CASE_REF)
        result = None
        if ref:
            result = await outbox.update_case(ref, {"answers": {"crisis": True},
                                                    "summary": f"Crisis words in the conversation: \"{said}\""})
            if not result.ok and not result.unavailable:
                result = None  # refused (e.g. unknown ref): open a crisis case instead
        if result is None:
            body: Dict[str, Any] = case_fields(tracker, line=tracker.get_slot(n.SLOT_LINE) or "sharps", kind="crisis")
            body["answers"] = {"crisis": True}
            body["summary"] = f"Crisis words in the conversation: \"{said}\""
            phone = conversation_phone(tracker)
            if phone:
                body["contact"] = {"phone": phone}
            result = await outbox.create_case(body)
        if result.ok:
            dispatcher.utter_message(response=n.UTTER_CRISIS_PAGED, case_ref=result.case.ref)
        else:
            dispatcher.utter_message(response=n.UTTER_CRISIS_NOT_PAGED)

        slots = outbox.slots()
        slots[n.SLOT_CASE_REF] = ref or (result.case.ref if result.ok else None)
        # 3. No more questions: close whatever form was open.
        return [SlotSet(k, v) for k, v in slots.items()] + [ActiveLoop(None), SlotSet(n.SLOT_REQUESTED, None)]
