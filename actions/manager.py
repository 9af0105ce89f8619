"""Manager line: the referral form (consent gate first, confirmation last), referral
status look-up, and clinician call-backs. The API routes and decides; actions render.

A manager often mentions the employee's past ("she took an overdose last year"). The
crisis guard marks such words `past` (lexicon/crisis.yml) and does not force the crisis
route, so the referral goes on with every answer kept: the form says the clinician will
see it (with the crisis numbers, in case the risk is now), keeps the words in
`referral_risk_history`, and sends them with the referral, where the API's rules flag the
case to the on-call practitioner. A present risk, or the manager's own, is still the
crisis route (the guard forces `crisis`, the form rejects the message, action_crisis runs)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar, Dict, List, Mapping, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import forms
from actions import names as n
from actions import parsing
from actions.api_client import ApiRejected, ApiUnavailable, get_api
from actions.forms import (
    TZ_NAME, Choices, HelplineFormValidation, Option, latest_entities, latest_intent, read_free_text, read_yes_no,
)
from actions.handoff import latest_user_text, request_callback
from actions.render import date_text, day_text, label
from actions.sync import Outbox, case_fields, conversation_phone

REASON = Choices((
    Option("mental_health", "Mental health (e.g. stress, anxiety, low mood)",
           ("mental health", "stress", "anxiety", "depression", "low mood", "burnout", "burnt out")),
    Option("musculoskeletal", "Muscles, bones or joints (e.g. back pain)",
           ("back", "neck", "shoulder", "knee", "joint", "msk", "musculoskeletal", "muscle")),
    Option("other", "Something else", ("other", "something else")),
))
APPOINTMENT = Choices((
    Option("phone", "Phone", ("phone", "telephone", "call")),
    Option("video", "Video", ("video", "teams", "zoom")),
    Option("face_to_face", "Face to face", ("face to face", "in person", "f2f")),
    Option("no_preference", "No preference", ("no preference", "any", "either", "whatever", "dont mind")),
))
URGENCY = Choices((
    Option("routine", "Routine", ("routine", "not urgent", "normal")),
    Option("urgent", "Urgent (e.g. a safety concern or about to go off sick)", ("urgent", "asap", "soon", "quickly")),
))
NOT_ABSENT = ("not off", "at work", "working", "not absent", "still working", "no", "none", "n a", "na")

# The crisis guard's mark on a message (bot/components/crisis_guard.py, MATCH_KEY) and the
# owner it gives words about the past that nobody places as the writer's.
CRISIS_GUARD_KEY = "crisis_guard"
PAST = "past"
MAX_QUOTE = 500
# A decision's advice code when the API flagged a referral for its risk history.
RISK_HISTORY_ADVICE = "referral_risk_history_flagged"

REF_PATTERN = re.compile(r"\b(sh|ma)\s*-?\s*0*(\d{1,6})\b", re.IGNORECASE)


def normalise_ref(text: Any) -> Optional[str]:
    """"ma 45", "MA000045", "MA-45" -> "MA-000045"."""
    match = REF_PATTERN.search(str(text or ""))
    if not match:
        return None
    return f"{match.group(1).upper()}-{int(match.group(2)):06d}"


def read_ref(text: Any, tracker: Tracker) -> Optional[str]:
    for entity in latest_entities(tracker):
        if entity.get("entity") == n.ENTITY_CASE_REF:
            ref = normalise_ref(entity.get("value"))
            if ref:
                return ref
    return normalise_ref(text)


def _text_or_none(value: Any) -> Optional[str]:
    return None if value in (None, n.UNKNOWN) else value


def referral_answers(slots: Mapping[str, Any]) -> Dict[str, Any]:
    """The contract's referral `answers` (consent is true, or nothing is built)."""
    complex_flag = {n.YES: True, n.NO: False}.get(slots.get(n.SLOT_REFERRAL_COMPLEX))
    work_related = {n.YES: True, n.NO: False}.get(slots.get(n.SLOT_REFERRAL_WORK_RELATED))
    answers = {
        "employee_name": _text_or_none(slots.get(n.SLOT_EMPLOYEE_NAME)),
        "employee_role": _text_or_none(slots.get(n.SLOT_EMPLOYEE_ROLE)),
        "employee_hours": _text_or_none(slots.get(n.SLOT_EMPLOYEE_HOURS)),
        "consent": True,
        "consent_reason_explained": True,
        "reason": _text_or_none(slots.get(n.SLOT_REFERRAL_REASON)),
        "work_related": work_related,
        "absence_start": _text_or_none(slots.get(n.SLOT_ABSENCE_START)),
        "absence_history": _text_or_none(slots.get(n.SLOT_ABSENCE_HISTORY)),
        "tried": _text_or_none(slots.get(n.SLOT_TRIED)),
        "questions": _text_or_none(slots.get(n.SLOT_QUESTIONS_FOR_OH)),
        "adjustments": _text_or_none(slots.get(n.SLOT_ADJUSTMENTS)),
        "appointment_type": _text_or_none(slots.get(n.SLOT_APPOINTMENT_TYPE)),
        "urgency_requested": _text_or_none(slots.get(n.SLOT_URGENCY_REQUESTED)),
        "complex": complex_flag,
        "organisation_name": _text_or_none(slots.get(n.SLOT_ORGANISATION_NAME)),
    }
    history = slots.get(n.SLOT_REFERRAL_RISK_HISTORY)
    if isinstance(history, dict) and history.get("said"):
        # {"said": [the manager's words], "lexicon_version": ...}: the API flags the case.
        answers["risk_history"] = history
    return answers


