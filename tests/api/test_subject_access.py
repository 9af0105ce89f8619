"""GET /api/subject-access?phone=...: everything tied to one number, and nothing of anyone else's."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from api.models import CaseEvent, ConversationMessage
from api.services import identities, retention
from tests.api.factories import HIV_NEEDLESTICK, standard_rota

PHONE = "+447700900555"


def _turn(session, cid: str, text: str, at, direction: str = "inbound", channel: str = "sms") -> None:
    session.add(ConversationMessage(conversation_id=cid, channel=channel, direction=direction, text=text,
                                    status="relayed", details={}, created_at=at))


def test_export_has_every_case_event_and_transcript_for_the_number(client, session, settings, clock):
    people = standard_rota(session, now=clock.now)
    sms_id = identities.sms_conversation_id(settings.session_secret, PHONE)
    _turn(session, sms_id, "needle went into my hand", clock.now)
    _turn(session, sms_id, "Let it bleed and wash it.", clock.now, "outbound")
    _turn(session, "CA" + "1" * 32, "a splash in my eye", clock.now, channel="voice")
    _turn(session, "sms-someone-else", "not this person's", clock.now)
    session.commit()
    by_sms = client.post("/api/cases", json={"line": "sharps", "channel": "sms", "conversation_id": sms_id,
                                             "answers": HIV_NEEDLESTICK}).json()
    by_call = client.post("/api/cases", json={"line": "sharps", "channel": "voice", "conversation_id": "CA" + "1" * 32,
                                              "contact": {"name": "Sam", "phone": "07700 900555"}}).json()
    other = client.post("/api/cases", json={"line": "sharps", "contact": {"phone": "07700 900999"}}).json()
    client.post(f"/api/cases/{by_call['ref']}/events", json={"note": "called Sam back"})

    clock.advance(minutes=5)
    r = client.get("/api/subject-access", params={"phone": "+44 7700 900555"})  # any form of the number
    assert r.status_code == 200, r.text
    export = r.json()
    assert export["phone"] == PHONE
    assert [c["ref"] for c in export["cases"]] == [by_sms["ref"], by_call["ref"]]
    assert other["ref"] not in r.text and "not this person's" not in r.text
    assert export["conversation_ids"] == sorted([sms_id, "CA" + "1" * 32])
    texts = {t["conversation_id"]: [m["text"] for m in t["messages"]] for t in export["transcripts"]}
    assert texts == {sms_id: ["needle went into my hand", "Let it bleed and wash it."],
                     "CA" + "1" * 32: ["a splash in my eye"]}
    call_case = export["cases"][1]
    assert (call_case["contact"]["name"], call_case["contact"]["phone"]) == ("Sam", PHONE)
    assert any(e["type"] == "note" and e["description"] == "called Sam back" for e in call_case["events"])
    for case in export["cases"]:
        for page in case["pages"]:
            assert set(page) == {"tier", "status", "sent_at", "acknowledged_at"}  # no staff numbers
    assert people["primary"].mobile not in r.text
    assert export["practitioner"] is None

    # The export is recorded on each case it disclosed.
    events = list(session.scalars(select(CaseEvent).where(CaseEvent.type == retention.SAR_EVENT)))
    assert len(events) == 2 and all(e.created_at == clock.now for e in events)


def test_a_practitioner_number_finds_their_staff_record_and_pages(client, session, clock):
    people = standard_rota(session, now=clock.now)
    case = client.post("/api/cases", json={"line": "sharps", "answers": HIV_NEEDLESTICK}).json()
    export = client.get("/api/subject-access", params={"phone": "07700 900201"}).json()
    assert export["cases"] == []
    assert export["practitioner"]["name"] == people["primary"].name
    assert [p["case_ref"] for p in export["practitioner"]["pages"]] == [case["ref"]]


def test_nothing_after_retention(client, session, clock, settings):
    standard_rota(session, now=clock.now)
    ref = client.post("/api/cases", json={"line": "sharps", "contact": {"phone": PHONE}}).json()["ref"]
    assert client.post(f"/api/cases/{ref}/status", json={"status": "closed"}).status_code == 200
    retention.apply(session, now=clock.now + timedelta(days=settings.retention_days_after_closure + 1),
                    days=settings.retention_days_after_closure)
    session.commit()
    export = client.get("/api/subject-access", params={"phone": PHONE}).json()
    assert export["cases"] == [] and export["transcripts"] == []


def test_needs_the_token_and_a_phone_number(client, anon):
    assert anon.get("/api/subject-access", params={"phone": PHONE}).status_code == 401
    r = client.get("/api/subject-access", params={"phone": "not a number"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["query", "phone"]
    assert client.get("/api/subject-access").status_code == 422
