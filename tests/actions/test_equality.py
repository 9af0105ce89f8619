"""The optional equality questions (actions/equality.py): offered after the rating on the web and
by text only, once; every question has "prefer not to say" and takes "skip"; the answers go as
the contract's codes with the line and channel only; stop, crisis words and a person end the
questions and send what was answered."""
import pytest
from rasa_sdk.events import ActiveLoop, SlotSet

from actions import equality
from actions import names as n
from actions.api_client import CONVERSATION_HEADER
from actions.common import ActionRate, ActionStop
from actions.crisis import ActionCrisis
from actions.equality import (
    PREFER_NOT_TO_SAY, SKIPPED, ActionAskEqualityStaffGroup, ActionEqualityLeave, ActionEqualityReply,
    ActionEqualitySubmit, ValidateEqualityForm, equality_answers, read_choice,
)
from actions.handoff import ActionHandoff
from tests.actions.builders import bot_event, form_turn, make_tracker, responses, slot_events, user_event
from tests.actions.conftest import CONNECT_ERROR, body, calls, case_json

REF = "SH-000123"
# The contract's codes (docs/contract.md "Equality of access").
CODES = {
    "age_band": {"16-24", "25-34", "35-44", "45-54", "55-64", "65+", "prefer_not_to_say"},
    "sex": {"female", "male", "prefer_not_to_say"},
    "ethnic_group": set("ABCDEFGHJKLMNPRSZ") | {"prefer_not_to_say"},
    "disability": {"yes", "no", "prefer_not_to_say"},
    "staff_group": {"doctor", "nurse_or_midwife", "healthcare_assistant", "pharmacist",
                    "pharmacy_technician_or_assistant", "allied_health_professional", "admin_or_reception",
                    "manager", "other", "prefer_not_to_say"},
    "organisation_type": {"gp_practice", "community_pharmacy", "federation", "other", "prefer_not_to_say"},
}
RATED = [user_event("yes", n.INTENT_AFFIRM), bot_event("How helpful?", utter_action=n.UTTER_ASK_RATING)]
OFFERED = [user_event("5", n.INTENT_RATE), bot_event("Thank you."),
           bot_event("Would you answer up to 6 optional questions?", utter_action=n.UTTER_ASK_EQUALITY_OFFER)]
CONTEXT = {n.SLOT_LINE: "sharps", n.SLOT_CHANNEL: "sms", n.SLOT_NUMBERED_CHOICES: True,
           n.SLOT_SENDER_PHONE: "+447700900123", n.SLOT_CASE_REF: REF}
ANSWERED = {n.SLOT_EQUALITY_AGE_BAND: "25-34", n.SLOT_EQUALITY_SEX: "female", n.SLOT_EQUALITY_ETHNIC_BROAD: "asian",
            n.SLOT_EQUALITY_ETHNIC_ASIAN: "H", n.SLOT_EQUALITY_DISABILITY: PREFER_NOT_TO_SAY,
            n.SLOT_EQUALITY_STAFF_GROUP: SKIPPED, n.SLOT_EQUALITY_ORGANISATION_TYPE: "community_pharmacy"}


def equality_route(api, status=201):
    return api.post("/api/equality", name="equality").respond(status, json={"recorded": True})


