"""Manager line: referral with a consent gate, status look-up, clinician call-back."""
import httpx
import pytest
from rasa_sdk.events import SlotSet

from actions import names as n
from actions.manager import (
    ActionAskReferralConfirm, ActionClinicianSubmit, ActionReferralStatus, ActionReferralSubmit,
    ValidateClinicianForm, ValidateReferralForm, ValidateReferralStatusForm, normalise_ref, referral_answers,
)
from tests.actions.builders import entity, form_turn, make_tracker, responses, slot_events
from tests.actions.conftest import CONNECT_ERROR, TIMEOUT, body, calls, case_json

ANSWERS = {
    n.SLOT_REFERRAL_CONSENT: "yes", n.SLOT_EMPLOYEE_NAME: "Alex Smith", n.SLOT_EMPLOYEE_ROLE: "receptionist",
    n.SLOT_EMPLOYEE_HOURS: "3 days a week", n.SLOT_REFERRAL_REASON: "mental_health",
    n.SLOT_ABSENCE_START: "2026-11-03", n.SLOT_ABSENCE_HISTORY: "none", n.SLOT_TRIED: "weekly catch-ups",
    n.SLOT_QUESTIONS_FOR_OH: "when can they return?", n.SLOT_REFERRAL_COMPLEX: "no",
    n.SLOT_ADJUSTMENTS: "none", n.SLOT_APPOINTMENT_TYPE: "phone", n.SLOT_URGENCY_REQUESTED: "routine",
    n.SLOT_ORGANISATION_NAME: "High St Surgery",
}
RESET = [SlotSet(s, None) for s in n.REFERRAL_FORM_SLOTS] + [SlotSet(n.SLOT_FORM_RETRIES, None)]


# -- the consent gate ----------------------------------------------------------------------
async def test_consent_yes_carries_on_to_the_employee(dispatcher, domain):
    tracker = form_turn(n.FORM_REFERRAL, text="yes", intent=n.INTENT_AFFIRM, referral_consent="yes")
    events = await ValidateReferralForm().run(dispatcher, tracker, domain)
    assert events == [SlotSet(n.SLOT_REFERRAL_CONSENT, "yes"), SlotSet(n.SLOT_FORM_RETRIES, None),
                      SlotSet(n.SLOT_REQUESTED, n.SLOT_EMPLOYEE_NAME)]


@pytest.mark.parametrize("text,intent", [("no", n.INTENT_DENY), ("not sure", n.INTENT_DONT_KNOW)])
async def test_without_consent_nothing_else_is_asked(dispatcher, domain, text, intent):
    tracker = form_turn(n.FORM_REFERRAL, text=text, intent=intent, referral_consent=text)
    events = await ValidateReferralForm().run(dispatcher, tracker, domain)
    assert slot_events(events)[n.SLOT_REQUESTED] is None  # the form ends here


async def test_submit_without_consent_explains_and_sends_nothing(api, dispatcher, domain):
    tracker = make_tracker(slots={n.SLOT_REFERRAL_CONSENT: "no"})
    events = await ActionReferralSubmit().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == [n.UTTER_REFERRAL_NO_CONSENT]
    assert events == RESET
    assert api.calls.call_count == 0


# -- reading answers ------------------------------------------------------------------------------
@pytest.mark.parametrize("slot,text,expected", [
    (n.SLOT_REFERRAL_REASON, "1", "mental_health"),
    (n.SLOT_REFERRAL_REASON, "its her back", "musculoskeletal"),
    (n.SLOT_ABSENCE_START, "3 November", "2026-11-03"),
    (n.SLOT_ABSENCE_START, "not off", "not_absent"),
    (n.SLOT_APPOINTMENT_TYPE, "video please", "video"),
    (n.SLOT_URGENCY_REQUESTED, "2", "urgent"),
    (n.SLOT_EMPLOYEE_NAME, "  Alex   Smith ", "Alex Smith"),
])
async def test_referral_answers_are_read(dispatcher, domain, slot, text, expected):
    tracker = form_turn(n.FORM_REFERRAL, text=text, slots={n.SLOT_REFERRAL_CONSENT: "yes"}, **{slot: text})
    events = await ValidateReferralForm().run(dispatcher, tracker, domain)
    assert slot_events(events)[slot] == expected


async def test_unreadable_choice_is_asked_again(dispatcher, domain):
    tracker = form_turn(n.FORM_REFERRAL, text="9", slots={n.SLOT_REFERRAL_CONSENT: "yes"}, referral_reason="9")
    events = await ValidateReferralForm().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_reask_choice"]
    assert slot_events(events)[n.SLOT_REFERRAL_REASON] is None


