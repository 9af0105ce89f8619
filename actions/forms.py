"""What every form shares: reading an answer kindly.

- "don't know" is always a valid answer (stored as "unknown");
- a bare number picks the nth option (the same order as the buttons in domain.yml);
- an answer that cannot be read is asked again with an example; after two misses the
  slot is set to "unknown", the person is told so, and the form moves on;
- `required_slots` may skip questions that do not apply; the next question is always
  chosen here (never left to Rasa's default order), so skipping is predictable.

Form slots use `custom` mappings: `extract_<slot>` (here, for every slot in `readers()`)
takes the latest message as the answer to the question just asked. Crisis words never
count as an answer, so the form rejects and the crisis rule runs. Other "interrupting"
intents (talk to a person, stop, a question about privacy...) interrupt only when the
text does not read as an answer to the question: "neither" stays an answer even if the
classifier calls it `stop`, and "phone" stays an appointment type.

A message written without seeing the question is never taken as its answer: when the
API had to give its safe answer for the previous turn (Rasa too slow or down), the person
never saw what the bot asked then, so the API marks the next message `missed_reply` and
the form says so and asks its question again (a "no" meant for something else must not
become "the source patient has no blood-borne virus").

Subclasses define `readers()` and one `validate_<slot>` per slot (a one-liner over `read`).
"""
from __future__ import annotations

import re
from abc import abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, ClassVar, Dict, Iterable, List, Optional, Sequence, Text, Tuple
from zoneinfo import ZoneInfo

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from actions import names as n
from actions import parsing
from actions.channel import channel_switch

TZ_NAME = "Europe/London"
LONDON = ZoneInfo(TZ_NAME)
MAX_MISSES = 2

Slots = Dict[Text, Any]


def now_london() -> datetime:
    return datetime.now(LONDON)


@dataclass(frozen=True)
class Option:
    """One answer to a choice question: the value stored, the button's words (same
    order as the buttons), and other words people use for it."""

    value: str
    label: str
    words: Tuple[str, ...] = ()


@dataclass(frozen=True)
class Choices:
    options: Tuple[Option, ...]
    # entity name -> {entity value -> option value}, e.g. fluid entities
    entities: Dict[str, Dict[str, str]] = field(default_factory=dict)
    # values the free-text reader may give that have no button (never picked by number)
    hidden: Tuple[str, ...] = ()

    @property
    def values(self) -> List[str]:
        return [o.value for o in self.options]

    def canonical(self, value: Any) -> bool:
        return value in self.values or value in self.hidden

    def pick(self, text: str, entities: Sequence[Dict[str, Any]] = ()) -> Optional[str]:
        """One value from a reply: a number, the button's words, an entity, or a keyword."""
        if self.canonical(text):  # already canonical (pre-filled by an action)
            return text
        found = {self.entities[e["entity"]][str(e.get("value"))]
                 for e in entities
                 if e.get("entity") in self.entities and str(e.get("value")) in self.entities[e["entity"]]}
        if len(found) == 1:
            return found.pop()
        label = parsing.parse_choice(text, [o.label for o in self.options])
        if label is not None:
            return next(o.value for o in self.options if o.label == label)
        return _best_keyword(text, self.options)

    def pick_many(self, text: str, entities: Sequence[Dict[str, Any]] = ()) -> Optional[List[str]]:
        """Several values ("1 and 3", "hiv and hep c"), in option order; None if unreadable."""
        if isinstance(text, list):
            return [v for v in text if self.canonical(v)] or None
        norm = parsing.normalise(text)
        picked: set = set()
        numbers = re.findall(r"\d+", norm)
        if numbers and re.fullmatch(r"[\d\s]*(?:(?:and|or|&)\s*[\d\s]*)*", norm):
            for number in numbers:
                index = int(number)
                if not 1 <= index <= len(self.options):
                    return None
                picked.add(self.options[index - 1].value)
        else:
            for e in entities:
                mapped = self.entities.get(e.get("entity"), {}).get(str(e.get("value")))
                if mapped:
                    picked.add(mapped)
            for option in self.options:
                if any(_has_words(norm, w) for w in (option.label, *option.words)):
                    picked.add(option.value)
            if not picked:
                single = self.pick(text, entities)
                if single:
                    picked.add(single)
        return [v for v in self.values if v in picked] or None


