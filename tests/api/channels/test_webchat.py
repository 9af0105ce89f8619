"""The web chat: the page, the signed session cookie, turns relayed with channel web."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
import time_machine
from fastapi.testclient import TestClient

from api.channels import webchat
from api.main import create_app
from api.models import ConversationMessage
from api.services import cases
from tests.api.channels.conftest import count, turns
from tests.api.factories import HIV_NEEDLESTICK, standard_rota


def test_page_is_accessible_and_shows_the_emergency_route_and_privacy(anon):
    response = anon.get("/chat")
    assert response.status_code == 200
    html = response.text
    assert 'lang="en-GB"' in html and 'name="viewport"' in html
    assert 'role="log"' in html and 'aria-live="polite"' in html
    assert '<label for="message">' in html
    assert "999" in html and "emergency department" in html and "116 123" in html
    assert 'id="privacy"' in html and "Please do not give a patient" in html
    assert 'data-payload="/choose_sharps_line"' in html
    assert "https://" not in html  # nothing from a CDN
    assert "script-src 'self'" in response.headers["content-security-policy"]


def test_static_files_are_served(anon):
    assert "fetch(" in anon.get("/static/chat/chat.js").text
    assert anon.get("/static/chat/chat.css").status_code == 200
    assert anon.get("/static/chat/../templates/chat.html").status_code == 404


def test_cookie_is_signed_httponly_lax_and_not_secure_in_test(anon):
    cookie = anon.get("/chat").headers["set-cookie"]
    assert cookie.startswith("oh_chat=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/chat" in cookie
    assert "Secure" not in cookie


def test_cookie_is_secure_in_production(settings, clock, session_factory):
    prod = settings.model_copy(update={"environment": "production"})
    app = create_app(prod, clock=clock)
    app.state.session_factory = session_factory
    with TestClient(app) as client:
        assert "Secure" in client.get("/chat").headers["set-cookie"]


def test_a_turn_is_relayed_with_the_cookies_conversation(anon, rasa, session_factory):
    rasa.reply = lambda body: [{"text": "Let it bleed.", "buttons": [{"title": "Yes", "payload": "/affirm"}]}]
    anon.get("/chat")
    first = anon.post("/chat/messages", json={"text": "I've had a needlestick", "payload": "/choose_sharps_line"})
    assert first.status_code == 200
    yes = {"title": "Yes", "payload": "/affirm"}
    assert first.json() == {"messages": [{"text": "Let it bleed.", "buttons": [yes]}], "status": "relayed",
                            "case_ref": None}
    anon.post("/chat/messages", json={"text": "Yes", "payload": "/affirm"})
    a, b = rasa.calls
    assert a["message"] == "/choose_sharps_line" and b["message"] == "/affirm"
    assert a["metadata"] == {"channel": "web", "phone": None}
    assert a["sender"] == b["sender"] and re.fullmatch(r"web-[0-9a-f]{32}", a["sender"])
    inbound = turns(session_factory, direction="inbound")
    assert [t.text for t in inbound] == ["I've had a needlestick", "Yes"]  # what the person saw and chose
    assert inbound[0].details == {"payload": "/choose_sharps_line", "rasa_seconds": inbound[0].details["rasa_seconds"],
                                  "client": inbound[0].details["client"]}
    # the client's address only as a pseudonym (page grouping's source), never the address itself
    assert re.fullmatch(r"[0-9a-f]{32}", inbound[0].details["client"])


def test_no_api_token_is_needed_and_a_missing_cookie_starts_a_conversation(app, rasa):
    with TestClient(app) as client:  # no GET /chat first, no token
        response = client.post("/chat/messages", json={"text": "hello"})
        assert response.status_code == 200 and "oh_chat=" in response.headers["set-cookie"]


def test_a_forged_cookie_does_not_join_someone_elses_conversation(anon, rasa):
    anon.post("/chat/messages", json={"text": "hello"})
    mine = rasa.calls[0]["sender"]
    anon.cookies.set("oh_chat", '{"cid": "%s"}' % mine, path="/chat")
    anon.post("/chat/messages", json={"text": "hello"})
    assert rasa.calls[1]["sender"] != mine


def test_retry_with_the_same_client_id_is_one_turn(anon, rasa, session_factory):
    rasa.reply = lambda body: [{"text": f"answer {len(rasa.calls)}"}]
    body = {"text": "needle", "client_id": "0b7e6a1c-5d0e-4f7a-9a53-1f1c2f5f9e21"}
    first = anon.post("/chat/messages", json=body).json()
    again = anon.post("/chat/messages", json=body).json()
    assert first == again and len(rasa.calls) == 1
    assert count(session_factory, ConversationMessage, ConversationMessage.direction == "inbound") == 1


def test_only_json_is_accepted(anon, rasa, session_factory):
    # A cross-site form post cannot send JSON: it is refused and nothing is stored.
    response = anon.post("/chat/messages", data={"text": "hello"})
    assert response.status_code == 422
    assert anon.post("/chat/messages", json={"text": ""}).status_code == 422
    assert count(session_factory, ConversationMessage) == 0


# --- the outcome panel and the history -------------------------------------------------------

def _open_case(session_factory, settings, clock, cid, answers, **extra):
    with session_factory() as s:
        case = cases.create(s, data={"line": "sharps", "channel": "web", "conversation_id": cid,
                                     "answers": answers, **extra}, now=clock.now, settings=settings)
        s.commit()
        return case.ref


def _case_opening_rasa(session_factory, settings, clock, answers, **extra):
    """Rasa whose action opens the case during the turn (as action_sharps_open_case does)."""
    def reply(body):
        ref = _open_case(session_factory, settings, clock, body["sender"], answers, **extra)
        return [{"text": "Let it bleed."}, {"text": f"Go to A&E now. Your case reference is {ref}."},
                {"text": "How would you rate this chat, 1 to 5?"}]
    return reply


def test_the_reply_carries_the_outcome_of_the_conversations_case(anon, rasa, session_factory, settings, clock):
    with session_factory() as s:
        standard_rota(s, now=clock.now)
    rasa.reply = _case_opening_rasa(session_factory, settings, clock, HIV_NEEDLESTICK,
                                    contact={"name": "Sam Jones", "phone": "07700 900555"})
    data = anon.post("/chat/messages", json={"text": "needlestick, patient is HIV positive"}).json()
    assert data["case_ref"] == "SH-000001"
    assert data["outcome"] == {
        "ref": "SH-000001", "urgency": "emergency", "urgency_words": "Emergency",
        "next_steps": ["Go to A&E now.", "The on-call OH practitioner has also been paged and will call you."],
        "call_by": "2026-11-23T14:20:00+00:00",  # the first page (14:00) + 4 ladder steps of 5 minutes
        "deadline": "If nobody has called by 14:20, go to A&E or call NHS 111.",
        "closed": False,
    }
    assert "Sam" not in str(data["outcome"]) and "900555" not in str(data["outcome"])


def test_urgent_with_nobody_paged_never_promises_a_call(anon, rasa, session_factory, settings, clock):
    rasa.reply = _case_opening_rasa(session_factory, settings, clock, {
        **HIV_NEEDLESTICK, "source": {"identified": True, "hbv": "positive"}})  # nobody on the rota
    got = anon.post("/chat/messages", json={"text": "patient has hep b"}).json()["outcome"]
    assert got["urgency"] == "urgent" and got["deadline"] is None and got["call_by"] is None
    assert not any("call you" in step for step in got["next_steps"])


def test_the_deadline_comes_from_the_case_view(client, anon, rasa, session_factory, settings, clock):
    with session_factory() as s:
        standard_rota(s, now=clock.now)
    rasa.reply = _case_opening_rasa(session_factory, settings, clock, {
        **HIV_NEEDLESTICK, "source": {"identified": True, "hbv": "positive"}})
    got = anon.post("/chat/messages", json={"text": "patient has hep b"}).json()["outcome"]
    view = client.get(f"/api/cases/{got['ref']}").json()
    assert got["urgency"] == "urgent" and view["call_by"].startswith("2026-11-23T15:00:00")  # 4 x 15 minutes
    assert got["deadline"] == "If nobody has called by 15:00, go to A&E or call NHS 111."


def test_another_conversations_case_is_never_shown(anon, rasa, session_factory, settings, clock):
    _open_case(session_factory, settings, clock, "web-" + "0" * 32, HIV_NEEDLESTICK)
    data = anon.post("/chat/messages", json={"text": "hello"}).json()
    assert "outcome" not in data and data["case_ref"] is None
    mine = rasa.calls[0]["sender"]
    with session_factory() as s:
        # Even named (as a safe answer's turn names its case), a case of another conversation is not shown.
        assert webchat.conversation_case(s, mine, "SH-000001") is None
        assert webchat.conversation_case(s, "web-" + "0" * 32, "SH-000001").ref == "SH-000001"


def test_the_newest_case_of_the_conversation_is_shown(anon, rasa, session_factory, settings, clock):
    anon.post("/chat/messages", json={"text": "hello"})
    cid = rasa.calls[0]["sender"]
    _open_case(session_factory, settings, clock, cid, {"exposure_type": "percutaneous"})
    _open_case(session_factory, settings, clock, cid, HIV_NEEDLESTICK)
    assert anon.post("/chat/messages", json={"text": "and?"}).json()["outcome"]["ref"] == "SH-000002"


def test_history_is_the_cookies_conversation_in_order(anon, rasa, session_factory, settings, clock):
    rasa.reply = lambda body: [{"text": f"answer to {body['message']}",
                                "buttons": [{"title": "Yes", "payload": "/affirm"}]}]
    empty = anon.get("/chat/history")
    assert empty.json() == {"turns": [], "truncated": False, "case_ref": None}
    assert empty.headers["cache-control"] == "no-store"
    anon.get("/chat")
    anon.post("/chat/messages", json={"text": "I've had a needlestick", "payload": "/choose_sharps_line"})
    anon.post("/chat/messages", json={"text": "Yes", "payload": "/affirm"})
    _open_case(session_factory, settings, clock, rasa.calls[0]["sender"], HIV_NEEDLESTICK)
    history = anon.get("/chat/history")
    assert history.status_code == 200 and history.headers["cache-control"] == "no-store"
    yes = [{"title": "Yes", "payload": "/affirm"}]
    data = history.json()
    assert data["turns"] == [
        {"from": "user", "text": "I've had a needlestick"},
        {"from": "bot", "text": "answer to /choose_sharps_line", "buttons": yes},
        {"from": "user", "text": "Yes"},
        {"from": "bot", "text": "answer to /affirm", "buttons": yes},
    ]
    assert data["case_ref"] == "SH-000001" and data["outcome"]["urgency"] == "emergency"
    assert data["truncated"] is False


def test_history_is_empty_for_a_missing_forged_or_other_cookie(app, anon, rasa, session_factory):
    anon.post("/chat/messages", json={"text": "needle in my thumb"})
    mine = rasa.calls[0]["sender"]
    assert len(anon.get("/chat/history").json()["turns"]) == 2
    with TestClient(app) as stranger:
        assert stranger.get("/chat/history").json()["turns"] == []
        stranger.cookies.set("oh_chat", '{"cid": "%s"}' % mine, path="/chat")  # unsigned
        assert stranger.get("/chat/history").json() == {"turns": [], "truncated": False, "case_ref": None}
        stranger.get("/chat")  # a conversation of its own
        assert stranger.get("/chat/history").json()["turns"] == []
    # No way to name a conversation: query strings are ignored.
    with TestClient(app) as stranger:
        assert stranger.get(f"/chat/history?cid={mine}&conversation_id={mine}").json()["turns"] == []


def test_an_expired_cookie_has_no_history(anon, rasa, settings, monkeypatch):
    anon.post("/chat/messages", json={"text": "hello"})
    assert anon.get("/chat/history").json()["turns"]
    monkeypatch.setattr(webchat, "COOKIE_MAX_AGE", -1)
    assert anon.get("/chat/history").json()["turns"] == []


def test_history_is_bounded(anon, rasa, monkeypatch):
    monkeypatch.setattr(webchat, "HISTORY_TURNS", 3)
    monkeypatch.setattr(webchat, "HISTORY_TEXT_CHARS", 10)
    rasa.reply = lambda body: [{"text": "a long answer " * 50}]
    # At a person's pace: three messages in a few seconds are over the limit (tests/api/channels/test_limits.py).
    with time_machine.travel(datetime(2026, 11, 23, 14, 0, tzinfo=timezone.utc), tick=False) as wall:
        for text in ("one", "two", "three"):
            anon.post("/chat/messages", json={"text": text})
            wall.shift(6)
        data = anon.get("/chat/history").json()
    assert data["truncated"] is True
    assert data["turns"] == [{"from": "bot", "text": "a long ans", "buttons": []},
                             {"from": "user", "text": "three"},
                             {"from": "bot", "text": "a long ans", "buttons": []}]


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_history_is_read_only(anon, method):
    assert getattr(anon, method)("/chat/history").status_code == 405
