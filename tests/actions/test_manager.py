"""Manager line: referral with a consent gate, status look-up, clinician call-back."""
from pathlib import Path

import httpx
import pytest
import yaml
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
    n.SLOT_REFERRAL_WORK_RELATED: "yes", n.SLOT_ABSENCE_START: "2026-11-03", n.SLOT_ABSENCE_HISTORY: "none",
    n.SLOT_TRIED: "weekly catch-ups",
    n.SLOT_QUESTIONS_FOR_OH: "when can they return?", n.SLOT_REFERRAL_COMPLEX: "no",
    n.SLOT_ADJUSTMENTS: "none", n.SLOT_APPOINTMENT_TYPE: "phone", n.SLOT_URGENCY_REQUESTED: "routine",
    n.SLOT_ORGANISATION_NAME: "High St Surgery",
}
RESET = [SlotSet(s, None) for s in n.REFERRAL_FORM_SLOTS] + [
    SlotSet(n.SLOT_REFERRAL_RISK_HISTORY, None), SlotSet(n.SLOT_FORM_RETRIES, None)]
ROOT = Path(__file__).resolve().parents[2]


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
    assert message["work_related"] == "yes"


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
            "consent": True, "consent_reason_explained": True, "reason": "mental_health", "work_related": True,
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
    tracker = make_tracker(slots={**ANSWERS, n.SLOT_REFERRAL_CONFIRM: "no"})
    events = await ActionReferralSubmit().run(dispatcher, tracker, domain)
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


async def test_status_reads_the_apis_words_and_its_utc_times(api, dispatcher, domain):
    # The API writes UTC times with "Z", which Python 3.10's fromisoformat does not read by itself.
    api.get("/api/cases/MA-000045/status").respond(200, json={
        "ref": "MA-000045", "status": "closed", "urgency": "routine", "line": "manager",
        "updated_at": "2026-12-01T06:37:23.785540Z", "status_words": "Outcome report available",
        "summary": "OH has released an outcome report: read it on the managers' referral pages."})
    await ActionReferralStatus().run(dispatcher, make_tracker(slots={n.SLOT_STATUS_REF: "MA-000045"}), domain)
    assert dispatcher.messages[0]["status"] == "Outcome report available"
    assert dispatcher.messages[0]["updated"] == "01 Dec 2026, 06:37"


async def test_status_is_asked_for_this_conversation_only(api, dispatcher, domain):
    # The API answers a case another conversation opened exactly as an unknown one (404).
    route = api.get("/api/cases/MA-000045/status").respond(404, json={"detail": "no case with reference 'MA-000045'"})
    tracker = make_tracker(slots={n.SLOT_STATUS_REF: "MA-000045"}, sender_id="conv-asking")
    await ActionReferralStatus().run(dispatcher, tracker, domain)
    assert route.calls.last.request.headers["X-Conversation-Id"] == "conv-asking"
    assert responses(dispatcher) == [n.UTTER_REFERRAL_STATUS_UNKNOWN]
    text = next(r["text"] for r in domain["responses"][n.UTTER_REFERRAL_STATUS_UNKNOWN] if not r.get("condition"))
    assert "for this conversation" in text and "{case_ref}" in text


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
    tracker = form_turn(n.FORM_CLINICIAN, text="can she do nights with her back",
                        clinician_question="can she do nights with her back")
    events = await ValidateClinicianForm().run(dispatcher, tracker, domain)
    assert slot_events(events)[n.SLOT_REQUESTED] == n.SLOT_CALLBACK_PHONE


