"""Start Rasa or the action server with only its own settings (issue #15, least privilege).

    python scripts/run_with_env.py PROFILE [--env-file .env] -- COMMAND [ARG ...]

honcho hands every process the whole .env, and the Procfile used to source .env for Rasa:
both then held SESSION_SECRET (which signs staff sessions), TWILIO_AUTH_TOKEN (which proves
a webhook came from Twilio) and the operator's HELPLINE_API_TOKEN, none of which they use.
This starts COMMAND with a fresh environment: the process's plumbing (PATH, HOME, locale ...)
and the settings its PROFILE names, nothing else. Values come from the environment, else from
the env file: honcho drops empty values, and Rasa refuses an unset ${VAR} in bot/endpoints.yml.

Standard library only: it runs under either virtual environment (Python 3.10 or 3.11).
"""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Profile:
    names: frozenset[str]
    prefixes: tuple[str, ...] = ()

    def allows(self, name: str) -> bool:
        return name in self.names or name.startswith(self.prefixes)


#: What any process needs to run at all; no setting of the helpline among them.
PLUMBING = Profile(
    names=frozenset({"PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TERM", "PORT",
                     "PYTHONUNBUFFERED", "PYTHONHASHSEED", "PYTHONDONTWRITEBYTECODE", "SSL_CERT_FILE",
                     "SSL_CERT_DIR", "VIRTUAL_ENV", "OMP_NUM_THREADS"}),
    # TensorFlow's knobs (the Makefile's TF_CPP_MIN_LOG_LEVEL and TF_DETERMINISTIC_OPS)
    prefixes=("LC_", "TF_"),
)

PROFILES: dict[str, Profile] = {
    # actions/config.py reads these (HELPLINE_BOT_TOKEN: the API lets it do only what the actions
    # do). ENVIRONMENT decides whether a missing bot token may fall back (never in production; and
    # the operator's token is not handed over here anyway). rasa_sdk reads SANIC_HOST and its
    # worker count and library log level.
    "actions": Profile(
        names=frozenset({"HELPLINE_API_URL", "HELPLINE_BOT_TOKEN", "HELPLINE_API_TIMEOUT",
                         "HELPLINE_API_CONNECT_RETRIES", "HELPLINE_ONCALL_PHONE", "ENVIRONMENT",
                         "ACTION_SERVER_SANIC_WORKERS", "LOG_LEVEL_LIBRARIES"}),
        prefixes=("SANIC_",),
    ),
    # What bot/endpoints.yml and deploy/scaled/endpoints.yml interpolate (the tracker store, the
    # lock store, the action server's address; bot/credentials.yml interpolates nothing), and what
    # Rasa itself reads from the environment.
    "rasa": Profile(
        names=frozenset({"ACTION_ENDPOINT_URL", "POSTGRESQL_SCHEMA", "LOG_LEVEL", "LOG_LEVEL_LIBRARIES",
                         "SQL_POOL_SIZE", "SQL_MAX_OVERFLOW", "TICKET_LOCK_LIFETIME", "MAX_NUMBER_OF_PREDICTIONS",
                         "RASA_TELEMETRY_ENABLED"}),
        prefixes=("RASA_TRACKER_", "RASA_LOCK_REDIS_", "SANIC_"),
    ),
}


def parse_env_file(text: str) -> dict[str, str]:
    """KEY=VALUE lines as make_env.py writes them (and as `. ./.env` read them): comments and
    blank lines skipped, an optional `export `, one pair of surrounding quotes removed."""
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        key = key.strip()
        if key.startswith("export "):
            key = key[len("export "):].strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        if key:
            values[key] = value
    return values


def child_env(profile: str, environ: Mapping[str, str], file_values: Mapping[str, str]) -> dict[str, str]:
    """The environment the process gets: its plumbing and its own settings, the environment
    winning over the file (as pydantic-settings and honcho have it)."""
    own = PROFILES[profile]
    merged = {**file_values, **environ}
    return {k: v for k, v in merged.items() if PLUMBING.allows(k) or own.allows(k)}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # Everything after the first "--" is the command, left exactly as given.
    split = argv.index("--") if "--" in argv else len(argv)
    own, command = argv[:split], argv[split + 1:]
    parser = argparse.ArgumentParser(usage="run_with_env.py PROFILE [--env-file .env] -- COMMAND [ARG ...]",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("profile", choices=sorted(PROFILES))
    parser.add_argument("--env-file", default=".env", help="read settings missing from the environment here")
    args = parser.parse_args(own)
    if not command:
        parser.error("no command given (put it after --)")
    env_file = Path(args.env_file)
    file_values = parse_env_file(env_file.read_text()) if env_file.is_file() else {}
    env = child_env(args.profile, os.environ, file_values)
    sys.stdout.flush()
    os.execvpe(command[0], command, env)
    return 127  # not reached: exec replaced this process


if __name__ == "__main__":
    sys.exit(main())
