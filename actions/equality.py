"""Equality of access: up to six optional questions about the person, asked only after their
need is met (after the rating, on the web and by text; never on a call, never inside another
form), each with "prefer not to say", and "skip" and "stop" at any time.

The answers go to POST /api/equality as codes (docs/contract.md), with the line and channel
only: never the conversation, the case, a name or a number, and never free text. Stopping, crisis
words or asking for a person end the questions and send what was answered; so does leaving for
a new report. Slots are cleared once sent.
"""
from __future__ import annotations

import logging
import re
from typing import Any, Dict, List, Mapping, Optional, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import names as n
from actions import parsing
from actions.api_client import ApiRejected, ApiUnavailable, get_api
from actions.forms import (
    ALWAYS_INTERRUPTS, MAX_MISSES, Choices, HelplineFormValidation, Option, is_fresh_answer, latest_entities,
    latest_intent, said_dont_know,
)
from actions.reminders import YES, question_open, read_answer
from actions.sync import conversation_channel

logger = logging.getLogger(__name__)

SKIPPED = "skipped"  # a question skipped: nothing is sent for it
FINISHED = "finished"  # "finish": this and every question left are skipped, what was answered is sent
PREFER_NOT_TO_SAY = "prefer_not_to_say"
OFFERED_ON = ("web", "sms")  # a call is never asked
LINES = ("sharps", "manager")
SKIP_WORDS = ("skip", "skip it", "skip this", "skip this one", "skip that", "skip that one", "skip question",
              "pass", "next", "next question", "next one")
# By text "STOP" never reaches the bot: Twilio opts the number out of every text from the helpline
# (api/channels/texts.py OPT_OUT). So a text says FINISH; these words end the questions anywhere.
FINISH_WORDS = ("finish", "finished", "done", "im done", "all done", "no more", "no more questions",
                "thats enough", "enough", "thats all")
PREFER_NOT = Option(PREFER_NOT_TO_SAY, "Prefer not to say",
                    ("prefer not to say", "prefer not", "rather not say", "rather not", "id rather not",
                     "not saying", "i wont say", "private"))
OTHER_WORDS = ("other", "another", "any other", "something else")


def _choices(*options: Option) -> Choices:
    return Choices((*options, PREFER_NOT))


