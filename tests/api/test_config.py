import pytest
from pydantic import ValidationError

from api.core.config import Settings


def test_production_refuses_placeholder_secrets():
    with pytest.raises(ValidationError, match="HELPLINE_API_TOKEN"):
        Settings(_env_file=None, environment="production", helpline_api_token="changethis",
                 session_secret="a-long-enough-session-secret-xyz")


def test_production_refuses_missing_twilio_token_when_twilio_is_configured():
    with pytest.raises(ValidationError, match="TWILIO_AUTH_TOKEN"):
        Settings(_env_file=None, environment="production", helpline_api_token="x" * 32, session_secret="y" * 32,
                 twilio_account_sid="AC123")


def test_development_only_warns():
    with pytest.warns(UserWarning, match="placeholder"):
        Settings(_env_file=None, environment="development")


def test_production_with_real_secrets_starts():
    s = Settings(_env_file=None, environment="production", helpline_api_token="x" * 32, session_secret="y" * 32)
    assert s.ack_seconds("emergency") == 300 and s.ack_seconds("urgent") == 900


def test_a_caller_waits_less_for_rasa_than_a_texter():
    settings = Settings(_env_file=None, environment="test")
    assert settings.rasa_timeout_for("voice") == settings.rasa_timeout_seconds_voice == 4.0
    assert settings.rasa_timeout_for("sms") == settings.rasa_timeout_for("web") == settings.rasa_timeout_seconds == 8.0
