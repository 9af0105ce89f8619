"""A poster's chat link carries its organisation (issue #18): `/chat?org=CODE` with a known code is
remembered in the signed chat cookie, the conversation's first stored turn keeps one
ConversationOrigin, an unknown code is ignored without an error, and a case opened from the
conversation with no organisation of its own takes the poster's (not confirmed)."""
from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest
import respx
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.channels import webchat
from api.main import create_app
from api.models import Case, CaseEvent, ConversationMessage, ConversationOrigin
from tests.api.factories import HIV_NEEDLESTICK, organisation, standard_rota

RASA = "http://rasa.test:5005"


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"rasa_url": RASA, "rasa_timeout_seconds": 0.5})


@pytest.fixture
def rasa() -> Iterator[list[dict]]:
    """Rasa's REST channel answering every turn with one message; the turns it was sent."""
    calls: list[dict] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request.read().decode())
        return httpx.Response(200, json=[{"text": "Let it bleed, and wash it."}])

    with respx.mock(assert_all_called=False, assert_all_mocked=False) as mock:
        mock.post(f"{RASA}/webhooks/rest/webhook").mock(side_effect=answer)
        yield calls


@pytest.fixture
def orgs(session, clock):
    found = {"a": organisation(session, "Y00001", name="Riverside Medical Practice", now=clock.now),
             "b": organisation(session, "FA001", name="High Street Pharmacy", type="community_pharmacy",
                               now=clock.now)}
    standard_rota(session, now=clock.now)
    session.commit()
    return found


def _origins(session) -> list[tuple[str, str, str]]:
    session.expire_all()
    return [(o.conversation_id, o.organisation.code, o.via)
            for o in session.scalars(select(ConversationOrigin).order_by(ConversationOrigin.id))]


def _conversation(session) -> str:
    session.expire_all()
    return session.scalars(select(ConversationMessage.conversation_id)).first()


def _say(anon: TestClient, text: str = "I've had a needlestick") -> None:
    assert anon.post("/chat/messages", json={"text": text}).status_code == 200


def test_the_poster_link_is_remembered_and_kept_once_at_the_first_turn(anon, rasa, session, orgs, clock):
    page = anon.get("/chat", params={"org": "y00001"})  # as typed: codes are matched upper-case
    assert page.status_code == 200
    cookie = anon.cookies.get(webchat.COOKIE)
    assert webchat.origin_code(anon.app.state.settings, cookie) == "Y00001"
    assert _origins(session) == []  # nothing is stored before the person says something
    _say(anon)
    cid = _conversation(session)
    assert _origins(session) == [(cid, "Y00001", "poster")]
    origin = session.scalars(select(ConversationOrigin)).one()
    assert origin.created_at == clock.now
    clock.advance(minutes=1)
    _say(anon, "yes")
    anon.get("/chat", params={"org": "FA001"})  # another poster mid-conversation changes nothing
    _say(anon, "it was a used needle")
    assert _origins(session) == [(cid, "Y00001", "poster")]


@pytest.mark.parametrize("code", ["NOPE1", "", "Y00001' OR 1=1", "X" * 500])
def test_an_unknown_code_is_ignored_without_an_error(anon, rasa, session, orgs, code):
    page = anon.get("/chat", params={"org": code})
    assert page.status_code == 200 and 'role="log"' in page.text
    assert webchat.origin_code(anon.app.state.settings, anon.cookies.get(webchat.COOKIE)) is None
    _say(anon)
    assert _origins(session) == []


def test_a_chat_without_a_poster_has_no_origin(anon, rasa, session, orgs):
    anon.get("/chat")
    _say(anon)
    assert _origins(session) == []


def test_a_conversation_begun_before_the_poster_link_gets_no_origin(anon, rasa, session, orgs):
    anon.get("/chat")
    _say(anon)
    anon.get("/chat", params={"org": "Y00001"})
    _say(anon, "yes")
    assert _origins(session) == []


def test_a_forged_cookie_carries_no_organisation(anon, rasa, session, orgs):
    forged = webchat.URLSafeTimedSerializer("not-the-secret", salt=webchat.SALT).dumps(
        {"cid": "web-" + "0" * 32, "org": "Y00001"})
    anon.cookies.set(webchat.COOKIE, forged, path="/chat")
    _say(anon)
    assert _origins(session) == []


def _open_case(client: TestClient, cid: str, **extra) -> dict:
    r = client.post("/api/cases", json={"line": "sharps", "channel": "web", "conversation_id": cid,
                                        "answers": HIV_NEEDLESTICK, **extra})
    assert r.status_code == 201, r.text
    return r.json()


def test_the_case_takes_the_posters_organisation_unconfirmed(anon, client, rasa, session, orgs):
    anon.get("/chat", params={"org": "Y00001"})
    _say(anon)
    body = _open_case(client, _conversation(session))
    assert body["organisation"]["code"] == "Y00001"
    session.expire_all()
    case = session.scalars(select(Case)).one()
    assert case.organisation_id == orgs["a"].id and case.confirmed_organisation_id is None
    event = session.scalars(select(CaseEvent).where(CaseEvent.type == "organisation_from_poster")).one()
    assert event.details == {"code": "Y00001"}


def test_an_organisation_given_or_named_wins_over_the_poster(anon, client, rasa, session, orgs):
    anon.get("/chat", params={"org": "Y00001"})
    _say(anon)
    cid = _conversation(session)
    assert _open_case(client, cid, organisation_code="FA001")["organisation"]["code"] == "FA001"
    named = _open_case(client, cid, answers={**HIV_NEEDLESTICK, "workplace": "High Street Pharmacy"})
    assert named["organisation"]["code"] == "FA001"


def test_a_case_from_a_conversation_without_origin_has_no_organisation(anon, client, rasa, session, orgs):
    anon.get("/chat")
    _say(anon)
    assert _open_case(client, _conversation(session))["organisation"] is None


def test_the_chat_page_opens_from_a_poster_while_the_database_is_down(settings, clock):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    down = settings.model_copy(update={"database_url": f"postgresql+psycopg://postgres@127.0.0.1:{port}/helpline"})
    with TestClient(create_app(down, clock=clock)) as client:
        page = client.get("/chat", params={"org": "Y00001"})
        assert page.status_code == 200 and 'role="log"' in page.text
        assert webchat.origin_code(down, client.cookies.get(webchat.COOKIE)) is None
