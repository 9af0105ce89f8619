"""Reminder texts (actions/reminders.py): asked only when a case exists and its number is a UK
mobile, sent only on a clear yes given to that question, a hedge records nothing, and the
rating question always follows."""
import pytest

from actions import names as n
from actions.api_client import CONVERSATION_HEADER
from actions.common import ActionRate
from actions.reminders import ActionReminderConsent, is_uk_mobile, read_answer
from actions.sharps import ActionSharpsSubmit
from tests.actions.builders import bot_event, make_tracker, responses, slot_events, user_event
from tests.actions.conftest import CONNECT_ERROR, TIMEOUT, body, calls, case_json

REF = "SH-000123"
CONSENT_PATH = f"/api/cases/{REF}/reminder-consent"
ASKED = [user_event("yes", n.INTENT_AFFIRM), bot_event("Here's what I've recorded."),
         bot_event("Can we text you a reminder?", utter_action=n.UTTER_ASK_REMINDER_CONSENT)]
WAITING = {n.SLOT_CASE_REF: REF, n.SLOT_LINE: "sharps", n.SLOT_AWAITING_ANSWER: n.AWAITING_REMINDER_CONSENT,
           n.SLOT_CHANNEL: "sms", n.SLOT_SENDER_PHONE: "+447700900123"}
DONE = {n.SLOT_LINE: "sharps", n.SLOT_CASE_REF: REF, n.SLOT_ANNOUNCED_URGENCY: "routine",
        n.SLOT_OCCURRED_AT: "2026-11-23T14:40:00+00:00", n.SLOT_EXPOSURE_TYPE: "intact_skin"}


def consent_json(agreed=True, phone="+447700900123"):
    return {"ref": REF, "agreed": agreed, "phone": phone}


@pytest.mark.parametrize("number,mobile", [
    ("+447700900123", True), ("+447911123456", True), ("+447400123456", True),
    ("+442079460000", False),   # a London landline
    ("+447624123456", False),   # 076: pagers (and the Isle of Man's own range)
    ("+447012345678", False),   # 070: personal numbers
    ("07700900123", False),     # not E.164: the slots always hold E.164
    ("unknown", False), (None, False), ("", False),
])
def test_only_a_uk_mobile_can_get_texts(number, mobile):
    assert is_uk_mobile(number) is mobile


# -- when it is asked ------------------------------------------------------------------------------
@pytest.mark.parametrize("slots,asked", [
    ({n.SLOT_CALLBACK_PHONE: "+447400123456", n.SLOT_CHANNEL: "web"}, True),        # the call-back number
    ({n.SLOT_SENDER_PHONE: "+447700900123", n.SLOT_CHANNEL: "sms"}, True),          # the number texting
    ({n.SLOT_SENDER_PHONE: "+447700900123", n.SLOT_CHANNEL: "voice"}, True),        # the number calling
    ({n.SLOT_CHANNEL: "web"}, False),                                              # no number at all
    ({n.SLOT_CALLBACK_PHONE: "unknown", n.SLOT_CHANNEL: "web"}, False),
    # the case holds the landline given to call back on: no text could go to it
    ({n.SLOT_CALLBACK_PHONE: "+442079460000", n.SLOT_SENDER_PHONE: "+447700900123", n.SLOT_CHANNEL: "sms"}, False),
])
async def test_the_question_comes_after_the_summary_only_when_texts_could_go(api, dispatcher, domain, slots, asked):
    api.patch(f"/api/cases/{REF}").respond(200, json=case_json(urgency="routine", page_on_call=False))
    events = await ActionSharpsSubmit().run(dispatcher, make_tracker(slots={**DONE, **slots}), domain)
    said = responses(dispatcher)
    assert said[-5:-1] == [n.UTTER_SHARPS_SUMMARY, n.UTTER_SUMMARY_CHECK, n.UTTER_INCIDENT_REMINDER,
                           n.UTTER_EAP_OFFER]
    assert said[-1] == (n.UTTER_ASK_REMINDER_CONSENT if asked else n.UTTER_ASK_RATING)
    assert (n.UTTER_ASK_RATING in said) is not asked  # one question, never both
    assert slot_events(events)[n.SLOT_AWAITING_ANSWER] == (n.AWAITING_REMINDER_CONSENT if asked else None)
    assert CONSENT_PATH not in [path for _, path in calls(api)]  # asking sends nothing


async def test_no_case_no_question(api, dispatcher, domain):
    """The API was never reached: there is no case a consent could go on."""
    api.post("/api/cases").mock(side_effect=CONNECT_ERROR)
    slots = {**DONE, n.SLOT_CASE_REF: None, n.SLOT_SENDER_PHONE: "+447700900123", n.SLOT_CHANNEL: "sms"}
    await ActionSharpsSubmit().run(dispatcher, make_tracker(slots=slots), domain)
    assert responses(dispatcher)[-1] == n.UTTER_ASK_RATING
    assert n.UTTER_ASK_REMINDER_CONSENT not in responses(dispatcher)


