"""Talk to a person: a call-back request through the API, said honestly."""
import pytest
from rasa_sdk.events import SlotSet

from actions import names as n
from actions.handoff import ActionHandoff, ValidateHandoffForm
from tests.actions.builders import form_turn, make_tracker, responses, slot_events
from tests.actions.conftest import CONNECT_ERROR, body, calls, case_json


def _asked(text="can i speak to a real person"):
    return [{"event": "user", "text": text, "parse_data": {"intent": {"name": n.INTENT_REQUEST_HUMAN}}}]


async def test_talk_to_a_person_mid_sharps_pages_on_call_on_the_same_case(api, dispatcher, domain):
    before = case_json(urgency="routine", page_on_call=False)  # nothing paged yet
    patch = api.patch("/api/cases/SH-000123").respond(200, json=before)
    person = api.post("/api/cases/SH-000123/person").respond(200, json=case_json(urgency="routine", paged=True))
    tracker = make_tracker(events=_asked(), slots={n.SLOT_LINE: "sharps", n.SLOT_CASE_REF: "SH-000123",
                                                   n.SLOT_CALLBACK_PHONE: "+447911123456", n.SLOT_CHANNEL: "web"})
    events = await ActionHandoff().run(dispatcher, tracker, domain)

    # never a second case, never office hours: the number goes to the case, then the page
    assert calls(api) == [("PATCH", "/api/cases/SH-000123"), ("POST", "/api/cases/SH-000123/person")]
    assert body(patch.calls.last)["contact"] == {"phone": "+447911123456"}
    assert body(person.calls.last)["words"] == "can i speak to a real person"
    assert responses(dispatcher) == [n.UTTER_PERSON_PAGED, n.UTTER_CALL_BY]
    assert dispatcher.messages[0]["phone"] == "+447911123456"
    assert slot_events(events)[n.SLOT_CASE_REF] == "SH-000123"


async def test_talk_to_a_person_before_any_case_opens_the_sharps_case_and_pages(api, dispatcher, domain):
    post = api.post("/api/cases").respond(201, json=case_json("SH-000130", urgency="urgent",
                                                                page_not_before="2026-11-23T15:10:00Z"))
    api.post("/api/cases/SH-000130/person").respond(200, json=case_json("SH-000130", paged=True))
    tracker = make_tracker(events=_asked(), slots={n.SLOT_SENDER_PHONE: "+447911123456", n.SLOT_CHANNEL: "sms"})
    events = await ActionHandoff().run(dispatcher, tracker, domain)
    assert body(post.calls.last)["line"] == "sharps" and body(post.calls.last)["kind"] == "exposure"
    assert responses(dispatcher) == [n.UTTER_PERSON_PAGED, n.UTTER_CALL_BY]
    assert slot_events(events)[n.SLOT_CASE_REF] == "SH-000130"
    assert slot_events(events)[n.SLOT_LINE] == "sharps"


async def test_talk_to_a_person_while_a_page_waits_says_when_it_went(api, dispatcher, domain):
    api.patch("/api/cases/SH-000123").respond(200, json=case_json())
    api.post("/api/cases/SH-000123/person").respond(200, json=case_json())
    tracker = make_tracker(events=_asked(), slots={n.SLOT_LINE: "sharps", n.SLOT_CASE_REF: "SH-000123",
                                                   n.SLOT_CALLBACK_PHONE: "+447911123456"})
    await ActionHandoff().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == [n.UTTER_PERSON_ALREADY_PAGED, n.UTTER_CALL_BY]
    assert dispatcher.messages[0]["paged_at"] == "15:00"


async def test_talk_to_a_person_after_someone_accepted_names_them(api, dispatcher, domain):
    api.patch("/api/cases/SH-000123").respond(200, json=case_json(accepted_by="Alex Primary"))
    api.post("/api/cases/SH-000123/person").respond(200, json=case_json(accepted_by="Alex Primary"))
    tracker = make_tracker(events=_asked(), slots={n.SLOT_LINE: "sharps", n.SLOT_CASE_REF: "SH-000123",
                                                   n.SLOT_CALLBACK_PHONE: "+447911123456"})
    await ActionHandoff().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == [n.UTTER_PERSON_ACCEPTED]
    assert dispatcher.messages[0]["practitioner"] == "Alex Primary"


async def test_nobody_could_be_paged_says_go_to_ae_never_wait(api, dispatcher, domain):
    api.patch("/api/cases/SH-000123").respond(200, json=case_json(urgency="routine", page_on_call=False))
    api.post("/api/cases/SH-000123/person").respond(200, json=case_json(paged=False))
    tracker = make_tracker(events=_asked(), slots={n.SLOT_LINE: "sharps", n.SLOT_CASE_REF: "SH-000123",
                                                   n.SLOT_CALLBACK_PHONE: "+447911123456"})
    await ActionHandoff().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == [n.UTTER_PERSON_NOT_PAGED]
    text = domain["responses"][n.UTTER_PERSON_NOT_PAGED][0]["text"]
    assert "A&E" in text and "111" in text and "paged" not in text.replace("couldn't reach", "")


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
    # what was said is kept for the case, sent when the API is back
    assert slot_events(events)[n.SLOT_PENDING_SYNC]["sharps"]["create"]["line"] == "sharps"


async def test_with_the_api_down_and_no_on_call_number_never_names_this_service(api, dispatcher, domain):
    api.post("/api/cases").mock(side_effect=CONNECT_ERROR)
    await ActionHandoff().run(dispatcher, make_tracker(events=_asked()), domain)
    assert responses(dispatcher) == [n.UTTER_HANDOFF_API_DOWN_NO_NUMBER]
    text = domain["responses"][n.UTTER_HANDOFF_API_DOWN_NO_NUMBER][0]["text"]
    for route in ("A&E", "NHS 111", "option 2", "116 123", "999"):
        assert route in text
    assert "sharps line" not in text and "has been paged" not in text


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
    api.post("/api/cases").respond(201, json=case_json("SH-000125"))
    api.post("/api/cases/SH-000125/person").respond(200, json=case_json("SH-000125"))
    await ActionHandoff().run(dispatcher, make_tracker(events=_asked(), slots={n.SLOT_CALLBACK_PHONE: "unknown"}),
                              domain)
    assert responses(dispatcher) == [n.UTTER_PERSON_PAGED_NO_NUMBER]
    assert "contact" not in body(api.calls[0])


async def test_the_manager_line_books_a_call_back_and_never_says_paged_without_a_page(api, dispatcher, domain):
    api.post("/api/cases").respond(201, json=case_json("MA-000061", line="manager", kind="advice", paged=False))
    tracker = make_tracker(events=_asked(), slots={n.SLOT_LINE: "manager", n.SLOT_SENDER_PHONE: "+447911123456"})
    await ActionHandoff().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == [n.UTTER_CALLBACK_QUEUED]


async def test_handoff_asks_again_when_the_number_was_not_known_before(dispatcher, domain):
    tracker = form_turn(n.FORM_HANDOFF, text="talk to a person", intent=n.INTENT_REQUEST_HUMAN,
                        callback_phone="unknown")
    events = await ValidateHandoffForm().run(dispatcher, tracker, domain)
    assert events == [SlotSet(n.SLOT_CALLBACK_PHONE, None), SlotSet(n.SLOT_REQUESTED, n.SLOT_CALLBACK_PHONE)]
