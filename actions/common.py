"""What every conversation needs: session start (channel and phone from the relay's
metadata), the two-stage fallback's question, repeat, stop, carry on, the rating,
and asking for a call-back number."""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, ActiveLoop, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import equality
from actions import names as n
from actions.api_client import get_api
from actions.channel import channel_slots
from actions.forms import HelplineFormValidation, latest_entities, read_yes_no, undo_answer_this_turn
from actions.render import fallback_labels
from actions.sharps import send_final
from actions.sync import Outbox

MAX_AFFIRMATION_OPTIONS = 2
# Intents never offered as a "did you mean" button.
NOT_OFFERED = {n.INTENT_NLU_FALLBACK, n.INTENT_OUT_OF_SCOPE, n.INTENT_MANAGER_FAQ, n.INTENT_INFORM,
               n.INTENT_AFFIRM, n.INTENT_DENY, n.INTENT_DONT_KNOW, n.INTENT_RATE, n.INTENT_CORRECT_ANSWER,
               n.INTENT_CRISIS}


class ActionSessionStart(Action):
    def name(self) -> Text:
        return n.ACTION_SESSION_START

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        events: List[EventType] = [SessionStarted()]
        metadata = tracker.get_slot(n.SLOT_SESSION_METADATA)
        events += [SlotSet(k, v) for k, v in channel_slots(metadata).items()]
        events.append(ActionExecuted(n.ACTION_LISTEN))
        return events


class ActionDefaultAskAffirmation(Action):
    """Two-stage fallback, first stage: "Did you mean ...?" with the top intents."""

    def name(self) -> Text:
        return n.ACTION_DEFAULT_ASK_AFFIRMATION

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        labels = fallback_labels(domain)
        ranking = (tracker.latest_message or {}).get("intent_ranking") or []
        buttons = []
        for item in ranking:
            intent = item.get("name")
            if intent in NOT_OFFERED or intent not in labels:
                continue
            buttons.append({"title": labels[intent], "payload": f"/{intent}"})
            if len(buttons) == MAX_AFFIRMATION_OPTIONS:
                break
        buttons.append({"title": labels.get("something_else", "Something else"),
                        "payload": f"/{n.INTENT_OUT_OF_SCOPE}"})
        dispatcher.utter_message(response=n.UTTER_ASK_AFFIRMATION, buttons=buttons)
        return []


class ActionRepeat(Action):
    """Send the bot's last turn again."""

    def name(self) -> Text:
        return n.ACTION_REPEAT

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        last_turn: List[Dict[str, Any]] = []
        seen_user = 0
        for event in reversed(tracker.events):
            if event.get("event") == "user":
                seen_user += 1
                if seen_user == 2:
                    break
            elif event.get("event") == "bot" and seen_user == 1:
                last_turn.insert(0, event)
        if not last_turn:
            dispatcher.utter_message(response=n.UTTER_NOTHING_TO_REPEAT)
        for event in last_turn:
            data = event.get("data") or {}
            dispatcher.utter_message(text=event.get("text"), buttons=data.get("buttons"))
        return []


class ActionStop(Action):
    """Stop: close any form; a sharps case is sent as final with what it has."""

    def name(self) -> Text:
        return n.ACTION_STOP

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        events: List[EventType] = undo_answer_this_turn(tracker)
        dispatcher.utter_message(response=n.UTTER_STOPPED)
        ref = tracker.get_slot(n.SLOT_CASE_REF)
        active = (tracker.active_loop or {}).get("name")
        if tracker.get_slot(n.SLOT_LINE) == "sharps" and active == n.FORM_SHARPS:
            # the outcome so far and what to do: stopping never leaves someone without it
            updates = await send_final(tracker, dispatcher)
            ref = updates.get(n.SLOT_CASE_REF) or ref
            events += [SlotSet(k, v) for k, v in updates.items()]
        # the optional equality questions: what was answered is sent, apart from the case
        closed, sent = await equality.close(tracker)
        if sent is not None:
            dispatcher.utter_message(response=n.UTTER_EQUALITY_SENT_SO_FAR if sent else n.UTTER_EQUALITY_NOT_SENT)
        if ref and active != n.FORM_EQUALITY:
            dispatcher.utter_message(response=n.UTTER_STOPPED_CASE_KEPT, case_ref=ref)
        return events + closed + [ActiveLoop(None), SlotSet(n.SLOT_REQUESTED, None)]


class ActionResumeForm(Action):
    """After "no, don't stop": forget the "no" as an answer, then the form asks again."""

    def name(self) -> Text:
        return n.ACTION_RESUME_FORM

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        dispatcher.utter_message(response=n.UTTER_CONTINUE_OK)
        return undo_answer_this_turn(tracker)


RATING = re.compile(r"\b([1-5])\b")