# -- the answer ------------------------------------------------------------------------------------
@pytest.mark.parametrize("text,intent,agreed,words", [
    ("yes please", n.INTENT_AFFIRM, True, "yes please"),
    ("YES", n.INTENT_AFFIRM, True, "YES"),
    ("/affirm", n.INTENT_AFFIRM, True, "yes (button)"),     # the Yes button, or 1 on a call
    ("go on then", n.INTENT_INFORM, True, "go on then"),
    ("no thanks", n.INTENT_DENY, False, "no thanks"),
    ("/deny", n.INTENT_DENY, False, "no (button)"),
    ("nope", n.INTENT_INFORM, False, "nope"),
])
async def test_a_clear_answer_is_sent_to_the_case_then_the_rating(api, dispatcher, domain, text, intent, agreed,
                                                                   words):
    route = api.post(CONSENT_PATH).respond(200, json=consent_json(agreed))
    tracker = make_tracker(text=text, intent=intent, events=ASKED, slots=WAITING)
    events = await ActionReminderConsent().run(dispatcher, tracker, domain)
    assert body(route.calls.last) == {"agreed": agreed, "words": words}
    assert route.calls.last.request.headers[CONVERSATION_HEADER] == "conv-123"  # only its own case
    assert responses(dispatcher) == [n.UTTER_REMINDER_CONSENT_YES if agreed else n.UTTER_REMINDER_CONSENT_NO,
                                     n.UTTER_ASK_RATING]
    assert slot_events(events)[n.SLOT_AWAITING_ANSWER] is None
    assert slot_events(events)[n.SLOT_PENDING_SYNC] is None


@pytest.mark.parametrize("text,intent", [
    ("maybe", n.INTENT_NLU_FALLBACK),
    ("not sure", n.INTENT_DONT_KNOW),
    ("I don't know", n.INTENT_DONT_KNOW),
    ("yes maybe", n.INTENT_AFFIRM),           # a yes with a hedge is not a yes
    ("possibly", n.INTENT_INFORM),
    ("ok I'll think about it", n.INTENT_AFFIRM),
    ("probably", n.INTENT_AFFIRM),
    ("what would it say", n.INTENT_INFORM),   # neither yes nor no
    ("yes and no", n.INTENT_AFFIRM),
    ("no", n.INTENT_AFFIRM),                  # the words and the intent disagree
])
async def test_a_hedge_or_anything_unclear_records_nothing_and_moves_on(api, dispatcher, domain, text, intent):
    tracker = make_tracker(text=text, intent=intent, events=ASKED, slots=WAITING)
    events = await ActionReminderConsent().run(dispatcher, tracker, domain)
    assert api.calls.call_count == 0
    assert responses(dispatcher) == [n.UTTER_REMINDER_CONSENT_HEDGE, n.UTTER_ASK_RATING]
    assert slot_events(events) == {n.SLOT_AWAITING_ANSWER: None}


@pytest.mark.parametrize("between", [
    # crisis words, a person, a new report, a rating or a greeting since the question: it is closed
    [user_event("i cant go on", n.INTENT_CRISIS), bot_event("If you are in danger call 999.")],
    [user_event("talk to a person", n.INTENT_REQUEST_HUMAN),
     bot_event("Is this the best number?", utter_action=n.UTTER_ASK_CALLBACK_PHONE_CONFIRM)],
    [user_event("needlestick", n.INTENT_REPORT_SHARPS_INJURY), bot_event("Let the wound bleed."),
     {"event": "active_loop", "name": n.FORM_SHARPS}],
    [{"event": "session_started"}],
    [user_event("hi", n.INTENT_GREET), bot_event("What do you need help with?", utter_action=n.UTTER_GREET_MENU)],
])
async def test_a_yes_meant_for_something_else_is_never_consent(api, dispatcher, domain, between):
    tracker = make_tracker(text="yes", intent=n.INTENT_AFFIRM, events=ASKED + between, slots=WAITING)
    events = await ActionReminderConsent().run(dispatcher, tracker, domain)
    assert api.calls.call_count == 0
    assert responses(dispatcher) == [n.UTTER_ANSWER_UNCLEAR]
    assert slot_events(events) == {n.SLOT_AWAITING_ANSWER: None}


async def test_a_yes_after_a_correction_or_a_question_still_answers_it(api, dispatcher, domain):
    route = api.post(CONSENT_PATH).respond(200, json=consent_json())
    between = [user_event("actually it was yesterday", n.INTENT_CORRECT_ANSWER),
               bot_event("Thanks, I've changed that.", utter_action=n.UTTER_CORRECTION_DONE),
               user_event("who sees this", n.INTENT_PRIVACY), bot_event("What we keep...")]
    tracker = make_tracker(text="yes", intent=n.INTENT_AFFIRM, events=ASKED + between, slots=WAITING)
    await ActionReminderConsent().run(dispatcher, tracker, domain)
    assert body(route.calls.last)["agreed"] is True


