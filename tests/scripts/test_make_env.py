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
