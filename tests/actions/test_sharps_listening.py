"""The sharps form listens: facts volunteered in any message are kept, never asked again,
never erased by a later "don't know", and a deciding fact is acted on in the same turn."""
from rasa_sdk.events import ActionExecuted

from actions import names as n
from actions.sharps import ActionCorrectAnswer, ActionSharpsOpenCase, ValidateSharpsForm, sharps_answers
from tests.actions.builders import form_turn, make_tracker, parse_data, responses, slot_events, user_event
from tests.actions.conftest import body, case_json

SMS = {n.SLOT_CHANNEL: "sms", n.SLOT_NUMBERED_CHOICES: True, n.SLOT_SENDER_PHONE: "+447700900123"}
# An open case and the number to call back (asked first once a page is out).
OPEN = {n.SLOT_LINE: "sharps", n.SLOT_CASE_REF: "SH-000123", n.SLOT_CALLBACK_PHONE: "+447400123456"}
PEP = {"code": "hiv_pep_urgent", "text": "You may need HIV PEP.", "source": "BHIVA/BASHH PEP guideline 2021"}


async def _validate(tracker, dispatcher, domain):
    return slot_events(await ValidateSharpsForm().run(dispatcher, tracker, domain))


# -- the first message ------------------------------------------------------------------------
async def test_hiv_source_in_the_first_message_gives_the_emergency_route_in_the_first_reply(api, dispatcher, domain):
    route = api.post("/api/cases").respond(201, json=case_json(urgency="emergency", go_to_ed=True, advice=[PEP]))
    text = "I just had a needlestick from a used needle, the patient is HIV positive, it happened 10 minutes ago"
    tracker = make_tracker(text=text, intent=n.INTENT_REPORT_SHARPS_INJURY, slots=SMS)
    events = slot_events(await ActionSharpsOpenCase().run(dispatcher, tracker, domain))

    # a text: every advice item in one message, the sources once
    assert responses(dispatcher) == [n.UTTER_CASE_OPENED, n.UTTER_SHARPS_EMERGENCY, n.UTTER_API_ADVICE_PLAIN,
                                     n.UTTER_API_ADVICE_SOURCES]
    assert api.routes["said"].calls.last is not None
    assert body(api.routes["said"].calls.last)["items"] == [{"code": PEP["code"], "text": PEP["text"]}]
    answers = body(route.calls[0])["answers"]
    assert answers["exposure_type"] == "percutaneous"
    assert answers["source"]["identified"] is True and answers["source"]["hiv"] == "positive"
    assert answers["device"]["used"] is True
    assert answers["occurred_at"].startswith("2026-11-23T14:50")
    assert answers["heard"]["first_message"] == text
    assert events[n.SLOT_SOURCE_BBV] == ["hiv"]
    assert events[n.SLOT_ANNOUNCED_URGENCY] == "emergency"


async def test_an_urgent_case_is_said_in_the_first_reply_once_its_page_has_gone(api, dispatcher, domain):
    api.post("/api/cases").respond(201, json=case_json(urgency="urgent", page_on_call=True))
    tracker = make_tracker(text="stabbed myself with a used needle, pt has hep c", intent=n.INTENT_REPORT_SHARPS_INJURY,
                           slots=SMS)
    events = slot_events(await ActionSharpsOpenCase().run(dispatcher, tracker, domain))
    assert responses(dispatcher) == [n.UTTER_CASE_OPENED, n.UTTER_SHARPS_URGENT_NOW, n.UTTER_CALL_BY]
    assert dispatcher.messages[2]["call_by"] == "16:00"
    assert events[n.SLOT_ANNOUNCED_URGENCY] == "urgent"
    assert events[n.SLOT_SOURCE_BBV] == ["hcv"]


async def test_a_held_page_is_not_announced_as_sent(api, dispatcher, domain):
    api.post("/api/cases").respond(201, json=case_json(urgency="urgent", page_not_before="2026-11-23T15:10:00Z"))
    tracker = make_tracker(text="needlestick", intent=n.INTENT_REPORT_SHARPS_INJURY, slots=SMS)
    await ActionSharpsOpenCase().run(dispatcher, tracker, domain)
    assert n.UTTER_SHARPS_URGENT_NOW not in responses(dispatcher)


