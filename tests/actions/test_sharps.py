"""Sharps line actions: exact events, responses in order, and the HTTP calls made."""
import httpx
import pytest
from rasa_sdk.events import SlotSet

from actions import names as n
from actions.sharps import (
    ActionCorrectAnswer, ActionSharpsOpenCase, ActionSharpsSubmit, ValidateSharpsForm, sharps_answers,
)
from tests.actions.builders import entity, form_turn, make_tracker, responses, slot_events
from tests.actions.conftest import CONNECT_ERROR, TIMEOUT, body, calls, case_json

SMS = {n.SLOT_CHANNEL: "sms", n.SLOT_NUMBERED_CHOICES: True, n.SLOT_SENDER_PHONE: "+447700900123"}
# An open case, mid-form: its urgent page was announced when it went out, and the number
# the practitioner will call (asked first once a page is out).
OPEN = {n.SLOT_LINE: "sharps", n.SLOT_CASE_REF: "SH-000123", n.SLOT_ANNOUNCED_URGENCY: "urgent",
        n.SLOT_CALLBACK_PHONE: "+447400123456"}
PEP = {"code": "hiv_pep_urgent", "text": "You may need HIV PEP.", "source": "BHIVA/BASHH PEP guideline 2021"}


# -- opening the case ---------------------------------------------------------------------
async def test_open_case_posts_what_the_first_message_says_and_gives_the_ref(api, dispatcher, domain):
    route = api.post("/api/cases").respond(201, json=case_json(urgency="routine", page_on_call=False))
    tracker = make_tracker(text="stabbed myself with a needle from a blood test", intent=n.INTENT_REPORT_SHARPS_INJURY,
                           entities=[entity("device", "needle")], slots=SMS)
    events = await ActionSharpsOpenCase().run(dispatcher, tracker, domain)

    assert responses(dispatcher) == [n.UTTER_CASE_OPENED]
    assert dispatcher.messages[0]["case_ref"] == "SH-000123"
    sent = body(route.calls.last)
    heard = sent["answers"].pop("heard")
    assert sent == {
        "line": "sharps", "kind": "exposure", "conversation_id": "conv-123", "channel": "sms",
        "answers": {"exposure_type": "percutaneous",
                    "device": {"kind": "hollow_bore_needle", "used": True, "in_vein_or_artery": True}},
        "provisional": True, "contact": {"phone": "+447700900123"},
    }
    # the practitioner sees the person's own words behind each answer
    assert heard["first_message"] == "stabbed myself with a needle from a blood test"
    assert heard["device_kind"] in "stabbed myself with a needle from a blood test"
    slots = slot_events(events)
    assert slots[n.SLOT_CASE_REF] == "SH-000123"
    assert slots[n.SLOT_EXPOSURE_TYPE] == "percutaneous"
    assert slots[n.SLOT_LINE] == "sharps"
    assert slots[n.SLOT_PENDING_SYNC] is None
    assert slots[n.SLOT_OCCURRED_AT] is None  # a new case starts with no old answers


async def test_open_case_splash_in_the_eye_with_blood(api, dispatcher, domain):
    route = api.post("/api/cases").respond(201, json=case_json())
    tracker = make_tracker(text="blood splashed in my eye", intent=n.INTENT_REPORT_SPLASH,
                           entities=[entity("fluid", "blood"), entity("body_site", "eye")])
    events = await ActionSharpsOpenCase().run(dispatcher, tracker, domain)
    answers = body(route.calls.last)["answers"]
    assert answers["heard"]["first_message"] == "blood splashed in my eye"
    assert {k: v for k, v in answers.items() if k != "heard"} == {"exposure_type": "mucocutaneous", "fluid": "blood"}
    assert "channel" not in body(route.calls.last)  # unknown channel: the API's default
    assert slot_events(events)[n.SLOT_FLUID] == "blood"


@pytest.mark.parametrize("failure", [CONNECT_ERROR, TIMEOUT, httpx.Response(500)])
async def test_open_case_with_the_api_down_gives_the_on_call_route_and_keeps_the_case(api, dispatcher, domain, failure):
    api.post("/api/cases").mock(side_effect=[failure, failure])
    tracker = make_tracker(text="needlestick", intent=n.INTENT_REPORT_SHARPS_INJURY,
                           entities=[entity("device", "needle")], slots=SMS)
    events = await ActionSharpsOpenCase().run(dispatcher, tracker, domain)

    assert responses(dispatcher) == [n.UTTER_CASE_OPENED_OFFLINE, n.UTTER_API_DOWN_ONCALL_NO_NUMBER,
                                     n.UTTER_API_DOWN_KEPT]
    slots = slot_events(events)
    assert slots[n.SLOT_CASE_REF] is None
    kept = slots[n.SLOT_PENDING_SYNC]["sharps"]["payload"]["answers"]
    assert kept["exposure_type"] == "percutaneous" and kept["heard"]["first_message"] == "needlestick"
    assert slots[n.SLOT_SAFE_ADVICE_GIVEN] == ["oncall", "kept"]


async def test_on_call_number_is_given_when_configured(api, dispatcher, domain, monkeypatch):
    monkeypatch.setenv("HELPLINE_ONCALL_PHONE", "0300 123 4567")
    api.post("/api/cases").mock(side_effect=CONNECT_ERROR)
    await ActionSharpsOpenCase().run(dispatcher, make_tracker(text="needle", intent=n.INTENT_REPORT_SHARPS_INJURY),
                                     domain)
    assert responses(dispatcher)[1] == n.UTTER_API_DOWN_ONCALL
    assert dispatcher.messages[1]["oncall_phone"] == "0300 123 4567"