async def test_confirmation_shows_the_referral_in_words(dispatcher, domain):
    await ActionAskReferralConfirm().run(dispatcher, make_tracker(slots=ANSWERS), domain)
    message = dispatcher.messages[0]
    assert message["response"] == n.UTTER_ASK_REFERRAL_CONFIRM
    assert message["reason"] == "mental health" and message["appointment_type"] == "phone"
    assert message["absence_start"] == "3 Nov 2026" and message["complex"] == "no"


# -- submitting ---------------------------------------------------------------------------------------------
async def test_a_matched_organisation_needs_no_word(api, dispatcher, domain):
    matched = {**case_json("MA-000046", line="manager", kind="referral", urgency="routine", route="nurse"),
               "organisation": {"code": "Y00001", "name": "High St Surgery", "type": "gp_practice"}}
    api.post("/api/cases").respond(201, json=matched)
    tracker = make_tracker(slots={**ANSWERS, n.SLOT_REFERRAL_CONFIRM: "yes"})
    await ActionReferralSubmit().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == [n.UTTER_REFERRAL_SENT, n.UTTER_ASK_RATING]


async def test_confirmed_referral_is_posted_and_the_reference_given(api, dispatcher, domain):
    route = api.post("/api/cases").respond(201, json=case_json("MA-000045", line="manager", kind="referral",
                                                               urgency="routine", route="nurse"))
    tracker = make_tracker(slots={**ANSWERS, n.SLOT_REFERRAL_CONFIRM: "yes", n.SLOT_CHANNEL: "web"})
    events = await ActionReferralSubmit().run(dispatcher, tracker, domain)

    assert body(route.calls.last) == {
        "line": "manager", "kind": "referral", "conversation_id": "conv-123", "channel": "web",
        "answers": {
            "employee_name": "Alex Smith", "employee_role": "receptionist", "employee_hours": "3 days a week",
            "consent": True, "consent_reason_explained": True, "reason": "mental_health",
            "absence_start": "2026-11-03", "absence_history": "none", "tried": "weekly catch-ups",
            "questions": "when can they return?", "adjustments": "none", "appointment_type": "phone",
            "urgency_requested": "routine", "complex": False, "organisation_name": "High St Surgery",
        },
    }
    # The API matched no organisation to "High St Surgery": the manager is told, kindly.
    assert responses(dispatcher) == [n.UTTER_REFERRAL_SENT, n.UTTER_ORGANISATION_UNMATCHED, n.UTTER_ASK_RATING]
    assert dispatcher.messages[1]["organisation_name"] == "High St Surgery"
    assert dispatcher.messages[0]["case_ref"] == "MA-000045"
    assert dispatcher.messages[0]["route"] == "an OH nurse"
    assert events[:2] == [SlotSet(n.SLOT_LINE, "manager"), SlotSet(n.SLOT_CASE_REF, "MA-000045")]
    assert events[-len(RESET):] == RESET


async def test_cancel_at_confirmation_sends_nothing_and_clears_the_form(api, dispatcher, domain):
    events = await ActionReferralSubmit().run(dispatcher, make_tracker(slots={**ANSWERS, n.SLOT_REFERRAL_CONFIRM: "no"}),
                                              domain)
    assert responses(dispatcher) == [n.UTTER_REFERRAL_CANCELLED]
    assert events == RESET
    assert api.calls.call_count == 0


@pytest.mark.parametrize("failure", [CONNECT_ERROR, TIMEOUT, httpx.Response(500)])
async def test_referral_with_the_api_down_is_kept_and_sent_later(api, dispatcher, domain, failure):
    api.post("/api/cases").mock(side_effect=[failure, failure])
    events = await ActionReferralSubmit().run(
        dispatcher, make_tracker(slots={**ANSWERS, n.SLOT_REFERRAL_CONFIRM: "yes"}), domain)
    assert responses(dispatcher) == [n.UTTER_REFERRAL_API_DOWN]
    kept = slot_events(events)[n.SLOT_PENDING_SYNC]["cases"]
    assert kept[0]["kind"] == "referral" and kept[0]["answers"]["consent"] is True


