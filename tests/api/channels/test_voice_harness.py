"""The call-walk harness itself (tests/support/twilio_voice.py and the voice channel of
tests/stories_api_down/live_check.py): canned TwiML through the parser and problems(), a call
played through a fake Twilio, the conversation file's checks, and one call against the API in
process (the harness's signatures and turns are the ones the API accepts). No stack needed."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from tests.api.channels.conftest import PUBLIC, TWILIO_TOKEN
from tests.support import twilio_voice
from tests.support.twilio_sms import signature
from tests.support.twilio_voice import TurnResult, TwilioCall, VoiceError, parse, problems

REPO = Path(__file__).resolve().parents[3]
LIVE_CHECK = REPO / "tests" / "stories_api_down" / "live_check.py"


@pytest.fixture(scope="module")
def live_check():
    spec = importlib.util.spec_from_file_location("helpline_live_check", LIVE_CHECK)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module   # dataclasses look their module up by name
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


SAY = 'voice="Polly.Amy" language="en-GB"'
GATHER = ('input="speech dtmf" action="{base}/twilio/voice/gather?turn={turn}" method="POST" language="en-GB" '
          'hints="blood, don\'t know, talk to a person" speechTimeout="auto" timeout="6" numDigits="1" '
          'actionOnEmptyResult="true"')


def ask(turn: int, *says: str, base: str = PUBLIC) -> str:
    inner = "".join(f"<Say {SAY}>{s}</Say>" for s in says)
    return f'<?xml version="1.0" encoding="UTF-8"?><Response><Gather {GATHER.format(base=base, turn=turn)}>' \
           f"{inner}</Gather></Response>"


QUESTION = ask(1, "What was on the needle, or what splashed you?", "Say blood, or press 1. Say don't know, or press 2.")

EMERGENCY = (
    f'<Response><Say {SAY}>Go to your nearest emergency department now.</Say>'
    f'<Gather input="speech dtmf" action="{PUBLIC}/twilio/voice/offer?turn=2" method="POST" language="en-GB" '
    f'hints="yes, no" speechTimeout="auto" numDigits="1" actionOnEmptyResult="true">'
    f'<Say {SAY}>To be connected to the on-call practitioner now, say yes, or press 1.</Say></Gather></Response>')


def dial(attempt: int, number: str, said: str) -> str:
    whisper = f"{PUBLIC}/twilio/voice/whisper?ref=SH-000001&amp;attempt={attempt}&amp;practitioner={attempt + 1}"
    return (f'<Response><Say {SAY}>{said}</Say>'
            f'<Dial action="{PUBLIC}/twilio/voice/dial-status?attempt={attempt}" method="POST" timeout="20" '
            f'answerOnBridge="true" callerId="+441134960000"><Number url="{whisper}" method="POST">{number}</Number>'
            f'</Dial></Response>')


WHISPER = (f'<Response><Gather input="dtmf" numDigits="1" timeout="10" method="POST" '
           f'action="{PUBLIC}/twilio/voice/whisper/accept?ref=SH-000001&amp;attempt=1" actionOnEmptyResult="false">'
           f'<Say {SAY}>An emergency caller is waiting. Case S H, zero zero zero, zero zero one. Press 1 to take '
           f'the call.</Say></Gather><Say {SAY}>No key pressed. Goodbye.</Say><Hangup/></Response>')
CONNECTING = f"<Response><Say {SAY}>Connecting you now.</Say></Response>"
ANSWERED = f"<Response><Say {SAY}>You are through. Goodbye.</Say><Hangup/></Response>"


# --- parsing ---------------------------------------------------------------------------------------

def test_a_question_is_parsed():
    twiml = parse(QUESTION)
    assert twiml.texts == ["What was on the needle, or what splashed you?",
                           "Say blood, or press 1. Say don't know, or press 2."]
    (gather,) = twiml.gathers
    assert gather.action == f"{PUBLIC}/twilio/voice/gather?turn=1"
    assert (gather.input, gather.language, gather.speech_timeout, gather.action_on_empty_result,
            gather.num_digits) == ("speech dtmf", "en-GB", "auto", "true", "1")
    assert gather.hints == "blood, don't know, talk to a person"
    assert twiml.gather is gather and not twiml.hangup and not twiml.dials and twiml.redirect is None
    assert problems(twiml) == []


def test_says_in_order_across_verbs_and_the_last_gather_answers():
    twiml = parse(EMERGENCY)
    assert twiml.texts[0].startswith("Go to your nearest emergency department")
    assert twiml.gather.action.endswith("/twilio/voice/offer?turn=2")
    assert twiml.verbs == ["Say", "Gather"]


def test_a_dial_is_parsed():
    twiml = parse(dial(0, "+447700900101", "I am putting you through now."))
    (d,) = twiml.dials
    assert d.numbers == ["+447700900101"]
    assert d.action == f"{PUBLIC}/twilio/voice/dial-status?attempt=0"
    assert d.whisper_urls == [f"{PUBLIC}/twilio/voice/whisper?ref=SH-000001&attempt=0&practitioner=1"]
    assert d.caller_id == "+441134960000"


def test_a_redirect_is_followed_only_when_nothing_else_takes_the_call():
    alone = parse(f"<Response><Say {SAY}>One moment.</Say><Redirect>{PUBLIC}/twilio/voice/gather?turn=2"
                  f"</Redirect></Response>")
    assert alone.redirect == f"{PUBLIC}/twilio/voice/gather?turn=2"
    after_gather = parse(QUESTION.replace("</Response>", f"<Redirect>{PUBLIC}/x</Redirect></Response>"))
    assert after_gather.redirect is None


def test_not_twiml_is_an_error():
    with pytest.raises(VoiceError):
        parse("<html>oops</html>")
    with pytest.raises(VoiceError):
        parse("Internal Server Error")


# --- problems ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, word", [
    ("Reply 1 for blood.", "reply"), ("Tap the button below.", "button"), ("Click the link.", "click"),
    ("Type your name.", "type"), ("Choose from the menu.", "menu"), ("Replying is easy.", "replying"),
])
def test_text_only_words_are_problems(text, word):
    found = problems(parse(ask(1, text)))
    assert len(found) == 1 and word in found[0]


@pytest.mark.parametrize("text", [
    "Press 1 for a needle.", "A typical day.", "Stay on the line.", "Linked to your case.", "Press star to repeat.",
])
def test_words_that_only_contain_them_are_not(text):
    assert problems(parse(ask(1, text))) == []


def test_raw_references_and_numbers_are_problems():
    found = problems(parse(ask(1, "Your case reference is SH-000123.", "Is +447700900123 your number?")))
    assert any("SH-000123" in p for p in found)
    assert any("+447700900123" in p for p in found)
    spelled = "Your case reference is S H, zero zero zero, one two three. Is zero seven seven zero zero your number?"
    assert problems(parse(ask(1, spelled))) == []


def test_a_say_needs_a_voice_and_british_english():
    found = problems(parse('<Response><Say>Hello.</Say><Say voice="Polly.Amy" language="en-US">Hi.</Say>'
                           '</Response>'))
    assert any("without a voice" in p for p in found)
    assert any("'en-US'" in p for p in found)


@pytest.mark.parametrize("attribute, expected", [
    ('input="speech dtmf"', "input="), ('language="en-GB"', "language="), ('speechTimeout="auto"', "speechTimeout="),
    ('actionOnEmptyResult="true"', "actionOnEmptyResult="), ("hints=\"blood, don't know, talk to a person\"", "hints"),
])
def test_a_gather_missing_an_attribute_is_a_problem(attribute, expected):
    assert attribute in QUESTION
    found = problems(parse(QUESTION.replace(attribute, "", 1)))   # the Gather's (it comes first)
    assert len(found) == 1 and expected in found[0], found


def test_a_keypad_only_gather_needs_no_speech_attributes():
    keypad = (f'<Response><Gather input="dtmf" action="{PUBLIC}/twilio/voice/gather?turn=1&amp;silence=2" '
              f'numDigits="1" actionOnEmptyResult="true"><Say {SAY}>For blood, press 1.</Say></Gather></Response>')
    assert problems(parse(keypad)) == []
    assert problems(parse(keypad.replace(' actionOnEmptyResult="true"', "")))   # silence must still come back


def test_the_whisper_is_checked_as_the_practitioners_leg():
    assert problems(parse(WHISPER), party="practitioner") == []
    assert problems(parse(WHISPER))   # as a caller's Gather it would lack speech and an empty result
    raw = WHISPER.replace("S H, zero zero zero, zero zero one", "SH-000001")
    assert any("SH-000001" in p for p in problems(parse(raw), party="practitioner"))


# --- a call, through a fake Twilio ------------------------------------------------------------------

class FakeApi:
    """Answers each path with the next canned TwiML; records what Twilio posted."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = {path: list(bodies) for path, bodies in answers.items()}
        self.posts: list[tuple[str, dict[str, str]]] = []

    def __call__(self, path: str, params: dict[str, str]) -> str:
        self.posts.append((path, params))
        route = urlsplit(path).path
        return self.answers[route].pop(0)