async def test_a_new_injury_keeps_an_earlier_unsent_case_as_a_case_of_its_own(api, dispatcher, domain):
    earlier = {"sharps": {"create": {"line": "sharps", "kind": "exposure", "conversation_id": "conv-123"},
                          "payload": {"answers": {"fluid": "blood"}, "provisional": True}}}
    route = api.post("/api/cases").mock(side_effect=[httpx.Response(201, json=case_json("SH-000200")),
                                                     httpx.Response(201, json=case_json("SH-000201"))])
    tracker = make_tracker(text="another needle", intent=n.INTENT_REPORT_SHARPS_INJURY,
                           slots={n.SLOT_PENDING_SYNC: earlier})
    events = await ActionSharpsOpenCase().run(dispatcher, tracker, domain)
    assert [body(c)["answers"].get("exposure_type") for c in route.calls] == ["percutaneous", None]
    assert body(route.calls[1])["answers"] == {"fluid": "blood"}
    assert responses(dispatcher) == [n.UTTER_API_SYNCED, n.UTTER_CASE_OPENED, n.UTTER_SHARPS_URGENT_NOW,
                                     n.UTTER_CALL_BY]
    assert slot_events(events)[n.SLOT_CASE_REF] == "SH-000200"


# -- the form: reading answers ----------------------------------------------------------------
async def test_time_is_read_and_sent_at_once(api, dispatcher, domain):
    route = api.patch("/api/cases/SH-000123").respond(200, json=case_json())
    tracker = form_turn(n.FORM_SHARPS, text="about 20 mins ago", slots=OPEN, occurred_at="about 20 mins ago")
    events = await ValidateSharpsForm().run(dispatcher, tracker, domain)

    assert responses(dispatcher) == []
    assert body(route.calls.last) == {"answers": {"occurred_at": "2026-11-23T14:40:00+00:00"}, "provisional": True,
                                      "contact": {"phone": "+447400123456"}}
    assert events == [
        SlotSet(n.SLOT_OCCURRED_AT, "2026-11-23T14:40:00+00:00"),
        SlotSet(n.SLOT_FORM_RETRIES, None),
        SlotSet(n.SLOT_PENDING_SYNC, None),
        SlotSet(n.SLOT_CASE_REF, "SH-000123"),
        SlotSet(n.SLOT_REQUESTED, n.SLOT_EXPOSURE_TYPE),
    ]


async def test_unreadable_answer_is_asked_again_with_an_example(api, dispatcher, domain):
    tracker = form_turn(n.FORM_SHARPS, text="the blue one", slots=OPEN, occurred_at="the blue one")
    events = await ValidateSharpsForm().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_reask_occurred_at"]
    assert events == [SlotSet(n.SLOT_OCCURRED_AT, None), SlotSet(n.SLOT_FORM_RETRIES, {"occurred_at": 1}),
                      SlotSet(n.SLOT_REQUESTED, n.SLOT_OCCURRED_AT)]
    assert api.calls.call_count == 0


async def test_second_unreadable_answer_becomes_unknown_and_the_form_moves_on(api, dispatcher, domain):
    route = api.patch("/api/cases/SH-000123").respond(200, json=case_json())
    tracker = form_turn(n.FORM_SHARPS, text="purple", slots={**OPEN, n.SLOT_FORM_RETRIES: {"occurred_at": 1}},
                        occurred_at="purple")
    events = await ValidateSharpsForm().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == [n.UTTER_MARKED_UNKNOWN]
    assert slot_events(events)[n.SLOT_OCCURRED_AT] == n.UNKNOWN
    assert slot_events(events)[n.SLOT_REQUESTED] == n.SLOT_EXPOSURE_TYPE
    # unknown time: not sent
    assert body(route.calls.last) == {"answers": {}, "provisional": True, "contact": {"phone": "+447400123456"}}


@pytest.mark.parametrize("slot,text", [
    (n.SLOT_OCCURRED_AT, "cant remember"), (n.SLOT_EXPOSURE_TYPE, "not sure"), (n.SLOT_FLUID, "no idea"),
    (n.SLOT_SOURCE_KNOWN, "dunno"), (n.SLOT_HBV_STATUS, "idk"), (n.SLOT_WORKPLACE, "don't know"),
])
async def test_dont_know_is_always_a_valid_answer(api, dispatcher, domain, slot, text):
    api.patch("/api/cases/SH-000123").respond(200, json=case_json())
    tracker = form_turn(n.FORM_SHARPS, text=text, intent=n.INTENT_DONT_KNOW, slots=OPEN, **{slot: text})
    events = await ValidateSharpsForm().run(dispatcher, tracker, domain)
    assert slot_events(events)[slot] == n.UNKNOWN
    assert responses(dispatcher) == []


