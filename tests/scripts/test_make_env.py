from scripts.make_env import main


def test_first_run_writes_fresh_secrets(tmp_path):
    env = tmp_path / ".env"
    main(str(env))
    text = env.read_text()
    assert "HELPLINE_API_TOKEN=" in text and "RASA_TRACKER_DB=var/rasa-tracker.db" in text
    assert oct(env.stat().st_mode)[-3:] == "600"
    other = tmp_path / "other.env"
    main(str(other))
    token = lambda t: next(line for line in t.splitlines() if line.startswith("HELPLINE_API_TOKEN="))  # noqa: E731
    assert token(text) != token(other.read_text())


def test_existing_file_keeps_its_values_and_gains_missing_keys(tmp_path):
    env = tmp_path / ".env"
    env.write_text("HELPLINE_API_TOKEN=mine-keep-it\nDATABASE_URL=postgresql+psycopg://x/y")
    main(str(env))
    text = env.read_text()
    assert "HELPLINE_API_TOKEN=mine-keep-it\n" in text and "DATABASE_URL=postgresql+psycopg://x/y\n" in text
    assert text.count("HELPLINE_API_TOKEN=") == 1
    assert "RASA_TRACKER_DIALECT=sqlite" in text


def _value(text: str, key: str) -> str:
    return next(line.split("=", 1)[1] for line in text.splitlines() if line.startswith(f"{key}="))


def test_three_distinct_fresh_tokens(tmp_path):
    # Least privilege (issue #15): the operator's, the action server's and Prometheus's tokens
    # are separate, so the bot's token cannot do what the operator's does.
    env = tmp_path / ".env"
    main(str(env))
    text = env.read_text()
    tokens = [_value(text, k) for k in ("HELPLINE_API_TOKEN", "HELPLINE_BOT_TOKEN", "METRICS_TOKEN")]
    assert len(set(tokens)) == 3 and all(len(t) >= 32 for t in tokens)


def test_an_older_env_gains_the_bot_and_metrics_tokens(tmp_path):
    env = tmp_path / ".env"
    env.write_text("HELPLINE_API_TOKEN=the-operators-own-token\n")
    main(str(env))
    text = env.read_text()
    assert _value(text, "HELPLINE_API_TOKEN") == "the-operators-own-token"
    assert _value(text, "HELPLINE_BOT_TOKEN") not in ("", "the-operators-own-token")
    assert _value(text, "METRICS_TOKEN") not in ("", "the-operators-own-token", _value(text, "HELPLINE_BOT_TOKEN"))