def test_speech_keys_and_silence_go_to_the_last_gathers_action():
    api = FakeApi({"/twilio/voice": [ask(1, "Hello. What happened?")],
                   "/twilio/voice/gather": [ask(2, "When?"), ask(3, "What was on it?"),
                                            ask(3, "Sorry. What was on it?")]})
    call = TwilioCall(public_base_url=PUBLIC, sender="+447700900501", transport=api)
    greeting = call.start()
    assert greeting.says == ["Hello. What happened?"] and greeting.gather.action.endswith("turn=1")
    call.say("a needle")
    call.press("1")
    call.silence()
    paths = [p for p, _ in api.posts]
    assert paths == ["/twilio/voice", "/twilio/voice/gather?turn=1", "/twilio/voice/gather?turn=2",
                     "/twilio/voice/gather?turn=3"]
    start, spoken, key, silent = (params for _, params in api.posts)
    assert start["CallSid"].startswith("CA") and len(start["CallSid"]) == 34
    assert {k: start[k] for k in ("From", "To", "CallStatus", "Direction")} == {
        "From": "+447700900501", "To": "+441134960000", "CallStatus": "in-progress", "Direction": "inbound"}
    assert all(p["CallSid"] == start["CallSid"] for _, p in api.posts)
    assert spoken["SpeechResult"] == "a needle" and spoken["Confidence"] == "0.92" and "Digits" not in spoken
    assert key["Digits"] == "1" and "SpeechResult" not in key
    assert "Digits" not in silent and "SpeechResult" not in silent


