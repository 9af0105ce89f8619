"""Sharps and splash line: open the case, validate the history, re-triage through the
API after each deciding answer, announce an emergency at once, close with a summary.

No clinical rule lives here: the API's decision (urgency, ED, page) is rendered as is.
"""
from __future__ import annotations

import re
from typing import Any, ClassVar, Dict, List, Mapping, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import names as n
from actions import parsing, reminders
from actions.api_client import Case, get_api
from actions import forms
from actions.forms import (
    TZ_NAME, Choices, HelplineFormValidation, Option, is_fresh_answer, is_interruption, latest_entities,
    latest_intent, read_free_text, read_yes_no, said_dont_know, undo_answer_this_turn,
)
from actions.listening import merge
from actions.reader import Heard, read_facts
from actions.render import call_by_text, label, phone_text, show_advice, unsaid, when_text
from actions.safe_advice import give_safe_advice
from actions.sync import CASES as CASES_PENDING
from actions.sync import SHARPS as SHARPS_PENDING
from actions.sync import Outbox, case_fields, conversation_channel, conversation_phone

EMERGENCY = "emergency"
# Key the crisis guard adds to the parse data (bot/components/crisis_guard.py, MATCH_KEY).
CRISIS_GUARD_KEY = "crisis_guard"
# Keys of the `heard` slot besides slot names: the message that opened the case, and crisis
# words in it that did not divert the sharps report (with whose they seemed to be).
FIRST_MESSAGE = "first_message"
CRISIS_WORDS = "crisis_words"
# Slots the sharps actions set that are not questions of the form.
SIDE_SLOTS = (n.SLOT_INJURY_BITE, n.SLOT_PENDING_CHANGE, n.SLOT_PENDING_CHANGE_TEXT, n.SLOT_HEARD)
URGENT = "urgent"
ROUTINE = "routine"

# Option order = button order in domain.yml (a bare number picks the nth).
EXPOSURE = Choices(
    (
        Option("percutaneous", "A needle, sharp or a bite that broke the skin",
               ("needle", "needlestick", "sharp", "scalpel", "stabbed", "stuck", "pricked", "jabbed", "bite", "bit",
                "bitten", "cut")),
        Option("mucocutaneous", "A splash in the eyes, mouth or nose",
               ("splash", "eye", "eyes", "mouth", "nose", "face")),
        Option("non_intact_skin", "Contact with broken skin (a cut, graze or eczema)",
               ("broken skin", "graze", "eczema", "open wound", "cracked skin")),
        Option("intact_skin", "Contact with unbroken skin only",
               ("unbroken skin", "intact skin", "skin only", "on my skin", "healthy skin")),
        Option(n.UNKNOWN, "Don't know"),
    ),
    entities={n.ENTITY_BODY_SITE: {"eye": "mucocutaneous", "mouth": "mucocutaneous",
                                   "nose": "mucocutaneous", "broken_skin": "non_intact_skin"}},
)
FLUID = Choices(
    (
        Option("blood", "Blood", ("blood",)),
        Option("blood_stained", "Fluid with blood in it", ("blood stained", "bloodstained", "bloody", "blood in it")),
        Option("high_risk_other",
               "Another body fluid (semen, vaginal fluid, spinal, joint, chest or belly fluid, amniotic fluid, "
               "breast milk, or tissue)",
               ("semen", "vaginal", "csf", "spinal", "synovial", "pleural", "peritoneal",
                "pericardial", "amniotic", "breast milk", "tissue")),
        Option("low_risk", "Urine, vomit, faeces or saliva with no blood in it",
               ("urine", "wee", "vomit", "sick", "faeces", "poo", "saliva", "spit", "sweat")),
        Option(n.UNKNOWN, "Don't know"),
    ),
    entities={n.ENTITY_FLUID: {"blood": "blood", "blood_stained": "blood_stained",
                               "high_risk_other": "high_risk_other", "low_risk": "low_risk"}},
)
SOURCE_BBV = Choices(
    (
        Option("hiv", "HIV", ("hiv", "aids")),
        Option("hbv", "Hepatitis B", ("hep b", "hepatitis b", "hbv")),
        Option("hcv", "Hepatitis C", ("hep c", "hepatitis c", "hcv")),
        # Only a stated test counts as negative: "no" or "none" to "does or might the patient
        # have..." means "not known to", which is read as unknown (read_source_bbv).
        Option("none", "None of these (tested negative)", ("tested negative", "negative", "all negative",
                                                           "tests negative", "all clear")),
        Option(n.UNKNOWN, "Don't know"),
    ),
    entities={n.ENTITY_VIRUS: {"hiv": "hiv", "hbv": "hbv", "hcv": "hcv"}},
    hidden=("hiv_suspected", "hbv_suspected", "hcv_suspected", "hiv_negative", "hbv_negative", "hcv_negative"),
)
SOURCE_RISK = Choices(
    (
        Option("injecting_drug_use", "Injects drugs", ("drugs", "drug user", "injects", "ivdu", "pwid")),
        Option("high_prevalence_country", "Comes from a country where HIV or hepatitis is common",
               ("country", "abroad", "overseas")),
        Option("msm", "A man who has sex with men", ("msm", "gay", "sex with men")),
        Option("other", "Another risk", ("other", "another")),
        Option("none", "None of these", ("none", "no", "none of them", "nothing")),
        Option(n.UNKNOWN, "Don't know"),
    ),
    hidden=("known_viraemic",),
)
DEVICE = Choices(
    (
        Option("hollow_bore_needle", "A hollow needle (blood test, injection or cannula)",
               ("hollow", "cannula", "venflon", "butterfly", "syringe", "blood test", "injection", "insulin",
                "vaccine")),
        Option("solid_needle", "A solid needle (e.g. suture needle)", ("solid", "suture", "stitch", "acupuncture")),
        Option("scalpel", "A scalpel or blade", ("scalpel", "blade", "knife")),
        Option("lancet", "A lancet (finger-prick)", ("lancet", "finger prick")),
        Option("other", "Something else (e.g. a bite or broken glass)", ("bite", "glass", "something else", "other")),
        Option(n.UNKNOWN, "Don't know"),
    ),
    entities={n.ENTITY_DEVICE: {"hollow_bore_needle": "hollow_bore_needle", "solid_needle": "solid_needle",
                                "scalpel": "scalpel", "lancet": "lancet", "other": "other"}},
)
DEPTH = Choices(
    (
        Option(n.YES, "Deep (a puncture or cut that bled)", ("deep", "puncture", "bled", "bleeding")),
        Option(n.NO, "Shallow (a scratch that didn't bleed)", ("shallow", "scratch", "superficial", "graze")),
        Option(n.UNKNOWN, "Don't know"),
    )
)
HBV = Choices(
    (
        Option("responder", "Yes, and a blood test showed it worked", ("worked", "immune", "responder", "good levels")),
        Option("non_responder", "Yes, but it didn't work for me (non-responder)",
               ("non responder", "didnt work", "not work")),
        Option("partial", "I started the course but didn't finish",
               ("started", "partial", "not finished", "one dose", "two doses")),
        Option("unvaccinated", "No, never", ("never", "not vaccinated", "unvaccinated")),
        Option(n.UNKNOWN, "Don't know"),
    ),
    hidden=("vaccinated",),  # had the course, response not known
)
PREGNANCY = Choices(
    (
        Option("pregnant", "Pregnant", ("pregnant", "expecting")),
        Option("breastfeeding", "Breastfeeding", ("breastfeeding", "breast feeding", "feeding")),
        Option("neither", "Neither", ("neither", "no", "nope", "not pregnant", "none")),
        Option(n.UNKNOWN, "Don't know or rather not say", ("rather not say", "prefer not to say")),
    )
)