AGE_BAND = _choices(
    Option("16-24", "16 to 24", ("16-24", "16 to 24")),
    Option("25-34", "25 to 34", ("25-34", "25 to 34")),
    Option("35-44", "35 to 44", ("35-44", "35 to 44")),
    Option("45-54", "45 to 54", ("45-54", "45 to 54")),
    Option("55-64", "55 to 64", ("55-64", "55 to 64")),
    Option("65+", "65 or over", ("65+", "65 or over", "over 65", "65 plus")),
)
SEX = _choices(
    Option("female", "Female", ("female", "woman")),
    Option("male", "Male", ("male", "man")),
)
ETHNIC_BROAD = _choices(
    Option("white", "White", ("white", "white british", "english", "welsh", "scottish", "irish", "white irish")),
    Option("mixed", "Mixed or multiple ethnic groups",
           ("mixed", "multiple", "dual heritage", "white and black caribbean", "white and black african",
            "white and asian")),
    Option("asian", "Asian or Asian British", ("asian", "asian british", "indian", "pakistani", "bangladeshi")),
    Option("black", "Black, Black British, Caribbean or African",
           ("black", "black british", "caribbean", "african", "black caribbean", "black african")),
    Option("other", "Another ethnic group", ("another", "other", "any other", "chinese", "arab")),
)
# The NHS data dictionary's ethnic category codes within each broad group (docs/contract.md).
ETHNIC_CATEGORY = {
    "white": _choices(
        Option("A", "English, Welsh, Scottish, Northern Irish or British",
               ("british", "english", "welsh", "scottish", "northern irish", "white british")),
        Option("B", "Irish", ("irish", "white irish")),
        Option("C", "Any other White background", OTHER_WORDS),
    ),
    "mixed": _choices(
        Option("D", "White and Black Caribbean", ("white and black caribbean", "black caribbean")),
        Option("E", "White and Black African", ("white and black african", "black african")),
        Option("F", "White and Asian", ("white and asian",)),
        Option("G", "Any other mixed or multiple ethnic background", OTHER_WORDS),
    ),
    "asian": _choices(
        Option("H", "Indian", ("indian",)),
        Option("J", "Pakistani", ("pakistani",)),
        Option("K", "Bangladeshi", ("bangladeshi",)),
        # Chinese is in the "other" group of these codes; offered here too, as people may look for it here
        Option("R", "Chinese", ("chinese",)),
        Option("L", "Any other Asian background", OTHER_WORDS),
    ),
    "black": _choices(
        Option("M", "Caribbean", ("caribbean", "black caribbean")),
        Option("N", "African", ("african", "black african")),
        Option("P", "Any other Black background", OTHER_WORDS),
    ),
    "other": _choices(
        Option("R", "Chinese", ("chinese",)),
        Option("S", "Any other ethnic group", OTHER_WORDS + ("arab",)),
    ),
}
# Categories a word names outright ("indian"); "other" at the first step is never taken as "any other".
NAMED_CATEGORIES = frozenset("ABDEFHJKMNR")
ETHNIC_SLOTS = dict(zip(("white", "mixed", "asian", "black", "other"), n.EQUALITY_ETHNIC_SLOTS, strict=True))
DISABILITY = _choices(
    Option(n.YES, "Yes", ("yes", "yeah", "yep", "i do", "i am")),
    Option(n.NO, "No", ("no", "nope", "i dont", "im not", "none")),
)
STAFF_GROUP = _choices(
    Option("doctor", "Doctor", ("doctor", "gp", "locum", "registrar", "physician", "dr")),
    Option("nurse_or_midwife", "Nurse or midwife",
           ("nurse", "midwife", "practice nurse", "nurse practitioner", "district nurse")),
    Option("healthcare_assistant", "Healthcare assistant",
           ("healthcare assistant", "health care assistant", "hca", "phlebotomist")),
    Option("pharmacist", "Pharmacist", ("pharmacist",)),
    Option("pharmacy_technician_or_assistant", "Pharmacy technician or assistant",
           ("pharmacy technician", "technician", "dispenser", "pharmacy assistant", "counter assistant")),
    Option("allied_health_professional", "Allied health professional (e.g. physiotherapist, paramedic)",
           ("allied health", "ahp", "physio", "physiotherapist", "paramedic", "podiatrist", "dietitian")),
    Option("admin_or_reception", "Admin or reception",
           ("admin", "administrator", "reception", "receptionist", "secretary", "medical secretary")),
    Option("manager", "Manager", ("manager", "practice manager", "pharmacy manager")),
    Option("other", "Other", ("other", "something else")),
)
ORGANISATION_TYPE = _choices(
    Option("gp_practice", "A GP practice", ("gp", "gp practice", "surgery", "practice", "medical centre",
                                           "health centre")),
    Option("community_pharmacy", "A community pharmacy", ("pharmacy", "community pharmacy", "chemist")),
    Option("federation", "A GP federation", ("federation", "gp federation")),
    Option("other", "Somewhere else", ("somewhere else", "other", "elsewhere")),
)
CHOICES: Dict[str, Choices] = {
    n.SLOT_EQUALITY_AGE_BAND: AGE_BAND,
    n.SLOT_EQUALITY_SEX: SEX,
    n.SLOT_EQUALITY_ETHNIC_BROAD: ETHNIC_BROAD,
    **{slot: ETHNIC_CATEGORY[group] for group, slot in ETHNIC_SLOTS.items()},
    n.SLOT_EQUALITY_DISABILITY: DISABILITY,
    n.SLOT_EQUALITY_STAFF_GROUP: STAFF_GROUP,
    n.SLOT_EQUALITY_ORGANISATION_TYPE: ORGANISATION_TYPE,
}
# The contract's question for each slot that is one (the ethnic group is built from two steps).
QUESTIONS = {
    n.SLOT_EQUALITY_AGE_BAND: "age_band",
    n.SLOT_EQUALITY_SEX: "sex",
    n.SLOT_EQUALITY_DISABILITY: "disability",
    n.SLOT_EQUALITY_STAFF_GROUP: "staff_group",
    n.SLOT_EQUALITY_ORGANISATION_TYPE: "organisation_type",
}
# Messages that leave the questions for something else: each has its own rule (data/rules/
# equality.yml, crisis.yml, handoff.yml, general.yml). Anything else that cannot be read is asked
# again, then skipped.
LEAVE_INTENTS = frozenset({
    n.INTENT_CRISIS, n.INTENT_REQUEST_HUMAN, n.INTENT_STOP, n.INTENT_RESTART, n.INTENT_PRIVACY,
    n.INTENT_BOT_CHALLENGE, n.INTENT_REPEAT, n.INTENT_ASK_REFERENCE, n.INTENT_REPORT_SHARPS_INJURY,
    n.INTENT_REPORT_SPLASH, n.INTENT_CHOOSE_SHARPS_LINE, n.INTENT_CHOOSE_MANAGER_LINE, n.INTENT_START_REFERRAL,
    n.INTENT_GOODBYE,
})
AGE = re.compile(r"\b(\d{2,3})\b")
MIN_AGE, MAX_AGE = 16, 120