def test_a_relative_action_is_resolved_against_the_public_address():
    api = FakeApi({"/twilio/voice": [ask(1, "Hello.").replace(f"{PUBLIC}/twilio/voice/gather", "/twilio/voice/gather")],
                   "/twilio/voice/gather": [ask(2, "Next.")]})
    call = TwilioCall(public_base_url=PUBLIC, sender="+447700900501", transport=api)
    call.start()
    call.say("hello")
    assert api.posts[-1][0] == "/twilio/voice/gather?turn=1"


def test_a_call_that_hung_up_or_is_dialling_cannot_be_answered():
    api = FakeApi({"/twilio/voice": [f"<Response><Say {SAY}>Goodbye.</Say><Hangup/></Response>"]})
    call = TwilioCall(public_base_url=PUBLIC, sender="+447700900501", transport=api)
    assert call.start().hung_up and call.ended
    with pytest.raises(VoiceError, match="ended"):
        call.say("hello")
    api = FakeApi({"/twilio/voice": [dial(0, "+447700900101", "Putting you through.")]})
    call = TwilioCall(public_base_url=PUBLIC, sender="+447700900501", transport=api)
    call.start()
    with pytest.raises(VoiceError, match="dialling"):
        call.press("1")


def test_the_transfer_ladder_primary_no_answer_backup_accepts():
    api = FakeApi({
        "/twilio/voice": [EMERGENCY],
        "/twilio/voice/offer": [dial(0, "+447700900101", "I am putting you through now.")],
        "/twilio/voice/dial-status": [dial(1, "+447700900102", "I am trying the backup practitioner now."), ANSWERED],
        "/twilio/voice/whisper": [WHISPER],
        "/twilio/voice/whisper/accept": [CONNECTING],
    })
    call = TwilioCall(public_base_url=PUBLIC, sender="+447700900501", transport=api)
    call.start()
    result = call.say("yes") + call.dial(["no-answer", "accept"])
    assert result.dialled == ["+447700900101", "+447700900102"]
    assert result.says == ["I am putting you through now.", "I am trying the backup practitioner now.",
                           "You are through. Goodbye."]
    assert "Press 1 to take the call." in result.whisper_text and "Connecting you now." in result.whisper_text
    assert result.hung_up and problems(result) == []
    posts = dict(api.posts)
    no_answer = posts["/twilio/voice/dial-status?attempt=0"]
    assert no_answer["DialCallStatus"] == "no-answer" and no_answer["CallSid"] == call.sid
    whisper = posts["/twilio/voice/whisper?ref=SH-000001&attempt=1&practitioner=2"]
    # the practitioner's leg is a child call, as on Twilio
    assert whisper["ParentCallSid"] == call.sid and whisper["CallSid"] != call.sid
    assert whisper["To"] == "+447700900102" and whisper["Direction"] == "outbound-dial"
    accepted = posts["/twilio/voice/whisper/accept?ref=SH-000001&attempt=1"]
    assert accepted["Digits"] == "1" and accepted["CallSid"] == whisper["CallSid"]
    completed = posts["/twilio/voice/dial-status?attempt=1"]
    assert completed["DialCallStatus"] == "completed" and completed["DialCallSid"] == whisper["CallSid"]
    assert completed["CallSid"] == call.sid


