"""Follow-ups through the JSON API (issue #18; docs/contract.md "Follow-ups"): added, listed by
state, done and cancelled as audited case events, the worker's consent to reminder texts, and who
may do what (the operator's token; the bot only records consent on its own conversation's case)."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.models import Case, CaseEvent, FollowUp
from tests.api.web.builders import case_row

BOT_TOKEN = "bot-token-0123456789abcdef"
MOBILE = "+447700900123"
# The clock (tests/api/conftest.py): Monday 23 November 2026, 14:00 in London.
TODAY = date(2026, 11, 23)


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"helpline_bot_token": BOT_TOKEN})


@pytest.fixture
def bot(app) -> Iterator[TestClient]:
    with TestClient(app, headers={"Authorization": f"Bearer {BOT_TOKEN}", "X-Conversation-Id": "conv-1"}) as c:
        yield c


@pytest.fixture
def case(session, clock) -> Case:
    row = case_row(session, ref="SH-000123", urgency="urgent", channel="sms", created_at=clock.now, org=None,
                   status="open", conversation_id="conv-1")
    row.contact = {"phone": MOBILE}
    other = case_row(session, ref="SH-000124", urgency="urgent", channel="sms", created_at=clock.now, org=None,
                     status="open", conversation_id="conv-2")
    other.contact = {"phone": "+447700900124"}
    session.commit()
    return row


def _add(client: TestClient, ref: str = "SH-000123", due_on: str = "2026-12-01", what: str = "Second dose",
         remind: bool = True) -> dict:
    r = client.post(f"/api/cases/{ref}/follow-ups", json={"due_on": due_on, "what": what, "remind_by_sms": remind})
    assert r.status_code == 201, r.text
    return r.json()


def _events(session, type_: str) -> list[CaseEvent]:
    session.expire_all()
    return list(session.scalars(select(CaseEvent).where(CaseEvent.type == type_).order_by(CaseEvent.id)))


# -- adding ----------------------------------------------------------------------------------------------

def test_a_follow_up_is_added_and_audited_with_the_token_caller(client, session, case, clock):
    r = client.post("/api/cases/sh-000123/follow-ups",
                    json={"due_on": "2026-12-01", "what": "  Second dose, accelerated hepatitis B course ",
                          "remind_by_sms": True, "actor": "Somebody Else"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body == {
        "id": body["id"], "case_ref": "SH-000123", "due_on": "2026-12-01",
        "what": "Second dose, accelerated hepatitis B course", "remind_by_sms": True, "status": "open",
        "state": "due",
        "reminder": {"agreed": False, "sends_on": None, "sent_at": None,
                     "why_not": "the worker has not agreed to reminder texts"},
        "created_at": body["created_at"], "created_by": "operator", "closed_at": None, "closed_by": None,
        "note": None,
    }
    assert datetime.fromisoformat(body["created_at"]) == clock.now
    [event] = _events(session, "follow_up_added")
    assert event.actor == "operator" and event.case_id == case.id
    assert event.details == {"follow_up_id": body["id"], "due_on": "2026-12-01",
                             "what": "Second dose, accelerated hepatitis B course", "remind_by_sms": True}
    assert "Somebody Else" not in str(event.description) + str(event.details)


def test_an_unknown_case_is_404(client, case):
    r = client.post("/api/cases/SH-999999/follow-ups", json={"due_on": "2026-12-01", "what": "x"})
    assert r.status_code == 404 and "SH-999999" in r.json()["detail"]


@pytest.mark.parametrize(("body", "field"), [
    ({"due_on": "2026-02-30", "what": "x"}, "due_on"),  # not a real date
    ({"due_on": "01/12/2026", "what": "x"}, "due_on"),
    ({"due_on": "20261201", "what": "x"}, "due_on"),
    ({"due_on": "2025-11-21", "what": "x"}, "due_on"),  # more than a year back
    ({"due_on": "2028-11-24", "what": "x"}, "due_on"),  # more than two years ahead
    ({"due_on": "2026-12-01", "what": "   "}, "what"),
    ({"due_on": "2026-12-01", "what": "x" * 201}, "what"),
    ({"due_on": "2026-12-01", "what": "a\u0000b"}, "what"),
    ({"what": "x"}, "due_on"),
    ({"due_on": "2026-12-01"}, "what"),
])
def test_bad_input_is_422_naming_the_field(client, session, case, body, field):
    r = client.post("/api/cases/SH-000123/follow-ups", json=body)
    assert r.status_code == 422, r.text
    assert [e["loc"][-1] for e in r.json()["detail"]] == [field]
    assert session.scalars(select(FollowUp)).all() == []


def test_the_edges_of_the_allowed_dates_are_allowed(client, case):
    assert _add(client, due_on="2025-11-22")["state"] == "overdue"  # 366 days back
    assert _add(client, due_on="2028-11-23")["state"] == "due"  # two years ahead


# -- listing ---------------------------------------------------------------------------------------------

def test_the_list_is_oldest_due_first_and_filters_by_state_and_case(client, case):
    late = _add(client, due_on="2026-11-20", what="Chase the source's results")
    today = _add(client, due_on="2026-11-23", what="Bloods at six weeks")
    later = _add(client, due_on="2027-01-04", what="Third dose")
    other = _add(client, ref="SH-000124", due_on="2026-11-25", what="Call back")
    gone = _add(client, due_on="2026-11-10", what="Wrong one")
    done = _add(client, due_on="2026-11-01", what="First dose")
    assert client.post(f"/api/follow-ups/{gone['id']}/cancel", json={}).status_code == 200
    assert client.post(f"/api/follow-ups/{done['id']}/done", json={}).status_code == 200

    def ids(query: str) -> list[int]:
        r = client.get(f"/api/follow-ups{query}")
        assert r.status_code == 200, r.text
        return [f["id"] for f in r.json()]

    assert ids("") == [late["id"], today["id"], other["id"], later["id"]]
    assert ids("?status=due") == [today["id"], other["id"], later["id"]]
    assert ids("?status=overdue") == [late["id"]]
    assert ids("?status=done") == [done["id"]]
    assert ids("?status=cancelled") == [gone["id"]]
    assert ids("?case=SH-000124") == [other["id"]]
    assert ids("?status=due&case=sh-000123") == [today["id"], later["id"]]
    listed = client.get("/api/follow-ups").json()
    assert [(f["case_ref"], f["state"]) for f in listed] == [
        ("SH-000123", "overdue"), ("SH-000123", "due"), ("SH-000124", "due"), ("SH-000123", "due")]
    assert client.get("/api/follow-ups?status=open").status_code == 422
    assert client.get("/api/follow-ups?case=SH-999999").status_code == 404


def test_the_state_follows_the_london_date(client, case, clock):
    fu = _add(client, due_on="2026-11-23")
    clock.now = datetime.fromisoformat("2026-11-23T23:59:00+00:00")
    assert client.get("/api/follow-ups?status=due").json()[0]["id"] == fu["id"]
    clock.now = datetime.fromisoformat("2026-11-24T00:00:00+00:00")  # GMT: midnight in London too
    assert [f["id"] for f in client.get("/api/follow-ups?status=overdue").json()] == [fu["id"]]


# -- done and cancel -------------------------------------------------------------------------------------

def test_done_and_cancel_are_audited_with_the_note_and_only_once(client, session, case, clock):
    first, second = _add(client, what="Bloods at six weeks"), _add(client, what="Third dose")
    clock.advance(hours=1)
    r = client.post(f"/api/follow-ups/{first['id']}/done", json={"note": "results seen, all clear", "actor": "x"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["status"], body["state"], body["closed_by"], body["note"]) == (
        "done", "done", "operator", "results seen, all clear")
    assert datetime.fromisoformat(body["closed_at"]) == clock.now
    assert body["reminder"]["sends_on"] is None
    r = client.post(f"/api/follow-ups/{second['id']}/cancel", json={})
    assert r.status_code == 200 and r.json()["status"] == "cancelled" and r.json()["note"] is None
    [done] = _events(session, "follow_up_done")
    [cancelled] = _events(session, "follow_up_cancelled")
    assert done.details == {"follow_up_id": first["id"], "due_on": "2026-12-01", "note": "results seen, all clear"}
    assert done.actor == "operator" and "results seen, all clear" in done.description
    assert cancelled.details["follow_up_id"] == second["id"] and cancelled.details["note"] is None
    for path in (f"{first['id']}/done", f"{first['id']}/cancel", f"{second['id']}/done"):
        r = client.post(f"/api/follow-ups/{path}", json={})
        assert r.status_code == 409 and "already" in r.json()["detail"]
    assert len(_events(session, "follow_up_done")) == 1 and len(_events(session, "follow_up_cancelled")) == 1


@pytest.mark.parametrize("path", ["999/done", "999/cancel", "0/done", "99999999999/cancel"])
def test_an_unknown_follow_up_is_404(client, case, path):
    r = client.post(f"/api/follow-ups/{path}", json={})
    assert r.status_code == 404, r.text


# -- who may ---------------------------------------------------------------------------------------------

def test_the_bot_token_is_refused_on_the_operator_routes(client, bot, anon, case):
    fu = _add(client)
    for c, expected in ((bot, 403), (anon, 401)):
        assert c.post("/api/cases/SH-000123/follow-ups", json={"due_on": "2026-12-01", "what": "x"}).status_code \
            == expected
        assert c.get("/api/follow-ups").status_code == expected
        assert c.post(f"/api/follow-ups/{fu['id']}/done", json={}).status_code == expected
        assert c.post(f"/api/follow-ups/{fu['id']}/cancel", json={}).status_code == expected


# -- consent to reminder texts ---------------------------------------------------------------------------

def test_the_bot_records_consent_on_its_own_conversation_case(bot, client, session, case, clock):
    r = bot.post("/api/cases/SH-000123/reminder-consent", json={"agreed": True, "words": "yes please"})
    assert r.status_code == 200, r.text
    assert r.json() == {"ref": "SH-000123", "agreed": True, "phone": MOBILE}
    session.expire_all()
    stored = session.get(Case, case.id).contact
    assert stored == {"phone": MOBILE, "sms_reminders": {"agreed": True, "at": clock.now.isoformat(),
                                                         "channel": "sms"}}
    [event] = _events(session, "reminder_consent")
    assert event.actor == "bot" and event.details == {"agreed": True, "words": "yes please", "channel": "sms"}
    fu = _add(client, due_on="2026-11-28")  # a Saturday
    assert fu["reminder"] == {"agreed": True, "sends_on": "2026-11-27", "sent_at": None, "why_not": None}


def test_the_bot_cannot_touch_another_conversations_case(app, bot, session, case):
    r = bot.post("/api/cases/SH-000124/reminder-consent", json={"agreed": True})
    assert r.status_code == 404
    with TestClient(app, headers={"Authorization": f"Bearer {BOT_TOKEN}"}) as nameless:
        assert nameless.post("/api/cases/SH-000123/reminder-consent", json={"agreed": True}).status_code == 404
    assert _events(session, "reminder_consent") == []
    session.expire_all()
    assert "sms_reminders" not in session.get(Case, case.id).contact


def test_the_latest_answer_counts(client, session, case):
    fu = _add(client)
    assert client.post("/api/cases/SH-000123/reminder-consent", json={"agreed": True}).json()["agreed"] is True
    assert client.get("/api/follow-ups").json()[0]["reminder"]["sends_on"] == "2026-12-01"
    r = client.post("/api/cases/SH-000123/reminder-consent", json={"agreed": False, "words": "no, stop"})
    assert r.json() == {"ref": "SH-000123", "agreed": False, "phone": MOBILE}
    reminder = client.get("/api/follow-ups").json()[0]["reminder"]
    assert reminder == {"agreed": False, "sends_on": None, "sent_at": None,
                        "why_not": "the worker has not agreed to reminder texts"}
    assert [e.details["agreed"] for e in _events(session, "reminder_consent")] == [True, False]
    assert fu["id"]


def test_why_no_reminder_will_go(client, session, case):
    client.post("/api/cases/SH-000123/reminder-consent", json={"agreed": True})
    assert _add(client, remind=False)["reminder"]["why_not"] == "not asked for"
    session.expire_all()
    row = session.get(Case, case.id)
    row.contact = {**row.contact, "phone": "+441632960123"}  # a landline
    session.commit()
    assert _add(client)["reminder"]["why_not"] == "no mobile number"
    r = client.post("/api/cases/SH-000123/reminder-consent", json={"agreed": True})
    assert r.json()["phone"] is None
