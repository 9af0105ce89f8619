"""scripts/sms.py signs exactly as Twilio does: the API accepts its texts and call turns."""
from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest

from tests.api.channels.conftest import PUBLIC, TWILIO_TOKEN

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "sms.py"


@pytest.fixture(scope="module")
def sms_script():
    spec = importlib.util.spec_from_file_location("helpline_sms_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_texts_are_accepted(sms_script, anon, rasa):
    rasa.reply = lambda body: [{"text": "Hello.", "buttons": [{"title": "Yes", "payload": "/affirm"}]}]
    twilio = sms_script.Twilio(anon, api="http://testserver", public=PUBLIC, token=TWILIO_TOKEN)
    assert sms_script.sms(twilio, "hi", sender="+447700900123", to="+441134960000") == ["Hello.\n\nReply 1 for Yes."]
    assert rasa.calls[0]["message"] == "hi"


def test_a_wrong_token_is_refused_with_advice(sms_script, anon, rasa):
    twilio = sms_script.Twilio(anon, api="http://testserver", public=PUBLIC, token="not-the-token-000000000")
    with pytest.raises(SystemExit, match="TWILIO_AUTH_TOKEN"):
        sms_script.sms(twilio, "hi", sender="+447700900123", to="+441134960000")


def answers(*said: str):
    """ask() for the call walk: each answer in turn, then Ctrl-D (the caller hangs up)."""
    queue = list(said)
    prompts: list[str] = []

    def ask(prompt: str) -> str:
        prompts.append(prompt)
        if not queue:
            raise EOFError
        return queue.pop(0)

    ask.prompts = prompts
    return ask


def test_a_call_is_walked(sms_script, anon, rasa):
    rasa.reply = lambda body: [{"text": "Tell me what happened.", "buttons": [{"title": "needle", "payload": "1"},
                                                                             {"title": "splash", "payload": "2"}]}]
    twilio = sms_script.Twilio(anon, api="http://testserver", public=PUBLIC, token=TWILIO_TOKEN)
    ask = answers("1", "needle", "", "")   # a key, words, then silence twice
    shown: list[str] = []
    sms_script.call(twilio, sender="+447700900123", to="+441134960000", ask=ask, show=shown.append)
    # the key and the spoken title are the button's payload; silence is never relayed
    assert [c["message"] for c in rasa.calls] == ["/greet", "1", "1"]
    assert shown.count("bot: Tell me what happened.") == 5   # greeting, two answers, asked again after each silence
    assert ask.prompts[:4] == [sms_script.CALLER_PROMPT] * 4
    assert ask.prompts[4] == sms_script.KEYPAD_PROMPT        # two silences: the keypad only
    assert shown[-1] == "[you hung up]"


class CannedTwilio:
    """Twilio for sms.call() with canned TwiML per path; records what was posted."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = {path: list(bodies) for path, bodies in answers.items()}
        self.posts: list[tuple[str, dict[str, str]]] = []

    def path_of(self, url: str) -> str:
        parts = urlsplit(url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def post(self, path: str, params: dict[str, str]):
        self.posts.append((path, params))
        return SimpleNamespace(text=self.answers[urlsplit(path).path].pop(0))


SAY = 'voice="Polly.Amy" language="en-GB"'


def _dial(attempt: int, number: str, said: str) -> str:
    return (f'<Response><Say {SAY}>{said}</Say><Dial action="{PUBLIC}/twilio/voice/dial-status?attempt={attempt}">'
            f'<Number url="{PUBLIC}/twilio/voice/whisper?ref=SH-000001&amp;attempt={attempt}">{number}</Number>'
            f'</Dial></Response>')


def test_a_transfer_is_walked_practitioner_by_practitioner(sms_script):
    whisper = (f'<Response><Gather input="dtmf" numDigits="1" action="{PUBLIC}/twilio/voice/whisper/accept?'
               f'ref=SH-000001"><Say {SAY}>An emergency caller is waiting. Press 1 to take the call.</Say></Gather>'
               f'<Say {SAY}>No key pressed. Goodbye.</Say><Hangup/></Response>')
    twilio = CannedTwilio({
        "/twilio/voice": [f'<Response><Say {SAY}>Go to the emergency department now.</Say>'
                          f'<Gather input="speech dtmf" action="{PUBLIC}/twilio/voice/offer?turn=1">'
                          f'<Say {SAY}>To be put through now, say yes, or press 1.</Say></Gather></Response>'],
        "/twilio/voice/offer": [_dial(0, "+447700900101", "I am putting you through now.")],
        "/twilio/voice/dial-status": [_dial(1, "+447700900102", "I am trying the backup practitioner now."),
                                      f"<Response><Say {SAY}>Goodbye.</Say><Hangup/></Response>"],
        "/twilio/voice/whisper": [whisper, whisper],
        "/twilio/voice/whisper/accept": [f"<Response><Say {SAY}>Connecting you now.</Say></Response>"],
    })
    ask = answers("1", "no-answer", "")   # put through; the primary does not answer; the backup accepts
    shown: list[str] = []
    sms_script.call(twilio, sender="+447700900123", to="+441134960000", ask=ask, show=shown.append)
    assert ask.prompts[1:] == [sms_script.PRACTITIONER_PROMPT] * 2
    assert "[dialling +447700900101]" in shown and "[dialling +447700900102]" in shown
    assert "  (to the practitioner) An emergency caller is waiting. Press 1 to take the call." in shown
    assert "  (to the practitioner) Connecting you now." in shown
    assert shown[-2:] == ["bot: Goodbye.", "[call ended]"]
    posts = dict(twilio.posts)
    call_sid = twilio.posts[0][1]["CallSid"]
    assert posts["/twilio/voice/offer?turn=1"]["Digits"] == "1"
    assert posts["/twilio/voice/dial-status?attempt=0"]["DialCallStatus"] == "no-answer"
    accepted = posts["/twilio/voice/whisper/accept?ref=SH-000001"]
    assert accepted["Digits"] == "1" and accepted["ParentCallSid"] == call_sid and accepted["To"] == "+447700900102"
    completed = posts["/twilio/voice/dial-status?attempt=1"]
    assert completed["DialCallStatus"] == "completed" and completed["CallSid"] == call_sid


def test_env_file_is_read(sms_script, tmp_path, monkeypatch):
    monkeypatch.delenv("TWILIO_AUTH_TOKEN", raising=False)
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    env = tmp_path / ".env"
    env.write_text("# comment\nTWILIO_AUTH_TOKEN=abc123\nPUBLIC_BASE_URL='https://x.example'\n")
    assert sms_script.load_env(env) == {"TWILIO_AUTH_TOKEN": "abc123", "PUBLIC_BASE_URL": "https://x.example"}