def past_risk_words(tracker: Tracker) -> Optional[Dict[str, Any]]:
    """The crisis guard's mark on the latest message when its crisis words are about the
    past and nobody's the writer's ("she took an overdose last year"), else None."""
    mark = (tracker.latest_message or {}).get(CRISIS_GUARD_KEY)
    if isinstance(mark, dict) and mark.get("whose") == PAST:
        return mark
    return None


def note_risk_history(tracker: Tracker) -> Optional[Dict[str, Any]]:
    """The referral_risk_history slot with the latest message added, or None when the
    message names no past risk or is already kept."""
    mark = past_risk_words(tracker)
    text = (tracker.latest_message or {}).get("text")
    if mark is None or not isinstance(text, str) or not text.strip() or text.startswith("/"):
        return None
    kept = dict(tracker.get_slot(n.SLOT_REFERRAL_RISK_HISTORY) or {})
    said = list(kept.get("said") or [])
    quote = " ".join(text.split())[:MAX_QUOTE]
    if quote in said:
        return None
    return {"said": said + [quote], "lexicon_version": mark.get("lexicon_version") or kept.get("lexicon_version")}


class ValidateReferralForm(HelplineFormValidation):
    REASK: ClassVar[Dict[str, str]] = {
        n.SLOT_REFERRAL_CONSENT: "utter_reask_yes_no", n.SLOT_REFERRAL_COMPLEX: "utter_reask_yes_no",
        n.SLOT_REFERRAL_WORK_RELATED: "utter_reask_yes_no", n.SLOT_REFERRAL_REASON: "utter_reask_choice",
        n.SLOT_APPOINTMENT_TYPE: "utter_reask_choice", n.SLOT_URGENCY_REQUESTED: "utter_reask_choice"}
    REASK.update(dict.fromkeys((
        n.SLOT_EMPLOYEE_NAME, n.SLOT_EMPLOYEE_ROLE, n.SLOT_EMPLOYEE_HOURS, n.SLOT_ABSENCE_HISTORY,
        n.SLOT_TRIED, n.SLOT_QUESTIONS_FOR_OH, n.SLOT_ADJUSTMENTS, n.SLOT_ORGANISATION_NAME), "utter_reask_free_text"))

    FREE_TEXT = frozenset({n.SLOT_EMPLOYEE_NAME, n.SLOT_EMPLOYEE_ROLE, n.SLOT_EMPLOYEE_HOURS, n.SLOT_ABSENCE_HISTORY,
                           n.SLOT_TRIED, n.SLOT_QUESTIONS_FOR_OH, n.SLOT_ADJUSTMENTS, n.SLOT_ORGANISATION_NAME})

    def name(self) -> Text:
        return n.VALIDATE_REFERRAL_FORM

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        events = await super().run(dispatcher, tracker, domain)
        history = note_risk_history(tracker)
        if history is not None:
            # Past self-harm or overdose: the referral goes on; the clinician will see it.
            dispatcher.utter_message(response=n.UTTER_REFERRAL_RISK_NOTED)
            events.append(SlotSet(n.SLOT_REFERRAL_RISK_HISTORY, history))
        return events

    def readers(self):
        readers = dict.fromkeys(self.FREE_TEXT, read_free_text)
        readers.update({
            n.SLOT_REFERRAL_CONSENT: read_yes_no,
            n.SLOT_REFERRAL_REASON: self.choice(REASON),
            n.SLOT_REFERRAL_WORK_RELATED: read_yes_no,
            n.SLOT_ABSENCE_START: self.absence_start(),
            n.SLOT_REFERRAL_COMPLEX: read_yes_no,
            n.SLOT_APPOINTMENT_TYPE: self.choice(APPOINTMENT),
            n.SLOT_URGENCY_REQUESTED: self.choice(URGENCY),
            n.SLOT_REFERRAL_CONFIRM: read_yes_no,
        })
        return readers

    def extract_referral_confirm(self, dispatcher, tracker, domain):
        # affirm/deny fill it through the domain's from_intent mappings; other words here
        if latest_intent(tracker) in (n.INTENT_AFFIRM, n.INTENT_DENY):
            return {}
        return self.extract_answer(n.SLOT_REFERRAL_CONFIRM, tracker)

    def absence_start(self):
        def _read(text: Any, _tracker: Tracker) -> Optional[str]:
            if text in ("not_absent",):
                return text
            if not isinstance(text, str):
                return None
            norm = parsing.normalise(text)
            if norm in NOT_ABSENT or any(f" {p} " in f" {norm} " for p in NOT_ABSENT if " " in p):
                return "not_absent"
            moment = parsing.parse_when(text, now=self.clock(), tz=TZ_NAME)
            return moment.date().isoformat() if moment else None
        return _read

    def applies(self, slot: Text, slots: Mapping[str, Any]) -> bool:
        # The consent gate: without a clear yes, nothing else is asked.
        consent = slots.get(n.SLOT_REFERRAL_CONSENT)
        return slot == n.SLOT_REFERRAL_CONSENT or consent in (None, n.YES)

    async def _read(self, slot, value, dispatcher, tracker, domain):
        return await self.read(slot, value, self.readers()[slot], dispatcher, tracker, domain)

    async def validate_referral_consent(self, value, dispatcher, tracker, domain):
        return await self._read(n.SLOT_REFERRAL_CONSENT, value, dispatcher, tracker, domain)

    async def validate_employee_name(self, value, dispatcher, tracker, domain):
        return await self._read(n.SLOT_EMPLOYEE_NAME, value, dispatcher, tracker, domain)

    async def validate_employee_role(self, value, dispatcher, tracker, domain):
        return await self._read(n.SLOT_EMPLOYEE_ROLE, value, dispatcher, tracker, domain)

    async def validate_employee_hours(self, value, dispatcher, tracker, domain):
        return await self._read(n.SLOT_EMPLOYEE_HOURS, value, dispatcher, tracker, domain)

    async def validate_referral_reason(self, value, dispatcher, tracker, domain):
        return await self._read(n.SLOT_REFERRAL_REASON, value, dispatcher, tracker, domain)

    async def validate_referral_work_related(self, value, dispatcher, tracker, domain):
        return await self._read(n.SLOT_REFERRAL_WORK_RELATED, value, dispatcher, tracker, domain)

    async def validate_absence_start(self, value, dispatcher, tracker, domain):
        return await self._read(n.SLOT_ABSENCE_START, value, dispatcher, tracker, domain)

    async def validate_absence_history(self, value, dispatcher, tracker, domain):
        return await self._read(n.SLOT_ABSENCE_HISTORY, value, dispatcher, tracker, domain)

    async def validate_tried(self, value, dispatcher, tracker, domain):
        return await self._read(n.SLOT_TRIED, value, dispatcher, tracker, domain)

    async def validate_questions_for_oh(self, value, dispatcher, tracker, domain):
        return await self._read(n.SLOT_QUESTIONS_FOR_OH, value, dispatcher, tracker, domain)

    async def validate_referral_complex(self, value, dispatcher, tracker, domain):
        return await self._read(n.SLOT_REFERRAL_COMPLEX, value, dispatcher, tracker, domain)

    async def validate_adjustments(self, value, dispatcher, tracker, domain):
        return await self._read(n.SLOT_ADJUSTMENTS, value, dispatcher, tracker, domain)

    async def validate_appointment_type(self, value, dispatcher, tracker, domain):
        return await self._read(n.SLOT_APPOINTMENT_TYPE, value, dispatcher, tracker, domain)

    async def validate_urgency_requested(self, value, dispatcher, tracker, domain):
        return await self._read(n.SLOT_URGENCY_REQUESTED, value, dispatcher, tracker, domain)

    async def validate_organisation_name(self, value, dispatcher, tracker, domain):
        return await self._read(n.SLOT_ORGANISATION_NAME, value, dispatcher, tracker, domain)

    async def validate_referral_confirm(self, value, dispatcher, tracker, domain):
        # Two unreadable replies leave it "unknown", which sends nothing.
        return await self._read(n.SLOT_REFERRAL_CONFIRM, value, dispatcher, tracker, domain)


