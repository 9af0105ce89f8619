"""Rasa down, slow, failing or silent: the safe answer, a case, and nothing lost."""
from __future__ import annotations

import http.server
import threading
import time
from datetime import datetime, timezone

import httpx
import pytest
import time_machine
from sqlalchemy import select

from api.models import Case, CaseEvent
from api.services.identities import sms_conversation_id
from api.services.safe_answer import SAFE_ANSWER, SAFE_ANSWER_NOT_PAGED
from tests.api.channels.conftest import CALLER, all_cases, messages, turns
from tests.api.factories import standard_rota

FAILURES = {
    "down": lambda body: (_ for _ in ()).throw(httpx.ConnectError("connection refused")),
    "slow": lambda body: (_ for _ in ()).throw(httpx.ReadTimeout("timed out")),
    "error": lambda body: httpx.Response(500, text="Internal Server Error"),
    "silent": lambda body: [],
    "garbage": lambda body: httpx.Response(200, text="<html>proxy error</html>"),
}


@pytest.mark.parametrize("failure", sorted(FAILURES))
def test_sms_gets_the_safe_answer_and_a_case(twilio, rasa, session_factory, settings, clock, failure):
    with session_factory() as s:
        standard_rota(s, now=clock.now)
    rasa.reply = FAILURES[failure]
    (body,) = messages(twilio.sms("i stabbed myself with a used needle"))
    assert body == SAFE_ANSWER
    for words in ("bleed", "wash", "emergency department", "999", "logged", "on-call practitioner has been paged"):
        assert words in body
    (case,) = all_cases(session_factory)
    assert (case.line, case.kind, case.channel) == ("sharps", "exposure", "sms")
    assert case.conversation_id == sms_conversation_id(settings.session_secret, CALLER)
    assert case.contact == {"phone": CALLER}
    assert case.summary == "i stabbed myself with a used needle"
    assert case.urgency in ("urgent", "emergency")
    with session_factory() as s:  # the on-call practitioner was paged
        assert [p.tier for p in s.get(Case, case.id).pages] == ["primary"]
    inbound, outbound = turns(session_factory)
    assert inbound.status == "safe_answer" and inbound.details["case_ref"] == case.ref
    assert outbound.text == SAFE_ANSWER and outbound.details["case_ref"] == case.ref


def test_crisis_words_make_it_an_emergency(twilio, rasa, session_factory, clock):
    with session_factory() as s:
        standard_rota(s, now=clock.now)
    rasa.reply = FAILURES["down"]
    twilio.sms("i want to kill myself")
    (case,) = all_cases(session_factory)
    assert case.urgency == "emergency"
    assert "crisis" in case.decision["rules_fired"]


def test_later_words_are_added_to_the_open_case(twilio, rasa, session_factory):
    rasa.reply = FAILURES["down"]
    twilio.sms("needle went in my thumb")
    twilio.sms("the patient has hiv")
    (case,) = all_cases(session_factory)
    assert case.summary == "needle went in my thumb\nthe patient has hiv"
    with session_factory() as s:
        types = [e.type for e in s.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id))]
    assert types.count("case_created") == 1 and "answers_added" in types


def test_a_case_the_bot_opened_gets_the_words(twilio, rasa, session_factory, settings, clock):
    from api.services import cases

    cid = sms_conversation_id(settings.session_secret, CALLER)
    with session_factory() as s:
        cases.create(s, data={"line": "sharps", "channel": "sms", "conversation_id": cid,
                              "answers": {"exposure_type": "percutaneous"}}, now=clock.now, settings=settings)
        s.commit()
    rasa.reply = FAILURES["slow"]
    twilio.sms("it was a blood test needle")
    (case,) = all_cases(session_factory)
    assert case.summary == "it was a blood test needle"
    assert case.answers["exposure_type"] == "percutaneous"


def test_bot_back_after_an_outage(twilio, rasa, session_factory):
    rasa.reply = FAILURES["down"]
    twilio.sms("needlestick")
    rasa.reply = lambda body: [{"text": "Sorry about that. Let it bleed and wash it."}]
    assert messages(twilio.sms("hello?")) == ["Sorry about that. Let it bleed and wash it."]
    assert [t.status for t in turns(session_factory, direction="inbound")] == ["safe_answer", "relayed"]


