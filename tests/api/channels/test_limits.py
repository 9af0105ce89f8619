"""The public doors' limits (api/services/door_limits.py) and what a person may force (intents.py).

These tests set tight limits (two messages in five seconds) to test the mechanism: a burst from
one client is stored and answered in full, every answer with the safety advice and the crisis
numbers, but at most two of its messages reach the bot or open a case. The shipped defaults are
far above a person's pace (tests/api/channels/test_burst_defaults.py). The
limiter counts in wall-clock time: a burst test holds that time still (time_machine, tick=False)
so the burst is one instant however slow the machine, and a window passes by moving it on.
"""
from __future__ import annotations

import ipaddress
from datetime import datetime, timezone
from pathlib import Path

import pytest
import time_machine
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.channels import intents, sms, webchat
from api.channels.segments import non_gsm, segments
from api.core.config import Settings
from api.models import Case, ConversationMessage, Page
from api.services import door_limits
from api.services.door_limits import THROTTLED_SPOKEN, THROTTLED_TEXT, Check, DoorLimits
from api.services.messages import Button, Inbound
from tests.api.channels.conftest import CALLER, all_cases, count, messages, turns, twiml
from tests.api.channels.test_safe_answer import FAILURES
from tests.api.factories import standard_rota

ROOT = Path(__file__).resolve().parents[3]
WALL = datetime(2026, 11, 23, 14, 0, tzinfo=timezone.utc)
CRISIS_WORDS = "i want to kill myself"


def bot_says(name: str) -> str:
    """A response's default text, as the bot would send it (domain.yml)."""
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    return next(v["text"] for v in domain["responses"][name] if "condition" not in v)


CRISIS_REPLY = [{"text": bot_says("utter_crisis")}]


TIGHT = {"door_limit_chat_conversation": "2/5seconds,30/10minutes", "door_limit_chat_new": "2/10seconds,30/hour",
         "door_limit_sms_number": "2/5seconds,30/10minutes"}


@pytest.fixture
def settings(settings):
    return settings.model_copy(update=TIGHT)


@pytest.fixture
def still():
    """Wall-clock time held still, for the limiter (the app's own clock is the FakeClock)."""
    with time_machine.travel(WALL, tick=False) as traveller:
        yield traveller


def safety(text: str) -> bool:
    """The facts every answer to a crisis message must carry."""
    return all(words in text for words in ("999", "116 123", "NHS 111")) and (
        "emergency department" in text or "A&E" in text)


def inbound_turns(session_factory) -> list[ConversationMessage]:
    return turns(session_factory, direction="inbound")


def answered(session_factory) -> dict[int, list[str]]:
    """Each inbound turn's id -> the texts of its answer."""
    found: dict[int, list[str]] = {t.id: [] for t in inbound_turns(session_factory)}
    for row in turns(session_factory, direction="outbound"):
        found[row.reply_to_id].append(row.text)
    return found


# --- the acceptance bursts ---------------------------------------------------------------------

def test_a_burst_of_crisis_messages_from_one_web_client(anon, rasa, session_factory, still):
    rasa.reply = lambda body: CRISIS_REPLY
    bodies = [anon.post("/chat/messages", json={"text": CRISIS_WORDS}) for _ in range(10)]
    assert all(b.status_code == 200 for b in bodies)
    shown = [" ".join(m["text"] for m in b.json()["messages"]) for b in bodies]
    assert all(safety(text) for text in shown), shown
    assert len(rasa.calls) <= 2
    assert len({c["sender"] for c in rasa.calls}) == 1  # the cookie's one conversation
    stored = answered(session_factory)
    assert len(stored) == 10 and all(stored.values())  # every message stored, every one answered
    assert all(safety(" ".join(texts)) for texts in stored.values())
    throttled = [t for t in inbound_turns(session_factory) if (t.details or {}).get("throttled")]
    assert len(throttled) == 10 - len(rasa.calls)
    assert {t.status for t in throttled} == {"handled"}
    assert count(session_factory, Case) == 0