@pytest.mark.parametrize("slot,text,entities,expected", [
    (n.SLOT_EXPOSURE_TYPE, "2", [], "mucocutaneous"),
    (n.SLOT_EXPOSURE_TYPE, "option 1", [], "percutaneous"),
    (n.SLOT_EXPOSURE_TYPE, "it went in my eye", [entity("body_site", "eye")], "mucocutaneous"),
    (n.SLOT_FLUID, "blood stained saliva", [entity("fluid", "blood_stained")], "blood_stained"),
    (n.SLOT_FLUID, "4", [], "low_risk"),
    (n.SLOT_FLUID, "5", [], n.UNKNOWN),
    (n.SLOT_SOURCE_KNOWN, "/affirm", [], n.YES),
    (n.SLOT_SOURCE_BBV, "1 and 3", [], ["hiv", "hcv"]),
    (n.SLOT_SOURCE_BBV, "hep b i think", [entity("virus", "hbv")], ["hbv"]),
    (n.SLOT_DEVICE_KIND, "a cannula", [entity("device", "hollow_bore_needle")], "hollow_bore_needle"),
    (n.SLOT_INJURY_DEEP, "just a scratch", [], n.NO),
    (n.SLOT_HBV_STATUS, "1", [], "responder"),
    (n.SLOT_PREGNANCY, "neither", [], "neither"),
])
async def test_answers_are_read_from_numbers_words_and_entities(api, dispatcher, domain, slot, text, entities,
                                                                 expected):
    api.patch("/api/cases/SH-000123").respond(200, json=case_json())
    intent = n.INTENT_AFFIRM if text == "/affirm" else n.INTENT_INFORM
    tracker = form_turn(n.FORM_SHARPS, text=text, intent=intent, entities=entities, slots=OPEN, **{slot: text})
    events = await ValidateSharpsForm().run(dispatcher, tracker, domain)
    assert slot_events(events)[slot] == expected
    assert responses(dispatcher) == []


async def test_deciding_answers_are_patched_but_later_ones_are_not(api, dispatcher, domain):
    tracker = form_turn(n.FORM_SHARPS, text="yes", intent=n.INTENT_AFFIRM, slots=OPEN, gloves="yes")
    await ValidateSharpsForm().run(dispatcher, tracker, domain)
    assert api.calls.call_count == 0


# -- emergency: said at once, then "can you answer more on the way?" ------------------------
async def test_emergency_is_announced_the_moment_the_api_says_so(api, dispatcher, domain):
    route = api.patch("/api/cases/SH-000123").respond(200, json=case_json(urgency="emergency", go_to_ed=True,
                                                                           advice=[PEP]))
    slots = {**OPEN, n.SLOT_OCCURRED_AT: "2026-11-23T14:40:00+00:00", n.SLOT_EXPOSURE_TYPE: "percutaneous",
             n.SLOT_FLUID: "blood", n.SLOT_SOURCE_KNOWN: "yes"}
    tracker = form_turn(n.FORM_SHARPS, text="1", slots=slots, source_bbv="1")
    events = await ValidateSharpsForm().run(dispatcher, tracker, domain)

    assert responses(dispatcher) == [n.UTTER_SHARPS_EMERGENCY, n.UTTER_API_ADVICE]
    assert dispatcher.messages[0]["case_ref"] == "SH-000123"
    assert dispatcher.messages[1]["advice_text"] == PEP["text"]
    assert body(route.calls.last)["answers"]["source"] == {"identified": True, "hiv": "positive",
                                                           "hbv": "unknown", "hcv": "unknown"}
    slots_set = slot_events(events)
    assert slots_set[n.SLOT_ANNOUNCED_URGENCY] == "emergency"
    assert slots_set[n.SLOT_REQUESTED] == n.SLOT_SHARPS_CONTINUE  # asked before anything else


async def test_emergency_is_not_announced_twice(api, dispatcher, domain):
    api.patch("/api/cases/SH-000123").respond(200, json=case_json(urgency="emergency"))
    slots = {**OPEN, n.SLOT_ANNOUNCED_URGENCY: "emergency", n.SLOT_SHARPS_CONTINUE: "yes"}
    tracker = form_turn(n.FORM_SHARPS, text="5", slots=slots, source_risk="5")
    await ValidateSharpsForm().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == []


@pytest.mark.parametrize("text,intent,expected_next", [
    ("no", n.INTENT_DENY, None),               # stop: the form ends with what it has
    ("dunno", n.INTENT_DONT_KNOW, None),
    ("yes", n.INTENT_AFFIRM, n.SLOT_DEVICE_KIND),
])
async def test_can_you_carry_on_after_an_emergency(api, dispatcher, domain, text, intent, expected_next):
    slots = {**OPEN, n.SLOT_ANNOUNCED_URGENCY: "emergency", n.SLOT_OCCURRED_AT: "x",
             n.SLOT_EXPOSURE_TYPE: "percutaneous", n.SLOT_FLUID: "blood", n.SLOT_SOURCE_KNOWN: "yes",
             n.SLOT_SOURCE_BBV: ["hiv"]}
    tracker = form_turn(n.FORM_SHARPS, text=text, intent=intent, slots=slots, sharps_continue=text)
    events = await ValidateSharpsForm().run(dispatcher, tracker, domain)
    assert slot_events(events)[n.SLOT_REQUESTED] == expected_next
    assert api.calls.call_count == 0


# -- which questions apply -----------------------------------------------------------------------
async def test_splash_skips_the_device_questions_and_unknown_source_skips_its_status(api, dispatcher, domain):
    api.patch("/api/cases/SH-000123").respond(200, json=case_json())
    slots = {**OPEN, n.SLOT_OCCURRED_AT: "x", n.SLOT_EXPOSURE_TYPE: "mucocutaneous", n.SLOT_FLUID: "blood"}
    tracker = form_turn(n.FORM_SHARPS, text="no", intent=n.INTENT_DENY, slots=slots, source_known="no")
    events = await ValidateSharpsForm().run(dispatcher, tracker, domain)
    # no test results for an unknown source, but where it came from can still carry a risk
    assert slot_events(events)[n.SLOT_REQUESTED] == n.SLOT_SOURCE_RISK
    tracker = form_turn(n.FORM_SHARPS, text="6", slots={**slots, n.SLOT_SOURCE_KNOWN: "no"}, source_risk="6")
    events = await ValidateSharpsForm().run(dispatcher, tracker, domain)
    assert slot_events(events)[n.SLOT_REQUESTED] == n.SLOT_HBV_STATUS


