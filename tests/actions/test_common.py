"""Session start, two-stage fallback question, repeat, stop / carry on, rating."""
import pytest
from rasa_sdk.events import ActionExecuted, ActiveLoop, SessionStarted, SlotSet

from actions import names as n
from actions.common import (
    ActionAskCallbackPhone, ActionDefaultAskAffirmation, ActionRate, ActionRepeat, ActionResumeForm,
    ActionSessionStart, ActionStop,
)
from tests.actions.builders import bot_event, make_tracker, responses, slot_events, user_event
from tests.actions.conftest import CONNECT_ERROR, body, case_json


@pytest.mark.parametrize("metadata,expected", [
    ({"channel": "sms", "phone": "+447700900123"},
     [SlotSet(n.SLOT_CHANNEL, "sms"), SlotSet(n.SLOT_NUMBERED_CHOICES, True),
      SlotSet(n.SLOT_SENDER_PHONE, "+447700900123")]),
    ({"channel": "web"}, [SlotSet(n.SLOT_CHANNEL, "web"), SlotSet(n.SLOT_NUMBERED_CHOICES, False)]),
    ({"channel": "voice", "phone": "07911 123456"},
     # a call hears its own voice variants ("say X, or press 1"), never "Reply 1 for ..."
     [SlotSet(n.SLOT_CHANNEL, "voice"), SlotSet(n.SLOT_NUMBERED_CHOICES, False),
      SlotSet(n.SLOT_SENDER_PHONE, "+447911123456")]),
    ({"channel": "fax", "phone": "not a number"}, []),
    (None, []),
])
async def test_session_start_reads_channel_and_phone_from_metadata(dispatcher, domain, metadata, expected):
    tracker = make_tracker(slots={n.SLOT_SESSION_METADATA: metadata})
    events = await ActionSessionStart().run(dispatcher, tracker, domain)
    assert events == [SessionStarted()] + expected + [ActionExecuted(n.ACTION_LISTEN)]
    assert dispatcher.messages == []


async def test_ask_affirmation_offers_the_top_intents_and_something_else(dispatcher, domain):
    ranking = [{"name": "nlu_fallback", "confidence": 0.5}, {"name": "report_splash", "confidence": 0.4},
               {"name": "inform", "confidence": 0.3}, {"name": "request_human", "confidence": 0.2},
               {"name": "privacy", "confidence": 0.1}]
    tracker = make_tracker(text="eye thing", intent="nlu_fallback", ranking=ranking)
    await ActionDefaultAskAffirmation().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == [n.UTTER_ASK_AFFIRMATION]
    assert dispatcher.messages[0]["buttons"] == [
        {"title": "I've had a splash of blood or body fluid", "payload": "/report_splash"},
        {"title": "Talk to a person", "payload": "/request_human"},
        {"title": "Something else", "payload": "/out_of_scope"},
    ]


async def test_repeat_sends_the_last_bot_turn_again(dispatcher, domain):
    buttons = [{"title": "Yes", "payload": "/affirm"}]
    events = [user_event("hi", "greet"), bot_event("Hello."), user_event("needle", "report_sharps_injury"),
              bot_event("First aid..."), bot_event("Were you wearing gloves?", buttons)]
    tracker = make_tracker(text="say that again", intent=n.INTENT_REPEAT, events=events)
    await ActionRepeat().run(dispatcher, tracker, domain)
    assert [(m["text"], m["buttons"]) for m in dispatcher.messages] == [
        ("First aid...", []), ("Were you wearing gloves?", buttons)]


async def test_repeat_with_nothing_said_yet(dispatcher, domain):
    await ActionRepeat().run(dispatcher, make_tracker(text="repeat", intent=n.INTENT_REPEAT), domain)
    assert responses(dispatcher) == [n.UTTER_NOTHING_TO_REPEAT]