YES_NO_SLOTS = (n.SLOT_SOURCE_KNOWN, n.SLOT_SHARPS_CONTINUE, n.SLOT_DEVICE_USED, n.SLOT_DEVICE_IN_VESSEL,
                n.SLOT_VISIBLE_BLOOD, n.SLOT_GLOVES, n.SLOT_INCIDENT_FORM_DONE)


# -- answers in the contract's shape (pure) ----------------------------------------------
def _flag(value: Any) -> Optional[bool]:
    return {n.YES: True, n.NO: False}.get(value)


def _tri(status: Any, virus: str) -> str:
    """A positive is kept whatever else the list says; "might have" is suspected; negative only
    from a stated test."""
    if not isinstance(status, list):
        return "unknown"
    if virus in status:
        return "positive"
    if f"{virus}_suspected" in status:
        return "suspected"
    if f"{virus}_negative" in status or "none" in status:
        return "negative"
    return "unknown"


def _fluid(slots: Mapping[str, Any]) -> Optional[str]:
    """A low-risk fluid counts as low risk only once blood in it is ruled out."""
    fluid = slots.get(n.SLOT_FLUID)
    if fluid == "low_risk":
        return {n.YES: "blood_stained", n.UNKNOWN: n.UNKNOWN}.get(slots.get(n.SLOT_FLUID_BLOOD), fluid)
    return fluid


def sharps_answers(slots: Mapping[str, Any]) -> Dict[str, Any]:
    """The contract's sharps `answers` from the slots answered so far (missing = unknown)."""
    answers: Dict[str, Any] = {}
    occurred = slots.get(n.SLOT_OCCURRED_AT)
    if occurred and occurred != n.UNKNOWN:
        answers["occurred_at"] = occurred
    if slots.get(n.SLOT_EXPOSURE_TYPE):
        answers["exposure_type"] = slots[n.SLOT_EXPOSURE_TYPE]
    if _fluid(slots):
        answers["fluid"] = _fluid(slots)
    device: Dict[str, Any] = {}
    if slots.get(n.SLOT_DEVICE_KIND):
        device["kind"] = slots[n.SLOT_DEVICE_KIND]
    if slots.get(n.SLOT_INJURY_BITE) == n.YES:
        device["bite"] = True
    for slot, key in ((n.SLOT_DEVICE_USED, "used"), (n.SLOT_DEVICE_IN_VESSEL, "in_vein_or_artery"),
                      (n.SLOT_VISIBLE_BLOOD, "visible_blood"), (n.SLOT_INJURY_DEEP, "deep"),
                      (n.SLOT_GLOVES, "gloves")):
        if slots.get(slot):
            device[key] = _flag(slots[slot])
    if device:
        answers["device"] = device
    source: Dict[str, Any] = {}
    if slots.get(n.SLOT_SOURCE_KNOWN):
        source["identified"] = _flag(slots[n.SLOT_SOURCE_KNOWN])
    status = slots.get(n.SLOT_SOURCE_BBV)
    if status:
        source.update({v: _tri(status, v) for v in ("hiv", "hbv", "hcv")})
    risks = slots.get(n.SLOT_SOURCE_RISK)
    if risks:
        if not isinstance(risks, list) or n.UNKNOWN in risks:
            source["risk_factors"] = None
        else:
            source["risk_factors"] = [r for r in risks if r != "none"]
    if source:
        answers["source"] = source
    recipient: Dict[str, Any] = {}
    if slots.get(n.SLOT_HBV_STATUS):
        recipient["hbv_status"] = slots[n.SLOT_HBV_STATUS]
    pregnancy = slots.get(n.SLOT_PREGNANCY)
    if pregnancy:
        known = pregnancy != n.UNKNOWN
        recipient["pregnant"] = (pregnancy == "pregnant") if known else None
        recipient["breastfeeding"] = (pregnancy == "breastfeeding") if known else None
    if recipient:
        answers["recipient"] = recipient
    if slots.get(n.SLOT_INCIDENT_FORM_DONE):
        answers["incident_form_done"] = _flag(slots[n.SLOT_INCIDENT_FORM_DONE])
    if slots.get(n.SLOT_WORKPLACE) and slots[n.SLOT_WORKPLACE] != n.UNKNOWN:
        answers["workplace"] = slots[n.SLOT_WORKPLACE]
    heard = slots.get(n.SLOT_HEARD)
    if isinstance(heard, dict) and heard:
        # the person's own words behind each volunteered answer, for the practitioner
        answers["heard"] = dict(heard)
    return answers


def sharps_contact(slots: Mapping[str, Any], sender_phone: Optional[str]) -> Dict[str, Any]:
    contact: Dict[str, Any] = {}
    for slot, key in ((n.SLOT_REPORTER_NAME, "name"), (n.SLOT_REPORTER_ROLE, "role")):
        if slots.get(slot) and slots[slot] != n.UNKNOWN:
            contact[key] = slots[slot]
    phone = phone_text(slots.get(n.SLOT_CALLBACK_PHONE)) or sender_phone
    if phone:
        contact["phone"] = phone
    return contact


