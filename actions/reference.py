""""What's my reference?": the case reference this conversation was given, said again.

Works anywhere, including in the middle of the sharps form or the referral form (the rules
in data/rules/reference.yml run the form again afterwards, so it asks its question again).
"""
from __future__ import annotations

from typing import List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import names as n


class ActionSayReference(Action):
    def name(self) -> Text:
        return n.ACTION_SAY_REFERENCE

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        ref = tracker.get_slot(n.SLOT_CASE_REF)
        if ref:
            dispatcher.utter_message(response=n.UTTER_YOUR_REFERENCE, case_ref=ref)
        else:
            # Nothing recorded yet (or the API was down and the report waits to be sent):
            # never a made-up or guessed reference.
            dispatcher.utter_message(response=n.UTTER_NO_REFERENCE_YET)
        return []