# -- the questions: codes, buttons and numbered texts agree ------------------------------------------
def test_every_question_offers_prefer_not_to_say_and_only_contract_codes():
    keys = {n.SLOT_EQUALITY_AGE_BAND: "age_band", n.SLOT_EQUALITY_SEX: "sex", n.SLOT_EQUALITY_DISABILITY: "disability",
            n.SLOT_EQUALITY_STAFF_GROUP: "staff_group", n.SLOT_EQUALITY_ORGANISATION_TYPE: "organisation_type",
            **dict.fromkeys(n.EQUALITY_ETHNIC_SLOTS, "ethnic_group")}
    for slot, choices in equality.CHOICES.items():
        assert choices.options[-1].value == PREFER_NOT_TO_SAY, slot
        if slot in keys:
            assert set(choices.values) <= CODES[keys[slot]], slot
    every_category = {o.value for c in equality.ETHNIC_CATEGORY.values() for o in c.options} - {PREFER_NOT_TO_SAY}
    assert every_category == set("ABCDEFGHJKLMNPRS")  # Z is "not stated": prefer not to say
    assert [o.value for o in equality.STAFF_GROUP.options] == [
        "doctor", "nurse_or_midwife", "healthcare_assistant", "pharmacist", "pharmacy_technician_or_assistant",
        "allied_health_professional", "admin_or_reception", "manager", "other", "prefer_not_to_say"]


@pytest.mark.parametrize("slot", [s for s in n.EQUALITY_FORM_SLOTS if s != n.SLOT_EQUALITY_STAFF_GROUP])
def test_buttons_and_numbered_text_match_the_options(domain, slot):
    choices = equality.CHOICES[slot]
    variants = domain["responses"][f"utter_ask_{slot}"]
    web = next(v for v in variants if v.get("buttons") and not v.get("condition"))
    assert [b["title"] for b in web["buttons"]] == [o.label for o in choices.options] + ["Skip"]
    assert [b["payload"] for b in web["buttons"]] == [str(i) for i in range(1, len(choices.options) + 1)] + ["skip"]
    numbered = next(v for v in variants if v.get("condition") == [
        {"type": "slot", "name": n.SLOT_NUMBERED_CHOICES, "value": True}])
    assert all(f"{i} for " in numbered["text"] for i in range(1, len(choices.options) + 1))
    assert f"{len(choices.options) + 1} for " not in numbered["text"] and "SKIP" in numbered["text"]
    assert numbered["text"].split(" Reply ")[0] == web["text"]  # the same question


def test_the_job_question_numbers_all_ten_by_text_and_has_ten_buttons_on_the_web(domain):
    numbered = domain["responses"][n.UTTER_ASK_EQUALITY_STAFF_GROUP][0]
    assert all(f"{i} for " in numbered["text"] for i in range(1, 11)) and "11 for" not in numbered["text"]


@pytest.mark.parametrize("slots,buttons", [
    ({n.SLOT_CHANNEL: "web", n.SLOT_NUMBERED_CHOICES: False}, 11),
    ({n.SLOT_CHANNEL: "sms", n.SLOT_NUMBERED_CHOICES: True}, 0),
])
async def test_job_question_buttons(dispatcher, domain, slots, buttons):
    await ActionAskEqualityStaffGroup().run(dispatcher, make_tracker(slots=slots), domain)
    assert responses(dispatcher) == [n.UTTER_ASK_EQUALITY_STAFF_GROUP]
    got = dispatcher.messages[0].get("buttons") or []
    assert len(got) == buttons
    if buttons:
        assert got[0] == {"title": "Doctor", "payload": "1"} and got[-1] == {"title": "Skip", "payload": "skip"}


