import logging

import httpx
import pytest
import respx

from actions import config
from actions.api_client import CONVERSATION_HEADER, ApiRejected, ApiUnavailable, HelplineApi, get_api
from actions.sync import Outbox
from tests.actions.builders import make_tracker
from tests.actions.conftest import API_URL, CONNECT_ERROR, TIMEOUT, TOKEN, body, case_json, calls


async def test_create_case_sends_bearer_token_and_returns_typed_case(api):
    route = api.post("/api/cases").respond(201, json=case_json(urgency="emergency", go_to_ed=True,
                                                               advice=[{"code": "hiv_pep_urgent", "text": "Go now.",
                                                                        "source": "BHIVA"}]))
    case = await HelplineApi().create_case({"line": "sharps"})
    assert route.calls.last.request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert body(route.calls.last) == {"line": "sharps"}
    assert case.ref == "SH-000123"
    assert case.urgency == "emergency"
    assert case.decision.go_to_emergency_department is True
    assert [a.code for a in case.decision.advice] == ["hiv_pep_urgent"]


async def test_update_and_status_and_note_paths(api):
    api.patch("/api/cases/SH-000123").respond(200, json=case_json())
    api.get("/api/cases/MA-000045/status").respond(200, json={
        "ref": "MA-000045", "status": "open", "urgency": "routine", "line": "manager",
        "updated_at": "2026-11-23T10:00:00+00:00", "summary": "Waiting for triage"})
    api.post("/api/cases/SH-000123/events").respond(201, json={"id": 1})
    client = HelplineApi()
    await client.update_case("SH-000123", {"answers": {}})
    status = await client.get_status("MA-000045")
    await client.add_note("SH-000123", "Satisfaction rating: 5/5")
    assert calls(api) == [("PATCH", "/api/cases/SH-000123"), ("GET", "/api/cases/MA-000045/status"),
                          ("POST", "/api/cases/SH-000123/events")]
    assert status.summary == "Waiting for triage"
    assert body(api.calls[-1]) == {"note": "Satisfaction rating: 5/5", "actor": "helpline-bot"}


async def test_connect_error_is_retried_once_then_unavailable(api):
    route = api.post("/api/cases").mock(side_effect=CONNECT_ERROR)
    with pytest.raises(ApiUnavailable):
        await HelplineApi().create_case({"line": "sharps"})
    assert route.call_count == 2


async def test_connect_error_then_success_on_retry(api):
    route = api.post("/api/cases").mock(side_effect=[CONNECT_ERROR, httpx.Response(201, json=case_json())])
    case = await HelplineApi().create_case({"line": "sharps"})
    assert case.ref == "SH-000123" and route.call_count == 2


async def test_read_timeout_is_not_retried(api):
    # the request may have reached the API: a retry could create the case twice
    route = api.post("/api/cases").mock(side_effect=TIMEOUT)
    with pytest.raises(ApiUnavailable):
        await HelplineApi().create_case({"line": "sharps"})
    assert route.call_count == 1


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_5xx_is_unavailable(api, status):
    api.post("/api/cases").respond(status, json={"detail": "boom"})
    with pytest.raises(ApiUnavailable):
        await HelplineApi().create_case({"line": "sharps"})


@pytest.mark.parametrize("status,detail", [(404, "Case not found"),
                                           (422, [{"loc": ["body", "answers", "consent"], "msg": "must be true"}])])
async def test_4xx_is_rejected_with_detail(api, status, detail):
    api.get("/api/cases/MA-000999/status").respond(status, json={"detail": detail})
    with pytest.raises(ApiRejected) as info:
        await HelplineApi().get_status("MA-000999")
    assert info.value.status_code == status
    assert info.value.detail == detail
    assert info.value.not_found == (status == 404)


async def test_settings_are_read_when_the_client_is_made(monkeypatch, api):
    monkeypatch.setenv("HELPLINE_API_URL", "http://elsewhere.test/")
    with respx.mock(base_url="http://elsewhere.test") as other:
        other.get("/api/cases/SH-000001/status").respond(200, json={"ref": "SH-000001", "status": "open",
                                                                    "line": "sharps"})
        status = await HelplineApi().get_status("SH-000001")
    assert status.ref == "SH-000001"
    assert api.calls.call_count == 0