def sharps_payload(slots: Mapping[str, Any], sender_phone: Optional[str], *, provisional: bool) -> Dict[str, Any]:
    payload: Dict[str, Any] = {"answers": sharps_answers(slots), "provisional": provisional}
    contact = sharps_contact(slots, sender_phone)
    if contact:
        payload["contact"] = contact
    return payload


# -- sending and announcing -------------------------------------------------------------------
async def push_sharps(tracker: Tracker, dispatcher: CollectingDispatcher, slots: Mapping[str, Any],
                      *, provisional: bool = True) -> Dict[str, Any]:
    """Send the answers; say the outcome the moment the API decides it; if the API is down,
    give the safe advice. Returns slot updates."""
    outbox = Outbox.from_tracker(get_api(), tracker)
    create = case_fields(tracker, line="sharps", kind="exposure")
    result = await outbox.send_sharps(create, sharps_payload(slots, conversation_phone(tracker),
                                                             provisional=provisional))
    updates: Dict[str, Any] = {}
    if result.case is not None:
        if not tracker.get_slot(n.SLOT_CASE_REF) and tracker.get_slot(n.SLOT_SAFE_ADVICE_GIVEN):
            # an earlier call failed: the case exists only now
            dispatcher.utter_message(response=n.UTTER_API_SYNCED, case_ref=result.case.ref)
        outbox.announce_synced(dispatcher)
        updates.update(await announce_urgency(result.case, slots, dispatcher, outbox, conversation_channel(tracker)))
    elif result.unavailable:
        updates.update(give_safe_advice(dispatcher, slots))
    updates.update(outbox.slots())
    return updates


def page_announced(slots: Mapping[str, Any]) -> bool:
    """The person has been told a page went out (urgent or emergency)."""
    return slots.get(n.SLOT_ANNOUNCED_URGENCY) in (URGENT, EMERGENCY)


def say_call_by(case: Case, dispatcher: CollectingDispatcher) -> None:
    """When to stop waiting for the call: only ever said once a page has really gone out."""
    when = call_by_text(case.call_by, forms.now_london())
    if case.pages_sent and when:
        dispatcher.utter_message(response=n.UTTER_CALL_BY, call_by=when)


async def say_advice(case: Case, slots: Mapping[str, Any], dispatcher: CollectingDispatcher, outbox: Outbox,
                     channel: Optional[str]) -> Dict[str, Any]:
    """Every advice item not said yet, in the channel's form, recorded on the case word for word."""
    said = list(slots.get(n.SLOT_ADVICE_SAID) or [])
    items = unsaid(case.decision.advice if case.decision else [], said)
    if not items:
        return {}
    show_advice(dispatcher, items, channel)
    await outbox.record_said([{"code": a.code, "text": a.text} for a in items], channel)
    return {n.SLOT_ADVICE_SAID: said + [a.code for a in items]}


async def announce_urgency(case: Case, slots: Mapping[str, Any], dispatcher: CollectingDispatcher, outbox: Outbox,
                           channel: Optional[str]) -> Dict[str, Any]:
    """Say the outcome in the turn it is decided: an emergency (go to A&E) always; an urgent case
    once its page is due (not while held for more answers), with the time to stop waiting.
    "Paged" is said only when a page really went out. Once announced, every advice item is
    said as the rules give it."""
    announced = slots.get(n.SLOT_ANNOUNCED_URGENCY)
    decision = case.decision
    updates: Dict[str, Any] = {}
    if case.urgency == EMERGENCY and announced != EMERGENCY:
        dispatcher.utter_message(response=n.UTTER_SHARPS_EMERGENCY if case.pages_sent
                                 else n.UTTER_SHARPS_EMERGENCY_NOT_PAGED, case_ref=case.ref)
        updates[n.SLOT_ANNOUNCED_URGENCY] = EMERGENCY
    elif case.urgency == URGENT and not page_announced(slots) and decision is not None \
            and decision.page_on_call and not decision.page_not_before:
        if case.pages_sent:
            dispatcher.utter_message(response=n.UTTER_SHARPS_URGENT_NOW, case_ref=case.ref)
            say_call_by(case, dispatcher)
        else:
            dispatcher.utter_message(response=n.UTTER_SHARPS_URGENT_NOT_PAGED, case_ref=case.ref)
        updates[n.SLOT_ANNOUNCED_URGENCY] = URGENT
    if updates or page_announced(slots):
        updates.update(await say_advice(case, slots, dispatcher, outbox, channel))
    return updates


def heard_in(text: Any, now) -> Dict[str, Heard]:
    """The facts a message gives, whatever question is open (actions/reader.py)."""
    if not isinstance(text, str) or not text.strip() or text.startswith("/"):
        return {}
    return read_facts(text, now=now, tz=TZ_NAME)


def crisis_words(tracker: Tracker) -> Dict[str, Any]:
    """The crisis guard's mark on the latest message (bot/components/crisis_guard.py):
    the phrase, and whose words they seem to be (caller, other, unclear)."""
    mark = (tracker.latest_message or {}).get(CRISIS_GUARD_KEY)
    return mark if isinstance(mark, dict) else {}


def prefill_from_first_message(tracker: Tracker, now) -> Dict[str, Any]:
    """Every answer the first message already gives ("needlestick, the patient has HIV,
    10 minutes ago"), and the words each came from."""
    text = (tracker.latest_message or {}).get("text")
    heard = heard_in(text, now)
    found: Dict[str, Any] = {slot: fact.value for slot, fact in heard.items()}
    words = {slot: fact.words for slot, fact in heard.items()}
    for slot, value in prefill_from_entities(tracker).items():
        found.setdefault(slot, value)
    if isinstance(text, str) and text.strip() and not text.startswith("/"):
        words[FIRST_MESSAGE] = text[:500]
    mark = crisis_words(tracker)
    if mark.get("phrase"):
        words[CRISIS_WORDS] = f"{mark['phrase']} ({mark.get('whose') or 'unclear'})"
    if words:
        found[n.SLOT_HEARD] = words
    return found


