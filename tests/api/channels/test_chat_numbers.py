"""The chat page offers the helpline's phone and text numbers (HELPLINE_PHONE_NUMBER,
HELPLINE_SMS_NUMBER, else TWILIO_FROM_NUMBER), also to a browser without JavaScript, and never
promises a number nobody configured."""
from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from api.core.config import Settings
from api.main import create_app


def _page(settings, clock, session_factory, **numbers: str) -> str:
    app = create_app(settings.model_copy(update=numbers), clock=clock)
    app.state.session_factory = session_factory
    with TestClient(app) as client:
        response = client.get("/chat")
    assert response.status_code == 200
    return response.text


def _noscript(html: str) -> str:
    """The words of the message a browser without JavaScript shows."""
    inner = re.search(r"<noscript>(.*?)</noscript>", html, re.S).group(1)
    return " ".join(re.sub(r"<[^>]+>", "", inner).split())


def test_the_page_shows_both_numbers_as_links_and_in_the_no_javascript_message(settings, clock, session_factory):
    html = _page(settings, clock, session_factory, helpline_phone_number="+443001234567",
                 helpline_sms_number="07700 900123")
    assert '<a href="tel:+443001234567"><strong>0300 123 4567</strong></a>' in html
    assert '<a href="sms:+447700900123"><strong>07700 900123</strong></a>' in html
    assert _noscript(html) == ("This chat needs JavaScript. You can phone the helpline on 0300 123 4567 "
                               "or text 07700 900123 instead.")
    assert 'href="tel:+443001234567"' in re.search(r"<noscript>.*?</noscript>", html, re.S).group(0)
    assert "text or phone the helpline" not in html


def test_texts_go_to_the_twilio_number_when_no_sms_number_is_set(settings, clock, session_factory):
    html = _page(settings, clock, session_factory, twilio_from_number="+447700900555")
    assert 'href="sms:+447700900555"' in html and "tel:+44" not in html
    assert _noscript(html) == "This chat needs JavaScript. You can text the helpline on 07700 900555 instead."


def test_without_numbers_the_page_promises_none(settings, clock, session_factory):
    html = _page(settings, clock, session_factory, helpline_phone_number="", helpline_sms_number="",
                 twilio_from_number="")
    assert 'href="sms:' not in html and 'href="tel:"' not in html and 'id="other-ways"' not in html
    assert "phone the helpline" not in html and "text the helpline" not in html
    assert _noscript(html) == "This chat needs JavaScript. For advice now, call NHS 111. In an emergency, call 999."


def test_an_sms_sender_that_is_no_number_is_not_offered(settings, clock, session_factory):
    html = _page(settings, clock, session_factory, twilio_from_number="OHHELPLINE")
    assert 'href="sms:' not in html


def test_a_helpline_number_must_be_a_phone_number():
    with pytest.raises(ValidationError, match="HELPLINE_PHONE_NUMBER 'call us' is not a phone number"):
        Settings(_env_file=None, helpline_phone_number="call us")
    assert Settings(_env_file=None, helpline_sms_number=" 0300 123 4567 ").helpline_sms_number == "0300 123 4567"