@pytest.mark.parametrize("slot,text,expected", [
    (n.SLOT_EQUALITY_AGE_BAND, "2", "25-34"),
    (n.SLOT_EQUALITY_AGE_BAND, "25-34", "25-34"),
    (n.SLOT_EQUALITY_AGE_BAND, "I'm 29", "25-34"),
    (n.SLOT_EQUALITY_AGE_BAND, "67", "65+"),
    (n.SLOT_EQUALITY_AGE_BAND, "16", "16-24"),
    (n.SLOT_EQUALITY_AGE_BAND, "7", PREFER_NOT_TO_SAY),
    (n.SLOT_EQUALITY_AGE_BAND, "12", None),
    (n.SLOT_EQUALITY_SEX, "woman", "female"),
    (n.SLOT_EQUALITY_SEX, "Male", "male"),
    (n.SLOT_EQUALITY_SEX, "I'd rather not say", PREFER_NOT_TO_SAY),
    (n.SLOT_EQUALITY_SEX, "prefer not to say", PREFER_NOT_TO_SAY),
    (n.SLOT_EQUALITY_ETHNIC_BROAD, "3", "asian"),
    (n.SLOT_EQUALITY_ETHNIC_BROAD, "black british", "black"),
    (n.SLOT_EQUALITY_ETHNIC_BROAD, "white and black caribbean", "mixed"),
    (n.SLOT_EQUALITY_ETHNIC_WHITE, "1", "A"),
    (n.SLOT_EQUALITY_ETHNIC_WHITE, "irish", "B"),
    (n.SLOT_EQUALITY_ETHNIC_WHITE, "northern irish", "A"),
    (n.SLOT_EQUALITY_ETHNIC_ASIAN, "chinese", "R"),
    (n.SLOT_EQUALITY_ETHNIC_OTHER, "2", "S"),
    (n.SLOT_EQUALITY_DISABILITY, "nope", "no"),
    (n.SLOT_EQUALITY_DISABILITY, "yes", "yes"),
    (n.SLOT_EQUALITY_STAFF_GROUP, "practice nurse", "nurse_or_midwife"),
    (n.SLOT_EQUALITY_STAFF_GROUP, "receptionist", "admin_or_reception"),
    (n.SLOT_EQUALITY_STAFF_GROUP, "physio", "allied_health_professional"),
    (n.SLOT_EQUALITY_STAFF_GROUP, "pharmacy technician", "pharmacy_technician_or_assistant"),
    (n.SLOT_EQUALITY_STAFF_GROUP, "10", PREFER_NOT_TO_SAY),
    (n.SLOT_EQUALITY_STAFF_GROUP, "assistant", None),   # which one?
    (n.SLOT_EQUALITY_ORGANISATION_TYPE, "chemist", "community_pharmacy"),
    (n.SLOT_EQUALITY_ORGANISATION_TYPE, "gp federation", "federation"),
    (n.SLOT_EQUALITY_ORGANISATION_TYPE, "the surgery", "gp_practice"),
    (n.SLOT_EQUALITY_ORGANISATION_TYPE, "skip", SKIPPED),
    (n.SLOT_EQUALITY_ORGANISATION_TYPE, "Skip this one", SKIPPED),
    (n.SLOT_EQUALITY_ORGANISATION_TYPE, "next", SKIPPED),
    (n.SLOT_EQUALITY_ORGANISATION_TYPE, "stop", None),   # stop ends the questions: not an answer
    (n.SLOT_EQUALITY_SEX, "FINISH", equality.FINISHED),
    (n.SLOT_EQUALITY_SEX, "no more", equality.FINISHED),
])
def test_answers_are_read_from_numbers_and_words(slot, text, expected):
    assert read_choice(slot, text) == expected


def test_answers_become_the_contracts_codes_and_skips_are_left_out():
    assert equality_answers(ANSWERED) == {"age_band": "25-34", "sex": "female", "ethnic_group": "H",
                                          "disability": "prefer_not_to_say", "organisation_type": "community_pharmacy"}
    assert equality_answers({n.SLOT_EQUALITY_ETHNIC_BROAD: PREFER_NOT_TO_SAY}) == {"ethnic_group": "prefer_not_to_say"}
    assert equality_answers({n.SLOT_EQUALITY_ETHNIC_BROAD: "white", n.SLOT_EQUALITY_ETHNIC_WHITE: SKIPPED}) == {}
    assert equality_answers({n.SLOT_EQUALITY_ETHNIC_BROAD: SKIPPED}) == {}
    # a category left from another broad group never counts
    assert equality_answers({n.SLOT_EQUALITY_ETHNIC_BROAD: "black", n.SLOT_EQUALITY_ETHNIC_WHITE: "A"}) == {}