async def test_crisis_words_about_the_patient_keep_the_sharps_case_and_are_kept_for_the_practitioner(
        api, dispatcher, domain):
    route = api.post("/api/cases").respond(201, json=case_json(urgency="urgent"))
    text = "needlestick from a patient who had taken an overdose"
    tracker = make_tracker(text=text, intent=n.INTENT_REPORT_SHARPS_INJURY, slots=SMS)
    tracker.latest_message["crisis_guard"] = {"phrase": "overdose", "whose": "other"}
    await ActionSharpsOpenCase().run(dispatcher, tracker, domain)
    assert n.UTTER_CRISIS_ALSO not in responses(dispatcher)
    heard = body(route.calls.last)["answers"]["heard"]
    assert heard["crisis_words"] == "overdose (other)"
    assert heard["first_message"] == text


async def test_crisis_words_nobody_can_place_give_first_aid_and_the_crisis_numbers(api, dispatcher, domain):
    api.post("/api/cases").respond(201, json=case_json(urgency="emergency"))
    tracker = make_tracker(text="needlestick, overdose", intent=n.INTENT_REPORT_SHARPS_INJURY, slots=SMS)
    tracker.latest_message["crisis_guard"] = {"phrase": "overdose", "whose": "unclear"}
    await ActionSharpsOpenCase().run(dispatcher, tracker, domain)
    assert responses(dispatcher)[0] == n.UTTER_CRISIS_ALSO
    assert n.UTTER_CASE_OPENED in responses(dispatcher)


# -- any later message ----------------------------------------------------------------------------
async def test_an_answer_that_carries_other_facts_fills_them_all_and_is_sent_once(api, dispatcher, domain):
    route = api.patch("/api/cases/SH-000123").respond(200, json=case_json(urgency="emergency", go_to_ed=True))
    slots = {**OPEN, n.SLOT_OCCURRED_AT: "2026-11-23T14:40:00+00:00", n.SLOT_EXPOSURE_TYPE: "percutaneous",
             n.SLOT_FLUID: "blood"}
    tracker = form_turn(n.FORM_SHARPS, text="yes the patient has HIV", intent=n.INTENT_AFFIRM, slots=slots,
                        source_known="yes the patient has HIV")
    events = await _validate(tracker, dispatcher, domain)
    assert events[n.SLOT_SOURCE_KNOWN] == "yes"
    assert events[n.SLOT_SOURCE_BBV] == ["hiv"]
    assert route.calls.call_count == 1
    assert body(route.calls.last)["answers"]["source"]["hiv"] == "positive"
    assert responses(dispatcher)[0] == n.UTTER_SHARPS_EMERGENCY
    assert events[n.SLOT_REQUESTED] == n.SLOT_SHARPS_CONTINUE


async def test_a_fact_already_given_is_never_asked(api, dispatcher, domain):
    api.patch("/api/cases/SH-000123").respond(200, json=case_json())
    slots = {**OPEN, n.SLOT_EXPOSURE_TYPE: "percutaneous", n.SLOT_SOURCE_KNOWN: "yes", n.SLOT_SOURCE_BBV: ["hcv"],
             n.SLOT_DEVICE_USED: "yes", n.SLOT_ANNOUNCED_URGENCY: "urgent"}
    tracker = form_turn(n.FORM_SHARPS, text="5 mins ago", slots=slots, occurred_at="5 mins ago")
    events = await _validate(tracker, dispatcher, domain)
    assert events[n.SLOT_REQUESTED] == n.SLOT_FLUID
    tracker = form_turn(n.FORM_SHARPS, text="blood", slots={**slots, n.SLOT_OCCURRED_AT: "2026-11-23T14:55:00+00:00"},
                        fluid="blood")
    events = await _validate(tracker, dispatcher, domain)
    assert events[n.SLOT_REQUESTED] == n.SLOT_SOURCE_RISK


