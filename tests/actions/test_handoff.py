"""Talk to a person: a call-back request through the API, said honestly."""
import pytest
from rasa_sdk.events import SlotSet

from actions import names as n
from actions.handoff import ActionHandoff, ValidateHandoffForm
from tests.actions.builders import form_turn, make_tracker, responses, slot_events
from tests.actions.conftest import CONNECT_ERROR, body, calls, case_json


def _asked(text="can i speak to a real person"):
    return [{"event": "user", "text": text, "parse_data": {"intent": {"name": n.INTENT_REQUEST_HUMAN}}}]


async def test_handoff_mid_sharps_opens_a_request_and_notes_the_case(api, dispatcher, domain):
    post = api.post("/api/cases").respond(201, json=case_json("SH-000124", kind="advice", urgency="urgent"))
    note = api.post("/api/cases/SH-000123/events").respond(201, json={"id": 9})
    tracker = make_tracker(events=_asked(), slots={n.SLOT_LINE: "sharps", n.SLOT_CASE_REF: "SH-000123",
                                                   n.SLOT_CALLBACK_PHONE: "+447911123456", n.SLOT_CHANNEL: "web"})
    events = await ActionHandoff().run(dispatcher, tracker, domain)

    assert calls(api) == [("POST", "/api/cases"), ("POST", "/api/cases/SH-000123/events")]
    assert body(post.calls.last) == {
        "line": "sharps", "kind": "advice", "conversation_id": "conv-123", "channel": "web",
        "answers": {"topic": "talk_to_person", "question": "can i speak to a real person"},
        "summary": "Asked to talk to a person (about case SH-000123)", "contact": {"phone": "+447911123456"},
    }
    assert body(note.calls.last)["note"].startswith("Asked to talk to a person; call-back case SH-000124")
    assert responses(dispatcher) == [n.UTTER_CALLBACK_NOW]
    assert dispatcher.messages[0]["phone"] == "+447911123456"
    assert slot_events(events)[n.SLOT_CASE_REF] == "SH-000123"


async def test_handoff_when_no_page_is_due_says_so(api, dispatcher, domain):
    api.post("/api/cases").respond(201, json=case_json("MA-000060", line="manager", kind="advice",
                                                       urgency="routine", page_on_call=False))
    tracker = make_tracker(events=_asked(), slots={n.SLOT_LINE: "manager", n.SLOT_SENDER_PHONE: "+447911123456"})
    await ActionHandoff().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == [n.UTTER_CALLBACK_QUEUED]


async def test_handoff_with_the_api_down_gives_the_direct_route(api, dispatcher, domain, monkeypatch):
    monkeypatch.setenv("HELPLINE_ONCALL_PHONE", "0300 123 4567")
    api.post("/api/cases").mock(side_effect=CONNECT_ERROR)
    events = await ActionHandoff().run(dispatcher, make_tracker(events=_asked()), domain)
    assert responses(dispatcher) == [n.UTTER_HANDOFF_API_DOWN]
    assert dispatcher.messages[0]["oncall_phone"] == "0300 123 4567"
    assert slot_events(events)[n.SLOT_PENDING_SYNC]["cases"][0]["answers"]["topic"] == "talk_to_person"


@pytest.mark.parametrize("text,intent,expected", [
    ("07911 123456", n.INTENT_INFORM, "+447911123456"),
    ("dont know", n.INTENT_DONT_KNOW, n.UNKNOWN),
])
async def test_handoff_form_reads_the_number(dispatcher, domain, text, intent, expected):
    tracker = form_turn(n.FORM_HANDOFF, text=text, intent=intent, callback_phone=text)
    events = await ValidateHandoffForm().run(dispatcher, tracker, domain)
    assert events == [SlotSet(n.SLOT_CALLBACK_PHONE, expected), SlotSet(n.SLOT_FORM_RETRIES, None),
                      SlotSet(n.SLOT_REQUESTED, None)]


async def test_handoff_form_two_bad_numbers_then_unknown(dispatcher, domain):
    tracker = form_turn(n.FORM_HANDOFF, text="1234", slots={n.SLOT_FORM_RETRIES: {"callback_phone": 1}},
                        callback_phone="1234")
    events = await ValidateHandoffForm().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == [n.UTTER_MARKED_UNKNOWN]
    assert slot_events(events)[n.SLOT_CALLBACK_PHONE] == n.UNKNOWN


async def test_handoff_without_any_number_says_so(api, dispatcher, domain):
    api.post("/api/cases").respond(201, json=case_json("SH-000125", kind="advice"))
    await ActionHandoff().run(dispatcher, make_tracker(events=_asked(), slots={n.SLOT_CALLBACK_PHONE: "unknown"}), domain)
    assert responses(dispatcher) == [n.UTTER_CALLBACK_NO_NUMBER]
    assert "contact" not in body(api.calls.last)


async def test_handoff_asks_again_when_the_number_was_not_known_before(dispatcher, domain):
    tracker = form_turn(n.FORM_HANDOFF, text="talk to a person", intent=n.INTENT_REQUEST_HUMAN, callback_phone="unknown")
    events = await ValidateHandoffForm().run(dispatcher, tracker, domain)
    assert events == [SlotSet(n.SLOT_CALLBACK_PHONE, None), SlotSet(n.SLOT_REQUESTED, n.SLOT_CALLBACK_PHONE)]
