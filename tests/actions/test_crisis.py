"""Crisis: the emergency route first, then a page through the API; any form closes."""
import httpx
import pytest
from rasa_sdk.events import ActiveLoop, SlotSet

from actions import names as n
from actions.crisis import ActionCrisis
from tests.actions.builders import make_tracker, responses, slot_events
from tests.actions.conftest import CONNECT_ERROR, TIMEOUT, body, calls, case_json

SAID = "i cant go on anymore"


async def test_no_case_yet_opens_a_crisis_case(api, dispatcher, domain):
    route = api.post("/api/cases").respond(201, json=case_json("SH-000777", kind="crisis", urgency="emergency"))
    tracker = make_tracker(text=SAID, intent=n.INTENT_CRISIS, slots={n.SLOT_CHANNEL: "sms",
                                                                      n.SLOT_SENDER_PHONE: "+447911123456"})
    events = await ActionCrisis().run(dispatcher, tracker, domain)

    assert responses(dispatcher) == [n.UTTER_CRISIS, n.UTTER_CRISIS_PAGED]
    assert body(route.calls.last) == {
        "line": "sharps", "kind": "crisis", "conversation_id": "conv-123", "channel": "sms",
        "answers": {"crisis": True}, "summary": f"Crisis words in the conversation: \"{SAID}\"",
        "contact": {"phone": "+447911123456"},
    }
    assert events == [SlotSet(n.SLOT_PENDING_SYNC, None), SlotSet(n.SLOT_CASE_REF, "SH-000777"),
                      ActiveLoop(None), SlotSet(n.SLOT_REQUESTED, None)]


async def test_mid_form_the_open_case_is_flagged_and_the_form_closed(api, dispatcher, domain):
    route = api.patch("/api/cases/SH-000123").respond(200, json=case_json(urgency="emergency"))
    tracker = make_tracker(text=SAID, intent=n.INTENT_CRISIS, active_loop=n.FORM_SHARPS,
                           slots={n.SLOT_CASE_REF: "SH-000123", n.SLOT_LINE: "sharps", n.SLOT_REQUESTED: "fluid"})
    events = await ActionCrisis().run(dispatcher, tracker, domain)
    assert calls(api) == [("PATCH", "/api/cases/SH-000123")]
    assert body(route.calls.last)["answers"] == {"crisis": True}
    assert responses(dispatcher) == [n.UTTER_CRISIS, n.UTTER_CRISIS_PAGED]
    assert events[-2:] == [ActiveLoop(None), SlotSet(n.SLOT_REQUESTED, None)]


async def test_refused_update_falls_back_to_a_new_crisis_case(api, dispatcher, domain):
    api.patch("/api/cases/SH-000999").respond(404, json={"detail": "Case not found"})
    api.post("/api/cases").respond(201, json=case_json("MA-000050", kind="crisis", urgency="emergency"))
    tracker = make_tracker(text=SAID, intent=n.INTENT_CRISIS, slots={n.SLOT_CASE_REF: "SH-000999",
                                                                      n.SLOT_LINE: "manager"})
    await ActionCrisis().run(dispatcher, tracker, domain)
    assert calls(api) == [("PATCH", "/api/cases/SH-000999"), ("POST", "/api/cases")]
    assert body(api.calls[-1])["line"] == "manager"


@pytest.mark.parametrize("failure", [CONNECT_ERROR, TIMEOUT, httpx.Response(500)])
async def test_api_down_still_gives_the_emergency_route_first_and_keeps_the_case(api, dispatcher, domain, failure):
    api.post("/api/cases").mock(side_effect=[failure, failure])
    events = await ActionCrisis().run(dispatcher, make_tracker(text=SAID, intent=n.INTENT_CRISIS), domain)
    assert responses(dispatcher) == [n.UTTER_CRISIS, n.UTTER_CRISIS_NOT_PAGED]
    assert slot_events(events)[n.SLOT_PENDING_SYNC]["cases"][0]["kind"] == "crisis"


async def test_the_case_records_what_the_guard_read(api, dispatcher, domain):
    route = api.post("/api/cases").respond(201, json=case_json("SH-000778", kind="crisis", urgency="emergency"))
    tracker = make_tracker(text="im going to kill him", intent=n.INTENT_CRISIS)
    tracker.latest_message["crisis_guard"] = {"phrase": "going to kill him", "lexicon_version": "crisis-2026.12.3",
                                              "whose": "caller"}
    await ActionCrisis().run(dispatcher, tracker, domain)
    assert body(route.calls.last)["answers"] == {
        "crisis": True,
        "crisis_words": {"phrase": "going to kill him", "whose": "caller", "lexicon_version": "crisis-2026.12.3"},
    }
    assert responses(dispatcher) == [n.UTTER_CRISIS, n.UTTER_CRISIS_PAGED]


async def test_crisis_words_in_a_referral_open_a_manager_line_case(api, dispatcher, domain):
    # A present risk mid-referral ("she said she'll kill herself tonight") is the crisis route:
    # the referral form closes and the crisis case is on the manager line.
    route = api.post("/api/cases").respond(201, json=case_json("MA-000051", line="manager", kind="crisis",
                                                               urgency="emergency"))
    tracker = make_tracker(text="she said she'll kill herself tonight", intent=n.INTENT_CRISIS,
                           active_loop=n.FORM_REFERRAL, slots={n.SLOT_REQUESTED: n.SLOT_TRIED})
    events = await ActionCrisis().run(dispatcher, tracker, domain)
    assert body(route.calls.last)["line"] == "manager"
    assert events[-2:] == [ActiveLoop(None), SlotSet(n.SLOT_REQUESTED, None)]


def test_the_crisis_reply_covers_someone_elses_life_too(domain):
    # A threat to another person's life is a crisis too: the same reply, 999 first.
    text = domain["responses"][n.UTTER_CRISIS][0]["text"]
    assert "anyone else's" in text and "999" in text and "116 123" in text