async def test_hollow_needle_asks_about_the_vein(api, dispatcher, domain):
    api.patch("/api/cases/SH-000123").respond(200, json=case_json())
    slots = {**OPEN, n.SLOT_OCCURRED_AT: "x", n.SLOT_EXPOSURE_TYPE: "percutaneous", n.SLOT_FLUID: "blood",
             n.SLOT_SOURCE_KNOWN: "no", n.SLOT_SOURCE_RISK: [n.UNKNOWN]}
    tracker = form_turn(n.FORM_SHARPS, text="1", slots=slots, device_kind="1")
    events = await ValidateSharpsForm().run(dispatcher, tracker, domain)
    assert slot_events(events)[n.SLOT_REQUESTED] == n.SLOT_DEVICE_USED
    slots.update({n.SLOT_DEVICE_KIND: "lancet", n.SLOT_DEVICE_USED: "yes"})
    tracker = form_turn(n.FORM_SHARPS, text="no", intent=n.INTENT_DENY, slots=slots, visible_blood="no")
    events = await ValidateSharpsForm().run(dispatcher, tracker, domain)
    assert slot_events(events)[n.SLOT_REQUESTED] == n.SLOT_INJURY_DEEP  # no vein question for a lancet


# -- API down in the middle of the form ------------------------------------------------------------
@pytest.mark.parametrize("failure", [CONNECT_ERROR, TIMEOUT, httpx.Response(503)])
async def test_api_down_with_a_possible_hiv_source_means_emergency_department(api, dispatcher, domain, failure):
    api.patch("/api/cases/SH-000123").mock(side_effect=[failure, failure])
    slots = {**OPEN, n.SLOT_SOURCE_KNOWN: "yes"}
    tracker = form_turn(n.FORM_SHARPS, text="hiv", entities=[entity("virus", "hiv")], slots=slots, source_bbv="hiv")
    events = await ValidateSharpsForm().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == [n.UTTER_API_DOWN_ED, n.UTTER_API_DOWN_ONCALL_NO_NUMBER, n.UTTER_API_DOWN_KEPT]
    pending = slot_events(events)[n.SLOT_PENDING_SYNC]
    assert pending["sharps"]["payload"]["answers"]["source"]["hiv"] == "positive"


async def test_api_down_safe_advice_is_said_once(api, dispatcher, domain):
    api.patch("/api/cases/SH-000123").mock(side_effect=CONNECT_ERROR)
    slots = {**OPEN, n.SLOT_SAFE_ADVICE_GIVEN: ["oncall", "kept"]}
    tracker = form_turn(n.FORM_SHARPS, text="1", slots=slots, fluid="1")
    await ValidateSharpsForm().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == []


async def test_kept_answers_are_sent_on_the_next_successful_call(api, dispatcher, domain):
    pending = {"sharps": {"create": {"line": "sharps", "kind": "exposure", "conversation_id": "conv-123"},
                          "payload": {"answers": {"exposure_type": "percutaneous"}, "provisional": True}},
               "notes": []}
    route = api.post("/api/cases").respond(201, json=case_json("SH-000321"))
    slots = {n.SLOT_LINE: "sharps", n.SLOT_EXPOSURE_TYPE: "percutaneous", n.SLOT_PENDING_SYNC: pending,
             n.SLOT_SAFE_ADVICE_GIVEN: ["oncall", "kept"]}
    tracker = form_turn(n.FORM_SHARPS, text="1", slots=slots, fluid="1")
    events = await ValidateSharpsForm().run(dispatcher, tracker, domain)
    assert calls(api) == [("POST", "/api/cases")]
    assert body(route.calls.last)["answers"] == {"exposure_type": "percutaneous", "fluid": "blood"}
    # the case exists only now: its reference, then its urgency (its page has just gone out)
    assert responses(dispatcher) == [n.UTTER_API_SYNCED, n.UTTER_SHARPS_URGENT_NOW, n.UTTER_CALL_BY]
    assert slot_events(events)[n.SLOT_CASE_REF] == "SH-000321"
    assert slot_events(events)[n.SLOT_PENDING_SYNC] is None


# -- closing ---------------------------------------------------------------------------------------------
DONE = {**OPEN, **SMS, n.SLOT_OCCURRED_AT: "2026-11-23T14:40:00+00:00", n.SLOT_EXPOSURE_TYPE: "percutaneous",
        n.SLOT_FLUID: "blood", n.SLOT_SOURCE_KNOWN: "yes", n.SLOT_SOURCE_BBV: ["hcv"], n.SLOT_SOURCE_RISK: ["none"],
        n.SLOT_DEVICE_KIND: "hollow_bore_needle", n.SLOT_DEVICE_USED: "yes", n.SLOT_DEVICE_IN_VESSEL: "yes",
        n.SLOT_VISIBLE_BLOOD: "yes", n.SLOT_INJURY_DEEP: "no", n.SLOT_GLOVES: "yes",
        n.SLOT_HBV_STATUS: "responder", n.SLOT_PREGNANCY: "neither", n.SLOT_REPORTER_NAME: "Sam",
        n.SLOT_REPORTER_ROLE: "practice nurse", n.SLOT_WORKPLACE: "High St Surgery",
        n.SLOT_CALLBACK_PHONE: "+447700900123", n.SLOT_INCIDENT_FORM_DONE: "no"}
# A case and a mobile number: the last question is about reminder texts (tests/actions/test_reminders.py)
CLOSING = [n.UTTER_SHARPS_SUMMARY, n.UTTER_SUMMARY_CHECK, n.UTTER_INCIDENT_REMINDER, n.UTTER_EAP_OFFER,
           n.UTTER_ASK_REMINDER_CONSENT]