# -- reading answers (pure) ---------------------------------------------------------------------
def is_skip(text: str) -> bool:
    return parsing.normalise(text) in SKIP_WORDS


def is_finish(text: str) -> bool:
    return parsing.normalise(text) in FINISH_WORDS


def _keyword(text: str, choices: Choices) -> Optional[str]:
    """A value from the option's own words only (never a number or a button position)."""
    norm = f" {parsing.normalise(text)} "
    best: Dict[str, int] = {}
    for option in choices.options:
        lengths = [len(p) for p in (parsing.normalise(w) for w in option.words) if p and f" {p} " in norm]
        if lengths:
            best[option.value] = max(lengths)
    if not best:
        return None
    top = max(best.values())
    winners = [value for value, length in best.items() if length == top]
    return winners[0] if len(winners) == 1 else None


def age_band_of(text: str) -> Optional[str]:
    """"I'm 29" -> "25-34" (a bare 1-7 picks a button instead)."""
    ages = [int(a) for a in AGE.findall(parsing.normalise(text))]
    if len(ages) != 1 or not MIN_AGE <= ages[0] <= MAX_AGE:
        return None
    bounds = ((24, "16-24"), (34, "25-34"), (44, "35-44"), (54, "45-54"), (64, "55-64"))
    return next((band for top, band in bounds if ages[0] <= top), "65+")


def read_choice(slot: str, text: Any, tracker: Optional[Tracker] = None) -> Optional[str]:
    """A code, PREFER_NOT_TO_SAY, SKIPPED, or None when the words say none of them."""
    choices = CHOICES[slot]
    if not isinstance(text, str):
        return None
    if choices.canonical(text) or text == SKIPPED:
        return text
    if not parsing.normalise(text):
        return None
    if is_skip(text):
        return SKIPPED
    if is_finish(text):
        return FINISHED
    # the longest of the options' own words first: "white and black caribbean" is mixed, not white
    picked = _keyword(text, choices) or choices.pick(text, latest_entities(tracker) if tracker else ())
    if picked is None and slot == n.SLOT_EQUALITY_AGE_BAND:
        picked = age_band_of(text)
    if picked is None and slot == n.SLOT_EQUALITY_DISABILITY:
        picked = {n.YES: n.YES, n.NO: n.NO}.get(parsing.parse_yes_no_unknown(text) or "")
    return picked


def is_whole_answer(slot: str, text: str) -> bool:
    """The message is nothing but an answer: a number, skip, or one option's own words. A longer
    message ("talk to a nurse", "blood splashed in my eye at the practice") is not, even if a
    word in it is."""
    norm = parsing.normalise(text)
    if not norm or is_skip(norm) or is_finish(norm) or norm.isdigit():
        return bool(norm)
    return any(norm == parsing.normalise(phrase)
               for option in CHOICES[slot].options for phrase in (option.label, *option.words))


