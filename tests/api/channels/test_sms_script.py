"""scripts/sms.py signs exactly as Twilio does: the API accepts its texts and call turns."""
from __future__ import annotations

import importlib.util
from pathlib import Path

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


def test_a_call_is_walked(sms_script, anon, rasa):
    rasa.reply = lambda body: [{"text": "Tell me what happened.", "buttons": [{"title": "Needle", "payload": "1"}]}]
    twilio = sms_script.Twilio(anon, api="http://testserver", public=PUBLIC, token=TWILIO_TOKEN)
    answers = iter(["1", "", "", ""])  # a key press, then silence until the goodbye
    shown: list[str] = []
    sms_script.call(twilio, sender="+447700900123", to="+441134960000", ask=lambda _: next(answers),
                    show=shown.append)
    assert [c["message"] for c in rasa.calls] == ["/greet", "1"]
    assert any("did not hear anything" in s for s in shown)
    assert shown[-1] == "[call ended]"


def test_env_file_is_read(sms_script, tmp_path, monkeypatch):
    monkeypatch.delenv("TWILIO_AUTH_TOKEN", raising=False)
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    env = tmp_path / ".env"
    env.write_text("# comment\nTWILIO_AUTH_TOKEN=abc123\nPUBLIC_BASE_URL='https://x.example'\n")
    assert sms_script.load_env(env) == {"TWILIO_AUTH_TOKEN": "abc123", "PUBLIC_BASE_URL": "https://x.example"}