@pytest.mark.parametrize("page_not_before,expected", [
    (None, n.UTTER_CALLBACK_NOW),
    ("2026-11-24T08:00:00+00:00", n.UTTER_CALLBACK_LATER),
])
async def test_clinician_request_says_honestly_when_they_will_call(api, dispatcher, domain, page_not_before, expected):
    route = api.post("/api/cases").respond(201, json=case_json("MA-000046", line="manager", kind="advice",
                                                               urgency="urgent", page_not_before=page_not_before))
    tracker = make_tracker(slots={n.SLOT_CLINICIAN_QUESTION: "Is she fit for nights?",
                                  n.SLOT_CALLBACK_PHONE: "+447911123456"},
                           events=[{"event": "user", "text": "can OH advise on ill health retirement",
                                    "parse_data": {"intent": {"name": "manager_faq"}, "response_selector": {
                                        "manager_faq": {"response": {
                                            "intent_response_key": "manager_faq/ill_health_retirement"}}}}}])
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
    events = await ActionClinicianSubmit().run(dispatcher, make_tracker(slots={n.SLOT_CLINICIAN_QUESTION: "help"}),
                                               domain)
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


# -- work-related stress or injury: asked, so the API's rule can fire ------------------------------------------
async def test_the_work_related_question_comes_straight_after_the_reason(dispatcher, domain):
    assert n.REFERRAL_FORM_SLOTS.index(n.SLOT_REFERRAL_WORK_RELATED) == n.REFERRAL_FORM_SLOTS.index(
        n.SLOT_REFERRAL_REASON) + 1
    assert domain["forms"][n.FORM_REFERRAL]["required_slots"] == list(n.REFERRAL_FORM_SLOTS)
    slots = {k: ANSWERS[k] for k in (n.SLOT_REFERRAL_CONSENT, n.SLOT_EMPLOYEE_NAME, n.SLOT_EMPLOYEE_ROLE,
                                     n.SLOT_EMPLOYEE_HOURS)}
    tracker = form_turn(n.FORM_REFERRAL, text="1", slots=slots, referral_reason="1")
    events = await ValidateReferralForm().run(dispatcher, tracker, domain)
    assert slot_events(events)[n.SLOT_REQUESTED] == n.SLOT_REFERRAL_WORK_RELATED
    assert "utter_ask_referral_work_related" in domain["responses"]


@pytest.mark.parametrize("text,intent,expected", [
    ("yes", n.INTENT_AFFIRM, "yes"),
    ("no", n.INTENT_DENY, "no"),
    ("yes its stress from work", n.INTENT_INFORM, "yes"),
    ("not sure", n.INTENT_DONT_KNOW, "unknown"),
])
async def test_the_work_related_answer_is_read(dispatcher, domain, text, intent, expected):
    tracker = form_turn(n.FORM_REFERRAL, text=text, intent=intent, slots={n.SLOT_REFERRAL_CONSENT: "yes"},
                        referral_work_related=text)
    events = await ValidateReferralForm().run(dispatcher, tracker, domain)
    assert slot_events(events)[n.SLOT_REFERRAL_WORK_RELATED] == expected
    assert slot_events(events)[n.SLOT_REQUESTED] == n.SLOT_EMPLOYEE_NAME  # the next unanswered question


@pytest.mark.parametrize("answer,sent", [("yes", True), ("no", False), ("unknown", None), (None, None)])
def test_the_work_related_answer_is_sent_to_the_api(answer, sent):
    assert referral_answers({**ANSWERS, n.SLOT_REFERRAL_WORK_RELATED: answer})["work_related"] is sent


# -- the employee's past self-harm: the referral goes on, a clinician is told ------------------------------------
def mark(tracker, whose="past", phrase="overdose"):
    tracker.latest_message["crisis_guard"] = {"phrase": phrase, "lexicon_version": "crisis-2026.12.3",
                                              "whose": whose}
    return tracker


PAST = "she took an overdose last year"


async def test_past_self_harm_in_an_answer_is_kept_and_the_form_goes_on(dispatcher, domain):
    slots = {k: ANSWERS[k] for k in n.REFERRAL_FORM_SLOTS[:n.REFERRAL_FORM_SLOTS.index(n.SLOT_ABSENCE_HISTORY)]}
    tracker = mark(form_turn(n.FORM_REFERRAL, text=PAST, slots=slots, absence_history=PAST))
    events = await ValidateReferralForm().run(dispatcher, tracker, domain)
    found = slot_events(events)
    assert found[n.SLOT_ABSENCE_HISTORY] == PAST                      # the answer is kept
    assert found[n.SLOT_REQUESTED] == n.SLOT_TRIED                    # and the next question is asked
    assert found[n.SLOT_REFERRAL_RISK_HISTORY] == {"said": [PAST], "lexicon_version": "crisis-2026.12.3"}
    assert responses(dispatcher) == [n.UTTER_REFERRAL_RISK_NOTED]
    noted = domain["responses"][n.UTTER_REFERRAL_RISK_NOTED][0]["text"]
    for must in ("999", "111", "option 2", "116 123", "carry on with the referral"):
        assert must in noted


