"""The sharps line's "talk to a person" pages on the same case at any hour; what the bot said
is recorded; a number given after the page reaches whoever holds it; the call-by time."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from api.models import OutboxMessage
from tests.api.factories import HIV_NEEDLESTICK, standard_rota

CLEAN_SHARP = {"exposure_type": "percutaneous", "device": {"kind": "hollow_bore_needle", "used": False}}
SUNDAY_0650 = datetime(2026, 11, 22, 6, 50, tzinfo=timezone.utc)


def _texts_to(session, number: str) -> list[str]:
    return [m.body for m in session.scalars(select(OutboxMessage).where(OutboxMessage.to == number))]


def test_talk_to_a_person_at_0650_pages_on_call_on_the_same_case(client, session, clock):
    clock.now = SUNDAY_0650
    standard_rota(session, now=clock.now)
    case = client.post("/api/cases", json={"line": "sharps", "answers": CLEAN_SHARP}).json()
    assert case["urgency"] == "routine" and case["pages"] == [] and case["call_by"] is None
    r = client.post(f"/api/cases/{case['ref']}/person", json={"actor": "helpline-bot", "words": "talk to a person"})
    assert r.status_code == 200
    body = r.json()
    assert body["ref"] == case["ref"] and client.get("/api/cases").json()["count"] == 1
    sent = [p for p in body["pages"] if p["status"] == "pending"]
    assert [p["tier"] for p in sent] == ["primary"] and sent[0]["sent_at"] is not None
    # the whole ladder, every step its full window, counted from the first page
    assert datetime.fromisoformat(body["call_by"]) == SUNDAY_0650 + timedelta(seconds=900 * 4)
    events = [e["type"] for e in client.get(f"/api/cases/{case['ref']}/events").json()]
    assert "person_requested" in events and "page_sent" in events


def test_asking_again_while_a_page_waits_pages_nobody_twice(client, session, clock):
    standard_rota(session, now=clock.now)
    case = client.post("/api/cases", json={"line": "sharps", "answers": HIV_NEEDLESTICK}).json()
    first = len(case["pages"])
    again = client.post(f"/api/cases/{case['ref']}/person", json={"words": "can I speak to someone"}).json()
    assert len(again["pages"]) == first


def test_whoever_accepted_is_told_the_caller_asked(client, session, clock):
    people = standard_rota(session, now=clock.now)
    case = client.post("/api/cases", json={"line": "sharps", "answers": HIV_NEEDLESTICK,
                                           "contact": {"phone": "07400123456"}}).json()
    client.post(f"/api/pages/{case['pages'][0]['id']}/ack", json={"by": "Alex Primary"})
    client.post(f"/api/cases/{case['ref']}/person", json={"words": "talk to a person"})
    session.expire_all()
    assert any("asked to talk to a person" in t for t in _texts_to(session, people["primary"].mobile))


def test_the_manager_line_does_not_page_on_request(client):
    case = client.post("/api/cases", json={"line": "manager", "kind": "advice", "answers": {}}).json()
    r = client.post(f"/api/cases/{case['ref']}/person", json={"words": "talk to a person"})
    assert r.status_code == 409


def test_a_sharps_line_advice_case_pages_now_at_night(client, session, clock):
    clock.now = SUNDAY_0650
    standard_rota(session, now=clock.now)
    case = client.post("/api/cases", json={"line": "sharps", "kind": "advice", "summary": "Asked to talk to a person",
                                           "answers": {"topic": "talk_to_person"}}).json()
    assert case["decision"]["page_not_before"] is None
    assert any(p["status"] == "pending" for p in case["pages"])


def test_a_number_given_after_the_page_reaches_the_paged_practitioner(client, session, clock):
    people = standard_rota(session, now=clock.now)
    case = client.post("/api/cases", json={"line": "sharps", "answers": HIV_NEEDLESTICK}).json()
    assert case["pages"] and "No call-back number yet" in _texts_to(session, people["primary"].mobile)[0]
    client.patch(f"/api/cases/{case['ref']}", json={"contact": {"phone": "07400 123456"}})
    session.expire_all()
    texts = _texts_to(session, people["primary"].mobile)
    assert any("call-back number +447400123456" in t for t in texts)


def test_what_was_said_is_recorded_word_for_word(client):
    case = client.post("/api/cases", json={"line": "sharps", "answers": HIV_NEEDLESTICK}).json()
    items = [{"code": a["code"], "text": a["text"]} for a in case["decision"]["advice"]]
    r = client.post(f"/api/cases/{case['ref']}/said", json={"channel": "sms", "items": items})
    assert r.status_code == 204
    said = [e for e in client.get(f"/api/cases/{case['ref']}/events").json() if e["type"] == "advice_said"]
    assert said and said[0]["details"]["items"] == items and said[0]["details"]["channel"] == "sms"
    assert client.post(f"/api/cases/{case['ref']}/said", json={"items": []}).status_code == 422


def test_the_case_page_marks_each_advice_item_told_or_not_yet(client, session):
    from api.services import audit, cases as case_service
    from api.services.casework import advice_with_said

    case = client.post("/api/cases", json={"line": "sharps", "answers": HIV_NEEDLESTICK}).json()
    advice = case["decision"]["advice"]
    spoken = [a for a in advice if not a["code"].startswith("first_aid_")][:1]
    client.post(f"/api/cases/{case['ref']}/said",
                json={"items": [{"code": a["code"], "text": a["text"]} for a in spoken]})
    row = case_service.get_by_ref(session, case["ref"])
    marked = {a["code"]: a["said_at"] for a in advice_with_said(row.decision, audit.events_for(session, row))}
    assert marked[spoken[0]["code"]] is not None
    assert any(when is None for code, when in marked.items() if not code.startswith("first_aid_"))
    assert all(marked[c] is not None for c in marked if c.startswith("first_aid_"))