async def test_referral_refused_by_the_api_says_nothing_was_sent(api, dispatcher, domain):
    api.post("/api/cases").respond(422, json={"detail": [{"loc": ["body", "answers", "consent"], "msg": "x"}]})
    events = await ActionReferralSubmit().run(
        dispatcher, make_tracker(slots={**ANSWERS, n.SLOT_REFERRAL_CONFIRM: "yes"}), domain)
    assert responses(dispatcher) == [n.UTTER_REFERRAL_REJECTED]
    assert slot_events(events).get(n.SLOT_PENDING_SYNC) is None


def test_unknown_answers_are_sent_as_null():
    answers = referral_answers({**ANSWERS, n.SLOT_TRIED: "unknown", n.SLOT_REFERRAL_COMPLEX: "unknown"})
    assert answers["tried"] is None and answers["complex"] is None


# -- status look-up --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text,expected", [("MA-000045", "MA-000045"), ("ma 45", "MA-000045"),
                                           ("sh123", "SH-000123"), ("my referral", None)])
def test_references_are_normalised(text, expected):
    assert normalise_ref(text) == expected


async def test_status_is_looked_up_and_shown(api, dispatcher, domain):
    api.get("/api/cases/MA-000045/status").respond(200, json={
        "ref": "MA-000045", "status": "in_progress", "urgency": "routine", "line": "manager",
        "updated_at": "2026-11-20T09:30:00+00:00", "summary": "Appointment booked."})
    events = await ActionReferralStatus().run(dispatcher, make_tracker(slots={n.SLOT_STATUS_REF: "ma45"}), domain)
    assert calls(api) == [("GET", "/api/cases/MA-000045/status")]
    assert responses(dispatcher) == [n.UTTER_REFERRAL_STATUS]
    assert dispatcher.messages[0]["status"] == "in progress"
    assert dispatcher.messages[0]["updated"] == "20 Nov 2026, 09:30"
    assert events == [SlotSet(n.SLOT_STATUS_REF, None), SlotSet(n.SLOT_FORM_RETRIES, None)]


async def test_unknown_reference_is_a_kind_message(api, dispatcher, domain):
    api.get("/api/cases/MA-000999/status").respond(404, json={"detail": "Case not found"})
    await ActionReferralStatus().run(dispatcher, make_tracker(slots={n.SLOT_STATUS_REF: "MA-000999"}), domain)
    assert responses(dispatcher) == [n.UTTER_REFERRAL_STATUS_UNKNOWN]


async def test_status_with_the_api_down(api, dispatcher, domain):
    api.get("/api/cases/MA-000045/status").mock(side_effect=CONNECT_ERROR)
    await ActionReferralStatus().run(dispatcher, make_tracker(slots={n.SLOT_STATUS_REF: "MA-000045"}), domain)
    assert responses(dispatcher) == [n.UTTER_STATUS_API_DOWN]


async def test_status_reference_asked_for_is_read_from_the_entity(dispatcher, domain):
    tracker = form_turn(n.FORM_REFERRAL_STATUS, text="its MA-45", entities=[entity("case_ref", "MA-45")],
                        status_ref="its MA-45")
    events = await ValidateReferralStatusForm().run(dispatcher, tracker, domain)
    assert events == [SlotSet(n.SLOT_STATUS_REF, "MA-000045"), SlotSet(n.SLOT_FORM_RETRIES, None),
                      SlotSet(n.SLOT_REQUESTED, None)]


# -- clinician call-back -------------------------------------------------------------------------------------------
async def test_clinician_question_and_number(dispatcher, domain):
    tracker = form_turn(n.FORM_CLINICIAN, text="can she do nights with her back", clinician_question="can she do nights with her back")
    events = await ValidateClinicianForm().run(dispatcher, tracker, domain)
    assert slot_events(events)[n.SLOT_REQUESTED] == n.SLOT_CALLBACK_PHONE


