"""Reminder texts for follow-ups, only with the worker's agreement given in the conversation.

At the end of a sharps report (ActionSharpsSubmit), when the case exists and the number on it
is a UK mobile, the bot asks whether it may text a reminder on the morning a follow-up is due,
instead of the rating question; the answer goes to POST /api/cases/{ref}/reminder-consent and
the rating question follows. Only a clear yes is consent: a hedge, or words that read as
neither, record nothing. Anything else the person says (crisis words, a person, a new
exposure, a correction, a question) is handled by its own rule, as before: the question is
not a form, so it never holds anyone.
"""
from __future__ import annotations

import re
from typing import Any, List, Mapping, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import names as n
from actions import parsing
from actions.api_client import get_api
from actions.forms import latest_intent
from actions.render import phone_text
from actions.sync import Outbox

# A UK mobile in E.164: 071-075 and 077-079 (070 personal numbers and 076 pagers take no texts),
# as api/core/phones.py is_uk_mobile decides for the reminders (the action server cannot import it).
UK_MOBILE = re.compile(r"\+447[1-57-9]\d{8}")
YES = "yes"
NO = "no"
NOT_CLEAR = "not_clear"
# Words that make any answer a hedge, even next to a yes ("yes maybe"): not agreement.
HEDGES = ("maybe", "perhaps", "possibly", "probably", "might", "not sure", "unsure", "think about it",
          "let me think", "later", "depends", "i guess", "suppose")
# Agreement in words the yes/no reader does not know ("go on then").
YES_PHRASES = ("go on", "go ahead", "why not", "of course", "please do", "fine by me", "thats fine")
# Messages that may come between a yes/no question and its answer without closing the question:
# a question about privacy or the bot, "say that again", a correction of the summary.
KEEP_QUESTION_OPEN = frozenset({n.INTENT_PRIVACY, n.INTENT_BOT_CHALLENGE, n.INTENT_REPEAT, n.INTENT_OUT_OF_SCOPE,
                                n.INTENT_ASK_REFERENCE, n.INTENT_CORRECT_ANSWER, n.INTENT_THANK})


def is_uk_mobile(number: Optional[str]) -> bool:
    return bool(number) and bool(UK_MOBILE.fullmatch(str(number)))


def case_mobile(slots: Mapping[str, Any], sender_phone: Optional[str]) -> Optional[str]:
    """The number the case holds (the call-back number, else the one the person wrote or called
    from: sharps_contact), if it is a UK mobile."""
    phone = phone_text(slots.get(n.SLOT_CALLBACK_PHONE)) or sender_phone
    return phone if is_uk_mobile(phone) else None


def should_ask(slots: Mapping[str, Any], case_ref: Optional[str], sender_phone: Optional[str]) -> bool:
    return bool(case_ref) and case_mobile(slots, sender_phone) is not None


def question_open(tracker: Tracker, question: str) -> bool:
    """Whether the latest message answers `question` (a response name): it was the last question
    asked in this session, and only messages that leave it open came after it."""
    events = list(tracker.events)
    latest = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=len(events))
    for event in reversed(events[:latest]):
        kind = event.get("event")
        if kind in ("session_started", "restart"):
            return False
        if kind == "active_loop" and event.get("name"):
            return False  # a form started since
        if kind == "user":
            intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            if intent not in KEEP_QUESTION_OPEN:
                return False
        if kind == "bot":
            said = (event.get("metadata") or {}).get("utter_action") or ""
            if said == question:
                return True
            if said.startswith(n.UTTER_ASK_PREFIX):
                return False  # another question was asked since
    return False