# -- the offer: after the rating, on the web and by text, once ------------------------------------------
@pytest.mark.parametrize("slots,offered", [
    ({n.SLOT_CHANNEL: "sms", n.SLOT_LINE: "sharps"}, True),
    ({n.SLOT_CHANNEL: "web", n.SLOT_LINE: "manager"}, True),
    ({n.SLOT_CHANNEL: "voice", n.SLOT_LINE: "sharps"}, False),   # a call: not offered, nothing said
    ({n.SLOT_CHANNEL: "sms", n.SLOT_LINE: "sharps", n.SLOT_EQUALITY_OFFERED: True}, False),  # once
    ({n.SLOT_CHANNEL: "web", n.SLOT_LINE: None}, False),
])
async def test_offered_after_the_rating_on_the_web_and_by_text(api, dispatcher, domain, slots, offered):
    api.post(f"/api/cases/{REF}/events").respond(201, json={"id": 1})
    tracker = make_tracker(text="5", intent=n.INTENT_RATE, events=RATED, slots={n.SLOT_CASE_REF: REF, **slots})
    events = await ActionRate().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == [n.UTTER_RATING_THANKS] + ([n.UTTER_ASK_EQUALITY_OFFER] if offered else [])
    assert slot_events(events).get(n.SLOT_AWAITING_ANSWER) == (n.AWAITING_EQUALITY_OFFER if offered else None)
    assert "/api/equality" not in [path for _, path in calls(api)]  # offering sends nothing


async def test_never_offered_inside_a_form_or_without_a_rating(api, dispatcher, domain):
    in_form = make_tracker(text="5", intent=n.INTENT_RATE, events=RATED, active_loop=n.FORM_REFERRAL,
                           slots={n.SLOT_CHANNEL: "web", n.SLOT_LINE: "manager"})
    await ActionRate().run(dispatcher, in_form, domain)
    unasked = make_tracker(text="5", intent=n.INTENT_RATE, slots={n.SLOT_CHANNEL: "web", n.SLOT_LINE: "manager"})
    await ActionRate().run(dispatcher, unasked, domain)
    assert n.UTTER_ASK_EQUALITY_OFFER not in responses(dispatcher)


@pytest.mark.parametrize("text,intent,started", [
    ("yes", n.INTENT_AFFIRM, True),
    ("/affirm", n.INTENT_AFFIRM, True),
    ("go on then", n.INTENT_INFORM, True),
    ("no thanks", n.INTENT_DENY, False),
    ("maybe later", n.INTENT_NLU_FALLBACK, False),
    ("prefer not to say", n.INTENT_NLU_FALLBACK, False),
    ("not sure", n.INTENT_DONT_KNOW, False),
])
async def test_only_a_clear_yes_starts_the_questions(api, dispatcher, domain, text, intent, started):
    tracker = make_tracker(text=text, intent=intent, events=OFFERED,
                           slots={**CONTEXT, n.SLOT_AWAITING_ANSWER: n.AWAITING_EQUALITY_OFFER})
    events = await ActionEqualityReply().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == [n.UTTER_EQUALITY_START if started else n.UTTER_EQUALITY_DECLINED]
    assert slot_events(events)[n.SLOT_AWAITING_ANSWER] == (n.AWAITING_EQUALITY_QUESTIONS if started else None)
    assert api.calls.call_count == 0


async def test_a_yes_meant_for_something_else_does_not_start_them(api, dispatcher, domain):
    between = [user_event("talk to a person", n.INTENT_REQUEST_HUMAN),
               bot_event("Is this the best number?", utter_action=n.UTTER_ASK_CALLBACK_PHONE_CONFIRM)]
    tracker = make_tracker(text="yes", intent=n.INTENT_AFFIRM, events=OFFERED + between,
                           slots={**CONTEXT, n.SLOT_AWAITING_ANSWER: n.AWAITING_EQUALITY_OFFER})
    events = await ActionEqualityReply().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == [n.UTTER_ANSWER_UNCLEAR]
    assert slot_events(events) == {n.SLOT_AWAITING_ANSWER: None}


