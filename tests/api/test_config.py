import random
import string

import pytest
from pydantic import ValidationError

from api.core import secret_rules
from api.core.config import (
    REPO_ROOT,
    SECRETS_OPTIONAL_IN_PRODUCTION,
    SECRETS_REQUIRED_IN_PRODUCTION,
    Settings,
)

ALL_SECRETS = SECRETS_REQUIRED_IN_PRODUCTION + SECRETS_OPTIONAL_IN_PRODUCTION
URLSAFE = string.ascii_letters + string.digits + "-_"


def random_secret(seed: int, alphabet: str = URLSAFE, length: int = 43) -> str:
    """A value like scripts/make_env.py writes (token_urlsafe(32)), from a fixed seed."""
    rng = random.Random(seed)
    return "".join(rng.choice(alphabet) for _ in range(length))


def strong(**overrides) -> dict:
    """Production settings that pass: every secret set, random and different."""
    values = {name.lower(): random_secret(i) for i, name in enumerate(ALL_SECRETS)}
    values["twilio_auth_token"] = random_secret(99, "0123456789abcdef", 32)  # Twilio's own shape
    return {"_env_file": None, "environment": "production", **values, **overrides}


def example_secrets() -> list[tuple[str, str, str]]:
    """(file, key, value) of every secret-like assignment in the repository's example files."""
    found = []
    for path in secret_rules.example_files(REPO_ROOT):
        for key, value in secret_rules.assignments(path.read_text(encoding="utf-8")):
            if secret_rules._SECRET_KEY.search(key):
                found.append((str(path.relative_to(REPO_ROOT)), key, value))
    return found


def test_the_example_files_are_found():
    names = {str(p.relative_to(REPO_ROOT)) for p in secret_rules.example_files(REPO_ROOT)}
    assert {".env.example", "deploy/scaled/scaled.env.example"} <= names
    assert any(value == "CHANGE-ME-at-least-16-characters" for _, _, value in example_secrets())


@pytest.mark.parametrize("secret", ALL_SECRETS)
@pytest.mark.parametrize(("where", "key", "value"), example_secrets(),
                         ids=[f"{w}:{k}" for w, k, _ in example_secrets()])
def test_production_refuses_each_example_secret(secret, where, key, value):
    with pytest.raises(ValidationError, match=f"{secret} is a (placeholder|value published in)"):
        Settings(**strong(**{secret.lower(): value}))


@pytest.mark.parametrize("secret", ALL_SECRETS)
def test_an_example_value_with_more_after_it_is_refused_too(secret):
    with pytest.raises(ValidationError, match=f"{secret} is a value published in deploy/scaled/scaled.env.example"):
        Settings(**strong(**{secret.lower(): "CHANGE-ME-at-least-16-characters-" + random_secret(7, length=12)}))


def test_a_value_added_to_an_example_file_is_refused_without_a_code_change(tmp_path):
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "compose.sample.yml").write_text(
        "services:\n  api:\n    environment:\n      - SESSION_SECRET=" + random_secret(5) + "\n"
        "      DATABASE_URL: postgresql://u:" + random_secret(6) + "@db/h\n")
    published = secret_rules.published(tmp_path)
    assert secret_rules.weakness(random_secret(5), published) == "a value published in deploy/compose.sample.yml"
    assert secret_rules.weakness(random_secret(6), published) == "a value published in deploy/compose.sample.yml"
    assert secret_rules.weakness(random_secret(8), published) is None


def test_without_example_files_the_other_checks_still_apply(tmp_path, monkeypatch):
    monkeypatch.setattr("api.core.config.REPO_ROOT", tmp_path)  # an install of the code alone
    Settings(**strong(helpline_api_token="CHANGE-ME-at-least-16-characters-" + random_secret(3, length=12)))
    with pytest.raises(ValidationError, match="HELPLINE_API_TOKEN is shorter than 32"):
        Settings(**strong(helpline_api_token=random_secret(1, length=31)))