async def test_a_later_dont_know_never_erases_a_fact(api, dispatcher, domain):
    api.patch("/api/cases/SH-000123").respond(200, json=case_json())
    slots = {**OPEN, n.SLOT_SOURCE_KNOWN: "yes", n.SLOT_SOURCE_BBV: ["hcv"]}
    tracker = form_turn(n.FORM_SHARPS, text="not that I know of, no idea", intent=n.INTENT_DONT_KNOW, slots=slots,
                        source_risk="not that I know of, no idea")
    events = await _validate(tracker, dispatcher, domain)
    assert events[n.SLOT_SOURCE_RISK] == n.UNKNOWN
    assert n.SLOT_SOURCE_BBV not in events or events[n.SLOT_SOURCE_BBV] == ["hcv"]


async def test_no_to_might_the_patient_have_a_virus_is_unknown_not_negative(api, dispatcher, domain):
    api.patch("/api/cases/SH-000123").respond(200, json=case_json())
    for text, intent in (("no", n.INTENT_DENY), ("none", n.INTENT_DENY), ("not that I know of", n.INTENT_DENY),
                         ("don't think so", n.INTENT_DENY)):
        tracker = form_turn(n.FORM_SHARPS, text=text, intent=intent, slots={**OPEN, n.SLOT_SOURCE_KNOWN: "yes"},
                            source_bbv=text)
        events = await _validate(tracker, dispatcher, domain)
        assert events[n.SLOT_SOURCE_BBV] == [n.UNKNOWN], text
        assert sharps_answers({n.SLOT_SOURCE_BBV: events[n.SLOT_SOURCE_BBV]})["source"]["hiv"] == "unknown"


async def test_the_tested_negative_button_is_still_negative(api, dispatcher, domain):
    api.patch("/api/cases/SH-000123").respond(200, json=case_json())
    tracker = form_turn(n.FORM_SHARPS, text="4", slots={**OPEN, n.SLOT_SOURCE_KNOWN: "yes"}, source_bbv="4")
    events = await _validate(tracker, dispatcher, domain)
    assert events[n.SLOT_SOURCE_BBV] == ["none"]


async def test_a_clean_unused_needle_skips_what_caused_it_and_the_source(api, dispatcher, domain):
    api.patch("/api/cases/SH-000123").respond(200, json=case_json(urgency="routine", page_on_call=False))
    slots = {**OPEN, n.SLOT_EXPOSURE_TYPE: "percutaneous", n.SLOT_DEVICE_USED: "no", n.SLOT_VISIBLE_BLOOD: "no"}
    tracker = form_turn(n.FORM_SHARPS, text="just now", slots=slots, occurred_at="just now")
    events = await _validate(tracker, dispatcher, domain)
    assert events[n.SLOT_REQUESTED] == n.SLOT_GLOVES


async def test_a_bite_is_not_asked_whether_it_was_used(api, dispatcher, domain):
    api.patch("/api/cases/SH-000123").respond(200, json=case_json())
    slots = {**OPEN, n.SLOT_EXPOSURE_TYPE: "percutaneous", n.SLOT_INJURY_BITE: "yes", n.SLOT_DEVICE_KIND: "other",
             n.SLOT_FLUID: "blood", n.SLOT_SOURCE_KNOWN: "yes", n.SLOT_SOURCE_BBV: [n.UNKNOWN],
             n.SLOT_SOURCE_RISK: [n.UNKNOWN]}
    tracker = form_turn(n.FORM_SHARPS, text="just now", slots=slots, occurred_at="just now")
    events = await _validate(tracker, dispatcher, domain)
    assert events[n.SLOT_REQUESTED] == n.SLOT_INJURY_DEEP
    assert sharps_answers(slots)["device"] == {"kind": "other", "bite": True}