def read_rating(tracker: Tracker) -> Optional[int]:
    for entity in latest_entities(tracker):
        if entity.get("entity") == n.ENTITY_NUMBER and str(entity.get("value")).strip() in "12345":
            value = str(entity.get("value")).strip()
            if value:
                return int(value)
    match = RATING.search((tracker.latest_message or {}).get("text") or "")
    return int(match.group(1)) if match else None


def rating_was_asked(tracker: Tracker) -> bool:
    """Whether the bot asked for the rating and has not had one since, in this session
    (a correction may come in between). A bare "1" after the greeting is not a score."""
    events = list(tracker.events)
    latest = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=len(events))
    for event in reversed(events[:latest]):  # before the message being read
        kind = event.get("event")
        if kind in ("session_started", "restart"):
            return False
        if kind == "user" and ((event.get("parse_data") or {}).get("intent") or {}).get("name") == n.INTENT_RATE:
            return False
        if kind == "bot":
            said = (event.get("metadata") or {}).get("utter_action")
            if said == n.UTTER_ASK_RATING:
                return True
            if said == n.UTTER_GREET_MENU:
                return False
    return False


class ActionRate(Action):
    """The one-question rating, sent to the case as an event note; then, on the web and by text,
    the offer of the optional equality questions (actions/equality.py)."""

    def name(self) -> Text:
        return n.ACTION_RATE

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        if not rating_was_asked(tracker):
            dispatcher.utter_message(response=n.UTTER_NUMBER_UNCLEAR)
            dispatcher.utter_message(response=n.UTTER_GREET_MENU)
            return []
        rating = read_rating(tracker)
        if rating is None:
            dispatcher.utter_message(response=n.UTTER_RATING_UNREADABLE)
            return []
        dispatcher.utter_message(response=n.UTTER_RATING_THANKS)
        events: List[EventType] = []
        ref = tracker.get_slot(n.SLOT_CASE_REF)
        if ref or (tracker.get_slot(n.SLOT_PENDING_SYNC) or {}).get("sharps"):
            outbox = Outbox.from_tracker(get_api(), tracker)
            await outbox.add_note(
                ref, f"Satisfaction rating: {rating}/5 (channel {tracker.get_slot(n.SLOT_CHANNEL) or 'unknown'})",
                rating=rating,
            )
            events = [SlotSet(k, v) for k, v in outbox.slots().items()]
        # the person's need is met and rated: only now the optional questions
        return events + equality.offer_events(dispatcher, tracker)


# -- the call-back number (sharps_form, clinician_form, handoff_form) -----------------
class ActionAskCallbackPhone(Action):
    """Offer the number the SMS came from, if known; otherwise ask for one."""

    def name(self) -> Text:
        return n.ACTION_ASK_CALLBACK_PHONE

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        sender = tracker.get_slot(n.SLOT_SENDER_PHONE)
        if sender and not tracker.get_slot(n.SLOT_CALLBACK_OFFER_DECLINED):
            dispatcher.utter_message(response=n.UTTER_ASK_CALLBACK_PHONE_CONFIRM, sender_phone=sender)
        else:
            dispatcher.utter_message(response=n.UTTER_ASK_CALLBACK_PHONE)
        return []


def callback_phone_reader(form: HelplineFormValidation):
    """A number, or yes/no to the number the message came from (only when offered)."""
    def _read(text: Any, tracker: Tracker) -> Any:
        typed = form.phone()(text, tracker)
        if typed:
            return typed
        if tracker.get_slot(n.SLOT_SENDER_PHONE) and not tracker.get_slot(n.SLOT_CALLBACK_OFFER_DECLINED):
            return read_yes_no(text, tracker)
        return None
    return _read


async def read_callback_phone(form: HelplineFormValidation, value: Any, dispatcher: CollectingDispatcher,
                              tracker: Tracker, domain: DomainDict) -> Dict[str, Any]:
    sender = tracker.get_slot(n.SLOT_SENDER_PHONE)
    offered = sender and not tracker.get_slot(n.SLOT_CALLBACK_OFFER_DECLINED)
    typed = form.phone()(value, tracker)
    if typed:
        return await form.read(n.SLOT_CALLBACK_PHONE, typed, lambda v, t: v, dispatcher, tracker, domain)
    if offered:
        answer = read_yes_no(value, tracker)
        if answer == n.YES:
            return await form.read(n.SLOT_CALLBACK_PHONE, sender, lambda v, t: v, dispatcher, tracker, domain)
        if answer == n.NO:
            # ask again, for a number this time (action_ask_callback_phone)
            return {n.SLOT_CALLBACK_PHONE: None, n.SLOT_CALLBACK_OFFER_DECLINED: True}
    return await form.read(n.SLOT_CALLBACK_PHONE, value, form.phone(), dispatcher, tracker, domain)
