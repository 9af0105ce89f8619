"""A person instead of the bot, and clinician call-backs: the API opens an `advice`
case and decides when someone calls (now, or from the next working-hours start);
the action says exactly that. If the API is down, it gives the direct route."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import equality
from actions import names as n
from actions.api_client import Case, get_api
from actions.config import get_settings
from actions.forms import HelplineFormValidation, now_london
from actions.render import call_by_text, date_text, phone_text
from actions.sync import Outbox, case_fields, conversation_phone

TALK_TO_PERSON = "talk_to_person"


def latest_user_text(tracker: Tracker, intent: str) -> Optional[str]:
    """The text of the last message with `intent` (what the person asked for)."""
    for event in reversed(tracker.events):
        if event.get("event") == "user" and (event.get("parse_data") or {}).get("intent", {}).get("name") == intent:
            text = event.get("text") or ""
            return None if text.startswith("/") else text
    return None


def render_callback(case: Case, phone: Optional[str], dispatcher: CollectingDispatcher,
                    now: Optional[datetime] = None) -> None:
    """Say honestly when someone will call: paged now, from a later time, or queued."""
    decision = case.decision
    if not phone:
        dispatcher.utter_message(response=n.UTTER_CALLBACK_NO_NUMBER, case_ref=case.ref)
        return
    if decision and decision.page_on_call:
        not_before = decision.page_not_before
        later = False
        if not_before:
            try:
                later = datetime.fromisoformat(not_before) > (now or now_london())
            except (TypeError, ValueError):
                later = True
        if later:
            dispatcher.utter_message(response=n.UTTER_CALLBACK_LATER, phone=phone,
                                     call_from=date_text(not_before), case_ref=case.ref)
        elif case.pages_sent:
            dispatcher.utter_message(response=n.UTTER_CALLBACK_NOW, phone=phone, case_ref=case.ref)
        else:
            # "paged" only when a page really went out
            dispatcher.utter_message(response=n.UTTER_CALLBACK_QUEUED, phone=phone, case_ref=case.ref)
    else:
        dispatcher.utter_message(response=n.UTTER_CALLBACK_QUEUED, phone=phone, case_ref=case.ref)


def api_down_route(dispatcher: CollectingDispatcher) -> None:
    oncall = get_settings().oncall_phone
    if oncall:
        dispatcher.utter_message(response=n.UTTER_HANDOFF_API_DOWN, oncall_phone=oncall)
    else:
        dispatcher.utter_message(response=n.UTTER_HANDOFF_API_DOWN_NO_NUMBER)


async def request_callback(tracker: Tracker, dispatcher: CollectingDispatcher, *, line: str, topic: str,
                           question: str, summary: str) -> List[EventType]:
    phone = phone_text(tracker.get_slot(n.SLOT_CALLBACK_PHONE)) or tracker.get_slot(n.SLOT_SENDER_PHONE)
    body: Dict[str, Any] = case_fields(tracker, line=line, kind="advice")
    body["answers"] = {"topic": topic, "question": question}
    body["summary"] = summary
    if phone:
        body["contact"] = {"phone": phone}
    outbox = Outbox.from_tracker(get_api(), tracker)
    result = await outbox.create_case(body)
    if result.ok:
        outbox.announce_synced(dispatcher)
        render_callback(result.case, phone, dispatcher)
    else:
        api_down_route(dispatcher)
    related = tracker.get_slot(n.SLOT_CASE_REF)
    if related and result.ok:
        await outbox.add_note(
            related, f"Asked to talk to a person; call-back case {result.case.ref}, number {phone or 'not given'}")
    slots = outbox.slots()
    slots[n.SLOT_CASE_REF] = related or (result.case.ref if result.ok else None)
    return [SlotSet(k, v) for k, v in slots.items()]


class ValidateHandoffForm(HelplineFormValidation):
    def name(self) -> Text:
        return n.VALIDATE_HANDOFF_FORM

    def readers(self):
        from actions.common import callback_phone_reader
        return {n.SLOT_CALLBACK_PHONE: callback_phone_reader(self)}

    async def validate_callback_phone(self, value, dispatcher, tracker, domain):
        if value == n.UNKNOWN:
            # "not known" from an earlier form: a person is wanted now, so ask (or offer
            # the number the message came from) once more
            return {n.SLOT_CALLBACK_PHONE: None}
        from actions.common import read_callback_phone
        return await read_callback_phone(self, value, dispatcher, tracker, domain)


class ActionHandoff(Action):
    def name(self) -> Text:
        return n.ACTION_HANDOFF

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        line = tracker.get_slot(n.SLOT_LINE)
        asked = latest_user_text(tracker, n.INTENT_REQUEST_HUMAN) or "Asked to talk to a person"
        if line != "manager":
            # The sharps line (or no line chosen yet) has a person on call at every hour.
            events = await page_a_person(tracker, dispatcher, asked)
        else:
            related = tracker.get_slot(n.SLOT_CASE_REF)
            summary = "Asked to talk to a person" + (f" (about case {related})" if related else "")
            events = await request_callback(tracker, dispatcher, line=line, topic=TALK_TO_PERSON,
                                            question=asked, summary=summary)
        # asked in the middle of the optional equality questions: what was answered is sent, unless
        # the API just failed (something kept for later) and the person would wait another timeout
        kept = any(e.get("event") == "slot" and e.get("name") == n.SLOT_PENDING_SYNC and e.get("value")
                   for e in events)
        closed, _ = await equality.close(tracker, api_reachable=not kept)
        return events + closed


async def page_a_person(tracker: Tracker, dispatcher: CollectingDispatcher, asked: str) -> List[EventType]:
    """Page the on-call ladder on this conversation's sharps case (opened now if there is none
    yet), and say honestly what happened: paged, already paged, accepted by someone, or nobody
    reachable (then A&E or NHS 111, never "wait")."""
    from actions.sharps import say_call_by, sharps_payload
    slots = dict(tracker.slots)
    phone = phone_text(slots.get(n.SLOT_CALLBACK_PHONE)) or conversation_phone(tracker)
    outbox = Outbox.from_tracker(get_api(), tracker)
    sent = await outbox.send_sharps(case_fields(tracker, line="sharps", kind="exposure"),
                                    sharps_payload(slots, conversation_phone(tracker), provisional=False))
    before = sent.case
    result = await outbox.request_person(before.ref, asked) if before is not None else sent
    case = result.case
    if case is None:
        api_down_route(dispatcher)
    elif case.accepted_by and phone:
        dispatcher.utter_message(response=n.UTTER_PERSON_ACCEPTED, practitioner=case.accepted_by, phone=phone,
                                 case_ref=case.ref)
    elif case.page_waiting and not phone:
        dispatcher.utter_message(response=n.UTTER_PERSON_PAGED_NO_NUMBER, case_ref=case.ref)
    elif case.page_waiting and before is not None and before.pages_sent:
        dispatcher.utter_message(response=n.UTTER_PERSON_ALREADY_PAGED, phone=phone, case_ref=case.ref,
                                 paged_at=call_by_text(case.first_paged_at, now_london()))
        say_call_by(case, dispatcher)
    elif case.page_waiting:
        dispatcher.utter_message(response=n.UTTER_PERSON_PAGED, phone=phone, case_ref=case.ref)
        say_call_by(case, dispatcher)
    else:
        dispatcher.utter_message(response=n.UTTER_PERSON_NOT_PAGED, case_ref=case.ref)
    updates = outbox.slots()
    updates[n.SLOT_LINE] = "sharps"
    return [SlotSet(k, v) for k, v in updates.items()]