def test_a_dial_outcome_without_a_dial_is_an_error():
    api = FakeApi({"/twilio/voice": [EMERGENCY], "/twilio/voice/offer": [ask(3, "OK. A few more questions?")]})
    call = TwilioCall(public_base_url=PUBLIC, sender="+447700900501", transport=api)
    call.start()
    call.say("no")
    with pytest.raises(VoiceError, match="not dialling"):
        call.dial(["accept"])


def test_problems_of_a_turn_name_the_leg():
    result = TurnResult(legs=[twilio_voice.Leg("/twilio/voice", {}, parse(ask(1, "Reply 1.")))])
    (found,) = problems(result)
    assert found.startswith("caller /twilio/voice: ") and "reply" in found


# --- the conversation file -------------------------------------------------------------------------

def spec(*conversations: dict) -> dict:
    return {"conversations": list(conversations)}


def test_voice_turns_are_valid(live_check):
    ok = spec({
        "name": "keypad walk", "channels": ["voice"], "input": "keypad", "metadata": {"voice_phone": "+447700900321"},
        "turns": [{"keys": "1", "voice_expect": ["press 1"]}, {"keys": 2, "decides": "emergency",
                                                               "voice_first": ["emergency department"]},
                  {"keys": "*"}, {"keys": "1", "dial": ["no-answer", "accept"], "whisper_expect": ["press 1"],
                                  "hangs_up": True}],
    }, {
        "name": "speech walk", "channels": ["voice"], "input": "speech",
        "turns": [{"user": "a needle"}, {"silence": True, "gather_input": "speech dtmf"},
                  {"silence": True, "gather_input": "dtmf", "voice_expect_any": ["press"]}],
    }, {
        "name": "all three", "channels": ["rest", "sms", "voice"],
        "turns": [{"user": "1", "keys": "1", "expect": ["Reply"], "voice_absent": ["reply"]}],
    })
    assert live_check.validate(Path("x.yml"), ok) == []