def prefill_from_entities(tracker: Tracker) -> Dict[str, Any]:
    """What the NLU entities of the first message say ("blood splashed in my eye")."""
    intent = latest_intent(tracker)
    entities = latest_entities(tracker)
    found: Dict[str, Any] = {}
    sites = {e.get("value") for e in entities if e.get("entity") == n.ENTITY_BODY_SITE}
    devices = {e.get("value") for e in entities if e.get("entity") == n.ENTITY_DEVICE}
    fluids = {e.get("value") for e in entities if e.get("entity") == n.ENTITY_FLUID}
    if intent == n.INTENT_REPORT_SPLASH:
        exposure = {EXPOSURE.entities[n.ENTITY_BODY_SITE].get(s) for s in sites} - {None}
        if len(exposure) == 1:
            found[n.SLOT_EXPOSURE_TYPE] = exposure.pop()
    elif intent == n.INTENT_REPORT_SHARPS_INJURY and devices - {"other"}:
        found[n.SLOT_EXPOSURE_TYPE] = "percutaneous"
        kinds = {DEVICE.entities[n.ENTITY_DEVICE].get(d) for d in devices} - {None, "other"}
        if len(kinds) == 1:
            found[n.SLOT_DEVICE_KIND] = kinds.pop()
    if len(fluids) == 1 and fluids <= set(FLUID.values):
        found[n.SLOT_FLUID] = fluids.pop()
    return found


class ActionSharpsOpenCase(Action):
    """After the first-aid message: open the case (POST /api/cases) and say its ref."""

    def name(self) -> Text:
        return n.ACTION_SHARPS_OPEN_CASE

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        fresh: Dict[str, Any] = dict.fromkeys(n.SHARPS_FORM_SLOTS + SIDE_SLOTS)
        fresh.update({n.SLOT_CASE_REF: None, n.SLOT_ANNOUNCED_URGENCY: None, n.SLOT_FORM_RETRIES: None,
                      n.SLOT_CALLBACK_OFFER_DECLINED: None, n.SLOT_ADVICE_SAID: None})
        fresh.update(prefill_from_first_message(tracker, forms.now_london()))
        slots = {**tracker.slots, **fresh, n.SLOT_PENDING_SYNC: tracker.get_slot(n.SLOT_PENDING_SYNC)}
        pending = dict(tracker.get_slot(n.SLOT_PENDING_SYNC) or {})
        earlier = pending.pop(SHARPS_PENDING, None)
        if earlier and not tracker.get_slot(n.SLOT_CASE_REF):
            # an earlier case never reached the API: keep it, as a case of its own
            pending[CASES_PENDING] = [{**earlier["create"], **earlier["payload"]},
                                      *(pending.get(CASES_PENDING) or [])]
        outbox = Outbox(api=get_api(tracker.sender_id), case_ref=None, pending=pending)
        result = await outbox.send_sharps(
            case_fields(tracker, line="sharps", kind="exposure"),
            sharps_payload(slots, conversation_phone(tracker), provisional=True),
        )
        updates: Dict[str, Any] = {**fresh, n.SLOT_LINE: "sharps"}
        if crisis_words(tracker).get("whose") == "unclear":
            # Crisis words we cannot place (the caller's or the patient's?): give both.
            dispatcher.utter_message(response=n.UTTER_CRISIS_ALSO)
        if result.case is not None:
            outbox.announce_synced(dispatcher)
            dispatcher.utter_message(response=n.UTTER_CASE_OPENED, case_ref=result.case.ref)
            updates.update(
                await announce_urgency(result.case, slots, dispatcher, outbox, conversation_channel(tracker)))
        else:
            dispatcher.utter_message(response=n.UTTER_CASE_OPENED_OFFLINE)
            if result.unavailable:
                updates.update(give_safe_advice(dispatcher, slots))
        updates.update(outbox.slots())
        return [SlotSet(k, v) for k, v in updates.items()]


# Once a page is out these still come before the call-back number: any of them can still
# make it an emergency (the time, the route, the fluid, the source and its risks).
ASKED_BEFORE_THE_NUMBER = frozenset({n.SLOT_CONFIRM_CHANGE, n.SLOT_OCCURRED_AT, n.SLOT_EXPOSURE_TYPE, n.SLOT_FLUID,
                                     n.SLOT_FLUID_BLOOD, n.SLOT_SOURCE_KNOWN, n.SLOT_SOURCE_BBV, n.SLOT_SOURCE_RISK,
                                     n.SLOT_SHARPS_CONTINUE})
CLEAN_SHARP_SKIPS = frozenset({n.SLOT_FLUID, n.SLOT_FLUID_BLOOD, n.SLOT_SOURCE_KNOWN, n.SLOT_SOURCE_BBV,
                               n.SLOT_SOURCE_RISK, n.SLOT_DEVICE_KIND, n.SLOT_DEVICE_IN_VESSEL,
                               n.SLOT_VISIBLE_BLOOD, n.SLOT_INJURY_DEEP})
BITE_SKIPS = frozenset({n.SLOT_DEVICE_KIND, n.SLOT_DEVICE_USED, n.SLOT_DEVICE_IN_VESSEL, n.SLOT_VISIBLE_BLOOD})
# Where the slots stood before this turn (see ValidateSharpsForm.run).
_BEFORE = "_helpline_slots_before_turn"


def slots_before_turn(tracker: Tracker) -> Dict[str, Any]:
    """The slots as they were before this turn: the trailing SlotSets (the candidates this
    validation reads) do not count yet."""
    before = dict(tracker.slots)
    events = list(tracker.events)
    start = len(events)
    while start > 0 and events[start - 1].get("event") == "slot":
        start -= 1
    trailing = {e.get("name") for e in events[start:]}
    for name in trailing:
        before[name] = None
    for event in events[:start]:
        if event.get("event") == "slot" and event.get("name") in trailing:
            before[event["name"]] = event.get("value")
    return before


def read_source_bbv(text: Any, tracker: Tracker) -> Optional[List[str]]:
    """The source's viruses. "No" or "none" to "does or might the patient have..." means
    "not known to": unknown, never a negative test (only the button or a stated test is)."""
    if isinstance(text, list):
        return SOURCE_BBV.pick_many(text)
    if not isinstance(text, str):
        return None
    # Whatever the reader heard about the viruses already replaced the raw text
    # (ValidateSharpsForm.get_extraction_events): what is left is a number or a plain word.
    norm = parsing.normalise(text)
    if norm in ("none", "none of them", "none of these", "nothing", "no none", "neither") or \
            (latest_intent(tracker) == n.INTENT_DENY and not re.search(r"\d", norm)) or \
            parsing.parse_yes_no_unknown(text) == n.NO:
        return [n.UNKNOWN]
    return SOURCE_BBV.pick_many(text, latest_entities(tracker))