# -- call-back number ----------------------------------------------------------------------------------
async def test_sender_number_is_confirmed(api, dispatcher, domain):
    route = api.patch("/api/cases/SH-000123").respond(200, json=case_json())
    asked = {**OPEN, **SMS, n.SLOT_CALLBACK_PHONE: None}
    tracker = form_turn(n.FORM_SHARPS, text="yes", intent=n.INTENT_AFFIRM, slots=asked, callback_phone="yes")
    events = await ValidateSharpsForm().run(dispatcher, tracker, domain)
    assert slot_events(events)[n.SLOT_CALLBACK_PHONE] == "+447700900123"
    # a page is out: the number goes to the case (and the paged practitioner) at once
    assert body(route.calls.last)["contact"] == {"phone": "+447700900123"}


async def test_sender_number_declined_asks_for_another(api, dispatcher, domain):
    answered = {k: v for k, v in DONE.items() if k not in (n.SLOT_CALLBACK_PHONE, n.SLOT_INCIDENT_FORM_DONE)}
    tracker = form_turn(n.FORM_SHARPS, text="no", intent=n.INTENT_DENY, slots=answered, callback_phone="no")
    events = await ValidateSharpsForm().run(dispatcher, tracker, domain)
    assert slot_events(events)[n.SLOT_CALLBACK_PHONE] is None
    assert slot_events(events)[n.SLOT_CALLBACK_OFFER_DECLINED] is True
    assert slot_events(events)[n.SLOT_REQUESTED] == n.SLOT_CALLBACK_PHONE
    assert responses(dispatcher) == []


@pytest.mark.parametrize("text,expected,reply", [
    ("07911 123456", "+447911123456", []),
    ("call me on +44 7911 123456 please", "+447911123456", []),
    ("12345", None, ["utter_reask_callback_phone"]),
])
async def test_typed_number_is_validated_as_a_uk_number(api, dispatcher, domain, text, expected, reply):
    api.patch("/api/cases/SH-000123").respond(200, json=case_json())
    tracker = form_turn(n.FORM_SHARPS, text=text, slots={**OPEN, n.SLOT_CALLBACK_PHONE: None}, callback_phone=text)
    events = await ValidateSharpsForm().run(dispatcher, tracker, domain)
    assert slot_events(events)[n.SLOT_CALLBACK_PHONE] == expected
    assert responses(dispatcher) == reply


async def test_submit_sends_the_full_history_as_final(api, dispatcher, domain):
    route = api.patch("/api/cases/SH-000123").respond(200, json=case_json(urgency="urgent", advice=[PEP]))
    await ActionSharpsSubmit().run(dispatcher, make_tracker(slots=DONE), domain)
    assert body(route.calls.last) == {
        "answers": {
            "occurred_at": "2026-11-23T14:40:00+00:00", "exposure_type": "percutaneous", "fluid": "blood",
            "device": {"kind": "hollow_bore_needle", "used": True, "in_vein_or_artery": True, "visible_blood": True,
                       "deep": False, "gloves": True},
            "source": {"identified": True, "hiv": "unknown", "hbv": "unknown", "hcv": "positive", "risk_factors": []},
            "recipient": {"hbv_status": "responder", "pregnant": False, "breastfeeding": False},
            "incident_form_done": False, "workplace": "High St Surgery",
        },
        "provisional": False,
        "contact": {"name": "Sam", "role": "practice nurse", "phone": "+447700900123"},
    }
    # by text: the advice in one message, its sources once
    assert responses(dispatcher) == [n.UTTER_SHARPS_URGENT, n.UTTER_CALL_BY, n.UTTER_API_ADVICE_PLAIN,
                                     n.UTTER_API_ADVICE_SOURCES] + CLOSING
    assert dispatcher.messages[0]["phone"] == "+447700900123"
    details = dispatcher.messages[4]["details"]
    assert details.startswith("when it happened: Mon 23 Nov, 14:40; what happened: needle, sharp or bite")
    assert "the patient's status: hepatitis C" in details and "depth: shallow" in details
    assert details.endswith("incident form done: no")


async def test_submit_routine_says_why_and_what_happens_next(api, dispatcher, domain):
    api.patch("/api/cases/SH-000123").respond(200, json=case_json(urgency="routine", page_on_call=False))
    tracker = make_tracker(slots={**DONE, n.SLOT_EXPOSURE_TYPE: "intact_skin"})
    events = await ActionSharpsSubmit().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == [n.UTTER_SHARPS_ROUTINE] + CLOSING
    assert slot_events(events)[n.SLOT_ANNOUNCED_URGENCY] == "routine"


async def test_submit_after_an_emergency_only_reminds_and_summarises_what_was_asked(api, dispatcher, domain):
    api.patch("/api/cases/SH-000123").respond(200, json=case_json(urgency="emergency"))
    slots = {**OPEN, n.SLOT_OCCURRED_AT: "unknown", n.SLOT_EXPOSURE_TYPE: "percutaneous", n.SLOT_FLUID: "blood",
             n.SLOT_SOURCE_KNOWN: "yes", n.SLOT_SOURCE_BBV: ["hiv"], n.SLOT_ANNOUNCED_URGENCY: "emergency",
             n.SLOT_SHARPS_CONTINUE: "no"}
    await ActionSharpsSubmit().run(dispatcher, make_tracker(slots=slots), domain)
    assert responses(dispatcher) == [n.UTTER_SHARPS_EMERGENCY_REMINDER] + CLOSING
    assert dispatcher.messages[1]["details"] == (
        "when it happened: not known; what happened: needle, sharp or bite through the skin; the fluid: blood; "
        "patient known: known; the patient's status: HIV; your call-back number: +447400123456")


