"""The web chat driven in headless Chromium (Debian's package, through Playwright).

The real API runs under uvicorn on a free loopback port; a fake Rasa on another loopback
port plays the bot and its action server (it opens the case through POST /api/cases, as
the actions do). One practitioner is on the rota, so urgent and emergency cases page.
Skipped, with the reason, only when Chromium cannot be installed.
"""
from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
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
PHONE = {"width": 390, "height": 844}
EMERGENCY_WORDS = "needlestick off a used needle, lots of blood, the patient is HIV positive, 10 minutes ago"
URGENT_WORDS = "needlestick with a used needle, the patient has hepatitis B, 10 minutes ago"
# A long answer, as the real bot gives after a decisive message: the outcome is in the
# first bubbles and the last one asks for a rating.
LONG_REPLY = [
    FIRST_AID,
    "{outcome} Your case reference is {ref}.",
    "Take this conversation's reference with you and show it at reception.",
    "Tell them the time it happened and what the patient has.",
    "Keep the needle in the sharps bin; do not try to test it.",
    "If you are pregnant or breastfeeding, tell the doctor.",
    "Report the injury to your manager as well.",
    "We will add what you tell us to your case.",
    "When you have a moment: how would you rate this chat, 1 to 5?",
]


def _open_case(api: str, sender: str, source: dict) -> str:
    occurred = (datetime.now(timezone.utc) - timedelta(minutes=10)).isoformat()
    created = httpx.post(f"{api}/api/cases", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10, json={
        "line": "sharps", "channel": "web", "conversation_id": sender,
        "answers": {"exposure_type": "percutaneous", "fluid": "blood", "occurred_at": occurred,
                    "device": {"kind": "hollow_bore_needle", "used": True}, "source": source}})
    created.raise_for_status()
    return created.json()["ref"]


class _RasaHandler(http.server.BaseHTTPRequestHandler):
    server: FakeRasa

    def do_POST(self):
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
        elif message in (EMERGENCY_WORDS, URGENT_WORDS):
            emergency = message == EMERGENCY_WORDS
            ref = _open_case(self.server.api, sender, {"identified": True, "hiv" if emergency else "hbv": "positive"})
            said = ("Go to A&E now." if emergency
                    else "This needs to be looked at today: the on-call practitioner has been paged.")
            reply = [{"text": t.format(outcome=said, ref=ref)} for t in LONG_REPLY]
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

    from api.models import Base, Practitioner, RefCounter, RotaShift

    db = tmp_path / "browser.db"
    engine = create_engine(f"sqlite:///{db}")
    Base.metadata.create_all(engine)
    now = datetime.now(timezone.utc)
    with Session(engine) as s:
        s.add_all([RefCounter(prefix="SH", value=0), RefCounter(prefix="MA", value=0)])
        nurse = Practitioner(name="Alex Primary", role="nurse", mobile="+447700900201", active=True, created_at=now)
        s.add(nurse)
        s.flush()
        s.add(RotaShift(practitioner_id=nurse.id, tier="primary", starts_at=now - timedelta(hours=1),
                        ends_at=now + timedelta(hours=11)))
        s.commit()
    engine.dispose()

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ENVIRONMENT": "test", "DATABASE_URL": f"sqlite:///{db}",
           "HELPLINE_API_TOKEN": TOKEN, "SESSION_SECRET": "browser-session-secret-0123456789",
           "RASA_URL": f"http://127.0.0.1:{fake_rasa.server_port}", "RASA_TIMEOUT_SECONDS": "4",
           "PUBLIC_BASE_URL": base, "WORKER_ENABLED": "false", "TWILIO_ACCOUNT_SID": "",
           "ACK_SECONDS_EMERGENCY": "300", "ACK_SECONDS_URGENT": "900",
           "TWILIO_AUTH_TOKEN": "", "TWILIO_FROM_NUMBER": "", "LOG_LEVEL": "WARNING",
           # A browser clicks faster than a person: the door limits have their own tests (test_limits.py).
           "DOOR_LIMIT_CHAT_CONVERSATION": "1000/second", "DOOR_LIMIT_CHAT_CLIENT": "1000/second",
           "DOOR_LIMIT_CHAT_NEW": "1000/second", "DOOR_LIMIT_CHAT_HISTORY": "1000/second"}
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
    expect(log).to_contain_text("Your message is logged and the on-call practitioner has been paged")
    cases = httpx.get(f"{api}/api/cases", headers={"Authorization": f"Bearer {TOKEN}"}).json()["data"]
    assert [(c["channel"], c["summary"]) for c in cases] == [("web", "blood splashed in my eye")]


@pytest.fixture
def phone(api):
    """A 390x844 phone viewport."""
    sync_api = pytest.importorskip("playwright.sync_api")
    executable = _chromium()
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=PHONE, base_url=api)
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()


def _in_view(locator) -> dict:
    box = locator.bounding_box()
    assert box is not None, "not rendered"
    assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"], box
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    return box


