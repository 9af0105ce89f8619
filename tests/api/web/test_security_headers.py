"""Security headers on every response (api/core/security_headers.py), and /docs without a CDN."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from api.core.security_headers import HSTS, PAGE_CSP, hsts_wanted
from api.main import create_app
from api.web import deps as web_deps
from tests.api.channels.conftest import PUBLIC, TWILIO_TOKEN, Twilio
from tests.api.conftest import TOKEN
from tests.api.web.test_access import _all_routes, _concrete


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"twilio_auth_token": TWILIO_TOKEN, "rasa_url": "http://127.0.0.1:9",
                                       "rasa_timeout_seconds": 0.2, "rasa_timeout_seconds_voice": 0.2})


def hardened(response, *, https: bool = False) -> None:
    headers = response.headers
    where = f"{response.request.method} {response.request.url.path} -> {response.status_code}"
    assert headers.get("x-content-type-options") == "nosniff", where
    assert headers.get("content-security-policy"), where
    assert "script-src 'self'" in headers["content-security-policy"], where
    assert "unsafe-eval" not in headers["content-security-policy"], where
    assert re.search(r"script-src[^;]*unsafe-inline", headers["content-security-policy"]) is None, where
    assert headers.get("referrer-policy") in ("same-origin", "no-referrer"), where
    # HSTS only where the public address is HTTPS (or in production): not on http://testserver.
    assert headers.get("strict-transport-security") == (HSTS if https else None), where


def test_the_default_csp_is_the_pages_own():
    assert PAGE_CSP == web_deps.CSP


def test_every_page_has_the_headers(app, web, client, browser_for):
    # Every GET route, path parameters filled (the first case exists), as a stranger, as the API
    # token and as a signed-in clinical lead: pages, JSON, refusals and redirects alike.
    client.post("/api/cases", json={"line": "sharps", "kind": "exposure", "answers": {"injury_type": "needlestick"}})
    paths = sorted(_concrete(path) for path, methods in _all_routes(app).items() if "GET" in methods)
    assert {"/dashboard", "/chat", "/login", "/docs", "/api/cases", "/cases/SH-000001"} <= set(paths)
    signed_in = browser_for("lead")
    for path in paths:
        for who in (web, client, signed_in):
            hardened(who.get(path, follow_redirects=False))


def test_case_pages_errors_static_files_and_the_chat_have_them(client, browser_for, anon):
    ref = client.post("/api/cases", json={"line": "sharps", "kind": "exposure",
                                          "answers": {"injury_type": "needlestick"}}).json()["ref"]
    lead = browser_for("lead")
    for response in (lead.get(f"/cases/{ref}"), client.get(f"/api/cases/{ref}"), lead.get("/cases/SH-999999"),
                     anon.get("/no/such/page"), anon.get("/api/cases"), anon.get("/static/web/web.css"),
                     anon.get("/static/chat/chat.js"), anon.get("/static/docs/swagger-ui.css"),
                     anon.post("/chat/messages", json={"text": ""})):
        hardened(response)
    chat = anon.get("/chat")
    hardened(chat)
    assert chat.headers["referrer-policy"] == "no-referrer"  # the chat page's own choice is kept


@pytest.fixture
def https_app(settings, clock, session_factory):
    """The app behind its public HTTPS address (where Twilio signs its webhooks)."""
    application = create_app(settings.model_copy(update={"public_base_url": PUBLIC}), clock=clock)
    application.state.session_factory = session_factory
    with TestClient(application, base_url=PUBLIC) as c:
        yield c


def test_twilio_webhook_answers_have_them(https_app):
    twilio = Twilio(https_app)
    hardened(twilio.sms("hello"), https=True)                        # a signed text: TwiML
    hardened(twilio.sms("hello", signature="forged"), https=True)   # refused
    hardened(https_app.post("/twilio/sms", content=b"x" * (128 * 1024),
                            headers={"Content-Type": "application/x-www-form-urlencoded"}), https=True)  # too large
    hardened(https_app.get("/chat"), https=True)


def test_hsts_over_https_or_in_production_only():
    assert hsts_wanted("production", "http://127.0.0.1:8000")
    assert hsts_wanted("development", "https://helpline.example.nhs.uk")
    assert not hsts_wanted("development", "http://127.0.0.1:8000")


class _Scripts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []
        self.inline: list[str] = []
        self.links: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            self._in_script = True
            if attrs.get("src"):
                self.sources.append(attrs["src"])
        if tag == "link" and attrs.get("href"):
            self.links.append(attrs["href"])

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.inline.append(data)


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_docs_load_no_cdn_script_and_no_inline_script(client, path):
    page = client.get(path)
    assert page.status_code == 200
    hardened(page)
    parsed = _Scripts()
    parsed.feed(page.text)
    assert parsed.sources and not parsed.inline
    for url in parsed.sources + parsed.links:
        assert url.startswith("/") and not url.startswith("//"), url  # this server, never a CDN
        served = client.get(url)
        assert served.status_code == 200 and len(served.content) > 100, url
    assert "cdn" not in page.text.lower() and "https://" not in page.text
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "http" not in csp


def test_swagger_ui_assets_are_served_locally(client):
    bundle = client.get("/static/docs/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and "SwaggerUIBundle" in bundle.text[:2000]
    assert bundle.headers["x-content-type-options"] == "nosniff"
    assert "javascript" in bundle.headers["content-type"]


def test_the_token_still_reads_the_docs(client):
    assert client.headers["Authorization"] == f"Bearer {TOKEN}"
    assert client.get("/openapi.json").status_code == 200