# -- the form ---------------------------------------------------------------------------------------------
def test_only_the_ethnic_category_of_the_broad_group_is_asked():
    form = ValidateEqualityForm()
    for broad, asked in [("asian", n.SLOT_EQUALITY_ETHNIC_ASIAN), ("white", n.SLOT_EQUALITY_ETHNIC_WHITE),
                         (PREFER_NOT_TO_SAY, None), (SKIPPED, None), (None, None)]:
        slots = {n.SLOT_EQUALITY_ETHNIC_BROAD: broad}
        assert [s for s in n.EQUALITY_ETHNIC_SLOTS if form.applies(s, slots)] == ([asked] if asked else [])


async def test_an_answer_is_read_and_stored_as_its_code(dispatcher, domain):
    tracker = form_turn(n.FORM_EQUALITY, text="2", intent=n.INTENT_RATE, slots=CONTEXT, equality_age_band="2")
    events = await ValidateEqualityForm().run(dispatcher, tracker, domain)
    assert slot_events(events)[n.SLOT_EQUALITY_AGE_BAND] == "25-34"
    assert dispatcher.messages == []


@pytest.mark.parametrize("text,broad,category", [
    ("indian", "asian", ("equality_ethnic_asian", "H")),
    ("white british", "white", ("equality_ethnic_white", "A")),
    ("white", "white", None),              # the category is still asked
    ("other", "other", None),              # "another ethnic group" is not "any other ethnic group"
    ("2", "mixed", None),                  # a number picks the broad group only
])
async def test_a_named_category_is_not_asked_again(dispatcher, domain, text, broad, category):
    tracker = form_turn(n.FORM_EQUALITY, text=text, slots=CONTEXT, equality_ethnic_broad=text)
    found = slot_events(await ValidateEqualityForm().run(dispatcher, tracker, domain))
    assert found[n.SLOT_EQUALITY_ETHNIC_BROAD] == broad
    filled = {s: v for s, v in found.items() if s in n.EQUALITY_ETHNIC_SLOTS and v}
    assert filled == (dict([category]) if category else {})


async def test_unreadable_is_asked_once_more_then_skipped(dispatcher, domain):
    first = form_turn(n.FORM_EQUALITY, text="purple", slots=CONTEXT, equality_sex="purple")
    events = slot_events(await ValidateEqualityForm().run(dispatcher, first, domain))
    assert events[n.SLOT_EQUALITY_SEX] is None and responses(dispatcher) == [n.UTTER_EQUALITY_REASK]
    retries = {**CONTEXT, n.SLOT_FORM_RETRIES: events[n.SLOT_FORM_RETRIES]}
    second = form_turn(n.FORM_EQUALITY, text="purple", slots=retries, equality_sex="purple")
    events = slot_events(await ValidateEqualityForm().run(dispatcher, second, domain))
    assert events[n.SLOT_EQUALITY_SEX] == SKIPPED
    assert responses(dispatcher)[-1] == n.UTTER_EQUALITY_SKIPPED


async def test_finish_skips_every_question_left_so_the_answers_go(dispatcher, domain):
    tracker = form_turn(n.FORM_EQUALITY, text="finish", intent=n.INTENT_STOP,
                        slots={**CONTEXT, n.SLOT_EQUALITY_AGE_BAND: "25-34"}, equality_sex="finish")
    found = slot_events(await ValidateEqualityForm().run(dispatcher, tracker, domain))
    assert found[n.SLOT_EQUALITY_SEX] == SKIPPED
    assert all(found[s] == SKIPPED for s in n.EQUALITY_FORM_SLOTS if s != n.SLOT_EQUALITY_AGE_BAND)
    assert n.SLOT_EQUALITY_AGE_BAND not in found   # the answer given stays
    assert found[n.SLOT_REQUESTED] is None          # nothing left to ask: the form ends and submits