def _deadline_text(api: str, ref: str) -> str:
    """The API's own call_by for the case, as the panel must say it (London time)."""
    case = httpx.get(f"{api}/api/cases/{ref}", headers={"Authorization": f"Bearer {TOKEN}"}).json()
    assert case["call_by"], "a page went out, so there is a deadline"
    from api.channels.outcome import DEADLINE, london_time

    # With the day when the deadline falls after midnight (London), as the panel says it.
    return DEADLINE.format(when=london_time(datetime.fromisoformat(case["call_by"]), now=datetime.now(timezone.utc)))


def _check_outcome_in_view(page, *, ref: str, urgency: str, next_step: str, deadline: str):
    from playwright.sync_api import expect

    panel = page.get_by_role("region", name=f"Your case reference: {ref}")
    expect(panel).to_be_visible()
    expect(panel).to_contain_text(urgency)
    expect(panel).to_contain_text(next_step)
    expect(panel).to_contain_text(deadline)
    box = _in_view(panel)
    message = _in_view(page.get_by_label("Your message"))
    assert box["y"] + box["height"] <= message["y"], "the panel must not cover the message box"
    _in_view(page.get_by_role("button", name="Send"))
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def _send(page, words: str) -> None:
    box = page.get_by_label("Your message")
    box.fill(words)
    box.press("Enter")


def test_an_emergency_reply_shows_its_first_message_and_a_panel_that_stays_in_view(phone, api, fake_rasa):
    from playwright.sync_api import expect

    page = phone
    page.goto("/chat")
    log = page.get_by_role("log", name="Conversation")
    _send(page, EMERGENCY_WORDS)
    expect(log).to_contain_text("how would you rate this chat")
    bot = log.locator(".msg.bot")
    expect(bot).to_have_count(1 + len(LONG_REPLY))

    # The reply is read from its first message, not from "rate 1 to 5" at the bottom.
    first = bot.nth(1)
    expect(first).to_contain_text("First aid now")
    _in_view(first)
    log_box = log.bounding_box()
    first_box = first.bounding_box()
    assert log_box["y"] <= first_box["y"] <= log_box["y"] + 24, (log_box, first_box)

    deadline = _deadline_text(api, "SH-000001")
    _check_outcome_in_view(page, ref="SH-000001", urgency="Emergency", next_step="Go to A&E now.",
                           deadline=deadline)

    # Reading on to the end of the reply keeps the panel where it is.
    log.evaluate("el => { el.scrollTop = el.scrollHeight; }")
    _check_outcome_in_view(page, ref="SH-000001", urgency="Emergency", next_step="Go to A&E now.",
                           deadline=deadline)

    # A reload brings back the transcript and the panel.
    page.reload()
    expect(log).to_contain_text(EMERGENCY_WORDS)
    expect(log).to_contain_text("Go to A&E now. Your case reference is SH-000001.")
    expect(log).to_contain_text("how would you rate this chat")
    expect(log.locator(".msg.user")).to_have_count(1)
    _check_outcome_in_view(page, ref="SH-000001", urgency="Emergency", next_step="Go to A&E now.",
                           deadline=deadline)
    assert [c["message"] for c in fake_rasa.calls] == [EMERGENCY_WORDS]  # a reload sends nothing


def test_an_urgent_reply_shows_the_page_and_the_deadline_and_survives_a_reload(phone, api, fake_rasa):
    from playwright.sync_api import expect

    page = phone
    page.goto("/chat")
    log = page.get_by_role("log", name="Conversation")
    page.get_by_role("button", name="I've had a needlestick, cut, bite or splash").click()
    expect(page.get_by_role("button", name="Yes")).to_be_visible()
    _send(page, URGENT_WORDS)
    expect(log).to_contain_text("how would you rate this chat")
    first = log.locator(".msg.bot").filter(has_text="First aid now").last
    _in_view(first)

    paged = "The on-call OH practitioner has been paged and will call you."
    deadline = _deadline_text(api, "SH-000001")
    _check_outcome_in_view(page, ref="SH-000001", urgency="Urgent", next_step=paged, deadline=deadline)
    expect(page.get_by_role("region", name="Your case reference: SH-000001")).not_to_contain_text("A&E now")

    page.reload()
    expect(log).to_contain_text(URGENT_WORDS)
    expect(log).to_contain_text("Was the needle used on a patient?")
    _check_outcome_in_view(page, ref="SH-000001", urgency="Urgent", next_step=paged, deadline=deadline)
    # Old quick replies stay spent after a reload.
    expect(page.get_by_role("button", name="Yes")).to_be_disabled()
    expect(page.get_by_role("button", name="I've had a needlestick, cut, bite or splash")).to_be_disabled()


def test_a_new_visitor_sees_no_history_and_no_panel(phone, api, fake_rasa):
    from playwright.sync_api import expect

    page = phone
    page.goto("/chat")
    _send(page, EMERGENCY_WORDS)
    expect(page.get_by_role("region", name="Your case reference: SH-000001")).to_be_visible()

    page.context.clear_cookies()
    page.reload()
    expect(page.get_by_role("log", name="Conversation")).not_to_contain_text(EMERGENCY_WORDS)
    expect(page.locator("#outcome")).to_be_hidden()
    expect(page.get_by_role("button", name="I've had a needlestick, cut, bite or splash")).to_be_enabled()
