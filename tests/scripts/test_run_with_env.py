"""scripts/run_with_env.py: Rasa and the action server get only their own settings (issue #15)."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.run_with_env import PROFILES, child_env, parse_env_file

ROOT = Path(__file__).resolve().parents[2]
# Values of the kind make_env.py writes; the secrets neither Rasa nor the action server may hold.
DOT_ENV = """# a comment
ENVIRONMENT=development
DATABASE_URL=sqlite:///var/helpline.db
HELPLINE_API_TOKEN=operator-token-0123456789
HELPLINE_BOT_TOKEN=bot-token-0123456789
METRICS_TOKEN=metrics-token-0123456789
SESSION_SECRET=session-secret-0123456789
TWILIO_AUTH_TOKEN=twilio-token-0123456789
HELPLINE_API_URL=http://127.0.0.1:8000
RASA_URL=http://127.0.0.1:5005
RASA_TRACKER_DIALECT=sqlite
RASA_TRACKER_URL=
RASA_TRACKER_DB=var/rasa-tracker.db
RASA_TRACKER_USERNAME=
RASA_TRACKER_PASSWORD=
"""
NEVER = {"SESSION_SECRET", "TWILIO_AUTH_TOKEN", "HELPLINE_API_TOKEN", "METRICS_TOKEN", "DATABASE_URL"}
BASE = {"PATH": "/usr/bin:/bin", "HOME": "/home/h", "LANG": "C.UTF-8"}


def test_rasa_gets_the_tracker_settings_even_empty_and_no_secret():
    env = child_env("rasa", BASE, parse_env_file(DOT_ENV))
    assert env == {**BASE, "RASA_TRACKER_DIALECT": "sqlite", "RASA_TRACKER_URL": "",
                   "RASA_TRACKER_DB": "var/rasa-tracker.db", "RASA_TRACKER_USERNAME": "",
                   "RASA_TRACKER_PASSWORD": ""}


def test_the_action_server_gets_the_api_url_and_its_own_token_only():
    env = child_env("actions", {**BASE, "SANIC_HOST": "127.0.0.1"}, parse_env_file(DOT_ENV))
    assert env == {**BASE, "SANIC_HOST": "127.0.0.1", "ENVIRONMENT": "development",
                   "HELPLINE_API_URL": "http://127.0.0.1:8000", "HELPLINE_BOT_TOKEN": "bot-token-0123456789"}


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_secrets_in_the_environment_are_dropped_too(profile):
    # honcho puts all of .env into every process's environment: that is what is filtered.
    inherited = {**BASE, **parse_env_file(DOT_ENV), "AWS_SECRET_ACCESS_KEY": "x"}
    env = child_env(profile, inherited, {})
    assert not (NEVER | {"AWS_SECRET_ACCESS_KEY"}) & set(env)
    assert not ({"HELPLINE_BOT_TOKEN"} & set(env) and profile == "rasa")


def test_the_environment_wins_over_the_file():
    env = child_env("actions", {"HELPLINE_API_URL": "http://api.internal:8000"}, parse_env_file(DOT_ENV))
    assert env["HELPLINE_API_URL"] == "http://api.internal:8000"


def test_env_file_lines():
    assert parse_env_file("# c\n\nexport A=1\nB='two words'\nC=\"x=y\"\nD=\nnot a pair\n") == {
        "A": "1", "B": "two words", "C": "x=y", "D": ""}


def _interpolated(path: Path) -> set[str]:
    return set(re.findall(r"\$\{(\w+)\}", path.read_text())) - {"VAR"}  # "${VAR}" in a comment


@pytest.mark.parametrize("path", ["bot/endpoints.yml", "bot/credentials.yml", "deploy/scaled/endpoints.yml"])
def test_rasa_gets_every_variable_its_config_interpolates(path):
    # Rasa refuses to start with an unset ${VAR}; the commented lock store is included on purpose.
    needed = _interpolated(ROOT / path)
    assert all(PROFILES["rasa"].allows(name) for name in needed), sorted(needed)


def test_the_action_server_gets_every_setting_actions_read():
    source = "\n".join(p.read_text() for p in (ROOT / "actions").glob("*.py"))
    read = set(re.findall(r"environ(?:\.get)?[(\[]\s*[\"']([A-Z][A-Z0-9_]+)[\"']", source))
    assert {"HELPLINE_API_URL", "HELPLINE_BOT_TOKEN"} <= read
    # HELPLINE_API_TOKEN is read only as a development fallback; it is never handed over.
    assert all(PROFILES["actions"].allows(name) for name in read - {"HELPLINE_API_TOKEN"}), sorted(read)
    assert not PROFILES["actions"].allows("HELPLINE_API_TOKEN")


def test_the_procfile_starts_rasa_and_the_actions_through_it():
    lines = dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines()
                 if line and not line.startswith("#"))
    for name in ("rasa", "actions"):
        assert f"scripts/run_with_env.py {name} " in lines[name], lines[name]
    assert ". ./.env" not in (ROOT / "Procfile").read_text()


def test_the_command_runs_with_exactly_that_environment(tmp_path):
    (tmp_path / ".env").write_text(DOT_ENV)
    dump = "import json, os; print(json.dumps(dict(os.environ)))"
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "run_with_env.py"), "actions", "--env-file", str(tmp_path / ".env"),
         "--", sys.executable, "-c", dump],
        env={**BASE, "PATH": "/usr/bin:/bin", "SESSION_SECRET": "from-honcho"}, capture_output=True, text=True,
        check=True, cwd=tmp_path)
    env = json.loads(out.stdout)
    assert env["HELPLINE_BOT_TOKEN"] == "bot-token-0123456789"
    assert not NEVER & set(env)