def test_a_text_never_tells_anyone_to_send_stop(domain):
    """By text STOP opts the number out of every text from the helpline, reminders included."""
    numbered = {"type": "slot", "name": n.SLOT_NUMBERED_CHOICES, "value": True}
    ours = [r for r in domain["responses"] if "equality" in r or "reminder_consent" in r]
    for name in ours:
        for variant in domain["responses"][name]:
            if numbered in (variant.get("condition") or []):
                assert "STOP" not in variant["text"].upper().replace("STOPPED", ""), name


@pytest.mark.parametrize("text,intent,answer", [
    ("i dont want to be here anymore", n.INTENT_CRISIS, False),   # crisis words are never an answer
    ("stop", n.INTENT_STOP, False),
    ("can i talk to a person", n.INTENT_REQUEST_HUMAN, False),
    ("i just stabbed myself with a needle", n.INTENT_REPORT_SHARPS_INJURY, False),
    ("who sees these answers", n.INTENT_PRIVACY, False),
    ("bye", n.INTENT_GOODBYE, False),
    ("skip", n.INTENT_STOP, True),          # an answer, whatever the classifier says
    ("prefer not to say", n.INTENT_START_REFERRAL, True),
    ("hello", n.INTENT_GREET, True),        # not an answer, but asked again rather than dropped
    ("maybe", n.INTENT_NLU_FALLBACK, True),
    ("finish", n.INTENT_STOP, True),
    ("practice nurse", n.INTENT_REQUEST_HUMAN, True),
    ("talk to a nurse", n.INTENT_REQUEST_HUMAN, False),
    ("blood splashed in my eye at the practice", n.INTENT_REPORT_SPLASH, False),
])
def test_what_ends_the_questions_is_never_taken_as_an_answer(text, intent, answer):
    slot = n.SLOT_EQUALITY_STAFF_GROUP if "nurse" in text else (
        n.SLOT_EQUALITY_ORGANISATION_TYPE if "practice" in text else n.SLOT_EQUALITY_SEX)
    tracker = make_tracker(text=text, intent=intent, active_loop=n.FORM_EQUALITY,
                           slots={**CONTEXT, n.SLOT_REQUESTED: slot})
    extracted = ValidateEqualityForm().extract_answer(slot, tracker)
    assert extracted == ({slot: text} if answer else {})


# -- sending: codes, the line and the channel only ---------------------------------------------------------
def assert_anonymous(call):
    sent = body(call)
    assert set(sent) == {"line", "channel", "answers"}
    assert CONVERSATION_HEADER not in call.request.headers
    text = call.request.content.decode()
    for personal in (REF, "conv-123", "+447700900123", "Sam"):
        assert personal not in text


async def test_done_sends_the_codes_alone_and_forgets_them(api, dispatcher, domain):
    route = equality_route(api)
    tracker = make_tracker(slots={**CONTEXT, **ANSWERED, n.SLOT_REPORTER_NAME: "Sam",
                                  n.SLOT_AWAITING_ANSWER: n.AWAITING_EQUALITY_QUESTIONS})
    events = await ActionEqualitySubmit().run(dispatcher, tracker, domain)
    assert body(route.calls.last) == {"line": "sharps", "channel": "sms", "answers": {
        "age_band": "25-34", "sex": "female", "ethnic_group": "H", "disability": "prefer_not_to_say",
        "organisation_type": "community_pharmacy"}}
    assert_anonymous(route.calls.last)
    assert all(set(b["answers"]) <= set(CODES) for b in map(body, route.calls))
    assert responses(dispatcher) == [n.UTTER_EQUALITY_THANKS]
    cleared = slot_events(events)
    assert all(cleared[s] is None for s in ANSWERED) and cleared[n.SLOT_AWAITING_ANSWER] is None