async def test_first_aid_from_the_api_is_not_repeated(api, dispatcher, domain):
    first_aid = {"code": "first_aid_wound", "text": "Let it bleed.", "source": "HSE"}
    api.patch("/api/cases/SH-000123").respond(200, json=case_json(urgency="emergency", advice=[first_aid, PEP]))
    tracker = form_turn(n.FORM_SHARPS, text="1", slots={**OPEN, n.SLOT_SOURCE_KNOWN: "yes"}, source_bbv="1")
    await ValidateSharpsForm().run(dispatcher, tracker, domain)
    assert [m.get("advice_text") for m in dispatcher.messages] == [None, PEP["text"]]


async def test_submit_urgent_without_a_number_says_so(api, dispatcher, domain):
    api.patch("/api/cases/SH-000123").respond(200, json=case_json(urgency="urgent"))
    slots = {**DONE, n.SLOT_CALLBACK_PHONE: "unknown", n.SLOT_SENDER_PHONE: None}
    await ActionSharpsSubmit().run(dispatcher, make_tracker(slots=slots), domain)
    assert responses(dispatcher)[0] == n.UTTER_SHARPS_URGENT_NO_NUMBER


async def test_submit_with_the_api_down_still_closes_safely(api, dispatcher, domain):
    api.patch("/api/cases/SH-000123").mock(side_effect=CONNECT_ERROR)
    events = await ActionSharpsSubmit().run(dispatcher, make_tracker(slots=DONE), domain)
    assert responses(dispatcher) == [n.UTTER_API_DOWN_ONCALL_NO_NUMBER, n.UTTER_API_DOWN_KEPT] + CLOSING
    assert slot_events(events)[n.SLOT_PENDING_SYNC]["sharps"]["payload"]["provisional"] is False


# -- corrections -----------------------------------------------------------------------------------------
async def test_correction_of_the_time(api, dispatcher, domain):
    route = api.patch("/api/cases/SH-000123").respond(200, json=case_json())
    tracker = make_tracker(text="actually it was yesterday", intent=n.INTENT_CORRECT_ANSWER, slots=DONE)
    events = await ActionCorrectAnswer().run(dispatcher, tracker, domain)
    assert slot_events(events)[n.SLOT_OCCURRED_AT] == "2026-11-22T12:00:00+00:00"
    assert body(route.calls.last)["answers"]["occurred_at"] == "2026-11-22T12:00:00+00:00"
    assert body(route.calls.last)["provisional"] is False  # the form was already done
    assert responses(dispatcher) == [n.UTTER_CORRECTION_DONE]
    assert dispatcher.messages[0]["field"] == "when it happened"


async def test_correction_of_what_happened_mid_form(api, dispatcher, domain):
    api.patch("/api/cases/SH-000123").respond(200, json=case_json())
    tracker = make_tracker(text="sorry i meant my eye", intent=n.INTENT_CORRECT_ANSWER, active_loop=n.FORM_SHARPS,
                           entities=[entity("body_site", "eye")],
                           slots={**OPEN, n.SLOT_EXPOSURE_TYPE: "percutaneous", n.SLOT_REQUESTED: n.SLOT_FLUID})
    events = await ActionCorrectAnswer().run(dispatcher, tracker, domain)
    assert slot_events(events)[n.SLOT_EXPOSURE_TYPE] == "mucocutaneous"
    assert dispatcher.messages[0]["value"] == "splash to eyes, mouth or nose"


async def test_correction_that_cannot_be_placed_asks_which(api, dispatcher, domain):
    tracker = make_tracker(text="change my answer", intent=n.INTENT_CORRECT_ANSWER, slots=OPEN)
    events = await ActionCorrectAnswer().run(dispatcher, tracker, domain)
    assert events == [] and responses(dispatcher) == [n.UTTER_CORRECTION_UNCLEAR]
    assert api.calls.call_count == 0


def test_answers_leave_out_what_was_not_asked():
    assert sharps_answers({n.SLOT_EXPOSURE_TYPE: "mucocutaneous", n.SLOT_SOURCE_BBV: ["none"],
                           n.SLOT_SOURCE_RISK: ["unknown"], n.SLOT_PREGNANCY: "unknown"}) == {
        "exposure_type": "mucocutaneous",
        "source": {"hiv": "negative", "hbv": "negative", "hcv": "negative", "risk_factors": None},
        "recipient": {"pregnant": None, "breastfeeding": None},
    }


# -- which message counts as the answer (custom extraction) ---------------------------------------
ANSWERED = {**OPEN, n.SLOT_OCCURRED_AT: "x", n.SLOT_EXPOSURE_TYPE: "mucocutaneous", n.SLOT_FLUID: "blood",
            n.SLOT_SOURCE_KNOWN: "no", n.SLOT_SOURCE_RISK: [n.UNKNOWN], n.SLOT_HBV_STATUS: "responder"}


async def test_an_answer_wins_over_a_mislabelled_interrupt_intent(api, dispatcher, domain):
    # the classifier called "neither" `stop`; it reads as an answer, so it is one
    api.patch("/api/cases/SH-000123").respond(200, json=case_json())
    tracker = form_turn(n.FORM_SHARPS, text="neither", intent=n.INTENT_STOP, slots=ANSWERED, requested=n.SLOT_PREGNANCY)
    events = slot_events(await ValidateSharpsForm().run(dispatcher, tracker, domain))
    assert events[n.SLOT_PREGNANCY] == "neither"
    assert events[n.SLOT_REQUESTED] == n.SLOT_REPORTER_NAME