def answer_text(domain: DomainDict, slot: str, value: Any) -> str:
    """An answer as the summary shows it ("HIV, hepatitis C"; "Mon 23 Nov, 14:40")."""
    group = dict(SUMMARY_GROUPS).get(slot)
    return when_text(value, domain) if group is None else label(domain, group, value)


def change_text(domain: DomainDict, slot: str, old: Any, new: Any, words: str) -> str:
    """"Earlier you told me the patient's status: HIV. Just now you said "..."."""
    return (f"Earlier you told me {label(domain, 'fields', slot)}: {answer_text(domain, slot, old)}. "
            f"Just now you said \"{words}\", which sounds like {answer_text(domain, slot, new)}.")


class ValidateSharpsForm(HelplineFormValidation):
    REASK: ClassVar[Dict[str, str]] = {
        slot: "utter_reask_yes_no" for slot in YES_NO_SLOTS if slot != n.SLOT_SHARPS_CONTINUE}
    REASK.update({n.SLOT_REPORTER_NAME: "utter_reask_free_text", n.SLOT_REPORTER_ROLE: "utter_reask_free_text",
                  n.SLOT_WORKPLACE: "utter_reask_free_text"})

    def name(self) -> Text:
        return n.VALIDATE_SHARPS_FORM

    def applies(self, slot: Text, slots: Mapping[str, Any]) -> bool:
        """Skip what cannot apply; the order of the rest is domain.yml's."""
        if slot == n.SLOT_CONFIRM_CHANGE:
            return bool(slots.get(n.SLOT_PENDING_CHANGE))
        if slot == n.SLOT_FLUID_BLOOD:
            return slots.get(n.SLOT_FLUID) == "low_risk"
        # An unknown source has no test results, but where it was found can still say
        # something about injecting drug use (a sharps bin, a needle exchange).
        if slot == n.SLOT_SOURCE_BBV and slots.get(n.SLOT_SOURCE_KNOWN) == n.NO:
            return False
        clean_sharp = slots.get(n.SLOT_DEVICE_USED) == n.NO and \
            slots.get(n.SLOT_EXPOSURE_TYPE) in (None, "percutaneous", n.UNKNOWN) and \
            slots.get(n.SLOT_INJURY_BITE) != n.YES
        if clean_sharp and slot in CLEAN_SHARP_SKIPS:
            return False
        if slots.get(n.SLOT_INJURY_BITE) == n.YES and slot in BITE_SKIPS:
            return False
        if slot == n.SLOT_SOURCE_RISK and "hiv" in (slots.get(n.SLOT_SOURCE_BBV) or []):
            return False
        if slot == n.SLOT_SHARPS_CONTINUE:
            return slots.get(n.SLOT_ANNOUNCED_URGENCY) == EMERGENCY
        if slot in n.SHARP_ONLY_SLOTS and slots.get(n.SLOT_EXPOSURE_TYPE) not in (None, "percutaneous", n.UNKNOWN):
            return False
        if slot == n.SLOT_DEVICE_IN_VESSEL and \
                slots.get(n.SLOT_DEVICE_KIND) not in (None, "hollow_bore_needle", n.UNKNOWN):
            return False
        return True

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> List[Text]:
        slots = tracker.slots
        required = [s for s in domain_slots if self.applies(s, slots)]
        if page_announced(slots) and n.SLOT_CALLBACK_PHONE in required:
            # A page went out: the number to call comes straight after the questions that can
            # still send the person to A&E, and is asked even if they want no more questions.
            required.remove(n.SLOT_CALLBACK_PHONE)
            at = next((i for i, s in enumerate(required) if s not in ASKED_BEFORE_THE_NUMBER), len(required))
            required.insert(at, n.SLOT_CALLBACK_PHONE)
        if n.SLOT_SHARPS_CONTINUE in required and n.SLOT_CONFIRM_CHANGE not in required:
            # Right after an emergency is announced, ask this before anything else;
            # "no" ends the form with what we have (and the call-back number).
            required.remove(n.SLOT_SHARPS_CONTINUE)
            if slots.get(n.SLOT_SHARPS_CONTINUE) == n.NO:
                return [s for s in required if slots.get(s) is not None or s == n.SLOT_CALLBACK_PHONE] \
                    + [n.SLOT_SHARPS_CONTINUE]
            required.insert(0, n.SLOT_SHARPS_CONTINUE)
        return required

    # -- listening: every fact a message gives, whatever was asked ---------------------------
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        setattr(tracker, _BEFORE, slots_before_turn(tracker))
        return await super().run(dispatcher, tracker, domain)

    def heard_now(self, tracker: Tracker) -> Dict[str, Heard]:
        """Facts in this turn's message, unless it asks for something else (a person, stop,
        a crisis): then the interruption's own rule runs and the form reads nothing."""
        if not is_fresh_answer(tracker, self.form_name()) or is_interruption(tracker):
            return {}
        return heard_in((tracker.latest_message or {}).get("text"), self.clock())

    async def get_extraction_events(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: DomainDict) -> List[EventType]:
        events = await super().get_extraction_events(dispatcher, tracker, domain)
        heard = self.heard_now(tracker)
        if not heard:
            return events
        requested = tracker.get_slot(n.SLOT_REQUESTED)
        current = {slot: tracker.slots.get(slot) for slot in heard}
        if requested in heard:
            current[requested] = None  # the reader's reading of the answer wins over the raw text
        result = merge(current, heard)
        updates: Dict[str, Any] = dict(result.set)
        volunteered = {slot: words for slot, words in result.words.items() if slot != requested}
        if volunteered:
            updates[n.SLOT_HEARD] = {**(tracker.get_slot(n.SLOT_HEARD) or {}), **volunteered}
        if result.confirm is not None and not tracker.get_slot(n.SLOT_PENDING_CHANGE):
            slot, value, words = result.confirm
            updates[n.SLOT_PENDING_CHANGE] = {"slot": slot, "value": value, "words": words}
            updates[n.SLOT_PENDING_CHANGE_TEXT] = change_text(domain, slot, tracker.slots.get(slot), value, words)
            updates[n.SLOT_CONFIRM_CHANGE] = None
        tracker.slots.update(updates)
        return [e for e in events if e.get("name") not in updates] + [SlotSet(k, v) for k, v in updates.items()]

    async def get_validation_events(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: DomainDict) -> List[EventType]:
        """Validate, then send the case once if anything about the exposure changed, so a
        decisive fact is acted on in the same reply, however many facts the message gave."""
        events = await super().get_validation_events(dispatcher, tracker, domain)
        before: Dict[str, Any] = getattr(tracker, _BEFORE, {})
        validated = {e.get("name") for e in events}
        # A fact heard for a question that is not asked here (a virus with an unknown
        # source) is kept all the same: it was said, and the case has it.
        extra = {slot: tracker.slots.get(slot) for slot in (*n.SHARPS_FORM_SLOTS, *SIDE_SLOTS)
                 if slot not in validated and tracker.slots.get(slot) != before.get(slot)}
        # Once a page is out, a call-back number goes to the case (and the paged practitioner) at once.
        watched = n.SHARPS_DECIDING_SLOTS + ((n.SLOT_CALLBACK_PHONE,) if page_announced(tracker.slots) else ())
        if any(tracker.slots.get(slot) != before.get(slot) for slot in watched):
            extra.update(await push_sharps(tracker, dispatcher, tracker.slots))
        tracker.slots.update(extra)
        return events + [SlotSet(k, v) for k, v in extra.items()]

    FREE_TEXT = frozenset({n.SLOT_REPORTER_NAME, n.SLOT_REPORTER_ROLE, n.SLOT_WORKPLACE})

    def readers(self) -> Dict[Text, Any]:
        from actions.common import callback_phone_reader
        return {
            n.SLOT_OCCURRED_AT: self.when(),
            n.SLOT_EXPOSURE_TYPE: self.choice(EXPOSURE),
            n.SLOT_FLUID: self.choice(FLUID),
            n.SLOT_FLUID_BLOOD: read_yes_no,
            n.SLOT_CONFIRM_CHANGE: read_yes_no,
            n.SLOT_SOURCE_KNOWN: read_yes_no,
            n.SLOT_SOURCE_BBV: read_source_bbv,
            n.SLOT_SOURCE_RISK: self.choices_many(SOURCE_RISK),
            n.SLOT_SHARPS_CONTINUE: read_yes_no,
            n.SLOT_DEVICE_KIND: self.choice(DEVICE),
            n.SLOT_DEVICE_USED: read_yes_no,
            n.SLOT_DEVICE_IN_VESSEL: read_yes_no,
            n.SLOT_VISIBLE_BLOOD: read_yes_no,
            n.SLOT_INJURY_DEEP: self.choice(DEPTH),
            n.SLOT_GLOVES: read_yes_no,
            n.SLOT_HBV_STATUS: self.choice(HBV),
            n.SLOT_PREGNANCY: self.choice(PREGNANCY),
            n.SLOT_REPORTER_NAME: read_free_text,
            n.SLOT_REPORTER_ROLE: read_free_text,
            n.SLOT_WORKPLACE: read_free_text,
            n.SLOT_CALLBACK_PHONE: callback_phone_reader(self),
            n.SLOT_INCIDENT_FORM_DONE: read_yes_no,
        }

    async def _read(self, slot, value, dispatcher, tracker, domain):
        return await self.read(slot, value, self.readers()[slot], dispatcher, tracker, domain)

    # one validate_<slot> per slot ----------------------------------------------------------
    async def validate_occurred_at(self, value, dispatcher, tracker, domain):
        return await self._read(n.SLOT_OCCURRED_AT, value, dispatcher, tracker, domain)

    async def validate_exposure_type(self, value, dispatcher, tracker, domain):
        return await self._read(n.SLOT_EXPOSURE_TYPE, value, dispatcher, tracker, domain)

    async def validate_fluid(self, value, dispatcher, tracker, domain):
        result = await self._read(n.SLOT_FLUID, value, dispatcher, tracker, domain)
        if result.get(n.SLOT_FLUID) == "low_risk" and isinstance(value, str) and \
                parsing.parse_choice(value, [o.label for o in FLUID.options]):
            # the option picked says "with no blood in it"
            result[n.SLOT_FLUID_BLOOD] = n.NO
        return result

    async def validate_fluid_blood(self, value, dispatcher, tracker, domain):
        return await self._read(n.SLOT_FLUID_BLOOD, value, dispatcher, tracker, domain)

    async def validate_confirm_change(self, value, dispatcher, tracker, domain):
        result = await self._read(n.SLOT_CONFIRM_CHANGE, value, dispatcher, tracker, domain)
        answer = result.get(n.SLOT_CONFIRM_CHANGE)
        pending = tracker.get_slot(n.SLOT_PENDING_CHANGE) or {}
        if answer is None or not pending:
            return result
        if answer == n.YES and pending.get("slot"):
            result[pending["slot"]] = pending.get("value")
            heard = dict(tracker.get_slot(n.SLOT_HEARD) or {})
            heard[pending["slot"]] = pending.get("words")
            result[n.SLOT_HEARD] = heard
            dispatcher.utter_message(response=n.UTTER_CORRECTION_DONE, field=label(domain, "fields", pending["slot"]),
                                     value=answer_text(domain, pending["slot"], pending.get("value")))
        else:
            dispatcher.utter_message(response=n.UTTER_CHANGE_KEPT)
        result[n.SLOT_PENDING_CHANGE] = None
        result[n.SLOT_PENDING_CHANGE_TEXT] = None
        return result

    async def validate_source_known(self, value, dispatcher, tracker, domain):
        return await self._read(n.SLOT_SOURCE_KNOWN, value, dispatcher, tracker, domain)

    async def validate_source_bbv(self, value, dispatcher, tracker, domain):
        return await self._read(n.SLOT_SOURCE_BBV, value, dispatcher, tracker, domain)

    async def validate_source_risk(self, value, dispatcher, tracker, domain):
        return await self._read(n.SLOT_SOURCE_RISK, value, dispatcher, tracker, domain)

    async def validate_sharps_continue(self, value, dispatcher, tracker, domain):
        # Only a clear "yes" keeps someone answering on the way to A&E.
        answer = None if said_dont_know(value, tracker) else read_yes_no(value, tracker)
        return {n.SLOT_SHARPS_CONTINUE: n.YES if answer == n.YES else n.NO}

    async def validate_device_kind(self, value, dispatcher, tracker, domain):
        return await self._read(n.SLOT_DEVICE_KIND, value, dispatcher, tracker, domain)

    async def validate_device_used(self, value, dispatcher, tracker, domain):
        return await self._read(n.SLOT_DEVICE_USED, value, dispatcher, tracker, domain)

    async def validate_device_in_vessel(self, value, dispatcher, tracker, domain):
        return await self._read(n.SLOT_DEVICE_IN_VESSEL, value, dispatcher, tracker, domain)

    async def validate_visible_blood(self, value, dispatcher, tracker, domain):
        return await self._read(n.SLOT_VISIBLE_BLOOD, value, dispatcher, tracker, domain)

    async def validate_injury_deep(self, value, dispatcher, tracker, domain):
        return await self._read(n.SLOT_INJURY_DEEP, value, dispatcher, tracker, domain)

    async def validate_gloves(self, value, dispatcher, tracker, domain):
        return await self._read(n.SLOT_GLOVES, value, dispatcher, tracker, domain)

    async def validate_hbv_status(self, value, dispatcher, tracker, domain):
        return await self._read(n.SLOT_HBV_STATUS, value, dispatcher, tracker, domain)

    async def validate_pregnancy(self, value, dispatcher, tracker, domain):
        return await self._read(n.SLOT_PREGNANCY, value, dispatcher, tracker, domain)

    async def validate_reporter_name(self, value, dispatcher, tracker, domain):
        return await self._read(n.SLOT_REPORTER_NAME, value, dispatcher, tracker, domain)

    async def validate_reporter_role(self, value, dispatcher, tracker, domain):
        return await self._read(n.SLOT_REPORTER_ROLE, value, dispatcher, tracker, domain)

    async def validate_workplace(self, value, dispatcher, tracker, domain):
        return await self._read(n.SLOT_WORKPLACE, value, dispatcher, tracker, domain)

    async def validate_callback_phone(self, value, dispatcher, tracker, domain):
        from actions.common import read_callback_phone
        return await read_callback_phone(self, value, dispatcher, tracker, domain)

    async def validate_incident_form_done(self, value, dispatcher, tracker, domain):
        return await self._read(n.SLOT_INCIDENT_FORM_DONE, value, dispatcher, tracker, domain)