async def test_every_question_skipped_sends_nothing(api, dispatcher, domain):
    skipped = dict.fromkeys((n.SLOT_EQUALITY_AGE_BAND, n.SLOT_EQUALITY_SEX, n.SLOT_EQUALITY_ETHNIC_BROAD), SKIPPED)
    await ActionEqualitySubmit().run(dispatcher, make_tracker(slots={**CONTEXT, **skipped}), domain)
    assert api.calls.call_count == 0 and responses(dispatcher) == [n.UTTER_EQUALITY_NOTHING]


@pytest.mark.parametrize("status", [None, 500, 422])
async def test_not_kept_says_so_and_keeps_nothing(api, dispatcher, domain, status):
    if status is None:
        api.post("/api/equality").mock(side_effect=CONNECT_ERROR)
    else:
        equality_route(api, status)
    events = await ActionEqualitySubmit().run(dispatcher, make_tracker(slots={**CONTEXT, **ANSWERED}), domain)
    assert responses(dispatcher) == [n.UTTER_EQUALITY_NOT_SENT]
    assert n.SLOT_PENDING_SYNC not in slot_events(events)   # never queued with the conversation


async def test_stop_half_way_sends_what_was_answered(api, dispatcher, domain):
    route = equality_route(api)
    half = {n.SLOT_EQUALITY_AGE_BAND: "45-54", n.SLOT_EQUALITY_SEX: "male"}
    tracker = make_tracker(text="stop", intent=n.INTENT_STOP, active_loop=n.FORM_EQUALITY,
                           slots={**CONTEXT, **half, n.SLOT_REQUESTED: n.SLOT_EQUALITY_ETHNIC_BROAD,
                                  n.SLOT_AWAITING_ANSWER: n.AWAITING_EQUALITY_QUESTIONS})
    events = await ActionStop().run(dispatcher, tracker, domain)
    assert body(route.calls.last)["answers"] == {"age_band": "45-54", "sex": "male"}
    assert_anonymous(route.calls.last)
    # no case reference next to the equality answers
    assert responses(dispatcher) == [n.UTTER_STOPPED, n.UTTER_EQUALITY_SENT_SO_FAR]
    assert slot_events(events)[n.SLOT_EQUALITY_AGE_BAND] is None
    assert events[-2:] == [ActiveLoop(None), SlotSet(n.SLOT_REQUESTED, None)]


async def test_stop_before_any_answer_sends_nothing(api, dispatcher, domain):
    tracker = make_tracker(text="stop", intent=n.INTENT_STOP, active_loop=n.FORM_EQUALITY,
                           slots={**CONTEXT, n.SLOT_REQUESTED: n.SLOT_EQUALITY_AGE_BAND})
    await ActionStop().run(dispatcher, tracker, domain)
    assert api.calls.call_count == 0 and responses(dispatcher) == [n.UTTER_STOPPED]


async def test_crisis_words_in_the_middle_page_first_then_send_what_was_answered(api, dispatcher, domain):
    api.patch(f"/api/cases/{REF}").respond(200, json=case_json(urgency="emergency"))
    route = equality_route(api)
    tracker = make_tracker(text="i want to end it all", intent=n.INTENT_CRISIS, active_loop=n.FORM_EQUALITY,
                           slots={**CONTEXT, n.SLOT_EQUALITY_AGE_BAND: "16-24",
                                  n.SLOT_REQUESTED: n.SLOT_EQUALITY_SEX})
    events = await ActionCrisis().run(dispatcher, tracker, domain)
    assert calls(api) == [("PATCH", f"/api/cases/{REF}"), ("POST", "/api/equality")]
    assert responses(dispatcher) == [n.UTTER_CRISIS, n.UTTER_CRISIS_PAGED]  # nothing else said
    assert body(route.calls.last)["answers"] == {"age_band": "16-24"}
    assert_anonymous(route.calls.last)
    assert events[-2:] == [ActiveLoop(None), SlotSet(n.SLOT_REQUESTED, None)]
    assert slot_events(events)[n.SLOT_EQUALITY_AGE_BAND] is None