def ethnic_group(slots: Mapping[str, Any]) -> Optional[str]:
    broad = slots.get(n.SLOT_EQUALITY_ETHNIC_BROAD)
    if broad == PREFER_NOT_TO_SAY:
        return PREFER_NOT_TO_SAY
    category = slots.get(ETHNIC_SLOTS.get(broad or "", ""))
    return category if category not in (None, SKIPPED) else None


def equality_answers(slots: Mapping[str, Any]) -> Dict[str, str]:
    """The contract's `answers`: only questions answered (skipped and unasked ones left out)."""
    answers = {key: slots[slot] for slot, key in QUESTIONS.items() if slots.get(slot) not in (None, SKIPPED)}
    group = ethnic_group(slots)
    if group:
        answers["ethnic_group"] = group
    return answers


# -- offering and sending ---------------------------------------------------------------------------
def should_offer(tracker: Tracker) -> bool:
    """After the rating, once per conversation, on the web or by text, outside any form."""
    return (conversation_channel(tracker) in OFFERED_ON and tracker.get_slot(n.SLOT_LINE) in LINES
            and not tracker.get_slot(n.SLOT_EQUALITY_OFFERED) and not (tracker.active_loop or {}).get("name"))


def offer_events(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
    if not should_offer(tracker):
        return []
    dispatcher.utter_message(response=n.UTTER_ASK_EQUALITY_OFFER)
    return [SlotSet(n.SLOT_AWAITING_ANSWER, n.AWAITING_EQUALITY_OFFER), SlotSet(n.SLOT_EQUALITY_OFFERED, True)]


async def send(tracker: Tracker, answers: Dict[str, str]) -> bool:
    """POST /api/equality with the line and channel only. False when it could not be kept."""
    line = tracker.get_slot(n.SLOT_LINE)
    channel = conversation_channel(tracker)
    if line not in LINES or not channel:
        return False
    try:
        await get_api().record_equality(line, channel, answers)
    except (ApiUnavailable, ApiRejected) as exc:
        logger.warning("equality answers not kept: %s", exc)
        return False
    return True


def forget(tracker: Tracker) -> List[EventType]:
    """Events that clear the questions' answers and the waiting offer, sending nothing."""
    events: List[EventType] = [SlotSet(s, None) for s in n.EQUALITY_FORM_SLOTS if tracker.get_slot(s) is not None]
    if tracker.get_slot(n.SLOT_AWAITING_ANSWER) is not None:
        events.append(SlotSet(n.SLOT_AWAITING_ANSWER, None))
    return events


async def close(tracker: Tracker, *, api_reachable: bool = True) -> Tuple[List[EventType], Optional[bool]]:
    """The questions end early (stop, crisis, a person, a new report): what was answered is
    sent. Returns the events that clear them, and whether anything was sent (None: nothing to
    send). When the API just failed (`api_reachable` False) nothing is tried: the person's
    reply (crisis numbers, whom to call) must not wait for another timeout."""
    answers = equality_answers(tracker.slots)
    sent = await send(tracker, answers) if answers and api_reachable else None
    return forget(tracker), sent


# -- actions -----------------------------------------------------------------------------------------
class ActionEqualityReply(Action):
    """The answer to the offer: a clear yes starts equality_form; anything else is a kind close."""

    def name(self) -> Text:
        return n.ACTION_EQUALITY_REPLY

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        if not question_open(tracker, n.UTTER_ASK_EQUALITY_OFFER):
            dispatcher.utter_message(response=n.UTTER_ANSWER_UNCLEAR)
            return [SlotSet(n.SLOT_AWAITING_ANSWER, None)]
        text = (tracker.latest_message or {}).get("text")
        if read_answer(text, latest_intent(tracker)) == YES:
            dispatcher.utter_message(response=n.UTTER_EQUALITY_START)
            return [SlotSet(n.SLOT_AWAITING_ANSWER, n.AWAITING_EQUALITY_QUESTIONS), SlotSet(n.SLOT_FORM_RETRIES, None)]
        dispatcher.utter_message(response=n.UTTER_EQUALITY_DECLINED)
        return [SlotSet(n.SLOT_AWAITING_ANSWER, None)]


class ActionEqualitySubmit(Action):
    """The questions are done: the answers go, apart from everything else, and are forgotten here."""

    def name(self) -> Text:
        return n.ACTION_EQUALITY_SUBMIT

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        answers = equality_answers(tracker.slots)
        if not answers:
            dispatcher.utter_message(response=n.UTTER_EQUALITY_NOTHING)
        elif await send(tracker, answers):
            dispatcher.utter_message(response=n.UTTER_EQUALITY_THANKS)
        else:
            dispatcher.utter_message(response=n.UTTER_EQUALITY_NOT_SENT)
        return forget(tracker) + [SlotSet(n.SLOT_FORM_RETRIES, None)]


class ActionEqualityLeave(Action):
    """Something else comes up mid-questions (a new injury, the manager line, goodbye): the
    answers so far go, silently, and the rule carries on with what the person asked for."""

    def name(self) -> Text:
        return n.ACTION_EQUALITY_LEAVE

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        events, _ = await close(tracker)
        return events + [SlotSet(n.SLOT_FORM_RETRIES, None), ActiveLoop(None), SlotSet(n.SLOT_REQUESTED, None)]


class ActionAskEqualityStaffGroup(Action):
    """The job question: ten choices, more than a call's keypad or domain.yml's button checks
    allow (tests/bot/test_voice_variants.py), so the web's buttons are made here from STAFF_GROUP."""

    def name(self) -> Text:
        return n.ACTION_ASK_EQUALITY_STAFF_GROUP

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        if tracker.get_slot(n.SLOT_NUMBERED_CHOICES):
            dispatcher.utter_message(response=n.UTTER_ASK_EQUALITY_STAFF_GROUP)  # the text numbers them
            return []
        buttons = [{"title": o.label, "payload": str(i)} for i, o in enumerate(STAFF_GROUP.options, start=1)]
        dispatcher.utter_message(response=n.UTTER_ASK_EQUALITY_STAFF_GROUP,
                                 buttons=buttons + [{"title": "Skip", "payload": "skip"}])
        return []


class ValidateEqualityForm(HelplineFormValidation):
    """Choices only (numbers, the buttons' words, a few other words), "prefer not to say" and
    "skip" on every question; an answer that cannot be read is asked once more, then skipped."""

    def name(self) -> Text:
        return n.VALIDATE_EQUALITY_FORM

    def applies(self, slot: Text, slots: Mapping[str, Any]) -> bool:
        if slot in n.EQUALITY_ETHNIC_SLOTS:
            return ETHNIC_SLOTS.get(slots.get(n.SLOT_EQUALITY_ETHNIC_BROAD) or "") == slot
        return True

    def readers(self):
        return {slot: (lambda text, tracker, _slot=slot: read_choice(_slot, text, tracker)) for slot in CHOICES}

    def extract_answer(self, slot: Text, tracker: Tracker) -> Dict[Text, Any]:
        """The message answers the question unless it asks for something else (LEAVE_INTENTS)
        and is more than an answer: then the form lets that intent's rule run ("skip" or "practice
        nurse" stay answers whatever the classifier says; "talk to a nurse" does not)."""
        if tracker.get_slot(n.SLOT_REQUESTED) != slot or not is_fresh_answer(tracker, self.form_name()):
            return {}
        text = (tracker.latest_message or {}).get("text")
        intent = latest_intent(tracker)
        if text is None or intent in ALWAYS_INTERRUPTS:
            return {}
        if intent in LEAVE_INTENTS and not (read_choice(slot, text, tracker) and is_whole_answer(slot, text)):
            return {}
        return {slot: text}

    async def read(self, slot, value, reader, dispatcher, tracker, domain):
        retries = dict(tracker.get_slot(n.SLOT_FORM_RETRIES) or {})
        answer = reader(value, tracker)
        if answer is None and said_dont_know(value, tracker):
            answer = SKIPPED
        if answer == FINISHED:
            # every question not answered yet is skipped: the form ends and what was answered is sent
            left = {s: SKIPPED for s in n.EQUALITY_FORM_SLOTS if tracker.get_slot(s) is None}
            return {**left, slot: SKIPPED, n.SLOT_FORM_RETRIES: None}
        if answer is None:
            misses = int(retries.get(slot, 0)) + 1
            if misses < MAX_MISSES:
                retries[slot] = misses
                dispatcher.utter_message(response=n.UTTER_EQUALITY_REASK)
                return {slot: None, n.SLOT_FORM_RETRIES: retries}
            answer = SKIPPED
            dispatcher.utter_message(response=n.UTTER_EQUALITY_SKIPPED)
        retries.pop(slot, None)
        return {slot: answer, n.SLOT_FORM_RETRIES: retries or None}

    async def _read(self, slot, value, dispatcher, tracker, domain):
        return await self.read(slot, value, self.readers()[slot], dispatcher, tracker, domain)

    # one validate_<slot> per slot ---------------------------------------------------------------
    async def validate_equality_age_band(self, value, dispatcher, tracker, domain):
        return await self._read(n.SLOT_EQUALITY_AGE_BAND, value, dispatcher, tracker, domain)

    async def validate_equality_sex(self, value, dispatcher, tracker, domain):
        return await self._read(n.SLOT_EQUALITY_SEX, value, dispatcher, tracker, domain)

    async def validate_equality_ethnic_broad(self, value, dispatcher, tracker, domain):
        result = await self._read(n.SLOT_EQUALITY_ETHNIC_BROAD, value, dispatcher, tracker, domain)
        group = result.get(n.SLOT_EQUALITY_ETHNIC_BROAD)
        if group in ETHNIC_SLOTS and isinstance(value, str):
            # "white british", "indian": the category is in the words already, so it is not asked
            category = _keyword(value, ETHNIC_CATEGORY[group])
            if category in NAMED_CATEGORIES and _keyword(value, ETHNIC_BROAD) is not None:
                result[ETHNIC_SLOTS[group]] = category
        return result

    async def validate_equality_ethnic_white(self, value, dispatcher, tracker, domain):
        return await self._read(n.SLOT_EQUALITY_ETHNIC_WHITE, value, dispatcher, tracker, domain)

    async def validate_equality_ethnic_mixed(self, value, dispatcher, tracker, domain):
        return await self._read(n.SLOT_EQUALITY_ETHNIC_MIXED, value, dispatcher, tracker, domain)

    async def validate_equality_ethnic_asian(self, value, dispatcher, tracker, domain):
        return await self._read(n.SLOT_EQUALITY_ETHNIC_ASIAN, value, dispatcher, tracker, domain)

    async def validate_equality_ethnic_black(self, value, dispatcher, tracker, domain):
        return await self._read(n.SLOT_EQUALITY_ETHNIC_BLACK, value, dispatcher, tracker, domain)

    async def validate_equality_ethnic_other(self, value, dispatcher, tracker, domain):
        return await self._read(n.SLOT_EQUALITY_ETHNIC_OTHER, value, dispatcher, tracker, domain)

    async def validate_equality_disability(self, value, dispatcher, tracker, domain):
        return await self._read(n.SLOT_EQUALITY_DISABILITY, value, dispatcher, tracker, domain)

    async def validate_equality_staff_group(self, value, dispatcher, tracker, domain):
        return await self._read(n.SLOT_EQUALITY_STAFF_GROUP, value, dispatcher, tracker, domain)

    async def validate_equality_organisation_type(self, value, dispatcher, tracker, domain):
        return await self._read(n.SLOT_EQUALITY_ORGANISATION_TYPE, value, dispatcher, tracker, domain)