SUMMARY_GROUPS = (
    (n.SLOT_OCCURRED_AT, None), (n.SLOT_EXPOSURE_TYPE, "exposure_type"), (n.SLOT_FLUID, "fluid"),
    (n.SLOT_FLUID_BLOOD, "yes_no"),
    (n.SLOT_SOURCE_KNOWN, "source_known"), (n.SLOT_SOURCE_BBV, "source_bbv"), (n.SLOT_SOURCE_RISK, "source_risk"),
    (n.SLOT_DEVICE_KIND, "device_kind"), (n.SLOT_DEVICE_USED, "yes_no"), (n.SLOT_DEVICE_IN_VESSEL, "yes_no"),
    (n.SLOT_VISIBLE_BLOOD, "yes_no"), (n.SLOT_INJURY_DEEP, "injury_deep"), (n.SLOT_GLOVES, "yes_no"),
    (n.SLOT_HBV_STATUS, "hbv_status"), (n.SLOT_PREGNANCY, "pregnancy"), (n.SLOT_REPORTER_NAME, "free_text"),
    (n.SLOT_REPORTER_ROLE, "free_text"), (n.SLOT_WORKPLACE, "free_text"), (n.SLOT_CALLBACK_PHONE, "free_text"),
    (n.SLOT_INCIDENT_FORM_DONE, "yes_no"),
)