def test_default_url_when_unset(monkeypatch):
    monkeypatch.delenv("HELPLINE_API_URL")
    assert HelplineApi().settings.api_url == "http://127.0.0.1:8000"
    assert API_URL != "http://127.0.0.1:8000"



async def test_calls_share_one_tls_context(api, monkeypatch):
    # Building a TLS context per call was 40% of the action server's CPU per turn.
    from actions import api_client

    built = []
    real = httpx.create_ssl_context
    monkeypatch.setattr(httpx, "create_ssl_context", lambda *a, **kw: built.append(1) or real(*a, **kw))
    api_client._tls_context.cache_clear()
    api.patch("/api/cases/SH-000123").respond(200, json=case_json())
    for _ in range(3):
        await HelplineApi().update_case("SH-000123", {"answers": {}})
    api_client._tls_context.cache_clear()
    assert len(built) == 1


# -- least privilege (issue #15) ---------------------------------------------------------------------
async def test_the_bot_token_is_sent_when_set(api, monkeypatch):
    monkeypatch.setenv("HELPLINE_BOT_TOKEN", "the-bot-token")
    route = api.post("/api/cases").respond(201, json=case_json())
    await HelplineApi().create_case({"line": "sharps"})
    assert route.calls.last.request.headers["Authorization"] == "Bearer the-bot-token"


def test_without_a_bot_token_development_falls_back_with_a_warning(monkeypatch, caplog):
    monkeypatch.delenv("HELPLINE_BOT_TOKEN", raising=False)
    monkeypatch.setenv("HELPLINE_API_TOKEN", TOKEN)
    monkeypatch.setenv("ENVIRONMENT", "development")
    monkeypatch.setattr(config, "_warned", set())
    with caplog.at_level(logging.WARNING, logger="actions.config"):
        assert config.get_settings().api_token == TOKEN
        assert config.get_settings().api_token == TOKEN
    warnings = [r for r in caplog.records if "HELPLINE_BOT_TOKEN" in r.getMessage()]
    assert len(warnings) == 1 and TOKEN not in warnings[0].getMessage()  # once, and never the token


async def test_production_never_sends_the_operator_token(api, monkeypatch, caplog):
    monkeypatch.delenv("HELPLINE_BOT_TOKEN", raising=False)
    monkeypatch.setenv("HELPLINE_API_TOKEN", "the-operator-token")
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setattr(config, "_warned", set())
    route = api.post("/api/cases").respond(401, json={"detail": "missing or wrong API token"})
    with caplog.at_level(logging.ERROR, logger="actions.config"), pytest.raises(ApiRejected):
        await HelplineApi().create_case({"line": "sharps"})
    assert "Authorization" not in route.calls.last.request.headers
    assert any(r.levelno == logging.ERROR and "HELPLINE_BOT_TOKEN" in r.getMessage() for r in caplog.records)


async def test_the_conversation_is_named_in_a_header(api):
    route = api.get("/api/cases/MA-000045/status").respond(200, json={"ref": "MA-000045", "status": "open",
                                                                      "line": "manager"})
    await HelplineApi().for_conversation("conv-9").get_status("MA-000045")
    assert route.calls.last.request.headers[CONVERSATION_HEADER] == "conv-9"
    await get_api("conv-7").get_status("MA-000045")
    assert route.calls.last.request.headers[CONVERSATION_HEADER] == "conv-7"
    await HelplineApi().get_status("MA-000045")
    assert CONVERSATION_HEADER not in route.calls.last.request.headers


async def test_every_call_of_an_outbox_speaks_for_its_conversation(api):
    api.post("/api/cases").respond(201, json=case_json())
    api.post("/api/cases/SH-000123/events").respond(201, json={"id": 1})
    outbox = Outbox.from_tracker(get_api(), make_tracker(sender_id="conv-42", slots={}))
    await outbox.create_case({"line": "sharps", "conversation_id": "conv-42"})
    await outbox.add_note("SH-000123", "a note")
    assert len(api.calls) == 2
    assert {c.request.headers[CONVERSATION_HEADER] for c in api.calls} == {"conv-42"}