async def test_spit_is_asked_about_blood_and_blood_in_it_is_blood_stained(api, dispatcher, domain):
    api.patch("/api/cases/SH-000123").respond(200, json=case_json())
    slots = {**OPEN, n.SLOT_OCCURRED_AT: "2026-11-23T14:40:00+00:00", n.SLOT_EXPOSURE_TYPE: "mucocutaneous"}
    tracker = form_turn(n.FORM_SHARPS, text="spit", slots=slots, fluid="spit")
    events = await _validate(tracker, dispatcher, domain)
    assert events[n.SLOT_FLUID] == "low_risk"
    assert events[n.SLOT_REQUESTED] == n.SLOT_FLUID_BLOOD
    assert sharps_answers({n.SLOT_FLUID: "low_risk", n.SLOT_FLUID_BLOOD: "yes"})["fluid"] == "blood_stained"
    assert sharps_answers({n.SLOT_FLUID: "low_risk", n.SLOT_FLUID_BLOOD: n.UNKNOWN})["fluid"] == n.UNKNOWN
    assert sharps_answers({n.SLOT_FLUID: "low_risk", n.SLOT_FLUID_BLOOD: "no"})["fluid"] == "low_risk"


async def test_the_no_blood_option_needs_no_blood_question(api, dispatcher, domain):
    api.patch("/api/cases/SH-000123").respond(200, json=case_json())
    slots = {**OPEN, **SMS, n.SLOT_OCCURRED_AT: "2026-11-23T14:40:00+00:00", n.SLOT_EXPOSURE_TYPE: "mucocutaneous"}
    tracker = form_turn(n.FORM_SHARPS, text="4", slots=slots, fluid="4")
    events = await _validate(tracker, dispatcher, domain)
    assert events[n.SLOT_FLUID] == "low_risk" and events[n.SLOT_FLUID_BLOOD] == "no"
    assert events[n.SLOT_REQUESTED] == n.SLOT_SOURCE_KNOWN


async def test_an_unknown_source_is_still_asked_about_injecting_drug_use(api, dispatcher, domain):
    api.patch("/api/cases/SH-000123").respond(200, json=case_json())
    slots = {**OPEN, n.SLOT_OCCURRED_AT: "2026-11-23T14:40:00+00:00", n.SLOT_EXPOSURE_TYPE: "percutaneous",
             n.SLOT_FLUID: n.UNKNOWN}
    tracker = form_turn(n.FORM_SHARPS, text="no", intent=n.INTENT_DENY, slots=slots, source_known="no")
    events = await _validate(tracker, dispatcher, domain)
    assert events[n.SLOT_REQUESTED] == n.SLOT_SOURCE_RISK


async def test_a_contradiction_that_lowers_the_risk_is_confirmed_first(api, dispatcher, domain):
    api.patch("/api/cases/SH-000123").respond(200, json=case_json(urgency="emergency"))
    slots = {**OPEN, n.SLOT_OCCURRED_AT: "2026-11-23T14:40:00+00:00", n.SLOT_EXPOSURE_TYPE: "percutaneous",
             n.SLOT_SOURCE_KNOWN: "yes", n.SLOT_SOURCE_BBV: ["hiv"], n.SLOT_ANNOUNCED_URGENCY: "emergency",
             n.SLOT_SHARPS_CONTINUE: "yes"}
    tracker = form_turn(n.FORM_SHARPS, text="blood, and the patient tested negative for everything", slots=slots,
                        fluid="blood, and the patient tested negative for everything")
    events = await _validate(tracker, dispatcher, domain)
    assert events[n.SLOT_FLUID] == "blood"
    assert n.SLOT_SOURCE_BBV not in events
    assert events[n.SLOT_PENDING_CHANGE]["slot"] == n.SLOT_SOURCE_BBV
    assert "HIV" in events[n.SLOT_PENDING_CHANGE_TEXT]
    assert events[n.SLOT_REQUESTED] == n.SLOT_CONFIRM_CHANGE

    pending = {**slots, n.SLOT_FLUID: "blood", n.SLOT_PENDING_CHANGE: events[n.SLOT_PENDING_CHANGE]}
    dispatcher.messages.clear()
    tracker = form_turn(n.FORM_SHARPS, text="no", intent=n.INTENT_DENY, slots=pending, confirm_change="no")
    kept = await _validate(tracker, dispatcher, domain)
    assert n.UTTER_CHANGE_KEPT in responses(dispatcher)
    assert kept[n.SLOT_PENDING_CHANGE] is None
    assert n.SLOT_SOURCE_BBV not in kept

    dispatcher.messages.clear()
    tracker = form_turn(n.FORM_SHARPS, text="yes", intent=n.INTENT_AFFIRM, slots=pending, confirm_change="yes")
    changed = await _validate(tracker, dispatcher, domain)
    assert changed[n.SLOT_SOURCE_BBV] == ["none"]
    assert n.UTTER_CORRECTION_DONE in responses(dispatcher)