def _has_words(norm_text: str, phrase: str) -> bool:
    phrase = parsing.normalise(phrase)
    return bool(phrase) and f" {phrase} " in f" {norm_text} "


def _best_keyword(text: str, options: Iterable[Option]) -> Optional[str]:
    """The option with the longest matching keyword ("blood stained" beats "blood");
    None if nothing matches or two options tie."""
    norm = parsing.normalise(text)
    scores = {}
    for option in options:
        lengths = [len(parsing.normalise(w)) for w in option.words if _has_words(norm, w)]
        if lengths:
            scores[option.value] = max(lengths)
    if not scores:
        return None
    best = max(scores.values())
    winners = [value for value, score in scores.items() if score == best]
    return winners[0] if len(winners) == 1 else None


YES_NO = Choices((
    Option(n.YES, "Yes"),
    Option(n.NO, "No"),
))


def latest_intent(tracker: Tracker) -> Optional[str]:
    return (tracker.latest_message or {}).get("intent", {}).get("name")


def latest_entities(tracker: Tracker) -> List[Dict[str, Any]]:
    return list((tracker.latest_message or {}).get("entities") or [])


def missed_reply(tracker: Tracker) -> bool:
    """The API's mark on a message sent after the safe answer: the person did not see the
    bot's last reply (api.services.relay, MISSED_REPLY)."""
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    return bool(metadata.get(n.METADATA_MISSED_REPLY))


def said_dont_know(text: Any, tracker: Tracker) -> bool:
    if latest_intent(tracker) == n.INTENT_DONT_KNOW:
        return True
    return isinstance(text, str) and parsing.is_dont_know(text)


def read_yes_no(text: Any, tracker: Tracker) -> Optional[str]:
    """"yes" / "no" from the intent (buttons send /affirm, /deny) or the words."""
    if text in (n.YES, n.NO, n.UNKNOWN):
        return text
    intent = latest_intent(tracker)
    if intent == n.INTENT_AFFIRM:
        return n.YES
    if intent == n.INTENT_DENY:
        return n.NO
    answer = parsing.parse_yes_no_unknown(text if isinstance(text, str) else None)
    return answer


def read_free_text(text: Any, tracker: Tracker) -> Optional[str]:
    if not isinstance(text, str):
        return None
    cleaned = " ".join(text.split())
    if not cleaned or cleaned.startswith("/"):
        return None
    return cleaned[:500]


Reader = Callable[[Any, Tracker], Optional[Any]]