class ActionAskReferralConfirm(Action):
    """Show the referral back before anything is sent."""

    def name(self) -> Text:
        return n.ACTION_ASK_REFERRAL_CONFIRM

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        s = tracker.slots
        free = lambda slot: label(domain, "free_text", s.get(slot))  # noqa: E731
        absence = s.get(n.SLOT_ABSENCE_START)
        dispatcher.utter_message(
            response=n.UTTER_ASK_REFERRAL_CONFIRM,
            employee_name=free(n.SLOT_EMPLOYEE_NAME), employee_role=free(n.SLOT_EMPLOYEE_ROLE),
            employee_hours=free(n.SLOT_EMPLOYEE_HOURS),
            reason=label(domain, "referral_reason", s.get(n.SLOT_REFERRAL_REASON)),
            work_related=label(domain, "yes_no", s.get(n.SLOT_REFERRAL_WORK_RELATED)),
            absence_start=label(domain, "absence_start", absence) if absence in ("not_absent", n.UNKNOWN, None)
            else day_text(absence),
            absence_history=free(n.SLOT_ABSENCE_HISTORY), tried=free(n.SLOT_TRIED),
            questions_for_oh=free(n.SLOT_QUESTIONS_FOR_OH),
            complex=label(domain, "yes_no", s.get(n.SLOT_REFERRAL_COMPLEX)),
            adjustments=free(n.SLOT_ADJUSTMENTS),
            appointment_type=label(domain, "appointment_type", s.get(n.SLOT_APPOINTMENT_TYPE)),
            urgency_requested=label(domain, "urgency_requested", s.get(n.SLOT_URGENCY_REQUESTED)),
            organisation_name=free(n.SLOT_ORGANISATION_NAME),
        )
        return []