@pytest.mark.parametrize("text,intent,requested", [
    ("stop", n.INTENT_STOP, n.SLOT_PREGNANCY),                       # not an answer: the form is interrupted
    ("i want to end it all", n.INTENT_CRISIS, n.SLOT_PREGNANCY),      # crisis: never an answer
    ("no i want to end it", n.INTENT_CRISIS, n.SLOT_INCIDENT_FORM_DONE),
    ("can i talk to a person", n.INTENT_REQUEST_HUMAN, n.SLOT_REPORTER_NAME),  # free text: interrupts
    ("who sees this", n.INTENT_PRIVACY, n.SLOT_WORKPLACE),
])
async def test_interruptions_are_not_taken_as_answers(api, dispatcher, domain, text, intent, requested):
    tracker = form_turn(n.FORM_SHARPS, text=text, intent=intent, slots=ANSWERED, requested=requested)
    events = await ValidateSharpsForm().run(dispatcher, tracker, domain)
    # nothing but requested_slot is set: Rasa rejects the form and the rules take over
    assert [e["name"] for e in events] == [n.SLOT_REQUESTED]
    assert responses(dispatcher) == [] and api.calls.call_count == 0


async def test_a_re_ask_after_an_interruption_does_not_reuse_the_message(api, dispatcher, domain):
    from rasa_sdk import Tracker
    from rasa_sdk.events import ActionExecuted
    from tests.actions.builders import user_event
    tracker = Tracker.from_dict({
        "sender_id": "conv-123", "slots": {**ANSWERED, n.SLOT_REQUESTED: n.SLOT_GLOVES},
        "latest_message": {"text": "no", "intent": {"name": n.INTENT_DENY}, "entities": []},
        "events": [user_event("no", n.INTENT_DENY), ActionExecuted(n.ACTION_RESUME_FORM),
                   ActionExecuted(n.FORM_SHARPS)],
        "active_loop": {"name": n.FORM_SHARPS}, "latest_action_name": n.FORM_SHARPS,
    })
    events = await ValidateSharpsForm().run(dispatcher, tracker, domain)
    assert n.SLOT_GLOVES not in slot_events(events)


# -- a message sent after the API's safe answer -------------------------------------------
MISSED = {n.METADATA_MISSED_REPLY: True}


async def test_a_reply_to_an_unseen_question_is_not_taken_as_its_answer(api, dispatcher, domain):
    # The person saw the safe answer, not "is the source known to have a blood-borne virus?"
    tracker = form_turn(n.FORM_SHARPS, text="no", intent=n.INTENT_DENY, slots=OPEN,
                        requested=n.SLOT_SOURCE_BBV, metadata=MISSED)
    events = await ValidateSharpsForm().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == [n.UTTER_MISSED_REPLY]
    assert n.SLOT_SOURCE_BBV not in slot_events(events)
    assert slot_events(events)[n.SLOT_REQUESTED] == n.SLOT_SOURCE_BBV  # the form asks it again
    assert api.calls.call_count == 0


async def test_the_same_reply_once_the_question_was_seen_is_an_answer(api, dispatcher, domain):
    api.patch("/api/cases/SH-000123").respond(200, json=case_json())
    tracker = form_turn(n.FORM_SHARPS, text="no", intent=n.INTENT_DENY, slots=OPEN, requested=n.SLOT_SOURCE_BBV)
    events = await ValidateSharpsForm().run(dispatcher, tracker, domain)
    assert n.UTTER_MISSED_REPLY not in responses(dispatcher)
    assert slot_events(events)[n.SLOT_SOURCE_BBV] is not None


@pytest.mark.parametrize("text,intent", [("i want to end my life", n.INTENT_CRISIS),
                                         ("can i talk to a real person", n.INTENT_REQUEST_HUMAN)])
async def test_an_interruption_after_a_safe_answer_still_interrupts(api, dispatcher, domain, text, intent):
    tracker = form_turn(n.FORM_SHARPS, text=text, intent=intent, slots=OPEN, requested=n.SLOT_SOURCE_BBV,
                        metadata=MISSED)
    events = await ValidateSharpsForm().run(dispatcher, tracker, domain)
    assert n.UTTER_MISSED_REPLY not in responses(dispatcher)
    assert n.SLOT_SOURCE_BBV not in slot_events(events)  # nothing extracted: Rasa rejects the form


# -- delivery: every advice item, the time to stop waiting, the number first ---------------------
ADVICE = [{"code": f"item_{i}", "text": f"Advice {i}.", "source": "Green Book chapter 18" if i % 2 else "HSE"}
          for i in range(1, 9)]


async def test_every_advice_item_reaches_the_web_with_its_source_and_is_recorded(api, dispatcher, domain):
    api.patch("/api/cases/SH-000123").respond(200, json=case_json(urgency="urgent", advice=ADVICE))
    await ActionSharpsSubmit().run(dispatcher, make_tracker(slots={**DONE, n.SLOT_CHANNEL: "web"}), domain)
    said = [m["advice_text"] for m in dispatcher.messages if m.get("response") == n.UTTER_API_ADVICE]
    assert said == [a["text"] for a in ADVICE]  # no cap, the API's order
    assert body(api.routes["said"].calls.last)["items"] == [{"code": a["code"], "text": a["text"]} for a in ADVICE]


