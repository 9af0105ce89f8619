"""Every Twilio webhook is refused unless the SDK's RequestValidator accepts its signature."""
from __future__ import annotations

import logging

import pytest

from api.models import Case, ConversationMessage
from tests.api.channels.conftest import PUBLIC, count, sign

SMS = {"MessageSid": "SM" + "1" * 32, "From": "+447700900123", "To": "+441134960000", "Body": "needlestick"}
CALL = {"CallSid": "CA" + "1" * 32, "From": "+447700900123", "To": "+441134960000"}
GATHER = {"CallSid": "CA" + "1" * 32, "From": "+447700900123", "SpeechResult": "a needle"}

ENDPOINTS = [
    ("/twilio/sms", SMS),
    ("/twilio/voice", CALL),
    ("/twilio/voice/gather?turn=1", GATHER),
    ("/twilio/voice/dial-status?attempt=0", {**CALL, "DialCallStatus": "no-answer"}),
    ("/twilio/voice/whisper?ref=SH-000001", CALL),
    ("/twilio/voice/whisper/accept?ref=SH-000001", {**CALL, "Digits": "1"}),
    ("/twilio/status", {"MessageSid": "SM" + "2" * 32, "MessageStatus": "delivered"}),
]


def _nothing_stored(session_factory):
    assert count(session_factory, ConversationMessage) == 0
    assert count(session_factory, Case) == 0


def test_valid_signature_passes(twilio, rasa, session_factory):
    response = twilio.post("/twilio/sms", SMS)
    assert response.status_code == 200
    assert count(session_factory, ConversationMessage, ConversationMessage.direction == "inbound") == 1
    assert len(rasa.calls) == 1


@pytest.mark.parametrize("path,params", ENDPOINTS)
def test_unsigned_is_403_and_nothing_stored(twilio, rasa, session_factory, caplog, path, params):
    with caplog.at_level(logging.WARNING, logger="helpline.channels.security"):
        response = twilio.post(path, params, signature="")
    assert response.status_code == 403
    assert "no X-Twilio-Signature" in caplog.text
    _nothing_stored(session_factory)
    assert rasa.calls == []


@pytest.mark.parametrize("path,params", ENDPOINTS)
def test_wrong_token_is_403(twilio, rasa, session_factory, path, params):
    response = twilio.post(path, params, token="someone-elses-token-0000000000")
    assert response.status_code == 403
    _nothing_stored(session_factory)
    assert rasa.calls == []


def test_altered_body_is_403(twilio, rasa, session_factory, caplog):
    tampered = {**SMS, "Body": "ACK SH-000001"}
    with caplog.at_level(logging.WARNING, logger="helpline.channels.security"):
        response = twilio.post("/twilio/sms", SMS, body=tampered)  # signed over SMS, sent tampered
    assert response.status_code == 403
    assert "does not match" in caplog.text
    _nothing_stored(session_factory)


def test_added_parameter_is_403(twilio, rasa, session_factory):
    response = twilio.post("/twilio/sms", SMS, body={**SMS, "NumMedia": "1"})
    assert response.status_code == 403
    _nothing_stored(session_factory)


@pytest.mark.parametrize("signed_url", [
    "http://127.0.0.1:8000/twilio/sms",            # the URL this process sees, not the public one
    PUBLIC + "/twilio/voice",                      # another endpoint's signature
    "https://evil.example.com/twilio/sms",
])
def test_wrong_url_is_403(twilio, rasa, session_factory, signed_url):
    response = twilio.post("/twilio/sms", SMS, signed_url=signed_url)
    assert response.status_code == 403
    _nothing_stored(session_factory)


def test_query_string_is_part_of_what_is_signed(twilio, rasa, session_factory):
    # Signed for turn=1, replayed against turn=2: refused.
    sig = sign(PUBLIC + "/twilio/voice/gather?turn=1", GATHER)
    response = twilio.post("/twilio/voice/gather?turn=2", GATHER, signature=sig)
    assert response.status_code == 403
    _nothing_stored(session_factory)


def test_public_url_with_port_is_accepted(twilio, rasa, session_factory):
    # Twilio sometimes signs with the explicit default port; the SDK accepts both forms.
    response = twilio.post("/twilio/sms", SMS, signed_url="https://helpline.example.nhs.uk:443/twilio/sms")
    assert response.status_code == 200


def test_no_token_configured_refuses_everything(app, twilio, rasa, session_factory):
    app.state.settings = app.state.settings.model_copy(update={"twilio_auth_token": ""})
    response = twilio.post("/twilio/sms", SMS)
    assert response.status_code == 403
    _nothing_stored(session_factory)
