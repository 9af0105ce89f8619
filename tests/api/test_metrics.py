"""Prometheus metrics: behind the API token, and each figure counted where its event happens."""
from __future__ import annotations

import re

import httpx
import pytest
import respx
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY

from tests.api.factories import HIV_NEEDLESTICK, standard_rota

RASA = "http://rasa.test:5005"


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"rasa_url": RASA, "rasa_timeout_seconds": 0.5,
                                       "rasa_timeout_seconds_voice": 0.5})


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


class Delta:
    """Reads metrics before and after: the counters are per process, shared by every test."""

    def __init__(self, *series: tuple[str, dict[str, str]]) -> None:
        self.series = series
        self.before = [value(n, **labels) for n, labels in series]

    def __call__(self) -> list[float]:
        return [value(n, **labels) - b for (n, labels), b in zip(self.series, self.before, strict=True)]


def scrape(client: TestClient) -> str:
    r = client.get("/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return r.text


def test_metrics_need_the_api_token(anon, client):
    r = anon.get("/metrics")
    assert r.status_code == 401 and r.json() == {"detail": "missing or wrong API token"}
    assert anon.get("/metrics", headers={"Authorization": "Bearer wrong-token-0123456789"}).status_code == 401
    text = scrape(client)
    assert "helpline_database_up 1.0" in text
    assert "/metrics" not in text  # the scrape itself is not instrumented


def test_http_metrics_use_route_templates_never_refs_or_numbers(client, session, clock):
    standard_rota(session, now=clock.now)
    ref = client.post("/api/cases", json={"line": "sharps", "contact": {"phone": "07700 900555"}}).json()["ref"]
    client.get(f"/api/cases/{ref}")
    client.get("/api/subject-access", params={"phone": "07700 900555"})
    text = scrape(client)
    assert 'handler="/api/cases/{ref}"' in text
    assert 'handler="/api/subject-access"' in text
    assert ref not in text
    assert not re.search(r"7700\s?900555", text)


def test_http_metrics_count_each_answer_by_template_method_and_status(client, app):
    registry = app.state.metrics_registry

    def answered(handler: str, status: str, method: str = "GET") -> float:
        return registry.get_sample_value("http_requests_total",
                                         {"method": method, "handler": handler, "status": status}) or 0.0

    client.get("/api/cases/SH-999999")
    client.get("/api/cases/SH-999998")
    client.post("/twilio/sms", data={"Body": "hi"})  # unsigned: refused, and still counted under its template
    client.get("/no/such/page/07700900555")
    assert answered("/api/cases/{ref}", "404") == 2
    assert answered("/twilio/sms", "403", method="POST") == 1
    assert registry.get_sample_value("http_request_duration_seconds_count",
                                     {"method": "GET", "handler": "/api/cases/{ref}"}) == 2
    text = scrape(client)
    assert "/no/such/page" not in text and "SH-99999" not in text  # an unrouted path is never a label


def test_cases_pages_acknowledgements_and_overdue_deadlines(client, app, session, clock):
    standard_rota(session, now=clock.now)
    delta = Delta(
        ("helpline_cases_opened_total", {"line": "sharps", "urgency": "emergency"}),
        ("helpline_pages_sent_total", {"tier": "primary", "urgency": "emergency"}),
        ("helpline_pages_sent_total", {"tier": "backup", "urgency": "emergency"}),
        ("helpline_deadlines_overdue_total", {"tier": "primary", "urgency": "emergency"}),
        ("helpline_deadline_lateness_seconds_count", {}),
        ("helpline_deadline_lateness_seconds_sum", {}),
        ("helpline_page_acknowledgements_total", {"tier": "backup", "late": "false"}),
        ("helpline_page_ack_seconds_count", {"urgency": "emergency"}),
        ("helpline_page_ack_seconds_sum", {"urgency": "emergency"}),
    )
    case = client.post("/api/cases", json={"line": "sharps", "answers": HIV_NEEDLESTICK}).json()
    text = scrape(client)
    assert 'helpline_outbox_backlog{status="queued"} 1.0' in text
    assert 'helpline_open_cases{line="sharps",urgency="emergency"} 1.0' in text

    clock.advance(seconds=302)  # two seconds past the 300 s deadline
    app.state.worker.tick()
    backup = next(p for p in client.get(f"/api/cases/{case['ref']}").json()["pages"] if p["tier"] == "backup")
    clock.advance(seconds=60)
    assert client.post(f"/api/pages/{backup['id']}/ack", json={"by": "Bea Backup"}).status_code == 200
    assert delta() == [1, 1, 1, 1, 1, pytest.approx(2.0), 1, 1, pytest.approx(60.0)]
    text = scrape(client)
    assert 'helpline_outbox_backlog{status="queued"} 0.0' in text  # the tick delivered the texts


def test_turns_by_channel_and_outcome_with_relay_latency(anon):
    delta = Delta(
        ("helpline_turns_total", {"channel": "web", "outcome": "relayed"}),
        ("helpline_turns_total", {"channel": "web", "outcome": "safe_answer"}),
        ("helpline_relay_seconds_count", {"outcome": "ok"}),
        ("helpline_relay_seconds_count", {"outcome": "unavailable"}),
    )
    with respx.mock(assert_all_called=False, assert_all_mocked=False) as mock:
        route = mock.post(f"{RASA}/webhooks/rest/webhook")
        route.mock(return_value=httpx.Response(200, json=[{"recipient_id": "x", "text": "Hello."}]))
        assert anon.post("/chat/messages", json={"text": "hello"}).json()["status"] == "relayed"
        route.mock(return_value=httpx.Response(500))
        assert anon.post("/chat/messages", json={"text": "needle in my thumb"}).json()["status"] == "safe_answer"
    assert delta() == [1, 1, 1, 1]


def test_worker_ticks_are_counted(app):
    import asyncio

    before = value("helpline_worker_ticks_total", result="ok")
    stop = asyncio.Event()

    async def one_tick():
        async def stop_soon():
            await asyncio.sleep(0.05)
            stop.set()
        await asyncio.gather(app.state.worker.run(stop), stop_soon())

    asyncio.run(one_tick())
    assert value("helpline_worker_ticks_total", result="ok") >= before + 1
