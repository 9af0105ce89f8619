"""SMS: stored first, relayed with a pseudonymous id, numbered choices, retries, keywords, ACK."""
from __future__ import annotations

from datetime import datetime, timezone

import time_machine
from sqlalchemy import select

from api.models import Case, CaseEvent, ConversationMessage, Page
from api.services import cases
from api.services.identities import sms_conversation_id
from tests.api.channels.conftest import CALLER, all_cases, count, messages, turns, twiml
from tests.api.factories import HIV_NEEDLESTICK, standard_rota

MENU = [{"text": "What happened?", "buttons": [
    {"title": "Needlestick, sharps injury or splash", "payload": "/choose_sharps_line"},
    {"title": "I'm a manager", "payload": "/choose_manager_line"},
    {"title": "Something else", "payload": "/out_of_scope"}]}]


def test_turn_is_relayed_with_a_pseudonymous_sender_and_metadata(twilio, rasa, settings, session_factory):
    rasa.reply = lambda body: MENU
    response = twilio.sms("hello")
    assert messages(response) == [
        "What happened?\n\nReply 1 for Needlestick, sharps injury or splash, 2 for I'm a manager "
        "or 3 for Something else."
    ]
    (call,) = rasa.calls
    assert call["message"] == "hello"
    assert call["metadata"] == {"channel": "sms", "phone": CALLER}
    assert call["sender"] == sms_conversation_id(settings.session_secret, CALLER)
    assert "7700900123" not in call["sender"]
    inbound, outbound = turns(session_factory)
    assert (inbound.direction, inbound.text, inbound.status, inbound.channel) == ("inbound", "hello", "relayed", "sms")
    assert outbound.reply_to_id == inbound.id
    assert outbound.details["buttons"][1] == {"title": "I'm a manager", "payload": "/choose_manager_line"}


def test_the_same_number_keeps_its_conversation(twilio, rasa):
    twilio.sms("hello")
    twilio.sms("07700 900123 again", sender="07700900123")  # national format: same person
    assert rasa.calls[0]["sender"] == rasa.calls[1]["sender"]
    twilio.sms("someone else", sender="+447700900999")
    assert rasa.calls[2]["sender"] != rasa.calls[0]["sender"]


def test_bare_number_picks_that_button_of_the_last_answer(twilio, rasa, session_factory):
    # At a person's pace: three texts in a few seconds are over the limit (tests/api/channels/test_limits.py).
    pace = time_machine.travel(datetime(2026, 11, 23, 14, 0, tzinfo=timezone.utc), tick=False)
    wall = pace.start()
    rasa.reply = lambda body: MENU if body["message"] == "hi" else [{"text": f"got {body['message']}"}]
    twilio.sms("hi")
    wall.shift(6)
    response = twilio.sms("2")
    assert rasa.calls[-1]["message"] == "/choose_manager_line"
    assert messages(response) == ["got /choose_manager_line"]
    inbound = turns(session_factory, direction="inbound")[-1]
    assert inbound.text == "2"  # what the person typed is what is stored
    assert inbound.details["choice"] == {"title": "I'm a manager", "payload": "/choose_manager_line"}
    # The last answer had no buttons: "2" is just text now.
    wall.shift(6)
    twilio.sms("2")
    pace.stop()
    assert rasa.calls[-1]["message"] == "2"


def test_number_out_of_range_is_passed_as_text(twilio, rasa):
    rasa.reply = lambda body: MENU
    twilio.sms("hi")
    twilio.sms("7")
    assert rasa.calls[-1]["message"] == "7"


def test_retry_with_the_same_message_sid_is_idempotent(twilio, rasa, session_factory):
    rasa.reply = lambda body: [{"text": f"answer {len(rasa.calls)}"}]
    first = twilio.sms("i cut myself", sid="SM" + "a" * 32)
    again = twilio.sms("i cut myself", sid="SM" + "a" * 32)
    assert first.text == again.text
    assert messages(again) == ["answer 1"]
    assert len(rasa.calls) == 1
    assert count(session_factory, ConversationMessage, ConversationMessage.direction == "inbound") == 1
    assert count(session_factory, ConversationMessage, ConversationMessage.direction == "outbound") == 1


def test_retry_of_a_safe_answer_opens_no_second_case(twilio, rasa, session_factory):
    rasa.reply = lambda body: []  # Rasa says nothing: safe answer
    first = twilio.sms("needlestick", sid="SM" + "b" * 32)
    again = twilio.sms("needlestick", sid="SM" + "b" * 32)
    assert first.text == again.text
    assert count(session_factory, Case) == 1
    assert len(rasa.calls) == 1


def test_long_reply_is_split_into_messages(twilio, rasa):
    paragraph = " ".join(f"Step {i}: this is what you should do next, carefully and now." for i in range(20))
    rasa.reply = lambda body: [{"text": paragraph}, {"text": paragraph}, {"text": paragraph}]
    bodies = messages(twilio.sms("what do i do"))
    assert len(bodies) >= 3
    assert all(len(b) <= 1600 for b in bodies)
    assert all(b.endswith(".") for b in bodies)
    assert " ".join(" ".join(bodies).split()) == " ".join(" ".join([paragraph] * 3).split())


def test_stop_is_not_relayed_and_gets_no_reply(twilio, rasa, session_factory):
    response = twilio.sms("STOP")
    root = twiml(response)
    assert root.tag == "Response" and list(root) == []  # Twilio confirms the opt-out itself
    assert rasa.calls == []
    (inbound,) = turns(session_factory)
    assert inbound.text == "STOP" and inbound.status == "handled" and inbound.details["keyword"] == "stop"