async def test_a_riskier_fact_replaces_an_answer_at_once(api, dispatcher, domain):
    route = api.patch("/api/cases/SH-000123").respond(200, json=case_json())
    slots = {**OPEN, n.SLOT_OCCURRED_AT: "2026-11-23T14:40:00+00:00", n.SLOT_EXPOSURE_TYPE: "mucocutaneous",
             n.SLOT_FLUID: "low_risk", n.SLOT_FLUID_BLOOD: "no"}
    tracker = form_turn(n.FORM_SHARPS, text="actually there was blood in it", slots=slots,
                        source_known="actually there was blood in it")
    events = await _validate(tracker, dispatcher, domain)
    assert events[n.SLOT_FLUID] in ("blood", "blood_stained")
    assert body(route.calls.last)["answers"]["fluid"] in ("blood", "blood_stained")


async def test_a_talk_to_a_person_message_is_not_read_for_facts(api, dispatcher, domain):
    slots = {**OPEN, n.SLOT_OCCURRED_AT: "2026-11-23T14:40:00+00:00"}
    tracker = form_turn(n.FORM_SHARPS, text="i want to talk to a person, it was blood", intent=n.INTENT_REQUEST_HUMAN,
                        slots=slots, requested=n.SLOT_EXPOSURE_TYPE)
    events = await _validate(tracker, dispatcher, domain)
    assert n.SLOT_FLUID not in events
    assert api.calls.call_count == 0


# -- corrections ------------------------------------------------------------------------------------
async def test_actually_the_patient_is_negative_is_confirmed_before_it_replaces_hiv(api, dispatcher, domain):
    slots = {**OPEN, n.SLOT_SOURCE_KNOWN: "yes", n.SLOT_SOURCE_BBV: ["hiv"], n.SLOT_REQUESTED: n.SLOT_FLUID}
    events = [user_event("actually the patient is negative", n.INTENT_CORRECT_ANSWER)]
    tracker = make_tracker(text=None, slots=slots, events=events, active_loop=n.FORM_SHARPS)
    tracker.latest_message = parse_data("actually the patient tested negative", n.INTENT_CORRECT_ANSWER)
    result = slot_events(await ActionCorrectAnswer().run(dispatcher, tracker, domain))
    assert n.SLOT_SOURCE_BBV not in result
    assert result[n.SLOT_PENDING_CHANGE]["slot"] == n.SLOT_SOURCE_BBV
    assert api.calls.call_count == 0


async def test_a_form_opened_after_the_first_message_reads_nothing_twice(api, dispatcher, domain):
    """The form's first run follows the case action, not the message: nothing is re-read."""
    slots = {**OPEN, n.SLOT_SOURCE_BBV: ["hiv"]}
    tracker = make_tracker(text="the patient is HIV positive", intent=n.INTENT_REPORT_SHARPS_INJURY, slots=slots,
                           active_loop=n.FORM_SHARPS)
    tracker.events.append(ActionExecuted(n.ACTION_SHARPS_OPEN_CASE))
    events = await _validate(tracker, dispatcher, domain)
    assert api.calls.call_count == 0
    assert n.SLOT_SOURCE_BBV not in events