def test_a_burst_without_cookies_while_rasa_is_down_opens_at_most_two_cases(anon, rasa, session_factory, clock,
                                                                           still):
    """The issue's report: ten crisis messages, each without a cookie (a new conversation each),
    with Rasa down, opened ten emergency cases and ten pages."""
    with session_factory() as s:
        standard_rota(s, now=clock.now)
    rasa.reply = FAILURES["down"]
    bodies = []
    for _ in range(10):
        anon.cookies.clear()
        bodies.append(anon.post("/chat/messages", json={"text": CRISIS_WORDS}))
    for body in bodies:
        text = " ".join(m["text"] for m in body.json()["messages"])
        assert "999" in text and "emergency department" in text and "bleed" in text
    assert len(all_cases(session_factory)) <= 2
    assert count(session_factory, Page) <= 2
    stored = answered(session_factory)
    assert len(stored) == 10 and all(stored.values())
    assert len({t.conversation_id for t in inbound_turns(session_factory)}) == 10
    over = [b.json() for b in bodies if b.json()["messages"][0]["text"] == THROTTLED_TEXT]
    assert len(over) >= 8 and all(o["case_ref"] is None for o in over)


def test_a_burst_of_crisis_texts_from_one_number(twilio, rasa, session_factory, still):
    rasa.reply = lambda body: CRISIS_REPLY
    replies = [messages(twilio.sms(CRISIS_WORDS)) for _ in range(10)]
    assert all(safety(" ".join(r)) for r in replies), replies
    assert len(rasa.calls) <= 2
    stored = answered(session_factory)
    assert len(stored) == 10 and all(stored.values())
    assert count(session_factory, Case) == 0


def test_a_burst_of_texts_while_rasa_is_down_is_one_case(twilio, rasa, session_factory, clock, still):
    with session_factory() as s:
        standard_rota(s, now=clock.now)
    rasa.reply = FAILURES["down"]
    replies = [" ".join(messages(twilio.sms(CRISIS_WORDS))) for _ in range(10)]
    assert all("999" in r and "emergency department" in r for r in replies)
    assert sum(r == THROTTLED_TEXT for r in replies) >= 8
    (case,) = all_cases(session_factory)
    assert count(session_factory, Page) == 1
    assert len(answered(session_factory)) == 10
    # The throttled texts are not in the case's summary, but they are in the conversation.
    assert case.summary.count(CRISIS_WORDS) == 10 - sum(r == THROTTLED_TEXT for r in replies)


def test_posts_without_a_cookie_from_one_address_are_limited(anon, rasa, session_factory, still):
    responses = []
    for _ in range(30):
        anon.cookies.clear()
        responses.append(anon.post("/chat/messages", json={"text": "hello"}))
    assert all(r.status_code == 200 and "oh_chat=" in r.headers["set-cookie"] for r in responses)
    assert len(rasa.calls) <= 2
    assert sum(r.json()["messages"][0]["text"] == THROTTLED_TEXT for r in responses) >= 28
    assert len(inbound_turns(session_factory)) == 30


def test_a_conversation_whose_messages_were_all_throttled_is_still_new(anon, rasa, still):
    """Keeping the cookie of a throttled first message does not make a conversation established."""
    for _ in range(2):
        anon.cookies.clear()
        anon.post("/chat/messages", json={"text": "hello"})
    anon.cookies.clear()
    first = anon.post("/chat/messages", json={"text": "hello"}).json()
    assert first["messages"][0]["text"] == THROTTLED_TEXT
    again = anon.post("/chat/messages", json={"text": "hello"}).json()  # the cookie it was given
    assert again["messages"][0]["text"] == THROTTLED_TEXT
    assert len(rasa.calls) == 2
    still.shift(11)  # the new-conversation window has passed: it reaches the bot
    assert anon.post("/chat/messages", json={"text": "hello"}).json()["status"] == "relayed"


def test_a_person_at_a_persons_pace_is_never_limited(anon, rasa, still):
    rasa.reply = lambda body: [{"text": "Next question?"}]
    for _ in range(12):
        assert anon.post("/chat/messages", json={"text": "an answer"}).json()["status"] == "relayed"
        still.shift(3)
    assert len(rasa.calls) == 12


def test_a_retry_of_a_throttled_message_gets_the_same_answer(anon, rasa, session_factory, still):
    for i in range(3):
        anon.post("/chat/messages", json={"text": "hello", "client_id": f"client-{i:04d}"})
    retry = anon.post("/chat/messages", json={"text": "hello", "client_id": "client-0002"}).json()
    assert retry["messages"] == [{"text": THROTTLED_TEXT, "buttons": []}]
    assert len(inbound_turns(session_factory)) == 3 and len(rasa.calls) == 2


def test_the_history_is_limited_per_address(anon, rasa, still):
    codes = [anon.get("/chat/history").status_code for _ in range(31)]
    assert codes[:30] == [200] * 30 and codes[30] == 429


# --- the client's address ----------------------------------------------------------------------