def summary_details(slots: Mapping[str, Any], domain: DomainDict) -> str:
    """"when it happened: Mon 23 Nov, 14:40; fluid: blood; ..." for the questions answered
    ("not known" included); questions not asked are left out."""
    parts = []
    for slot, _ in SUMMARY_GROUPS:
        value = slots.get(slot)
        if value is None:
            continue
        parts.append(f"{label(domain, 'fields', slot)}: {answer_text(domain, slot, value)}")
    return "; ".join(parts)


async def say_outcome(case: Case, slots: Mapping[str, Any], dispatcher: CollectingDispatcher, outbox: Outbox,
                      channel: Optional[str], sender_phone: Optional[str]) -> Dict[str, Any]:
    """The outcome with what happens next and until when, then every advice item not said yet."""
    if case.urgency == EMERGENCY:
        if slots.get(n.SLOT_ANNOUNCED_URGENCY) == EMERGENCY:
            dispatcher.utter_message(response=n.UTTER_SHARPS_EMERGENCY_REMINDER, case_ref=case.ref)
            return await say_advice(case, slots, dispatcher, outbox, channel)
        return await announce_urgency(case, slots, dispatcher, outbox, channel)
    phone = phone_text(slots.get(n.SLOT_CALLBACK_PHONE)) or sender_phone
    if case.urgency == URGENT:
        if not case.pages_sent:
            dispatcher.utter_message(response=n.UTTER_SHARPS_URGENT_NOT_PAGED, case_ref=case.ref)
        elif phone:
            dispatcher.utter_message(response=n.UTTER_SHARPS_URGENT, phone=phone)
        else:
            dispatcher.utter_message(response=n.UTTER_SHARPS_URGENT_NO_NUMBER)
        say_call_by(case, dispatcher)
    else:
        dispatcher.utter_message(response=n.UTTER_SHARPS_ROUTINE)
    updates = await say_advice(case, slots, dispatcher, outbox, channel)
    return {n.SLOT_ANNOUNCED_URGENCY: case.urgency, **updates}