@pytest.mark.parametrize("conversation, expected", [
    ({"channels": ["voice"], "input": "keypad", "turns": [{"keys": "1"}, {"user": "yes"}]}, "no keys"),
    ({"channels": ["voice"], "input": "speech", "turns": [{"keys": "1"}]}, "has keys"),
    ({"channels": ["voice"], "input": "mixed", "turns": [{"user": "hi"}]}, "input must be"),
    ({"channels": ["rest"], "input": "speech", "turns": [{"user": "hi"}]}, "for calls"),
    ({"channels": ["rest", "voice"], "turns": [{"keys": "1"}]}, "no user"),
    ({"channels": ["rest", "voice"], "turns": [{"silence": True}]}, "only be sent on a call"),
    ({"channels": ["voice"], "turns": [{"silence": True, "keys": "1"}]}, "neither user nor keys"),
    ({"channels": ["voice"], "turns": [{"keys": "12"}]}, "one key"),
    ({"channels": ["voice"], "turns": [{"keys": "a"}]}, "one key"),
    ({"channels": ["voice"], "turns": [{"user": "yes", "dial": ["answer"]}]}, "dial must be"),
    ({"channels": ["voice"], "turns": [{"user": "yes", "dial": "accept"}]}, "dial must be"),
    ({"channels": ["voice"], "turns": [{"user": "yes", "voice_expect": "press"}]}, "list of phrases"),
    ({"channels": ["voice"], "turns": [{"user": "yes", "hangs_up": "yes"}]}, "true or false"),
    ({"channels": ["voice"], "turns": [{"user": "yes", "gather_input": "keys"}]}, "gather_input"),
    ({"channels": ["voice"], "turns": [{"user": "yes", "voice_expectt": ["x"]}]}, "unknown key"),
    ({"channels": ["rest", "sms"], "turns": [{"user": "yes", "voice_expect": ["x"]}]}, "only apply to a call"),
    ({"channels": ["voice"], "inputs": "keypad", "turns": [{"user": "yes"}]}, "unknown conversation key"),
    ({"channels": ["phone"], "turns": [{"user": "yes"}]}, "unknown channel"),
])
def test_bad_voice_turns_are_reported(live_check, conversation, expected):
    found = live_check.validate(Path("x.yml"), spec({"name": "c", **conversation}))
    assert any(expected in p for p in found), found


def test_the_voice_walks_file_is_valid(live_check):
    for path in sorted((REPO / "tests" / "stories").glob("live_*.yml")):
        assert live_check.validate(path, yaml.safe_load(path.read_text(encoding="utf-8"))) == [], path.name


def test_voice_checks_use_the_voice_phrases_and_the_voice_markers(live_check):
    turn = {"user": "x", "expect": ["Reply 1"], "voice_expect": ["press 1"], "voice_absent": ["reply"],
            "decides": "emergency"}
    missing, present = live_check.check(turn, "Go to the emergency department now. Say yes, or press 1.", "voice")
    assert (missing, present) == ([], [])
    missing, _ = live_check.check(turn, "Say yes, or press 1.", "voice")
    assert missing == ["decides emergency: one of ['emergency department']"]
    assert set(live_check.OUTCOME_MARKERS) == set(live_check.CHANNELS)


def test_a_voice_walk_runs_through_a_fake_api(live_check, tmp_path, capsys):
    path = tmp_path / "live_walk.yml"
    path.write_text(yaml.safe_dump(spec({
        "name": "emergency, put through", "channels": ["voice"],
        "turns": [{"user": "the patient has HIV", "decides": "emergency", "voice_first": ["emergency department"]},
                  {"user": "yes", "dial": ["no-answer", "accept"], "voice_expect": ["backup"],
                   "whisper_expect": ["press 1"], "hangs_up": True}],
    })))
    apis: list[FakeApi] = []

    def call(sender: str) -> TwilioCall:
        apis.append(FakeApi({
            "/twilio/voice": [ask(1, "Hello. What happened?")],
            "/twilio/voice/gather": [EMERGENCY],
            "/twilio/voice/offer": [dial(0, "+447700900101", "I am putting you through now.")],
            "/twilio/voice/dial-status": [dial(1, "+447700900102", "I am trying the backup practitioner now."),
                                          ANSWERED],
            "/twilio/voice/whisper": [WHISPER],
            "/twilio/voice/whisper/accept": [CONNECTING],
        }))
        return TwilioCall(public_base_url=PUBLIC, sender=sender, transport=apis[-1])

    rows: list = []
    options = live_check.Options(rasa="http://unused", sms=None, verbose=True, call=call)
    assert live_check.run([path], options, rows) == 0, capsys.readouterr().out
    (row,) = rows
    assert (row.channel, row.k, row.message, row.in_reply_k) == ("voice", 1, "the patient has HIV", True)
    sender = apis[0].posts[0][1]["From"]
    assert sender.startswith("+447700900") and 500 <= int(sender[-3:]) <= 999
    out = capsys.readouterr().out
    assert "[voice from +447700900" in out and "whisper: " in out


