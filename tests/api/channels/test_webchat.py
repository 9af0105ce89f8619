"""The web chat: the page, the signed session cookie, turns relayed with channel web."""
from __future__ import annotations

import re

from fastapi.testclient import TestClient

from api.main import create_app
from api.models import ConversationMessage
from tests.api.channels.conftest import count, turns


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
    assert inbound[0].details == {"payload": "/choose_sharps_line", "rasa_seconds": inbound[0].details["rasa_seconds"]}


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
