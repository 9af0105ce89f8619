"""Crisis words, in any state: the emergency route first, then the API pages on-call
and the case goes to the highest urgency; any form is closed.

The crisis guard (bot/components/crisis_guard.py) forces the `crisis` intent on the
caller's own crisis words, on threats to someone else's life and on words nobody can
place; the classifier adds the ways of saying it no word list covers. Words about a
patient, or about the past ("she took an overdose last year"), are not forced: a
referral form goes on (actions/manager.py). When the guard marked the message, the case
records what it read: the phrase, whose it seemed to be and the lexicon version."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import equality
from actions import names as n
from actions.api_client import get_api
from actions.sync import Outbox, case_fields, conversation_phone

MAX_QUOTE = 500
# The crisis guard's mark on the message (bot/components/crisis_guard.py, MATCH_KEY).
CRISIS_GUARD_KEY = "crisis_guard"
# Forms of the manager line: a crisis there opens a manager-line case.
MANAGER_FORMS = (n.FORM_REFERRAL, n.FORM_REFERRAL_STATUS, n.FORM_CLINICIAN)


def crisis_answers(tracker: Tracker) -> Dict[str, Any]:
    """{"crisis": true}, with what the guard read when it marked the message."""
    answers: Dict[str, Any] = {"crisis": True}
    mark = (tracker.latest_message or {}).get(CRISIS_GUARD_KEY)
    if isinstance(mark, dict) and mark.get("phrase"):
        answers["crisis_words"] = {k: mark.get(k) for k in ("phrase", "whose", "lexicon_version")}
    return answers


def crisis_line(tracker: Tracker) -> str:
    line = tracker.get_slot(n.SLOT_LINE)
    if line:
        return line
    return "manager" if tracker.active_loop.get("name") in MANAGER_FORMS else "sharps"


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
            result = await outbox.update_case(ref, {"answers": crisis_answers(tracker),
                                                    "summary": f"Crisis words in the conversation: \"{said}\""})
            if not result.ok and not result.unavailable:
                result = None  # refused (e.g. unknown ref): open a crisis case instead
        if result is None:
            body: Dict[str, Any] = case_fields(tracker, line=crisis_line(tracker), kind="crisis")
            body["answers"] = crisis_answers(tracker)
            body["summary"] = f"Crisis words in the conversation: \"{said}\""
            phone = conversation_phone(tracker)
            if phone:
                body["contact"] = {"phone": phone}
            result = await outbox.create_case(body)
        if result.ok and result.case.pages_sent:
            # "alerted" only when a page really went out
            dispatcher.utter_message(response=n.UTTER_CRISIS_PAGED, case_ref=result.case.ref)
        else:
            dispatcher.utter_message(response=n.UTTER_CRISIS_NOT_PAGED)

        slots = outbox.slots()
        slots[n.SLOT_CASE_REF] = ref or (result.case.ref if result.ok else None)
        # 3. No more questions: close whatever form was open (optional equality answers given so
        # far are sent, apart from the case, after the page).
        closed, _ = await equality.close(tracker, api_reachable=not result.unavailable)
        return [SlotSet(k, v) for k, v in slots.items()] + closed + [ActiveLoop(None), SlotSet(n.SLOT_REQUESTED, None)]
