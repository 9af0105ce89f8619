"""The web chat driven in headless Chromium (Debian's package, through Playwright).

The real API runs under uvicorn on a free loopback port; a fake Rasa on another loopback
port plays the bot and its action server (it opens the case through POST /api/cases, as
the actions do). Skipped, with the reason, only when Chromium cannot be installed.
"""
from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.processes import api_process, free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
TOKEN = "browser-test-token-0123456789abcdef"


def _chromium() -> str:
    """Debian's chromium; installed with apt-get when missing and we are allowed to."""
    if not os.path.exists(CHROMIUM) and shutil.which("apt-get") and os.geteuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
            try:
                subprocess.run(cmd, env=env, check=False, capture_output=True, timeout=900)
            except (OSError, subprocess.TimeoutExpired):
                break
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"Chromium is not installed at {CHROMIUM} and could not be installed with apt-get")
    return CHROMIUM


class FakeRasa(http.server.ThreadingHTTPServer):
    def __init__(self):
        super().__init__(("127.0.0.1", 0), _RasaHandler)
        self.daemon_threads = True
        self.calls: list[dict] = []
        self.api = ""
        self.down = False


FIRST_AID = ("First aid now: let the wound bleed, wash it with soap and running water, "
             "do not scrub or suck it, and cover it.")


class _RasaHandler(http.server.BaseHTTPRequestHandler):
    server: FakeRasa

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.calls.append(body)
        if self.server.down:
            self.send_response(503)
            self.end_headers()
            return
        message, sender = body["message"], body["sender"]
        if message == "/choose_sharps_line":
            reply = [{"text": FIRST_AID}, {"text": "Was the needle used on a patient?", "buttons": [
                {"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"},
                {"title": "Don't know", "payload": "/dont_know"}]}]
        elif message == "/affirm":
            created = httpx.post(f"{self.server.api}/api/cases", headers={"Authorization": f"Bearer {TOKEN}"},
                                 json={"line": "sharps", "channel": "web", "conversation_id": sender,
                                       "answers": {"exposure_type": "percutaneous", "device": {"used": True}}},
                                 timeout=10)
            ref = created.json()["ref"]
            reply = [{"text": f"Thank you. Your case reference is {ref}. The on-call practitioner has been told."}]
        else:
            reply = [{"text": f"You said: {message}. Was the needle used on a patient?", "buttons": [
                {"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]}]
        data = json.dumps([{"recipient_id": sender, **m} for m in reply]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_rasa() -> Iterator[FakeRasa]:
    server = FakeRasa()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def api(tmp_path, fake_rasa) -> Iterator[str]:
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from api.models import Base, RefCounter

    db = tmp_path / "browser.db"
    engine = create_engine(f"sqlite:///{db}")
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        s.add_all([RefCounter(prefix="SH", value=0), RefCounter(prefix="MA", value=0)])
        s.commit()
    engine.dispose()

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ENVIRONMENT": "test", "DATABASE_URL": f"sqlite:///{db}",
           "HELPLINE_API_TOKEN": TOKEN, "SESSION_SECRET": "browser-session-secret-0123456789",
           "RASA_URL": f"http://127.0.0.1:{fake_rasa.server_port}", "RASA_TIMEOUT_SECONDS": "4",
           "PUBLIC_BASE_URL": base, "WORKER_ENABLED": "false", "TWILIO_ACCOUNT_SID": "",
           "TWILIO_AUTH_TOKEN": "", "TWILIO_FROM_NUMBER": "", "LOG_LEVEL": "WARNING"}
    process = api_process(port, env=env, log=tmp_path / "uvicorn.log", cwd=tmp_path)
    fake_rasa.api = base
    try:
        process.start()
        yield base
    finally:
        process.stop()


@pytest.fixture
def page(api):
    sync_api = pytest.importorskip("playwright.sync_api")
    executable = _chromium()
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 360, "height": 740}, base_url=api)  # a phone's width
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()


def test_a_sharps_conversation_with_buttons_reaches_first_aid_and_a_case(page, api, fake_rasa):
    from playwright.sync_api import expect

    page.goto("/chat")
    log = page.get_by_role("log", name="Conversation")
    expect(log).to_have_attribute("aria-live", "polite")
    expect(page.get_by_role("heading", name="In an emergency")).to_be_visible()
    expect(page.get_by_text("call 999", exact=False).first).to_be_visible()
    expect(page.get_by_role("heading", name="Privacy")).to_be_visible()
    expect(page.get_by_text("Please do not give a patient's name", exact=False)).to_be_visible()
    box = page.get_by_label("Your message")
    expect(box).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scrolling

    # A quick reply, by keyboard only.
    sharps = page.get_by_role("button", name="I've had a needlestick, cut, bite or splash")
    sharps.focus()
    page.keyboard.press("Enter")
    expect(log).to_contain_text("First aid now: let the wound bleed")
    expect(page.get_by_role("button", name="Yes")).to_be_visible()
    expect(sharps).to_be_disabled()  # old choices cannot be sent twice
    expect(box).to_be_focused()

    # Typed text, sent with Enter.
    box.fill("it was a used needle")
    box.press("Enter")
    expect(log).to_contain_text("You said: it was a used needle.")

    # The newest "Yes" (a button from the bot) opens the case through the API.
    page.get_by_role("button", name="Yes").last.click()
    expect(log).to_contain_text("Your case reference is SH-000001")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    messages = [c["message"] for c in fake_rasa.calls]
    assert messages == ["/choose_sharps_line", "it was a used needle", "/affirm"]
    assert {c["sender"] for c in fake_rasa.calls} == {fake_rasa.calls[0]["sender"]}
    assert fake_rasa.calls[0]["metadata"] == {"channel": "web", "phone": None}
    cookie = next(c for c in page.context.cookies() if c["name"] == "oh_chat")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert fake_rasa.calls[0]["sender"] not in cookie["value"]  # signed and encoded; HttpOnly keeps it from scripts

    case = httpx.get(f"{api}/api/cases/SH-000001", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    assert case["channel"] == "web" and case["conversation_id"] == fake_rasa.calls[0]["sender"]


def test_when_the_bot_is_down_the_page_shows_the_safe_answer(page, api, fake_rasa):
    from playwright.sync_api import expect

    fake_rasa.down = True
    page.goto("/chat")
    box = page.get_by_label("Your message")
    box.fill("blood splashed in my eye")
    page.get_by_role("button", name="Send").click()
    log = page.get_by_role("log", name="Conversation")
    expect(log).to_contain_text("If a life is at risk, call 999")
    expect(log).to_contain_text("Your message is logged and the on-call practitioner has been told")
    cases = httpx.get(f"{api}/api/cases", headers={"Authorization": f"Bearer {TOKEN}"}).json()["data"]
    assert [(c["channel"], c["summary"]) for c in cases] == [("web", "blood splashed in my eye")]