async def test_by_text_every_item_is_in_one_message_and_each_source_named_once(api, dispatcher, domain):
    api.patch("/api/cases/SH-000123").respond(200, json=case_json(urgency="urgent", advice=ADVICE))
    await ActionSharpsSubmit().run(dispatcher, make_tracker(slots=DONE), domain)
    plain = next(m for m in dispatcher.messages if m.get("response") == n.UTTER_API_ADVICE_PLAIN)
    assert all(a["text"] in plain["advice_text"] for a in ADVICE)
    sources = next(m for m in dispatcher.messages if m.get("response") == n.UTTER_API_ADVICE_SOURCES)
    assert sources["advice_sources"] == "Green Book chapter 18; HSE"


async def test_advice_already_said_is_not_said_again(api, dispatcher, domain):
    api.patch("/api/cases/SH-000123").respond(200, json=case_json(urgency="urgent", advice=ADVICE))
    said_before = [a["code"] for a in ADVICE[:6]]
    events = await ActionSharpsSubmit().run(
        dispatcher, make_tracker(slots={**DONE, n.SLOT_CHANNEL: "web", n.SLOT_ADVICE_SAID: said_before}), domain)
    said = [m["advice_text"] for m in dispatcher.messages if m.get("response") == n.UTTER_API_ADVICE]
    assert said == ["Advice 7.", "Advice 8."]
    assert slot_events(events)[n.SLOT_ADVICE_SAID] == said_before + ["item_7", "item_8"]


async def test_an_urgent_decision_is_said_in_its_turn_with_the_time_to_stop_waiting(api, dispatcher, domain):
    api.patch("/api/cases/SH-000123").respond(200, json=case_json(urgency="urgent", advice=ADVICE[:2]))
    slots = {**OPEN, n.SLOT_ANNOUNCED_URGENCY: None, n.SLOT_CALLBACK_PHONE: None, n.SLOT_SOURCE_KNOWN: "yes",
             n.SLOT_OCCURRED_AT: "2026-11-23T14:40:00+00:00", n.SLOT_EXPOSURE_TYPE: "percutaneous",
             n.SLOT_FLUID: "blood"}
    tracker = form_turn(n.FORM_SHARPS, text="hep b", entities=[entity("virus", "hbv")], slots=slots,
                        source_bbv="hep b")
    events = slot_events(await ValidateSharpsForm().run(dispatcher, tracker, domain))
    assert responses(dispatcher)[:2] == [n.UTTER_SHARPS_URGENT_NOW, n.UTTER_CALL_BY]
    assert n.UTTER_API_ADVICE in responses(dispatcher)
    # the page is out: the number comes straight after the questions that can still mean A&E
    assert events[n.SLOT_REQUESTED] == n.SLOT_SOURCE_RISK
    slots.update({n.SLOT_SOURCE_BBV: ["hbv"], n.SLOT_ANNOUNCED_URGENCY: "urgent"})
    tracker = form_turn(n.FORM_SHARPS, text="5", slots=slots, source_risk="5")
    events = slot_events(await ValidateSharpsForm().run(dispatcher, tracker, domain))
    assert events[n.SLOT_REQUESTED] == n.SLOT_CALLBACK_PHONE


async def test_no_more_questions_after_an_emergency_still_asks_for_the_number(api, dispatcher, domain):
    api.patch("/api/cases/SH-000123").respond(200, json=case_json(urgency="emergency"))
    slots = {**OPEN, n.SLOT_ANNOUNCED_URGENCY: "emergency", n.SLOT_CALLBACK_PHONE: None,
             n.SLOT_SOURCE_KNOWN: "yes", n.SLOT_SOURCE_BBV: ["hiv"]}
    tracker = form_turn(n.FORM_SHARPS, text="no", intent=n.INTENT_DENY, slots=slots, sharps_continue="no")
    events = slot_events(await ValidateSharpsForm().run(dispatcher, tracker, domain))
    assert events[n.SLOT_REQUESTED] == n.SLOT_CALLBACK_PHONE
    answered = {**slots, n.SLOT_SHARPS_CONTINUE: "no"}
    tracker = form_turn(n.FORM_SHARPS, text="07400 123456", slots=answered, callback_phone="07400 123456")
    events = slot_events(await ValidateSharpsForm().run(dispatcher, tracker, domain))
    assert events[n.SLOT_CALLBACK_PHONE] == "+447400123456" and events[n.SLOT_REQUESTED] is None


async def test_paged_is_said_only_when_a_page_went_out(api, dispatcher, domain):
    api.patch("/api/cases/SH-000123").respond(200, json=case_json(urgency="emergency", paged=False))
    slots = {**OPEN, n.SLOT_ANNOUNCED_URGENCY: None, n.SLOT_SOURCE_KNOWN: "yes"}
    tracker = form_turn(n.FORM_SHARPS, text="hiv", entities=[entity("virus", "hiv")], slots=slots, source_bbv="hiv")
    await ValidateSharpsForm().run(dispatcher, tracker, domain)
    assert responses(dispatcher)[0] == n.UTTER_SHARPS_EMERGENCY_NOT_PAGED
    assert n.UTTER_CALL_BY not in responses(dispatcher)
    text = domain["responses"][n.UTTER_SHARPS_EMERGENCY_NOT_PAGED][0]["text"]
    assert "has been paged" not in text and "A&E" in text


async def test_an_urgent_case_nobody_could_be_paged_for_is_told_not_to_wait(api, dispatcher, domain):
    api.patch("/api/cases/SH-000123").respond(200, json=case_json(urgency="urgent", paged=False))
    await ActionSharpsSubmit().run(dispatcher, make_tracker(slots=DONE), domain)
    assert responses(dispatcher)[0] == n.UTTER_SHARPS_URGENT_NOT_PAGED
    assert n.UTTER_CALL_BY not in responses(dispatcher)