class HelplineFormValidation(FormValidationAction):
    """Base of every `validate_<form>` action (abstract: the action server skips it)."""

    @abstractmethod
    def name(self) -> Text:
        """validate_<form>"""

    #: response to utter when a slot's answer cannot be read (default: per slot)
    REASK: ClassVar[Dict[str, str]] = {}

    def clock(self) -> datetime:
        return now_london()

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        requested = tracker.get_slot(n.SLOT_REQUESTED)
        # A person who moved channel mid-form (a dropped call carried on by text) gets the next
        # question in the new channel's words: the form asks it with these events applied.
        switched = channel_switch(tracker)
        if missed_reply(tracker) and requested in self.readers() and self.extract_answer(requested, tracker):
            dispatcher.utter_message(response=n.UTTER_MISSED_REPLY)
            # A validated slot (even unchanged) keeps the form running, so it asks `requested` again.
            return [*switched, SlotSet(n.SLOT_FORM_RETRIES, tracker.get_slot(n.SLOT_FORM_RETRIES)),
                    SlotSet(n.SLOT_REQUESTED, requested)]
        return [*switched, *await super().run(dispatcher, tracker, domain)]

    # -- which questions, in which order ---------------------------------------------
    def applies(self, slot: Text, slots: Slots) -> bool:
        """Override: False skips a question that does not apply."""
        return True

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> List[Text]:
        return [s for s in domain_slots if self.applies(s, tracker.slots)]

    async def next_requested_slot(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                  domain: DomainDict) -> Optional[EventType]:
        required = await self.required_slots(self.domain_slots(domain), dispatcher, tracker, domain)
        missing = (s for s in required if tracker.slots.get(s) is None)
        return SlotSet(n.SLOT_REQUESTED, next(missing, None))

    # -- extracting the answer to the question just asked ----------------------------------
    #: slots whose answer is free text (any words are a valid answer)
    FREE_TEXT: frozenset = frozenset()

    def readers(self) -> Dict[Text, Reader]:
        """slot -> reader; override."""
        return {}

    def __getattr__(self, name: str):
        if name.startswith("extract_"):
            slot = name[len("extract_"):]
            if slot in self.readers():
                async def _extract(dispatcher, tracker, domain, _slot=slot):
                    return self.extract_answer(_slot, tracker)
                return _extract
        raise AttributeError(name)

    def extract_answer(self, slot: Text, tracker: Tracker) -> Slots:
        if tracker.get_slot(n.SLOT_REQUESTED) != slot or not is_fresh_answer(tracker, self.form_name()):
            return {}
        text = (tracker.latest_message or {}).get("text")
        if text is None:
            return {}
        intent = latest_intent(tracker)
        if intent in ALWAYS_INTERRUPTS:
            return {}
        if slot in self.FREE_TEXT:
            if intent in FREE_TEXT_INTERRUPTS and sounds_like(intent, text):
                return {}
        elif intent in SOFT_INTERRUPTS and self.readers()[slot](text, tracker) is None:
            return {}
        return {slot: text}

    # -- reading one answer ------------------------------------------------------------------
    async def read(self, slot: Text, value: Any, reader: Reader, dispatcher: CollectingDispatcher,
                   tracker: Tracker, domain: DomainDict) -> Slots:
        retries = dict(tracker.get_slot(n.SLOT_FORM_RETRIES) or {})
        answer: Any
        # The intent "don't know" answers the question asked, never a fact volunteered with it.
        asked = tracker.get_slot(n.SLOT_REQUESTED) == slot
        if (asked and said_dont_know(value, tracker)) or (isinstance(value, str) and parsing.is_dont_know(value)):
            answer = n.UNKNOWN
        else:
            answer = reader(value, tracker)
        if answer is None:
            misses = int(retries.get(slot, 0)) + 1
            if misses < MAX_MISSES:
                retries[slot] = misses
                dispatcher.utter_message(response=self.REASK.get(slot, f"{n.UTTER_REASK_PREFIX}{slot}"))
                return {slot: None, n.SLOT_FORM_RETRIES: retries}
            answer = n.UNKNOWN
            dispatcher.utter_message(response=n.UTTER_MARKED_UNKNOWN)
        retries.pop(slot, None)
        result: Slots = {slot: answer, n.SLOT_FORM_RETRIES: retries or None}
        result.update(await self.accepted(slot, answer, dispatcher, tracker, domain))
        return result

    async def accepted(self, slot: Text, value: Any, dispatcher: CollectingDispatcher,
                       tracker: Tracker, domain: DomainDict) -> Slots:
        """Hook after a slot got a value (an answer or "unknown"). Returns more slots."""
        return {}

    # -- readers the subclasses combine ---------------------------------------------------------
    def choice(self, choices: Choices) -> Reader:
        return lambda text, tracker: choices.pick(text, latest_entities(tracker)) if isinstance(text, str) else None

    def choices_many(self, choices: Choices) -> Reader:
        return lambda text, tracker: choices.pick_many(text, latest_entities(tracker))

    def when(self) -> Reader:
        def _read(text: Any, tracker: Tracker) -> Optional[str]:
            if not isinstance(text, str):
                return None
            try:
                return datetime.fromisoformat(text).isoformat()  # already canonical
            except ValueError:
                pass
            moment = parsing.parse_when(text, now=self.clock(), tz=TZ_NAME)
            return moment.isoformat() if moment else None
        return _read

    def phone(self) -> Reader:
        def _read(text: Any, tracker: Tracker) -> Optional[str]:
            for entity in latest_entities(tracker):
                if entity.get("entity") == n.ENTITY_PHONE_NUMBER:
                    found = parsing.parse_phone(str(entity.get("value")))
                    if found:
                        return found
            return parsing.parse_phone(text) if isinstance(text, str) else None
        return _read