async def test_crisis_with_the_api_down_tries_nothing_more_and_forgets_the_answers(api, dispatcher, domain):
    api.patch(f"/api/cases/{REF}").mock(side_effect=CONNECT_ERROR)
    route = equality_route(api)
    tracker = make_tracker(text="i want to end it all", intent=n.INTENT_CRISIS, active_loop=n.FORM_EQUALITY,
                           slots={**CONTEXT, n.SLOT_EQUALITY_AGE_BAND: "16-24"})
    events = await ActionCrisis().run(dispatcher, tracker, domain)
    assert not route.called
    assert responses(dispatcher) == [n.UTTER_CRISIS, n.UTTER_CRISIS_NOT_PAGED]
    assert slot_events(events)[n.SLOT_EQUALITY_AGE_BAND] is None


async def test_a_person_asked_for_with_the_api_down_tries_nothing_more(api, dispatcher, domain):
    api.patch(f"/api/cases/{REF}").mock(side_effect=CONNECT_ERROR)
    route = equality_route(api)
    tracker = make_tracker(text="talk to a person", intent=n.INTENT_REQUEST_HUMAN,
                           slots={**CONTEXT, n.SLOT_EQUALITY_SEX: "female", n.SLOT_CALLBACK_PHONE: "+447700900123"})
    events = await ActionHandoff().run(dispatcher, tracker, domain)
    assert not route.called
    assert slot_events(events)[n.SLOT_EQUALITY_SEX] is None


async def test_crisis_with_the_equality_api_down_still_gives_the_crisis_route(api, dispatcher, domain):
    api.patch(f"/api/cases/{REF}").respond(200, json=case_json(urgency="emergency"))
    api.post("/api/equality").mock(side_effect=CONNECT_ERROR)
    tracker = make_tracker(text="i want to end it all", intent=n.INTENT_CRISIS, active_loop=n.FORM_EQUALITY,
                           slots={**CONTEXT, n.SLOT_EQUALITY_AGE_BAND: "16-24"})
    await ActionCrisis().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == [n.UTTER_CRISIS, n.UTTER_CRISIS_PAGED]


async def test_a_person_asked_for_in_the_middle_sends_what_was_answered(api, dispatcher, domain):
    api.patch(f"/api/cases/{REF}").respond(200, json=case_json())
    api.post(f"/api/cases/{REF}/person").respond(200, json=case_json())
    route = equality_route(api)
    tracker = make_tracker(text="talk to a person", intent=n.INTENT_REQUEST_HUMAN,
                           slots={**CONTEXT, n.SLOT_EQUALITY_SEX: "female", n.SLOT_CALLBACK_PHONE: "+447700900123"})
    events = await ActionHandoff().run(dispatcher, tracker, domain)
    assert calls(api)[-1] == ("POST", "/api/equality")
    assert body(route.calls.last)["answers"] == {"sex": "female"}
    assert slot_events(events)[n.SLOT_EQUALITY_SEX] is None


async def test_leaving_for_a_new_report_sends_silently_and_closes_the_form(api, dispatcher, domain):
    route = equality_route(api)
    tracker = make_tracker(text="i just cut myself on a scalpel", intent=n.INTENT_REPORT_SHARPS_INJURY,
                           active_loop=n.FORM_EQUALITY, slots={**CONTEXT, n.SLOT_EQUALITY_DISABILITY: "no"})
    events = await ActionEqualityLeave().run(dispatcher, tracker, domain)
    assert body(route.calls.last)["answers"] == {"disability": "no"}
    assert dispatcher.messages == []
    assert events[-2:] == [ActiveLoop(None), SlotSet(n.SLOT_REQUESTED, None)]