class ActionReferralSubmit(Action):
    """Consent and "yes" -> POST the referral and give its MA- reference. Otherwise nothing
    is sent. The form's answers are always cleared."""

    def name(self) -> Text:
        return n.ACTION_REFERRAL_SUBMIT

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        reset = [SlotSet(slot, None) for slot in n.REFERRAL_FORM_SLOTS] + [
            SlotSet(n.SLOT_REFERRAL_RISK_HISTORY, None), SlotSet(n.SLOT_FORM_RETRIES, None)]
        if tracker.get_slot(n.SLOT_REFERRAL_CONSENT) != n.YES:
            dispatcher.utter_message(response=n.UTTER_REFERRAL_NO_CONSENT)
            return reset
        if tracker.get_slot(n.SLOT_REFERRAL_CONFIRM) != n.YES:
            dispatcher.utter_message(response=n.UTTER_REFERRAL_CANCELLED)
            return reset
        body: Dict[str, Any] = case_fields(tracker, line="manager", kind="referral")
        body["answers"] = referral_answers(tracker.slots)
        phone = conversation_phone(tracker)
        if phone:
            body["contact"] = {"phone": phone}
        outbox = Outbox.from_tracker(get_api(), tracker)
        result = await outbox.create_case(body)
        events: List[EventType] = [SlotSet(n.SLOT_LINE, "manager")]
        if result.ok:
            outbox.announce_synced(dispatcher)
            route = result.case.decision.route if result.case.decision else None
            dispatcher.utter_message(response=n.UTTER_REFERRAL_SENT, case_ref=result.case.ref,
                                     route=label(domain, "route", route or "nurse"))
            decision = result.case.decision
            if decision is not None and any(a.code == RISK_HISTORY_ADVICE for a in decision.advice):
                dispatcher.utter_message(response=n.UTTER_REFERRAL_RISK_FLAGGED,
                                         when=when_looked_at(decision.page_not_before))
            named = body["answers"].get("organisation_name")
            if named and not result.case.organisation_code:
                dispatcher.utter_message(response=n.UTTER_ORGANISATION_UNMATCHED, organisation_name=named)
            dispatcher.utter_message(response=n.UTTER_ASK_RATING)
            events.append(SlotSet(n.SLOT_CASE_REF, result.case.ref))
        elif result.unavailable:
            dispatcher.utter_message(response=n.UTTER_REFERRAL_API_DOWN)
        else:
            dispatcher.utter_message(response=n.UTTER_REFERRAL_REJECTED)
        events += [SlotSet(k, v) for k, v in outbox.slots().items() if k != n.SLOT_CASE_REF]
        return events + reset