@pytest.mark.parametrize("page_not_before,expected", [
    (None, n.UTTER_CALLBACK_NOW),
    ("2026-11-24T08:00:00+00:00", n.UTTER_CALLBACK_LATER),
])
async def test_clinician_request_says_honestly_when_they_will_call(api, dispatcher, domain, page_not_before, expected):
    route = api.post("/api/cases").respond(201, json=case_json("MA-000046", line="manager", kind="advice",
                                                               urgency="urgent", page_not_before=page_not_before))
    tracker = make_tracker(slots={n.SLOT_CLINICIAN_QUESTION: "Is she fit for nights?", n.SLOT_CALLBACK_PHONE: "+447911123456"},
                           events=[{"event": "user", "text": "can OH advise on ill health retirement",
                                    "parse_data": {"intent": {"name": "manager_faq"}, "response_selector": {
                                        "manager_faq": {"response": {"intent_response_key": "manager_faq/ill_health_retirement"}}}}}])
    events = await ActionClinicianSubmit().run(dispatcher, tracker, domain)
    assert body(route.calls.last) == {
        "line": "manager", "kind": "advice", "conversation_id": "conv-123",
        "answers": {"topic": "ill_health_retirement", "question": "Is she fit for nights?"},
        "summary": "Manager asked for a clinician's advice", "contact": {"phone": "+447911123456"},
    }
    assert responses(dispatcher) == [expected]
    if expected == n.UTTER_CALLBACK_LATER:
        assert dispatcher.messages[0]["call_from"] == "24 Nov 2026, 08:00"
    assert slot_events(events)[n.SLOT_CASE_REF] == "MA-000046"


async def test_clinician_request_with_the_api_down_gives_the_direct_route(api, dispatcher, domain):
    api.post("/api/cases").mock(side_effect=CONNECT_ERROR)
    events = await ActionClinicianSubmit().run(dispatcher, make_tracker(slots={n.SLOT_CLINICIAN_QUESTION: "help"}), domain)
    assert responses(dispatcher) == [n.UTTER_HANDOFF_API_DOWN_NO_NUMBER]
    assert slot_events(events)[n.SLOT_PENDING_SYNC]["cases"][0]["kind"] == "advice"


async def test_phone_is_an_appointment_type_even_if_labelled_request_human(dispatcher, domain):
    slots = {n.SLOT_REFERRAL_CONSENT: "yes"}
    tracker = form_turn(n.FORM_REFERRAL, text="phone", intent=n.INTENT_REQUEST_HUMAN, slots=slots,
                        requested=n.SLOT_APPOINTMENT_TYPE)
    events = await ValidateReferralForm().run(dispatcher, tracker, domain)
    assert slot_events(events)[n.SLOT_APPOINTMENT_TYPE] == "phone"


async def test_free_text_labelled_out_of_scope_is_still_the_answer(dispatcher, domain):
    tracker = form_turn(n.FORM_CLINICIAN, text="whether she can do night shifts", intent=n.INTENT_OUT_OF_SCOPE,
                        requested=n.SLOT_CLINICIAN_QUESTION)
    events = await ValidateClinicianForm().run(dispatcher, tracker, domain)
    assert slot_events(events)[n.SLOT_CLINICIAN_QUESTION] == "whether she can do night shifts"


async def test_confirmation_by_intent_is_left_to_the_domain_mapping(dispatcher, domain):
    tracker = form_turn(n.FORM_REFERRAL, text="yes", intent=n.INTENT_AFFIRM, slots={n.SLOT_REFERRAL_CONSENT: "yes"},
                        referral_confirm="yes")
    events = await ValidateReferralForm().run(dispatcher, tracker, domain)
    assert slot_events(events)[n.SLOT_REFERRAL_CONFIRM] == "yes"


async def test_confirmation_in_words(dispatcher, domain):
    tracker = form_turn(n.FORM_REFERRAL, text="yep send it", intent=n.INTENT_INFORM,
                        slots={**ANSWERS}, requested=n.SLOT_REFERRAL_CONFIRM)
    events = await ValidateReferralForm().run(dispatcher, tracker, domain)
    assert slot_events(events)[n.SLOT_REFERRAL_CONFIRM] == "yes"
    assert slot_events(events)[n.SLOT_REQUESTED] is None


@pytest.mark.parametrize("text,intent,kept", [
    ("weekly catch ups", n.INTENT_REPEAT, True),          # mislabelled: no cue word, so it is the answer
    ("regular one to ones", n.INTENT_STOP, True),
    ("she spoke to her gp", n.INTENT_REQUEST_HUMAN, True),  # "spoke" is not "speak": an answer
    ("can you say that again", n.INTENT_REPEAT, False),   # a real interruption carries its cue
    ("stop", n.INTENT_STOP, False),
])
async def test_free_text_is_interrupted_only_with_a_cue_word(dispatcher, domain, text, intent, kept):
    tracker = form_turn(n.FORM_REFERRAL, text=text, intent=intent, slots={n.SLOT_REFERRAL_CONSENT: "yes"},
                        requested=n.SLOT_TRIED)
    events = await ValidateReferralForm().run(dispatcher, tracker, domain)
    assert (slot_events(events).get(n.SLOT_TRIED) == text) is kept