PROXY = [ipaddress.ip_network("10.0.0.0/8")]


@pytest.mark.parametrize(("peer", "header", "expected"), [
    ("203.0.113.9", None, "203.0.113.9"),
    ("203.0.113.9", "198.51.100.1", "203.0.113.9"),            # not from a proxy: ignored
    ("10.0.0.2", "198.51.100.1", "198.51.100.1"),
    ("10.0.0.2", "1.2.3.4, 198.51.100.1", "198.51.100.1"),     # the client wrote the first one
    ("10.0.0.2", "198.51.100.1, 10.0.0.3", "198.51.100.1"),    # two proxies
    ("10.0.0.2", "10.0.0.4, 10.0.0.3", "10.0.0.4"),            # only proxies: the farthest
    ("10.0.0.2", "not-an-address", "10.0.0.2"),
    ("10.0.0.2", None, "10.0.0.2"),
    (None, None, "unknown"),
])
def test_client_address(peer, header, expected):
    assert door_limits.client_address(peer, header, PROXY) == expected


def test_no_proxy_is_trusted_by_default(settings):
    assert settings.trusted_proxies == "" and settings.trusted_proxy_networks == ()
    assert door_limits.client_address("10.0.0.2", "198.51.100.1", settings.trusted_proxy_networks) == "10.0.0.2"


def _via_proxy(app, forwarded_for: str) -> dict:
    with TestClient(app, client=("10.0.0.2", 50000)) as client:
        return client.post("/chat/messages", json={"text": "hello"},
                           headers={"X-Forwarded-For": forwarded_for}).json()


def test_forwarded_for_counts_each_client_only_behind_a_trusted_proxy(app, rasa, settings, still):
    statuses = [_via_proxy(app, f"198.51.100.{i}")["status"] for i in range(4)]
    assert statuses.count("relayed") == 2  # untrusted: one address, the proxy's
    app.state.settings = settings.model_copy(update={"trusted_proxies": "10.0.0.0/8"})
    statuses = [_via_proxy(app, f"198.51.100.{i}")["status"] for i in range(10, 14)]
    assert statuses == ["relayed"] * 4


# --- the cookie -------------------------------------------------------------------------------

def test_a_tampered_cookie_does_not_join_another_conversation(app, anon, rasa, session_factory, still):
    anon.post("/chat/messages", json={"text": "needle in my thumb"})
    mine = rasa.calls[0]["sender"]
    cookie = anon.cookies.get("oh_chat")
    at = cookie.rindex(".") + 2  # inside the signature: its last character may carry only padding bits
    tampered = [cookie[:at] + ("A" if cookie[at] != "A" else "B") + cookie[at + 1:],  # the signature
                "x" + cookie[1:],  # the payload
                webchat.URLSafeTimedSerializer("another-secret-0123456789", salt=webchat.SALT).dumps({"cid": mine})]
    for forged in tampered:
        with TestClient(app) as stranger:
            stranger.cookies.set("oh_chat", forged, path="/chat")
            assert stranger.get("/chat/history").json()["turns"] == []
            reply = stranger.post("/chat/messages", json={"text": "what did they say?"})
            assert reply.json()["case_ref"] is None
            assert "oh_chat=" in reply.headers["set-cookie"] and cookie not in reply.headers["set-cookie"]
        still.shift(11)  # past the new-conversation limit: each stranger's message reaches the bot
    senders = [c["sender"] for c in rasa.calls]
    assert senders.count(mine) == 1 and len(set(senders)) == len(tampered) + 1
    assert [t.conversation_id for t in inbound_turns(session_factory)].count(mine) == 1


# --- forced intents ---------------------------------------------------------------------------

def test_a_payload_the_bot_did_not_offer_is_sent_as_text(anon, rasa, session_factory, still):
    rasa.reply = lambda body: [{"text": "What happened?"}]
    anon.post("/chat/messages", json={"text": "hello"})
    still.shift(6)
    anon.post("/chat/messages", json={"text": "Yes", "payload": "/affirm"})
    still.shift(6)
    anon.post("/chat/messages", json={"text": "/affirm"})
    still.shift(6)
    anon.post("/chat/messages", json={"text": '/inform{"crisis": false}', "payload": '/inform{"crisis": false}'})
    assert [c["message"] for c in rasa.calls] == ["hello", "Yes", "affirm", 'inform{"crisis": false}']
    refused = [t.details.get("payload_refused") for t in inbound_turns(session_factory)]
    assert refused == [None, True, True, True]