async def test_stop_mid_sharps_sends_what_we_have_as_final_and_closes_the_form(api, dispatcher, domain):
    route = api.patch("/api/cases/SH-000123").respond(200, json=case_json())
    events_before = [user_event("yes", n.INTENT_AFFIRM), {"event": "slot", "name": "fluid", "value": "yes"}]
    tracker = make_tracker(events=events_before, active_loop=n.FORM_SHARPS,
                           slots={n.SLOT_LINE: "sharps", n.SLOT_CASE_REF: "SH-000123", n.SLOT_REQUESTED: "fluid",
                                  n.SLOT_EXPOSURE_TYPE: "percutaneous", n.SLOT_FLUID: "yes"})
    events = await ActionStop().run(dispatcher, tracker, domain)
    assert body(route.calls.last)["provisional"] is False
    # stopping still ends with the outcome so far, what to do and until when, and the reference
    assert responses(dispatcher) == [n.UTTER_STOPPED, n.UTTER_SHARPS_URGENT_NO_NUMBER, n.UTTER_CALL_BY,
                                     n.UTTER_STOPPED_CASE_KEPT]
    assert events[0] == SlotSet(n.SLOT_FLUID, None)  # the "yes" to "stop?" is not an answer
    assert events[-2:] == [ActiveLoop(None), SlotSet(n.SLOT_REQUESTED, None)]


async def test_stop_outside_a_form(api, dispatcher, domain):
    events = await ActionStop().run(dispatcher, make_tracker(text="stop", intent=n.INTENT_STOP), domain)
    assert responses(dispatcher) == [n.UTTER_STOPPED]
    assert events == [ActiveLoop(None), SlotSet(n.SLOT_REQUESTED, None)]
    assert api.calls.call_count == 0


async def test_carry_on_forgets_the_no(dispatcher, domain):
    tracker = make_tracker(events=[user_event("no", n.INTENT_DENY), {"event": "slot", "name": "gloves", "value": "no"}],
                           active_loop=n.FORM_SHARPS, slots={n.SLOT_REQUESTED: "gloves", "gloves": "no"})
    events = await ActionResumeForm().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == [n.UTTER_CONTINUE_OK]
    assert events == [SlotSet("gloves", None)]


ASKED = [user_event("no", n.INTENT_DENY), bot_event("Here's what I've recorded."),
         bot_event("How helpful was this, from 1 to 5?", utter_action=n.UTTER_ASK_RATING)]


@pytest.mark.parametrize("earlier", [
    [],  # a new conversation
    [user_event("hi", n.INTENT_GREET), bot_event("Reply INJURY or MANAGER.", utter_action=n.UTTER_GREET_MENU)],
    ASKED + [user_event("5", n.INTENT_RATE), bot_event("Thank you for your feedback.")],  # already rated
    ASKED + [user_event("hi", n.INTENT_GREET), bot_event("Reply INJURY or MANAGER.", utter_action=n.UTTER_GREET_MENU)],
    ASKED + [{"event": "session_started"}],  # an hour later: a new session
])
async def test_a_number_nobody_asked_for_is_not_a_rating(api, dispatcher, domain, earlier):
    events = await ActionRate().run(dispatcher, make_tracker(text="1", intent=n.INTENT_RATE, events=earlier,
                                                             slots={n.SLOT_CASE_REF: "SH-000123"}), domain)
    assert events == [] and responses(dispatcher) == [n.UTTER_NUMBER_UNCLEAR, n.UTTER_GREET_MENU]
    assert api.calls.call_count == 0


async def test_a_rating_after_a_correction_still_counts(api, dispatcher, domain):
    api.post("/api/cases/SH-000123/events").respond(201, json={"id": 1})
    earlier = ASKED + [user_event("actually it was yesterday", n.INTENT_CORRECT_ANSWER),
                       bot_event("I've changed that.")]
    tracker = make_tracker(text="5", intent=n.INTENT_RATE, events=earlier, slots={n.SLOT_CASE_REF: "SH-000123"})
    # what Rasa sends after the message: these follow the user event
    tracker.events += [{"event": "user_featurization", "use_text_for_featurization": False},
                       {"event": "slot", "name": "number", "value": "5"}]
    await ActionRate().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == [n.UTTER_RATING_THANKS]