async def test_without_a_case_nothing_is_taken_as_consent(api, dispatcher, domain):
    tracker = make_tracker(text="yes", intent=n.INTENT_AFFIRM, events=ASKED, slots={**WAITING, n.SLOT_CASE_REF: None})
    await ActionReminderConsent().run(dispatcher, tracker, domain)
    assert api.calls.call_count == 0 and responses(dispatcher) == [n.UTTER_ANSWER_UNCLEAR]


async def test_a_yes_with_no_mobile_on_the_case_says_no_text_can_go(api, dispatcher, domain):
    api.post(CONSENT_PATH).respond(200, json=consent_json(phone=None))
    tracker = make_tracker(text="yes", intent=n.INTENT_AFFIRM, events=ASKED, slots=WAITING)
    await ActionReminderConsent().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == [n.UTTER_REMINDER_CONSENT_NO_MOBILE, n.UTTER_ASK_RATING]


# -- the API down or refusing ------------------------------------------------------------------------
@pytest.mark.parametrize("failure", [CONNECT_ERROR, TIMEOUT])
async def test_api_down_keeps_the_answer_and_says_it_is_not_saved_yet(api, dispatcher, domain, failure):
    api.post(CONSENT_PATH).mock(side_effect=failure)
    tracker = make_tracker(text="yes please", intent=n.INTENT_AFFIRM, events=ASKED, slots=WAITING)
    events = await ActionReminderConsent().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == [n.UTTER_REMINDER_CONSENT_KEPT, n.UTTER_ASK_RATING]
    assert slot_events(events)[n.SLOT_PENDING_SYNC] == {
        "reminder_consent": {"ref": REF, "agreed": True, "words": "yes please"}}


async def test_a_kept_answer_goes_with_the_next_call_the_rating(api, dispatcher, domain):
    consent = api.post(CONSENT_PATH).respond(200, json=consent_json())
    note = api.post(f"/api/cases/{REF}/events").respond(201, json={"id": 1})
    pending = {"reminder_consent": {"ref": REF, "agreed": True, "words": "yes please"}}
    rated = [user_event("yes", n.INTENT_AFFIRM), bot_event("How helpful?", utter_action=n.UTTER_ASK_RATING)]
    tracker = make_tracker(text="5", intent=n.INTENT_RATE, events=rated,
                           slots={n.SLOT_CASE_REF: REF, n.SLOT_PENDING_SYNC: pending})
    events = await ActionRate().run(dispatcher, tracker, domain)
    assert body(consent.calls.last) == {"agreed": True, "words": "yes please"}
    assert note.called
    assert slot_events(events)[n.SLOT_PENDING_SYNC] is None


async def test_the_latest_answer_replaces_a_kept_one(api, dispatcher, domain):
    api.post(CONSENT_PATH).mock(side_effect=CONNECT_ERROR)
    pending = {"reminder_consent": {"ref": REF, "agreed": True, "words": "yes"}}
    tracker = make_tracker(text="no", intent=n.INTENT_DENY, events=ASKED,
                           slots={**WAITING, n.SLOT_PENDING_SYNC: pending})
    events = await ActionReminderConsent().run(dispatcher, tracker, domain)
    assert slot_events(events)[n.SLOT_PENDING_SYNC]["reminder_consent"] == {"ref": REF, "agreed": False,
                                                                           "words": "no"}
    assert responses(dispatcher) == [n.UTTER_REMINDER_CONSENT_NO, n.UTTER_ASK_RATING]


async def test_a_refused_answer_says_plainly_it_was_not_saved(api, dispatcher, domain):
    api.post(CONSENT_PATH).respond(404, json={"detail": "no such case"})
    tracker = make_tracker(text="yes", intent=n.INTENT_AFFIRM, events=ASKED, slots=WAITING)
    events = await ActionReminderConsent().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == [n.UTTER_REMINDER_CONSENT_NOT_SAVED, n.UTTER_ASK_RATING]
    assert slot_events(events)[n.SLOT_PENDING_SYNC] is None  # a refusal is not retried


@pytest.mark.parametrize("text,intent,expected", [
    ("yes", n.INTENT_AFFIRM, "yes"), ("yeah go on", n.INTENT_AFFIRM, "yes"), ("sure", n.INTENT_INFORM, "yes"),
    ("no", n.INTENT_DENY, "no"), ("nah", n.INTENT_INFORM, "no"), ("not now", n.INTENT_DENY, "no"),
    ("maybe", n.INTENT_AFFIRM, "not_clear"), ("dunno", n.INTENT_DENY, "not_clear"),
    ("", n.INTENT_AFFIRM, "not_clear"), (None, None, "not_clear"), ("/dont_know", n.INTENT_DONT_KNOW, "not_clear"),
])
def test_read_answer(text, intent, expected):
    assert read_answer(text, intent) == expected