def test_an_offered_button_is_sent_as_its_payload(anon, rasa, still):
    rasa.reply = lambda body: [{"text": "Are you safe now?", "buttons": [{"title": "Yes", "payload": "/affirm"},
                                                                      {"title": "No", "payload": "/deny"}]}]
    anon.post("/chat/messages", json={"text": "I've had a needlestick", "payload": "/choose_sharps_line"})
    still.shift(6)
    anon.post("/chat/messages", json={"text": "No", "payload": "/deny"})
    still.shift(6)
    anon.post("/chat/messages", json={"text": "/affirm"})  # typed, but the bot offered it
    still.shift(6)
    anon.post("/chat/messages", json={"text": "Sharps", "payload": "/choose_sharps_line"})  # offered before only
    assert [c["message"] for c in rasa.calls] == ["/choose_sharps_line", "/deny", "/affirm", "Sharps"]


def test_texts_starting_with_a_slash_reach_the_bot_as_words(twilio, rasa, session_factory, still):
    rasa.reply = lambda body: [{"text": "Pick one", "buttons": [{"title": "Yes", "payload": "/affirm"}]}]
    twilio.sms("/deny")
    still.shift(6)
    twilio.sms("/affirm")  # the bot's last answer offered it
    still.shift(6)
    twilio.sms("1")
    assert [c["message"] for c in rasa.calls] == ["deny", "/affirm", "/affirm"]
    assert [t.details.get("payload_refused") for t in inbound_turns(session_factory)] == [True, None, None]


@pytest.mark.parametrize(("text", "payload", "expected"), [
    ("hello", None, (None, False)),
    ("/affirm", None, ("/affirm", False)),  # typed, but offered
    ("/deny", None, ("deny", True)),
    ("  //deny", None, ("deny", True)),
    ("/", None, ("?", True)),
    ("Yes", "/affirm", ("/affirm", False)),
    ("Yes", "/deny", (None, True)),
    ("/deny", "/deny", ("deny", True)),
    ("a/b", None, (None, False)),
])
def test_vetted(text, payload, expected):
    assert intents.vetted(text, payload, [Button("Yes", "/affirm")]) == expected


# --- voice ------------------------------------------------------------------------------------

def _call(twilio, sid: str, path: str = "/twilio/voice", **params: str):
    return twilio.post(path, {"CallSid": sid, "AccountSid": "AC" + "0" * 32, "From": CALLER, "To": "+441134960000",
                              "CallStatus": "in-progress", "Direction": "inbound", **params})


def test_calls_from_one_number_are_limited_and_the_caller_hears_the_advice(twilio, rasa, session_factory, still):
    rasa.reply = lambda body: [{"text": "What happened?"}]
    for i in range(3):
        assert [s.text for s in twiml(_call(twilio, f"CA{i:032d}")).iter("Say")] == ["What happened?"]
    over = twiml(_call(twilio, f"CA{3:032d}"))
    said = " ".join(s.text or "" for s in over.iter("Say"))
    assert "emergency department" in said and "Samaritans" in said and over.find("Hangup") is not None
    assert len(rasa.calls) == 3
    again = _call(twilio, f"CA{3:032d}")  # Twilio's retry: the same answer, still not relayed
    assert twiml(again).find("Hangup") is not None and len(rasa.calls) == 3
    assert len(answered(session_factory)) == 4


def test_a_calls_own_answers_have_room(twilio, rasa, still):
    rasa.reply = lambda body: [{"text": "And then?"}]
    _call(twilio, "CA" + "1" * 32)
    for turn in range(1, 21):
        response = _call(twilio, "CA" + "1" * 32, f"/twilio/voice/gather?turn={turn}", SpeechResult=f"answer {turn}",
                         Confidence="0.9")
        assert twiml(response).find("Hangup") is None
    assert len(rasa.calls) == 21


# --- the limiter itself -----------------------------------------------------------------------

def test_a_window_passes(settings, still):
    limits = DoorLimits(settings.model_copy(update={"door_limit_sms_number": "2/5 seconds;4/minute"}))
    check = [Check("sms_number", "someone")]
    assert [limits.over(check) for _ in range(3)] == [None, None, "sms_number"]
    assert limits.over([Check("sms_number", "someone else")]) is None  # a count per key
    still.shift(6)
    assert [limits.over(check) for _ in range(2)] == [None, None]
    still.shift(6)
    assert limits.over(check) == "sms_number"  # four in the minute
    still.shift(60)
    assert limits.over(check) is None