async def test_past_self_harm_in_a_choice_answer_is_kept_too(dispatcher, domain):
    text = "mental health, she has a history of self harm"
    tracker = mark(form_turn(n.FORM_REFERRAL, text=text, slots={n.SLOT_REFERRAL_CONSENT: "yes"},
                             referral_reason=text), phrase="self harm")
    events = await ValidateReferralForm().run(dispatcher, tracker, domain)
    assert slot_events(events)[n.SLOT_REFERRAL_REASON] == "mental_health"
    assert slot_events(events)[n.SLOT_REFERRAL_RISK_HISTORY]["said"] == [text]


async def test_past_self_harm_in_the_first_message_is_kept_when_the_form_starts(dispatcher, domain):
    text = "i want to refer my nurse who took an overdose last year"
    tracker = mark(make_tracker(text=text, intent=n.INTENT_START_REFERRAL, active_loop=n.FORM_REFERRAL,
                                latest_action=n.FORM_REFERRAL))
    events = await ValidateReferralForm().run(dispatcher, tracker, domain)
    assert slot_events(events)[n.SLOT_REFERRAL_RISK_HISTORY]["said"] == [text]
    assert slot_events(events)[n.SLOT_REQUESTED] == n.SLOT_REFERRAL_CONSENT
    assert responses(dispatcher) == [n.UTTER_REFERRAL_RISK_NOTED]


async def test_the_same_words_are_noted_once(dispatcher, domain):
    kept = {"said": [PAST], "lexicon_version": "crisis-2026.12.3"}
    tracker = mark(form_turn(n.FORM_REFERRAL, text=PAST, slots={n.SLOT_REFERRAL_CONSENT: "yes",
                                                              n.SLOT_REFERRAL_RISK_HISTORY: kept}, tried=PAST))
    events = await ValidateReferralForm().run(dispatcher, tracker, domain)
    assert n.SLOT_REFERRAL_RISK_HISTORY not in slot_events(events)
    assert responses(dispatcher) == []


@pytest.mark.parametrize("whose", ["other", "unclear", "caller", None])
async def test_only_past_words_are_noted(dispatcher, domain, whose):
    tracker = form_turn(n.FORM_REFERRAL, text="weekly catch ups", slots={n.SLOT_REFERRAL_CONSENT: "yes"},
                        tried="weekly catch ups")
    if whose:
        mark(tracker, whose=whose)
    events = await ValidateReferralForm().run(dispatcher, tracker, domain)
    assert n.SLOT_REFERRAL_RISK_HISTORY not in slot_events(events)
    assert n.UTTER_REFERRAL_RISK_NOTED not in responses(dispatcher)


async def test_a_present_risk_is_never_taken_as_an_answer(dispatcher, domain):
    # The guard forces `crisis` on "she said she'll kill herself tonight": the form rejects
    # the message and the crisis rule runs (data/rules/crisis.yml), whatever was asked.
    text = "she said she'll kill herself tonight"
    tracker = mark(form_turn(n.FORM_REFERRAL, text=text, intent=n.INTENT_CRISIS,
                             slots={n.SLOT_REFERRAL_CONSENT: "yes"}, requested=n.SLOT_TRIED),
                   whose="unclear", phrase="kill herself")
    assert ValidateReferralForm().extract_answer(n.SLOT_TRIED, tracker) == {}
    events = await ValidateReferralForm().run(dispatcher, tracker, domain)
    assert n.SLOT_REFERRAL_RISK_HISTORY not in slot_events(events)