def when_looked_at(page_not_before: Any) -> str:
    """"as soon as they can" for a page that goes now; "from 24 Nov 2026, 08:00" for one
    held to working hours."""
    try:
        moment = datetime.fromisoformat(str(page_not_before))
    except (TypeError, ValueError):
        return "as soon as they can"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    if moment <= forms.now_london() + timedelta(minutes=1):
        return "as soon as they can"
    return f"from {date_text(moment.isoformat())}"


class ValidateReferralStatusForm(HelplineFormValidation):
    def name(self) -> Text:
        return n.VALIDATE_REFERRAL_STATUS_FORM

    def readers(self):
        return {n.SLOT_STATUS_REF: read_ref}

    async def validate_status_ref(self, value, dispatcher, tracker, domain):
        return await self.read(n.SLOT_STATUS_REF, value, read_ref, dispatcher, tracker, domain)


class ActionReferralStatus(Action):
    def name(self) -> Text:
        return n.ACTION_REFERRAL_STATUS

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        ref = normalise_ref(tracker.get_slot(n.SLOT_STATUS_REF))
        reset = [SlotSet(n.SLOT_STATUS_REF, None), SlotSet(n.SLOT_FORM_RETRIES, None)]
        if not ref:
            dispatcher.utter_message(response=n.UTTER_REASK_STATUS_REF)
            return reset
        try:
            # Only a case this conversation (or, by text and call, this number) opened: any other
            # reference is "not found", so the bot never tells a visitor about someone else's case.
            status = await get_api(tracker.sender_id).get_status(ref)
        except ApiUnavailable:
            dispatcher.utter_message(response=n.UTTER_STATUS_API_DOWN)
            return reset
        except ApiRejected as exc:
            if exc.status_code in (404, 422):
                dispatcher.utter_message(response=n.UTTER_REFERRAL_STATUS_UNKNOWN, case_ref=ref)
            else:
                dispatcher.utter_message(response=n.UTTER_STATUS_API_DOWN)
            return reset
        dispatcher.utter_message(response=n.UTTER_REFERRAL_STATUS, case_ref=status.ref,
                                 status=status.status_words or label(domain, "status", status.status),
                                 updated=date_text(status.updated_at), summary=status.summary)
        return reset


class ValidateClinicianForm(HelplineFormValidation):
    REASK: ClassVar[Dict[str, str]] = {n.SLOT_CLINICIAN_QUESTION: "utter_reask_free_text"}

    FREE_TEXT = frozenset({n.SLOT_CLINICIAN_QUESTION})

    def name(self) -> Text:
        return n.VALIDATE_CLINICIAN_FORM

    def readers(self):
        from actions.common import callback_phone_reader
        return {n.SLOT_CLINICIAN_QUESTION: read_free_text, n.SLOT_CALLBACK_PHONE: callback_phone_reader(self)}

    async def validate_clinician_question(self, value, dispatcher, tracker, domain):
        return await self.read(n.SLOT_CLINICIAN_QUESTION, value, read_free_text, dispatcher, tracker, domain)

    async def validate_callback_phone(self, value, dispatcher, tracker, domain):
        from actions.common import read_callback_phone
        return await read_callback_phone(self, value, dispatcher, tracker, domain)


def last_faq_topic(tracker: Tracker) -> str:
    """The manager_faq topic asked about last ("manager_faq/ill_health_retirement" -> that)."""
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        parse = event.get("parse_data") or {}
        selector = (parse.get("response_selector") or {}).get(n.INTENT_MANAGER_FAQ) or {}
        key = (selector.get("response") or {}).get("intent_response_key")
        if key and "/" in key:
            return key.split("/", 1)[1]
    return "general"


class ActionClinicianSubmit(Action):
    def name(self) -> Text:
        return n.ACTION_CLINICIAN_SUBMIT

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> List[EventType]:
        question = tracker.get_slot(n.SLOT_CLINICIAN_QUESTION)
        if question in (None, n.UNKNOWN):
            question = latest_user_text(tracker, n.INTENT_REQUEST_CLINICIAN) or "Asked for a clinician"
        events = await request_callback(tracker, dispatcher, line="manager", topic=last_faq_topic(tracker),
                                        question=question, summary="Manager asked for a clinician's advice")
        return events + [SlotSet(n.SLOT_CLINICIAN_QUESTION, None), SlotSet(n.SLOT_LINE, "manager")]