@pytest.mark.parametrize("secret", ALL_SECRETS)
@pytest.mark.parametrize(("value", "reason"), [
    (random_secret(11, length=31), "shorter than 32 characters"),
    ("x" * 40, "too few distinct characters"),
    ("passwordpasswordpasswordpassword", "too few distinct characters"),
    ("0123456789abcdef0123456789abcdef", "too predictable"),
    ("aB3" + "a" * 37, "too few distinct characters"),
    ("abcdefghijkl" + "a" * 30, "too predictable"),
], ids=["short", "one-character", "a-word-repeated", "a-block-repeated", "three-characters", "mostly-one"])
def test_production_refuses_short_or_guessable_secrets(secret, value, reason):
    with pytest.raises(ValidationError, match=f"{secret} is {reason}"):
        Settings(**strong(**{secret.lower(): value}))


def test_random_tokens_of_every_real_shape_pass():
    # make_env.py's token_urlsafe(32), Twilio's 32 hex digits, and a 32-character [a-z0-9] one.
    for seed in range(200):
        for alphabet, length in ((URLSAFE, 43), ("0123456789abcdef", 32), (string.ascii_lowercase + string.digits, 32)):
            assert secret_rules.weakness(random_secret(seed, alphabet, length), secret_rules.Published()) is None


def test_production_refuses_placeholder_secrets():
    with pytest.raises(ValidationError, match="HELPLINE_API_TOKEN"):
        Settings(**strong(helpline_api_token="changethis"))


def test_production_refuses_a_missing_twilio_token_even_without_an_account():
    # The webhooks are always served and the token is what verifies them.
    with pytest.raises(ValidationError, match="TWILIO_AUTH_TOKEN is missing"):
        Settings(**strong(twilio_auth_token="", twilio_account_sid=""))


def test_production_refuses_missing_twilio_token_when_twilio_is_configured():
    with pytest.raises(ValidationError, match="TWILIO_AUTH_TOKEN"):
        Settings(**strong(twilio_auth_token="", twilio_account_sid="AC123"))


@pytest.mark.parametrize("secret", SECRETS_REQUIRED_IN_PRODUCTION)
def test_production_refuses_each_missing_required_secret(secret):
    with pytest.raises(ValidationError, match=f"{secret} is missing"):
        Settings(**strong(**{secret.lower(): ""}))


@pytest.mark.parametrize("secret", SECRETS_OPTIONAL_IN_PRODUCTION)
def test_the_bot_and_metrics_tokens_may_be_left_unset(secret):
    Settings(**strong(**{secret.lower(): ""}))


@pytest.mark.parametrize(("first", "second"), [
    ("HELPLINE_API_TOKEN", "HELPLINE_BOT_TOKEN"), ("HELPLINE_API_TOKEN", "METRICS_TOKEN"),
    ("HELPLINE_BOT_TOKEN", "METRICS_TOKEN"), ("SESSION_SECRET", "HELPLINE_API_TOKEN"),
])
def test_production_refuses_two_secrets_with_one_value(first, second):
    shared = random_secret(42)
    either = f"{second} has the same value as {first}|{first} has the same value as {second}"
    with pytest.raises(ValidationError, match=either):
        Settings(**strong(**{first.lower(): shared, second.lower(): shared}))


def test_a_refusal_never_shows_the_secret():
    value = random_secret(12, length=20)
    with pytest.raises(ValidationError) as refused:
        Settings(**strong(session_secret=value))
    assert value not in str(refused.value)


def test_development_only_warns():
    with pytest.warns(UserWarning, match="placeholder"):
        Settings(_env_file=None, environment="development")


def test_development_accepts_what_production_refuses():
    Settings(_env_file=None, environment="development", helpline_api_token="x" * 32, session_secret="y" * 32)


def test_production_with_real_secrets_starts():
    s = Settings(**strong())
    assert s.ack_seconds("emergency") == 300 and s.ack_seconds("urgent") == 900


def test_a_caller_waits_less_for_rasa_than_a_texter():
    settings = Settings(_env_file=None, environment="test")
    assert settings.rasa_timeout_for("voice") == settings.rasa_timeout_seconds_voice == 4.0
    assert settings.rasa_timeout_for("sms") == settings.rasa_timeout_for("web") == settings.rasa_timeout_seconds == 8.0