def read_answer(text: Optional[str], intent: Optional[str]) -> str:
    """YES only for a clear yes (the words and the intent agree, or a Yes button); NO for a
    clear no; anything else, hedges first, is NOT_CLEAR."""
    raw = (text or "").strip()
    if raw.startswith("/"):  # a button: its intent is the answer
        return {n.INTENT_AFFIRM: YES, n.INTENT_DENY: NO}.get(intent or "", NOT_CLEAR)
    norm = parsing.normalise(raw)
    if not norm or intent == n.INTENT_DONT_KNOW or parsing.is_dont_know(norm) or \
            any(f" {h} " in f" {norm} " for h in HEDGES):
        return NOT_CLEAR
    said = {parsing.parse_yes_no_unknown(word) for word in norm.split()}
    if {n.YES, n.NO} <= said:  # "yes and no", "yes, no wait"
        return NOT_CLEAR
    words = parsing.parse_yes_no_unknown(norm)
    if words is None and intent != n.INTENT_DENY and any(f" {p} " in f" {norm} " for p in YES_PHRASES):
        words = n.YES
    if intent == n.INTENT_AFFIRM and words in (n.YES, None):
        return YES
    if intent == n.INTENT_DENY and words in (n.NO, None):
        return NO
    if intent not in (n.INTENT_AFFIRM, n.INTENT_DENY) and words in (n.YES, n.NO):
        return YES if words == n.YES else NO
    return NOT_CLEAR


def words_of(text: Optional[str], answer: str) -> str:
    """What the person said, as the case records it (a button press as the button's word)."""
    raw = " ".join((text or "").split())
    if not raw or raw.startswith("/"):
        return f"{answer} (button)"
    return raw


def ask_events(dispatcher: CollectingDispatcher, slots: Mapping[str, Any], case_ref: Optional[str],
               sender_phone: Optional[str]) -> List[EventType]:
    """The last question of a sharps report: reminder texts when they could go, else the rating."""
    if should_ask(slots, case_ref, sender_phone):
        dispatcher.utter_message(response=n.UTTER_ASK_REMINDER_CONSENT)
        return [SlotSet(n.SLOT_AWAITING_ANSWER, n.AWAITING_REMINDER_CONSENT)]
    dispatcher.utter_message(response=n.UTTER_ASK_RATING)
    return [SlotSet(n.SLOT_AWAITING_ANSWER, None)]


class ActionReminderConsent(Action):
    """The answer to the reminder question: sent to the case, confirmed in one line, then the
    rating question."""

    def name(self) -> Text:
        return n.ACTION_REMINDER_CONSENT

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        events: List[EventType] = [SlotSet(n.SLOT_AWAITING_ANSWER, None)]
        ref = tracker.get_slot(n.SLOT_CASE_REF)
        if not ref or not question_open(tracker, n.UTTER_ASK_REMINDER_CONSENT):
            # a yes or no meant for something else is never taken as consent
            dispatcher.utter_message(response=n.UTTER_ANSWER_UNCLEAR)
            return events
        text = (tracker.latest_message or {}).get("text")
        answer = read_answer(text, latest_intent(tracker))
        if answer == NOT_CLEAR:
            dispatcher.utter_message(response=n.UTTER_REMINDER_CONSENT_HEDGE)
            dispatcher.utter_message(response=n.UTTER_ASK_RATING)
            return events
        agreed = answer == YES
        outbox = Outbox.from_tracker(get_api(), tracker)
        await outbox.record_reminder_consent(ref, agreed, words_of(text, answer))
        dispatcher.utter_message(response=confirmation(agreed, outbox))
        dispatcher.utter_message(response=n.UTTER_ASK_RATING)
        return events + [SlotSet(k, v) for k, v in outbox.slots().items()]


def confirmation(agreed: bool, outbox: Outbox) -> str:
    """One line that says what really happened to the answer."""
    saved = outbox.last_consent
    if not agreed:
        # not sending is the safe side: a kept or refused "no" still means no texts from this answer
        return n.UTTER_REMINDER_CONSENT_NO
    if saved is not None:
        return n.UTTER_REMINDER_CONSENT_YES if saved.phone else n.UTTER_REMINDER_CONSENT_NO_MOBILE
    if outbox.consent_waiting:
        return n.UTTER_REMINDER_CONSENT_KEPT
    return n.UTTER_REMINDER_CONSENT_NOT_SAVED