def test_a_failing_call_turn_is_counted(live_check, tmp_path, capsys):
    path = tmp_path / "live_walk.yml"
    path.write_text(yaml.safe_dump(spec({
        "name": "says reply", "channels": ["voice"], "input": "keypad",
        "turns": [{"keys": "1", "voice_expect": ["press 1"]}, {"keys": "1"}],
    })))

    def call(sender: str) -> TwilioCall:
        return TwilioCall(public_base_url=PUBLIC, sender=sender, transport=FakeApi({
            "/twilio/voice": [ask(1, "Hello.")],
            "/twilio/voice/gather": [ask(2, "Reply 1 for blood."),
                                     f"<Response><Say {SAY}>Bye.</Say><Hangup/></Response>"],
        }))

    rows: list = []
    failures = live_check.run([path], live_check.Options("http://unused", None, False, call), rows)
    out = capsys.readouterr().out
    assert failures == 1, out
    assert "text-only word(s) ['reply']" in out and "missing: ['press 1']" in out


def test_voice_is_skipped_without_an_api(live_check, tmp_path, capsys):
    path = tmp_path / "live_walk.yml"
    path.write_text(yaml.safe_dump(spec({"name": "a call", "channels": ["voice"], "turns": [{"user": "hello"}]})))
    assert live_check.run([path], live_check.Options("http://unused", None, False), []) == 0
    assert "-- voice skipped: live_walk.yml: a call: no API to call (--api not given)" in capsys.readouterr().out


def test_a_callers_number_is_clear_of_every_texters(live_check, tmp_path):
    phones = live_check.Phones({"+447700900600"})
    phones.taken |= {"+447700900601"}
    numbers = {phones.generated(f"k{i}") for i in range(50)}
    assert not numbers & {"+447700900600", "+447700900601"} and len(numbers) == 50


# --- the harness against the API, in process ---------------------------------------------------------

def test_the_harness_is_accepted_by_the_api(anon, rasa):
    """Signed as the API checks, the turns posted where its TwiML says, and what it says parsed."""
    rasa.reply = lambda body: [{"text": "What was on the needle?", "buttons": [
        {"title": "blood", "payload": "1"}, {"title": "don't know", "payload": "5"}]}]

    def transport(path: str, params: dict[str, str]) -> str:
        response = anon.post(path, data=params,
                             headers={"X-Twilio-Signature": signature(TWILIO_TOKEN, PUBLIC + path, params)})
        assert response.status_code == 200, (path, response.status_code, response.text)
        return response.text

    call = TwilioCall(public_base_url=PUBLIC, sender="+447700900555", transport=transport)
    greeting = call.start()
    assert greeting.gather is not None and greeting.gather.action.startswith(PUBLIC)
    call.say("blood")
    call.press("2")
    silent = call.silence()
    # a spoken title and a key are both the button's payload
    assert [c["message"] for c in rasa.calls] == ["/greet", "1", "5"]
    assert silent.gather is not None and "What was on the needle?" in silent.says   # silence: asked again
    query = parse_qs(urlsplit(silent.gather.action).query)
    assert query.get("silence") == ["1"]