async def send_final(tracker: Tracker, dispatcher: CollectingDispatcher) -> Dict[str, Any]:
    """The answers so far go as final; the person hears the outcome, what happens next and
    until when (or the safe advice if the API is down). Used at the end and on "stop"."""
    slots = dict(tracker.slots)
    outbox = Outbox.from_tracker(get_api(), tracker)
    result = await outbox.send_sharps(
        case_fields(tracker, line="sharps", kind="exposure"),
        sharps_payload(slots, conversation_phone(tracker), provisional=False),
    )
    updates: Dict[str, Any] = {}
    if result.case is not None:
        outbox.announce_synced(dispatcher)
        updates.update(await say_outcome(result.case, slots, dispatcher, outbox, conversation_channel(tracker),
                                         conversation_phone(tracker)))
    else:
        updates.update(give_safe_advice(dispatcher, slots))
    updates.update(outbox.slots())
    return updates


class ActionSharpsSubmit(Action):
    """The form is done (or stopped on the way to A&E): final update, then the outcome,
    a summary to check, the reminders, and the question about reminder texts or the rating."""

    def name(self) -> Text:
        return n.ACTION_SHARPS_SUBMIT

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        slots = dict(tracker.slots)
        updates = await send_final(tracker, dispatcher)
        ref = updates.get(n.SLOT_CASE_REF) or "-"
        dispatcher.utter_message(response=n.UTTER_SHARPS_SUMMARY, case_ref=ref,
                                 details=summary_details(slots, domain))
        dispatcher.utter_message(response=n.UTTER_SUMMARY_CHECK)
        dispatcher.utter_message(response=n.UTTER_INCIDENT_REMINDER)
        dispatcher.utter_message(response=n.UTTER_EAP_OFFER)
        # the reminder-texts question when texts could go to this case's mobile, else the rating
        asked = reminders.ask_events(dispatcher, slots, updates.get(n.SLOT_CASE_REF), conversation_phone(tracker))
        return [SlotSet(k, v) for k, v in updates.items()] + asked


# -- corrections ("actually it was yesterday") ----------------------------------------------
CORRECTION_FIELDS = {
    n.SLOT_OCCURRED_AT: "occurred_at",
    n.SLOT_EXPOSURE_TYPE: "exposure_type",
    n.SLOT_FLUID: "fluid",
    n.SLOT_SOURCE_BBV: "source_bbv",
    n.SLOT_DEVICE_KIND: "device_kind",
    n.SLOT_CALLBACK_PHONE: "free_text",
    n.SLOT_REPORTER_ROLE: "free_text",
}


def find_correction(tracker: Tracker, now) -> Optional[tuple]:
    """(slot, value) that the latest message corrects, or None. Entities first, then a time."""
    text = (tracker.latest_message or {}).get("text") or ""
    entities = latest_entities(tracker)
    kinds = {e.get("entity") for e in entities}
    phone = parsing.parse_phone(text)  # a phone_number entity without a readable number decides nothing
    if phone:
        return n.SLOT_CALLBACK_PHONE, phone
    if n.ENTITY_VIRUS in kinds:
        status = SOURCE_BBV.pick_many(text, entities)
        if status:
            return n.SLOT_SOURCE_BBV, status
    if n.ENTITY_BODY_SITE in kinds:
        exposure = {EXPOSURE.entities[n.ENTITY_BODY_SITE].get(e.get("value"))
                    for e in entities if e.get("entity") == n.ENTITY_BODY_SITE} - {None}
        if len(exposure) == 1:
            return n.SLOT_EXPOSURE_TYPE, exposure.pop()
    if n.ENTITY_FLUID in kinds:
        fluid = FLUID.pick(text, entities)
        if fluid:
            return n.SLOT_FLUID, fluid
    if n.ENTITY_DEVICE in kinds:
        kind = DEVICE.pick(text, entities)
        if kind:
            return n.SLOT_DEVICE_KIND, kind
    moment = parsing.parse_when(text, now=now, tz=TZ_NAME)
    if moment is not None:
        return n.SLOT_OCCURRED_AT, moment.isoformat()
    if n.ENTITY_STAFF_ROLE in kinds:
        role = next(str(e.get("value")) for e in entities if e.get("entity") == n.ENTITY_STAFF_ROLE)
        return n.SLOT_REPORTER_ROLE, role.replace("_", " ")
    return None


class ActionCorrectAnswer(Action):
    """Works out which answer is corrected, updates it, re-triages, confirms."""

    def name(self) -> Text:
        return n.ACTION_CORRECT_ANSWER

    def clock(self):
        from actions.forms import now_london
        return now_london()

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        events: List[EventType] = undo_answer_this_turn(tracker)
        if tracker.get_slot(n.SLOT_LINE) != "sharps":
            dispatcher.utter_message(response=n.UTTER_CORRECTION_UNCLEAR)
            return events
        form_active = (tracker.active_loop or {}).get("name") == n.FORM_SHARPS
        text = (tracker.latest_message or {}).get("text")
        heard = {slot: fact for slot, fact in heard_in(text, self.clock()).items() if slot in n.SHARPS_FORM_SLOTS}
        result = merge(tracker.slots, heard, explicit=True, confirmable=form_active) if heard else None
        if result is not None and (result.set or result.confirm):
            updates: Dict[str, Any] = dict(result.set)
            if result.words:
                updates[n.SLOT_HEARD] = {**(tracker.get_slot(n.SLOT_HEARD) or {}), **result.words}
        else:
            found = find_correction(tracker, self.clock())
            if found is None:
                dispatcher.utter_message(response=n.UTTER_CORRECTION_UNCLEAR)
                return events
            result = None
            updates = {found[0]: found[1]}
        for slot in (s for s in n.SHARPS_FORM_SLOTS if s in updates):
            dispatcher.utter_message(response=n.UTTER_CORRECTION_DONE, field=label(domain, "fields", slot),
                                     value=answer_text(domain, slot, updates[slot]))
        if result is not None and result.confirm is not None:
            # less risky than what was said before: the form asks "shall I change it?" first
            slot, value, words = result.confirm
            updates[n.SLOT_PENDING_CHANGE] = {"slot": slot, "value": value, "words": words}
            updates[n.SLOT_PENDING_CHANGE_TEXT] = change_text(domain, slot, tracker.get_slot(slot), value, words)
            updates[n.SLOT_CONFIRM_CHANGE] = None
        if any(s in updates for s in n.SHARPS_DECIDING_SLOTS):
            updates.update(await push_sharps(tracker, dispatcher, {**tracker.slots, **updates},
                                             provisional=form_active))
        return events + [SlotSet(k, v) for k, v in updates.items()]