async def test_the_kept_words_go_with_the_referral_and_the_flag_is_said(api, dispatcher, domain):
    kept = {"said": [PAST], "lexicon_version": "crisis-2026.12.3"}
    flagged = case_json("MA-000047", line="manager", kind="referral", urgency="urgent", route="nurse",
                        page_not_before="2026-11-23T15:00:00+00:00",
                        advice=[{"code": "referral_queued", "text": "Thank you."},
                                {"code": "referral_risk_history_flagged", "text": "Flagged."}])
    route = api.post("/api/cases").respond(201, json=flagged)
    tracker = make_tracker(slots={**ANSWERS, n.SLOT_REFERRAL_CONFIRM: "yes", n.SLOT_REFERRAL_RISK_HISTORY: kept})
    events = await ActionReferralSubmit().run(dispatcher, tracker, domain)
    sent = body(route.calls.last)["answers"]
    assert sent["risk_history"] == kept and sent["absence_history"] == "none"
    assert responses(dispatcher)[:2] == [n.UTTER_REFERRAL_SENT, n.UTTER_REFERRAL_RISK_FLAGGED]
    assert dispatcher.messages[1]["when"] == "as soon as they can"
    assert SlotSet(n.SLOT_REFERRAL_RISK_HISTORY, None) in events


async def test_a_flag_held_to_working_hours_says_when(api, dispatcher, domain):
    held = case_json("MA-000048", line="manager", kind="referral", urgency="urgent", route="nurse",
                     page_not_before="2026-11-24T08:00:00+00:00",
                     advice=[{"code": "referral_risk_history_flagged", "text": "Flagged."}])
    api.post("/api/cases").respond(201, json=held)
    await ActionReferralSubmit().run(dispatcher, make_tracker(slots={**ANSWERS, n.SLOT_REFERRAL_CONFIRM: "yes"}),
                                     domain)
    assert dispatcher.messages[1]["response"] == n.UTTER_REFERRAL_RISK_FLAGGED
    assert dispatcher.messages[1]["when"] == "from 24 Nov 2026, 08:00"


async def test_no_flag_no_word_about_it(api, dispatcher, domain):
    api.post("/api/cases").respond(201, json=case_json("MA-000049", line="manager", kind="referral",
                                                       urgency="routine", route="nurse"))
    await ActionReferralSubmit().run(dispatcher, make_tracker(slots={**ANSWERS, n.SLOT_REFERRAL_CONFIRM: "yes"}),
                                     domain)
    assert n.UTTER_REFERRAL_RISK_FLAGGED not in responses(dispatcher)
    assert "risk_history" not in referral_answers(ANSWERS)


# -- FAQ answers (data/responses/manager_faq.yml) -------------------------------------------------
def faq(topic):
    data = yaml.safe_load((ROOT / "data/responses/manager_faq.yml").read_text(encoding="utf-8"))
    return " ".join(data["responses"][f"utter_manager_faq/{topic}"][0]["text"].split())


def test_access_to_work_pays_beyond_the_adjustments_never_instead_of_them():
    for topic in ("adjustments", "access_to_work"):
        text = faq(topic)
        assert "beyond" in text and "never instead of" in text, topic
        assert "Access to Work" in text.split("Source:")[1], topic  # named as a source
    assert "may help with the cost" not in faq("adjustments")


def test_the_sick_pay_answer_says_what_changed_in_april_2026():
    text = faq("sick_pay")
    for must in ("6 April 2026", "first day of sickness absence", "lower earnings limit",
                 "80% of the employee's average weekly earnings", "flat weekly rate, whichever is lower",
                 "GOV.UK", "Source:", "Employment Rights Act 2025"):
        assert must in text, must
    assert "£" not in text


def test_every_faq_answer_names_its_source():
    data = yaml.safe_load((ROOT / "data/responses/manager_faq.yml").read_text(encoding="utf-8"))
    for name, variants in data["responses"].items():
        assert variants[0]["text"].rstrip().split("Source:")[1].strip(), name