def test_help_says_what_the_line_is_and_the_emergency_route(twilio, rasa):
    (body,) = messages(twilio.sms("help"))
    assert "occupational health" in body and "999" in body and "emergency department" in body
    assert rasa.calls == []


def test_start_is_answered(twilio, rasa):
    (body,) = messages(twilio.sms("START"))
    assert "999" in body
    assert rasa.calls == []


def test_stop_inside_a_sentence_goes_to_the_bot(twilio, rasa):
    twilio.sms("stop asking me questions")
    assert rasa.calls[0]["message"] == "stop asking me questions"


def test_withheld_number_gets_a_conversation_of_its_own(twilio, rasa, session_factory):
    twilio.sms("hello", sender="Anonymous")
    twilio.sms("hello again", sender="Anonymous")
    first, second = rasa.calls
    assert first["metadata"]["phone"] is None
    assert first["sender"].startswith("anon-") and first["sender"] != second["sender"]


def _paged_case(session_factory, clock, settings):
    with session_factory() as s:
        people = standard_rota(s, now=clock.now)
        case = cases.create(s, data={"line": "sharps", "channel": "sms", "contact": {"phone": "+447700900555"},
                                     "answers": HIV_NEEDLESTICK}, now=clock.now, settings=settings)
        s.commit()
        return case.ref, {k: v.mobile for k, v in people.items()}


def test_ack_from_the_paged_practitioner_acknowledges(twilio, rasa, session_factory, clock, settings):
    ref, mobiles = _paged_case(session_factory, clock, settings)
    clock.advance(minutes=2)
    (body,) = messages(twilio.sms(f"ack {ref}", sender=mobiles["primary"]))
    with session_factory() as s:
        page_id = s.scalar(select(Page.id).where(Page.tier == "primary"))
    assert body.startswith(f"Page {page_id} for {ref} acknowledged (emergency).")  # names the page
    assert "sharps injury" in body and "+447700900555" in body
    assert rasa.calls == []
    with session_factory() as s:
        page = s.scalar(select(Page).where(Page.tier == "primary"))
        assert page.status == "acknowledged" and page.acknowledged_by == "Alex Primary"
        events = [e.type for e in s.scalars(select(CaseEvent).order_by(CaseEvent.id))]
        assert "page_acknowledged" in events
        assert s.scalar(select(Case)).status == "acknowledged"
    (inbound, _) = turns(session_factory)
    assert inbound.details["ack"] == ref and inbound.status == "handled"


def test_ack_from_anyone_else_acknowledges_nothing(twilio, rasa, session_factory, clock, settings):
    ref, mobiles = _paged_case(session_factory, clock, settings)
    from api.services.paging import ACK_REFUSED

    # A stranger, and a practitioner who was not paged (off shift), and the caller themself: one
    # neutral answer that names no case (and the safety numbers), whoever it is.
    for sender in ("+447700900999", mobiles["other"], "+447700900555"):
        assert messages(twilio.sms(f"ACK {ref}", sender=sender)) == [ACK_REFUSED]
    assert ref not in ACK_REFUSED and "999" in ACK_REFUSED
    assert rasa.calls == []
    with session_factory() as s:
        assert s.scalar(select(Page).where(Page.tier == "primary")).status == "pending"
        assert s.scalar(select(Case)).status == "escalated"


def test_delivery_status_updates_the_outbox(twilio, session_factory, clock, settings):
    _paged_case(session_factory, clock, settings)
    from api.models import OutboxMessage

    with session_factory() as s:
        row = s.scalar(select(OutboxMessage))
        row.provider_sid, row.status = "SM" + "c" * 32, "sent"
        s.commit()
    ok = twilio.post("/twilio/status", {"MessageSid": "SM" + "c" * 32, "MessageStatus": "delivered"})
    assert ok.status_code == 204
    twilio.post("/twilio/status", {"MessageSid": "SM" + "c" * 32, "MessageStatus": "delivered"})  # retried
    with session_factory() as s:
        events = [e for e in s.scalars(select(CaseEvent)) if e.type == "page_delivery"]
        assert len(events) == 1 and events[0].details["status"] == "delivered"
        assert s.scalar(select(OutboxMessage)).status == "sent"
    twilio.post("/twilio/status", {"MessageSid": "SM" + "c" * 32, "MessageStatus": "undelivered",
                                   "ErrorCode": "30003"})
    with session_factory() as s:
        row = s.scalar(select(OutboxMessage))
        assert row.status == "failed" and "30003" in row.error
    unknown = twilio.post("/twilio/status", {"MessageSid": "SM" + "d" * 32, "MessageStatus": "delivered"})
    assert unknown.status_code == 204


def test_a_picture_without_words_is_answered_not_relayed(twilio, rasa, session_factory):
    (body,) = messages(twilio.sms(""))
    assert "only read text" in body and "999" in body
    assert rasa.calls == []


def test_a_retry_after_the_first_request_died_gets_the_safe_answer_not_a_second_turn(
        twilio, rasa, session_factory, settings, clock):
    from api.services.safe_answer import SAFE_ANSWER_NOT_PAGED

    sid = "SM" + "e" * 32
    with session_factory() as s:  # stored by a request that then died before relaying
        s.add(ConversationMessage(conversation_id=sms_conversation_id(settings.session_secret, CALLER),
                                  channel="sms", direction="inbound", provider_sid=f"sms:{sid}",
                                  text="needle in my hand", status="pending", details={}, created_at=clock.now))
        s.commit()
    assert messages(twilio.sms("needle in my hand", sid=sid)) == [SAFE_ANSWER_NOT_PAGED]  # no rota here
    assert rasa.calls == []
    assert count(session_factory, ConversationMessage, ConversationMessage.direction == "inbound") == 1
    (case,) = all_cases(session_factory)
    assert case.summary == "needle in my hand"