def test_a_failing_store_lets_messages_through(settings, caplog):
    broken = settings.model_copy(update={"door_limit_storage_uri": "redis://127.0.0.1:1/0"})
    limits = DoorLimits(broken)
    assert all(limits.over([Check("sms_number", "x")]) is None for _ in range(5))
    assert "the store failed" in caplog.text


def test_a_store_that_cannot_be_made_is_memory(settings, caplog, still):
    limits = DoorLimits(settings.model_copy(update={"door_limit_storage_uri": "nosuchstore://here"}))
    assert "no store at the configured URI" in caplog.text
    assert [limits.over([Check("sms_number", "x")]) for _ in range(3)][-1] == "sms_number"


def test_keys_are_hashed(settings, still):
    limits = DoorLimits(settings)
    limits.over([Check("sms_number", CALLER)])
    stored = repr(limits.storage.events) + repr(dict(limits.storage.storage))
    assert CALLER not in stored and "sms_number" in stored


def test_redis_is_shared_by_processes(settings, tmp_path):
    from tests.support.redis import Redis
    try:
        server = Redis(tmp_path)
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    try:
        shared = settings.model_copy(update={"rasa_lock_redis_host": "127.0.0.1",
                                             "rasa_lock_redis_port": str(server.port)})
        assert shared.door_limit_storage == f"redis://127.0.0.1:{server.port}/1"
        one, two = DoorLimits(shared), DoorLimits(shared)  # two API processes
        check = [Check("sms_number", "someone")]
        assert [one.over(check), two.over(check), one.over(check), two.over(check)] == [
            None, None, "sms_number", "sms_number"]
    finally:
        server.stop()


def test_the_store_follows_the_settings():
    base = Settings(_env_file=None, environment="test")
    assert base.door_limit_storage == "memory://"
    scaled = Settings(_env_file=None, environment="test", rasa_lock_redis_host="redis.internal",
                      rasa_lock_redis_port="6380", rasa_lock_redis_password="p@ss word", rasa_lock_redis_db="2")
    assert scaled.door_limit_storage == "redis://:p%40ss%20word@redis.internal:6380/2"
    explicit = Settings(_env_file=None, environment="test", rasa_lock_redis_host="redis.internal",
                        door_limit_storage_uri="memory://")
    assert explicit.door_limit_storage == "memory://"


@pytest.mark.parametrize(("field", "value"), [
    ("door_limit_chat_conversation", "lots"), ("door_limit_sms_number", "0/minute"),
    ("door_limit_voice_call", ""), ("trusted_proxies", "10.0.0.0/8, proxy.example"),
])
def test_settings_refuse_nonsense(field, value):
    with pytest.raises(ValueError, match=field.upper()):
        Settings(_env_file=None, environment="test", **{field: value})


# --- the answer, and the database-down path -----------------------------------------------------

def test_the_throttled_answers_keep_the_safety_facts():
    for text in (THROTTLED_TEXT, THROTTLED_SPOKEN):
        assert safety(text) and "bleed" in text and "wash" in text
    assert "very fast" in THROTTLED_TEXT
    assert not non_gsm(THROTTLED_TEXT) and segments(THROTTLED_TEXT) <= 3


def test_with_the_database_down_a_throttled_message_opens_no_case_later():
    now = WALL
    over = Inbound(channel="sms", conversation_id="sms-x", text="help me", received_at=now,
                   details={"throttled": "sms_number"})
    assert sms.ADAPTER.offline(over).needs_case is False
    assert sms.ADAPTER.offline(Inbound(channel="sms", conversation_id="sms-x", text="help me",
                                       received_at=now)).needs_case is True
    web = Inbound(channel="web", conversation_id="web-x", text="help me", received_at=now,
                  details={"throttled": "chat_client"})
    answer = webchat.ADAPTER.offline(web)
    assert answer.needs_case is False and answer.keep is True and safety(answer.replies[0].text)


def test_throttled_turns_are_in_the_transcript(anon, rasa, session_factory, still):
    for _ in range(3):
        anon.post("/chat/messages", json={"text": "hello"})
    history = anon.get("/chat/history").json()["turns"]
    assert [t["from"] for t in history] == ["user", "bot"] * 3
    assert history[-1]["text"] == THROTTLED_TEXT
    with session_factory() as s:
        last = s.scalars(select(ConversationMessage).where(ConversationMessage.direction == "inbound")
                         .order_by(ConversationMessage.id.desc())).first()
        assert last.details["throttled"] == "chat_conversation" and last.status == "handled"