def undo_answer_this_turn(tracker: Tracker) -> List[EventType]:
    """Unset the requested slot if this turn's message filled it (e.g. "no" answering
    "do you want to stop?" while the form still had a question open)."""
    requested = tracker.get_slot(n.SLOT_REQUESTED)
    if not requested:
        return []
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return []
        if event.get("event") == "slot" and event.get("name") == requested:
            return [SlotSet(requested, None)]
    return []


# Intents that may interrupt a form. Crisis always does; the rest only when the message
# does not read as an answer (free-text questions: whenever they are predicted).
ALWAYS_INTERRUPTS = {n.INTENT_CRISIS}
SOFT_INTERRUPTS = {n.INTENT_REQUEST_HUMAN, n.INTENT_STOP, n.INTENT_RESTART, n.INTENT_REPEAT,
                   n.INTENT_PRIVACY, n.INTENT_BOT_CHALLENGE, n.INTENT_CORRECT_ANSWER, n.INTENT_OUT_OF_SCOPE,
                   n.INTENT_ASK_REFERENCE}
# Free text accepts anything, so these intents are taken as interruptions there.
FREE_TEXT_INTERRUPTS = SOFT_INTERRUPTS - {n.INTENT_OUT_OF_SCOPE}
# A free-text answer ("weekly catch ups") can be classified as anything, so there an
# interrupting intent also needs one of its own cue words before it wins: the classifier
# alone never takes an answer away from the person.
INTERRUPT_CUES: Dict[str, Tuple[str, ...]] = {
    n.INTENT_REQUEST_HUMAN: ("person", "human", "someone", "somebody", "nurse", "doctor", "speak", "talk", "call me",
                             "ring me", "real"),
    n.INTENT_STOP: ("stop", "cancel", "quit", "enough", "leave it", "forget it", "end"),
    n.INTENT_RESTART: ("start again", "start over", "restart", "reset", "from the beginning", "begin again"),
    n.INTENT_REPEAT: ("again", "repeat", "what was", "didnt get", "didn't get", "say that", "pardon", "sorry what"),
    n.INTENT_PRIVACY: ("privacy", "private", "data", "confidential", "who sees", "who can see", "kept", "gdpr",
                       "record"),
    n.INTENT_BOT_CHALLENGE: ("bot", "robot", "human", "real person", "computer", "automated", "ai"),
    n.INTENT_ASK_REFERENCE: ("reference", "ref", "case number", "case no", "case ref"),
    n.INTENT_CORRECT_ANSWER: ("actually", "change", "meant", "mistake", "wrong", "correct", "sorry it was",
                              "not yesterday", "not today"),
}


def is_interruption(tracker: Tracker) -> bool:
    """The latest message asks for something else (crisis, a person, stop...), so what it
    says must not be taken as answers: the interruption's own rule runs instead."""
    intent = latest_intent(tracker)
    if intent in ALWAYS_INTERRUPTS:
        return True
    text = (tracker.latest_message or {}).get("text") or ""
    return intent in FREE_TEXT_INTERRUPTS and sounds_like(intent, text)


def _words(text: str) -> str:
    return " " + " ".join(re.sub(r"[^a-z0-9]+", " ", re.sub(r"['\u2019]", "", text.lower())).split()) + " "


def sounds_like(intent: Optional[str], text: str) -> bool:
    """True when the text carries one of the intent's own cue words (whole words)."""
    padded = _words(text)
    return any(_words(cue) in padded for cue in INTERRUPT_CUES.get(intent or "", ()))


_SKIPPABLE = {"slot", "active_loop", "loop_interrupted", "user_featurization", "entities"}


def is_fresh_answer(tracker: Tracker, form: str) -> bool:
    """True when this run of the form directly follows a user message (not a re-ask after
    an interruption such as "who sees this?" or "no, carry on")."""
    events = list(tracker.events)
    i = len(events) - 1
    while i >= 0 and events[i].get("event") == "slot":
        i -= 1
    if i >= 0 and events[i].get("event") == "action" and events[i].get("name") == form:
        i -= 1  # the form's own run, added by Rasa for the validation action
    while i >= 0 and events[i].get("event") in _SKIPPABLE:
        i -= 1
    return i >= 0 and events[i].get("event") == "user"