@pytest.mark.parametrize("text,entities,expected,score", [
    ("5", [{"entity": "number", "value": "5"}], "Satisfaction rating: 5/5 (channel web)", 5),
    ("it was ok 3", [], "Satisfaction rating: 3/5 (channel web)", 3),
])
async def test_rating_is_sent_as_a_case_note(api, dispatcher, domain, text, entities, expected, score):
    route = api.post("/api/cases/SH-000123/events").respond(201, json={"id": 1})
    tracker = make_tracker(text=text, intent=n.INTENT_RATE, entities=entities, events=ASKED,
                           slots={n.SLOT_CASE_REF: "SH-000123", n.SLOT_CHANNEL: "web"})
    events = await ActionRate().run(dispatcher, tracker, domain)
    assert body(route.calls.last) == {"note": expected, "actor": "helpline-bot", "rating": score}
    assert responses(dispatcher) == [n.UTTER_RATING_THANKS]
    assert slot_events(events)[n.SLOT_PENDING_SYNC] is None


async def test_rating_unreadable(api, dispatcher, domain):
    events = await ActionRate().run(dispatcher, make_tracker(text="great", intent=n.INTENT_RATE, events=ASKED,
                                                             slots={n.SLOT_CASE_REF: "SH-000123"}), domain)
    assert events == [] and responses(dispatcher) == [n.UTTER_RATING_UNREADABLE]
    assert api.calls.call_count == 0


async def test_rating_without_a_case_is_just_thanked(api, dispatcher, domain):
    await ActionRate().run(dispatcher, make_tracker(text="4", intent=n.INTENT_RATE, events=ASKED), domain)
    assert responses(dispatcher) == [n.UTTER_RATING_THANKS]
    assert api.calls.call_count == 0


async def test_rating_with_the_api_down_is_kept(api, dispatcher, domain):
    api.post("/api/cases/SH-000123/events").mock(side_effect=CONNECT_ERROR)
    events = await ActionRate().run(dispatcher, make_tracker(text="4", intent=n.INTENT_RATE, events=ASKED,
                                                             slots={n.SLOT_CASE_REF: "SH-000123"}), domain)
    assert slot_events(events)[n.SLOT_PENDING_SYNC] == {
        "notes": [{"ref": "SH-000123", "rating": 4, "note": "Satisfaction rating: 4/5 (channel unknown)"}]}


async def test_kept_rating_goes_out_with_the_next_call(api, dispatcher, domain):
    note = api.post("/api/cases/SH-000123/events").respond(201, json={"id": 1})
    pending = {"notes": [{"ref": "SH-000123", "rating": 4, "note": "Satisfaction rating: 4/5 (channel unknown)"}]}
    await ActionRate().run(dispatcher, make_tracker(text="5", intent=n.INTENT_RATE, events=ASKED,
                                                    slots={n.SLOT_CASE_REF: "SH-000123", n.SLOT_PENDING_SYNC: pending}),
                           domain)
    assert [(body(c)["note"][:24], body(c)["rating"]) for c in note.calls] == [
        ("Satisfaction rating: 4/5", 4), ("Satisfaction rating: 5/5", 5)]


@pytest.mark.parametrize("slots,expected", [
    ({n.SLOT_SENDER_PHONE: "+447700900123"}, n.UTTER_ASK_CALLBACK_PHONE_CONFIRM),
    ({n.SLOT_SENDER_PHONE: "+447700900123", n.SLOT_CALLBACK_OFFER_DECLINED: True}, n.UTTER_ASK_CALLBACK_PHONE),
    ({}, n.UTTER_ASK_CALLBACK_PHONE),
])
async def test_callback_number_question(dispatcher, domain, slots, expected):
    await ActionAskCallbackPhone().run(dispatcher, make_tracker(slots=slots), domain)
    assert responses(dispatcher) == [expected]


def test_a_message_on_another_channel_switches_the_wording_slots():
    from actions.channel import channel_switch
    from actions.sync import conversation_channel

    tracker = make_tracker(slots={n.SLOT_CHANNEL: "voice", n.SLOT_NUMBERED_CHOICES: False}, text="blood",
                           metadata={"channel": "sms", "phone": "+447700900123"})
    assert channel_switch(tracker) == [SlotSet(n.SLOT_CHANNEL, "sms"), SlotSet(n.SLOT_NUMBERED_CHOICES, True)]
    assert conversation_channel(tracker) == "sms"
    same = make_tracker(slots={n.SLOT_CHANNEL: "sms"}, text="blood", metadata={"channel": "sms"})
    assert channel_switch(same) == []
    assert channel_switch(make_tracker(slots={n.SLOT_CHANNEL: "sms"}, text="blood")) == []
