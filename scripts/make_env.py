"""Writes .env with fresh development secrets on first run.

An existing .env is never overwritten: only settings it lacks (added by a newer version of
the project) are appended, so an upgrade does not leave Rasa refusing to start.
"""
from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path


def defaults() -> dict[str, str]:
    return {
        "ENVIRONMENT": "development",
        # The operator's token: everything under /api/ (scripts, integrations, subject access).
        "HELPLINE_API_TOKEN": secrets.token_urlsafe(32),
        # The action server's token: only what the actions do, on their own conversation's cases.
        "HELPLINE_BOT_TOKEN": secrets.token_urlsafe(32),
        # Prometheus's token: GET /metrics and nothing else.
        "METRICS_TOKEN": secrets.token_urlsafe(32),
        "SESSION_SECRET": secrets.token_urlsafe(32),
        # A development token lets the offline tools sign webhooks exactly as Twilio does.
        "TWILIO_AUTH_TOKEN": secrets.token_hex(16),
        "PUBLIC_BASE_URL": "http://127.0.0.1:8000",
        "DATABASE_URL": "sqlite:///var/helpline.db",
        # The action server's way to the API (it sends HELPLINE_BOT_TOKEN).
        "HELPLINE_API_URL": "http://127.0.0.1:8000",
        # Rasa refuses to start with an unset ${VAR} in bot/endpoints.yml, so all are written.
        "RASA_TRACKER_DIALECT": "sqlite",
        "RASA_TRACKER_URL": "",
        "RASA_TRACKER_DB": "var/rasa-tracker.db",
        "RASA_TRACKER_USERNAME": "",
        "RASA_TRACKER_PASSWORD": "",
    }


def existing_keys(text: str) -> set[str]:
    return {line.split("=", 1)[0].strip() for line in text.splitlines() if "=" in line and not line.startswith("#")}


def write_private(target: Path, text: str) -> None:
    """The secrets are the owner's alone from the first byte (created 0600, not chmod-ed after),
    and an older .env that others could read is narrowed when it is written."""
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(text)


def main(path: str = ".env") -> int:
    target = Path(path)
    values = defaults()
    if target.exists():
        text = target.read_text()
        missing = {k: v for k, v in values.items() if k not in existing_keys(text)}
        if missing:
            sep = "" if text.endswith("\n") or not text else "\n"
            write_private(target, text + sep + "".join(f"{k}={v}\n" for k, v in missing.items()))
            print(f"added to {target}: {', '.join(missing)}")
        return 0
    write_private(target, "".join(f"{k}={v}\n" for k, v in values.items()))
    print(f"wrote {target} with fresh development secrets")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
