"""Least privilege (issue #15): the operator's token does everything, the action server's (bot)
token only what the action server does, on its own conversation's cases, and the metrics token
only reads /metrics. Audit events name the caller the token proves, never a name in the body."""
from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.deps import CONVERSATION_HEADER
from api.models import CaseEvent
from tests.api.factories import HIV_NEEDLESTICK, standard_rota
from tests.api.tokens import BOT_TOKEN, METRICS_TOKEN, token_client, with_tokens

MINE, THEIRS = "conversation-mine", "conversation-theirs"


@pytest.fixture
def settings(settings):
    return with_tokens(settings)


@pytest.fixture
def bot(app) -> Iterator[TestClient]:
    """The action server, speaking for conversation MINE."""
    yield from token_client(app, BOT_TOKEN, MINE)


@pytest.fixture
def other_bot(app) -> Iterator[TestClient]:
    yield from token_client(app, BOT_TOKEN, THEIRS)


@pytest.fixture
def prometheus(app) -> Iterator[TestClient]:
    yield from token_client(app, METRICS_TOKEN)


def _open(c: TestClient, conversation: str | None = None, **fields) -> dict:
    body = {"line": "sharps", "kind": "exposure", "answers": {"exposure_type": "intact_skin"}, **fields}
    if conversation:
        body["conversation_id"] = conversation
    r = c.post("/api/cases", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def _api_routes(app) -> list[tuple[str, str]]:
    """Every (method, path) under /api/ in the schema, path parameters filled with plausible values."""
    out = []
    for template, operations in app.openapi()["paths"].items():
        if template.startswith("/api/"):
            path = re.sub(r"\{[^}]+\}", "1", template.replace("{ref}", "SH-000001"))
            out += [(method.upper(), path) for method in sorted(operations)]
    assert len(out) > 20
    return out


# -- the bot token -----------------------------------------------------------------------------------
def test_bot_token_is_refused_subject_access_and_practitioner_changes(bot, client, session, clock):
    people = standard_rota(session, now=clock.now)
    pid = people["primary"].id
    assert bot.get("/api/subject-access", params={"phone": "07700900201"}).status_code == 403
    r = bot.patch(f"/api/practitioners/{pid}", json={"mobile": "+447700900999"})
    assert r.status_code == 403
    assert bot.get("/api/practitioners").status_code == 403
    assert bot.post("/api/practitioners", json={"name": "Eve", "role": "nurse",
                                                "mobile": "+447700900998"}).status_code == 403
    assert bot.delete(f"/api/practitioners/{pid}").status_code == 403
    assert bot.post("/api/rota/shifts", json={}).status_code == 403
    assert bot.patch("/api/rota/shifts/1", json={}).status_code == 403
    # Nothing changed: the pages still go to the practitioner's own mobile.
    assert client.get(f"/api/practitioners/{pid}").json()["mobile"] == "+447700900201"


def test_bot_token_may_not_read_cases_list_events_or_acknowledge_pages(bot, client, session, clock):
    standard_rota(session, now=clock.now)
    case = _open(bot, MINE, answers=HIV_NEEDLESTICK)  # even one its own conversation opened
    page_id = case["pages"][0]["id"]
    for method, path in [("GET", f"/api/cases/{case['ref']}"), ("GET", "/api/cases"),
                         ("GET", f"/api/cases/{case['ref']}/events"), ("POST", f"/api/pages/{page_id}/ack"),
                         ("POST", f"/api/cases/{case['ref']}/status"), ("POST", "/api/triage/sharps"),
                         ("GET", "/api/organisations"), ("GET", "/metrics")]:
        assert bot.request(method, path, json={}).status_code == 403, path
    assert client.get(f"/api/cases/{case['ref']}").json()["pages"][0]["status"] == "pending"


def test_bot_token_is_refused_reading_a_case_it_did_not_open(bot, client):
    ref = _open(client, THEIRS)["ref"]
    assert bot.get(f"/api/cases/{ref}").status_code == 403


def test_bot_opens_cases_only_for_the_conversation_it_names(bot, app, client):
    case = _open(bot, MINE)
    assert case["conversation_id"] == MINE
    assert _open(bot)["conversation_id"] == MINE  # the header says whose it is
    r = bot.post("/api/cases", json={"line": "sharps", "answers": {}, "conversation_id": THEIRS})
    assert r.status_code == 403
    for anonymous in token_client(app, BOT_TOKEN):  # no conversation named at all
        assert anonymous.post("/api/cases", json={"line": "sharps", "answers": {}}).status_code == 403
    events = client.get(f"/api/cases/{case['ref']}/events").json()
    assert events[0]["type"] == "case_created" and events[0]["actor"] == "bot"


def test_bot_works_on_its_own_conversations_cases(bot, client, session, clock):
    standard_rota(session, now=clock.now)
    ref = _open(bot, MINE)["ref"]
    r = bot.patch(f"/api/cases/{ref}", json={"answers": HIV_NEEDLESTICK})
    assert r.status_code == 200 and r.json()["urgency"] == "emergency"
    assert bot.post(f"/api/cases/{ref}/events", json={"note": "rating", "rating": 5}).status_code == 201
    said = {"channel": "web", "items": [{"code": "first_aid", "text": "Wash it under running water."}]}
    assert bot.post(f"/api/cases/{ref}/said", json=said).status_code == 204
    assert bot.post(f"/api/cases/{ref}/person", json={"words": "talk to a person"}).status_code == 200
    status = bot.get(f"/api/cases/{ref}/status")
    assert status.status_code == 200 and status.json()["ref"] == ref
    actors = {e["actor"] for e in client.get(f"/api/cases/{ref}/events").json()}
    assert "bot" in actors and "helpline-bot" not in actors


def test_bot_cannot_touch_another_conversations_case(bot, other_bot, client):
    ref = _open(other_bot, THEIRS)["ref"]
    before = client.get(f"/api/cases/{ref}/events").json()
    said = {"items": [{"code": "x", "text": "y"}]}
    for method, path, body in [("PATCH", f"/api/cases/{ref}", {"summary": "mine now"}),
                               ("POST", f"/api/cases/{ref}/events", {"note": "hello"}),
                               ("POST", f"/api/cases/{ref}/said", said),
                               ("POST", f"/api/cases/{ref}/person", {"words": "page them"}),
                               ("GET", f"/api/cases/{ref}/status", None)]:
        assert bot.request(method, path, json=body).status_code == 404, path
    assert client.get(f"/api/cases/{ref}").json()["summary"] != "mine now"
    assert client.get(f"/api/cases/{ref}/events").json() == before


def test_status_of_another_conversations_reference_is_answered_as_an_unknown_one(bot, other_bot, client):
    theirs = _open(other_bot, THEIRS)["ref"]
    by_operator = _open(client)["ref"]  # no conversation at all
    unknown = "SH-000099"
    expected = bot.get(f"/api/cases/{unknown}/status")
    assert expected.status_code == 404
    for ref in (theirs, by_operator):
        r = bot.get(f"/api/cases/{ref}/status")
        assert r.status_code == expected.status_code
        assert r.json() == {"detail": expected.json()["detail"].replace(unknown, ref)}
    # the query parameter names the conversation as well as the header does
    assert other_bot.get(f"/api/cases/{theirs}/status").status_code == 200
    for plain in token_client(bot.app, BOT_TOKEN):
        assert plain.get(f"/api/cases/{theirs}/status").status_code == 404
        assert plain.get(f"/api/cases/{theirs}/status", params={"conversation_id": THEIRS}).status_code == 200


def test_a_conversation_named_by_the_operator_is_held_to_the_same_rule(client):
    theirs = _open(client, THEIRS)["ref"]
    assert client.get(f"/api/cases/{theirs}/status").status_code == 200
    r = client.get(f"/api/cases/{theirs}/status", headers={CONVERSATION_HEADER: MINE})
    assert r.status_code == 404


def test_bot_sees_who_is_on_call_but_not_their_mobiles(bot, client, session, clock):
    standard_rota(session, now=clock.now)
    seen = bot.get("/api/rota/now").json()
    assert [p["name"] for p in seen["primary"]] == ["Alex Primary"]
    assert all(p["mobile"] is None for tier in ("primary", "backup", "clinical_leads") for p in seen[tier])
    assert client.get("/api/rota/now").json()["primary"][0]["mobile"] == "+447700900201"


# -- the metrics token -------------------------------------------------------------------------------
def test_metrics_token_reads_metrics_and_nothing_else(prometheus, app):
    r = prometheus.get("/metrics")
    assert r.status_code == 200 and "helpline_" in r.text
    for method, path in _api_routes(app):
        assert prometheus.request(method, path, json={}).status_code == 403, (method, path)


# -- the operator token --------------------------------------------------------------------------------
def test_operator_token_does_everything(client, session, clock):
    people = standard_rota(session, now=clock.now)
    pid = people["other"].id
    assert client.get("/metrics").status_code == 200
    r = client.patch(f"/api/practitioners/{pid}", json={"mobile": "+447700900999"})
    assert r.status_code == 200 and r.json()["mobile"] == "+447700900999"
    case = _open(client, THEIRS, answers=HIV_NEEDLESTICK)
    assert client.get(f"/api/cases/{case['ref']}").status_code == 200
    assert client.get(f"/api/cases/{case['ref']}/status").status_code == 200
    assert client.post(f"/api/pages/{case['pages'][0]['id']}/ack").status_code == 200
    r = client.get("/api/subject-access", params={"phone": "07700900201"})
    assert r.status_code == 200


def test_every_api_route_answers_the_operator(client, app):
    """No route refuses the operator's token (it may still find nothing, or refuse the body)."""
    for method, path in _api_routes(app):
        assert client.request(method, path, json={}).status_code not in (401, 403), (method, path)


# -- who did it ------------------------------------------------------------------------------------------
def test_a_note_with_an_actor_in_the_body_names_the_authenticated_caller(client, bot, session):
    ref = _open(bot, MINE)["ref"]
    r = client.post(f"/api/cases/{ref}/events", json={"note": "called back", "actor": "Dr Someone"})
    assert r.status_code == 201 and r.json()["actor"] == "operator"
    r = bot.post(f"/api/cases/{ref}/events", json={"note": "from the bot", "actor": "Dr Someone"})
    assert r.status_code == 201 and r.json()["actor"] == "bot"
    stored = session.scalars(select(CaseEvent.actor)).all()
    assert "Dr Someone" not in stored


def test_other_body_actors_are_ignored_too(client, session, clock):
    standard_rota(session, now=clock.now)
    case = _open(client, answers=HIV_NEEDLESTICK)
    ref = case["ref"]
    said = {"actor": "Dr Someone", "items": [{"code": "x", "text": "y"}]}
    client.post(f"/api/cases/{ref}/said", json=said)
    client.post(f"/api/cases/{ref}/person", json={"actor": "Dr Someone", "words": "talk to a person"})
    ack = client.post(f"/api/pages/{case['pages'][0]['id']}/ack", json={"by": "Dr Someone"})
    assert ack.json()["acknowledged_by"] == "operator"
    client.post(f"/api/cases/{ref}/status", json={"status": "closed", "actor": "Dr Someone", "outcome": "advice_only"})
    events = client.get(f"/api/cases/{ref}/events").json()
    assert len(events) > 4 and not any("Dr Someone" in (e["actor"] + e["description"]) for e in events)


def test_subject_access_export_is_audited_as_the_operator(client, session):
    _open(client, contact={"phone": "07700900555"})
    assert client.get("/api/subject-access", params={"phone": "07700900555"}).status_code == 200
    session.expire_all()
    actors = {actor for type_, actor in session.execute(select(CaseEvent.type, CaseEvent.actor))
              if type_ != "case_created" and "subject" in type_}
    assert actors == {"operator"}


# -- tokens that are not configured -----------------------------------------------------------------------
def test_unknown_and_empty_tokens_are_401(anon, app, settings):
    assert anon.get("/api/cases/SH-000001/status").status_code == 401
    for wrong in (f"{BOT_TOKEN}x", "", " "):
        r = anon.get("/api/cases/SH-000001/status", headers={"Authorization": f"Bearer {wrong}"})
        assert r.status_code == 401
    # A bot token left empty lets nobody in as the bot.
    app.state.settings = settings.model_copy(update={"helpline_bot_token": "", "metrics_token": ""})
    assert anon.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 401


def test_docs_are_not_for_the_bot_or_metrics_tokens(bot, prometheus, client):
    for c in (bot, prometheus):
        assert c.get("/openapi.json").status_code in (401, 403)
        assert c.get("/docs").status_code in (401, 403)
    assert client.get("/openapi.json").status_code == 200


# -- the action server's own client, against this API ------------------------------------------------------
def test_the_action_servers_client_works_within_its_conversation_only(app, client):
    """actions/api_client.py (plain httpx, importable here) over ASGI: the wire contract end to end."""
    import asyncio

    import httpx

    from actions.api_client import ApiRejected, HelplineApi
    from actions.config import Settings as ActionSettings

    settings = ActionSettings(api_url="http://api.test", api_token=BOT_TOKEN, timeout_seconds=5,
                              connect_retries=0, oncall_phone="")

    def bot_for(conversation: str) -> HelplineApi:
        return HelplineApi(settings, transport=httpx.ASGITransport(app=app)).for_conversation(conversation)

    async def scenario() -> None:
        mine, theirs = bot_for(MINE), bot_for(THEIRS)
        case = await mine.create_case({"line": "manager", "kind": "advice", "conversation_id": MINE, "answers": {}})
        await mine.update_case(case.ref, {"summary": "advice given"})
        await mine.add_note(case.ref, "Satisfaction rating: 5/5", rating=5)
        await mine.record_said(case.ref, [{"code": "x", "text": "y"}], "web")
        assert (await mine.get_status(case.ref)).ref == case.ref
        for call in (theirs.get_status(case.ref), theirs.add_note(case.ref, "hi"),
                     theirs.update_case(case.ref, {"summary": "x"})):
            with pytest.raises(ApiRejected) as refused:
                await call
            assert refused.value.not_found
        with pytest.raises(ApiRejected) as unknown:
            await theirs.get_status("MA-000999")
        assert unknown.value.status_code == 404

    asyncio.run(scenario())
    events = client.get(f"/api/cases/{client.get('/api/cases').json()['data'][0]['ref']}/events").json()
    assert {e["actor"] for e in events if e["type"] in ("case_created", "rating", "advice_said")} == {"bot"}