def test_the_message_after_a_safe_answer_is_marked_missed_reply(twilio, rasa, session_factory):
    # Rasa may have taken "the patient has hiv" and asked its next question; the person saw
    # only the safe answer, so their next "no" must reach the bot marked as not answering it.
    rasa.reply = FAILURES["slow"]
    # At a person's pace: three texts in a few seconds are over the limit (test_limits.py).
    with time_machine.travel(datetime(2026, 11, 23, 14, 0, tzinfo=timezone.utc), tick=False) as wall:
        twilio.sms("the patient has hiv")
        rasa.reply = lambda body: [{"text": "Is the source patient known to have a blood-borne virus?"}]
        wall.shift(6)
        twilio.sms("no")
        wall.shift(6)
        twilio.sms("no")
    first, second = rasa.calls[-2:]
    assert first["metadata"]["missed_reply"] is True and first["message"] == "no"
    assert "missed_reply" not in second["metadata"]  # the bot's reply to the first "no" was seen
    assert [t.details.get("missed_reply") for t in turns(session_factory, direction="inbound")] == [None, True, None]


def test_a_handled_keyword_does_not_clear_the_mark(twilio, rasa, session_factory):
    rasa.reply = FAILURES["down"]
    twilio.sms("needle in my finger")
    twilio.sms("HELP")  # answered by the API itself, not the bot
    rasa.reply = lambda body: [{"text": "What happened?"}]
    twilio.sms("yes")
    assert rasa.calls[-1]["metadata"].get("missed_reply") is True


def test_an_ordinary_conversation_is_never_marked(twilio, rasa):
    twilio.sms("hello")
    twilio.sms("needlestick")
    assert all("missed_reply" not in call["metadata"] for call in rasa.calls)


def test_web_chat_gets_the_safe_answer_too(anon, rasa, session_factory):
    rasa.reply = FAILURES["error"]
    anon.get("/chat")
    data = anon.post("/chat/messages", json={"text": "blood splashed in my eye"}).json()
    # nobody on the rota: the answer never says anyone was told
    assert data["status"] == "safe_answer" and data["messages"][0]["text"] == SAFE_ANSWER_NOT_PAGED
    (case,) = all_cases(session_factory)
    assert case.channel == "web" and case.contact == {} and data["case_ref"] == case.ref


class _SlowRasa(http.server.BaseHTTPRequestHandler):
    delay = 3.0

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        time.sleep(self.delay)
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'[{"text": "too late"}]')
        except OSError:
            pass

    def log_message(self, *args):
        pass


def test_a_real_slow_rasa_is_cut_off_at_the_timeout(app, twilio, session_factory):
    """A real socket that answers after 3 s, with a 0.5 s timeout: answered in well under 3 s."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SlowRasa)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        app.state.settings = app.state.settings.model_copy(
            update={"rasa_url": f"http://127.0.0.1:{server.server_port}"})
        started = time.monotonic()
        (body,) = messages(twilio.sms("needle in my finger"))
        elapsed = time.monotonic() - started
    finally:
        server.shutdown()
        server.server_close()
    assert body == SAFE_ANSWER_NOT_PAGED  # no rota in this test: nobody could be paged
    assert elapsed < 1.5, elapsed
    assert len(all_cases(session_factory)) == 1
    with session_factory() as s:
        assert s.scalar(select(Case)).summary == "needle in my finger"


def test_a_numbered_choice_is_spelt_out_in_the_case(twilio, rasa, session_factory):
    rasa.reply = lambda body: [{"text": "What happened?", "buttons": [
        {"title": "Needlestick or splash", "payload": "/choose_sharps_line"}]}]
    twilio.sms("hi")
    rasa.reply = FAILURES["down"]
    twilio.sms("1")
    (case,) = all_cases(session_factory)
    assert case.summary == "1 (Needlestick or splash)"


@pytest.mark.parametrize("said", ["hi", "Hello there!", "ok thanks", "test"])
def test_a_greeting_while_the_bot_is_down_is_answered_but_pages_nobody(twilio, rasa, session_factory, settings,
                                                                        clock, said):
    """Issue #15: with Rasa slow, "hi" opened an urgent case that paged. It still gets the safe
    answer (first aid, the emergency department, 999); the first words about an injury open the case."""
    with session_factory() as s:
        standard_rota(s, now=clock.now)
    rasa.reply = FAILURES["down"]
    (reply,) = messages(twilio.sms(said))
    assert reply == SAFE_ANSWER_NOT_PAGED and "emergency department" in reply and "999" in reply
    assert all_cases(session_factory) == []
    (reply,) = messages(twilio.sms("a needle went in my finger"))
    (case,) = all_cases(session_factory)
    assert case.summary == "a needle went in my finger"


def test_content_free_is_only_greetings_and_courtesy():
    from api.services.safe_answer import content_free

    assert content_free("Hi!") and content_free("good morning") and content_free("thank you")
    for said in ("hi, needlestick", "help", "hi 999", "i want to die", "hi hi hi hi hi", "2", ""):
        assert not content_free(said), said
