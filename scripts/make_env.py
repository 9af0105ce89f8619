"""Writes .env with fresh development secrets on first run. Never overwrites an existing file."""
from __future__ import annotations

import secrets
import sys
from pathlib import Path


def main(path: str = ".env") -> int:
    target = Path(path)
    if target.exists():
        return 0
    values = {
        "ENVIRONMENT": "development",
        "HELPLINE_API_TOKEN": secrets.token_urlsafe(32),
        "SESSION_SECRET": secrets.token_urlsafe(32),
        # A development token lets the offline tools sign webhooks exactly as Twilio does.
        "TWILIO_AUTH_TOKEN": secrets.token_hex(16),
        "PUBLIC_BASE_URL": "http://127.0.0.1:8000",
        "DATABASE_URL": "sqlite:///var/helpline.db",
        # The action server's way to the API (it sends HELPLINE_API_TOKEN).
        "HELPLINE_API_URL": "http://127.0.0.1:8000",
        # Rasa refuses to start with an unset ${VAR} in bot/endpoints.yml, so all are written.
        "RASA_TRACKER_DIALECT": "sqlite",
        "RASA_TRACKER_URL": "",
        "RASA_TRACKER_DB": "var/rasa-tracker.db",
        "RASA_TRACKER_USERNAME": "",
        "RASA_TRACKER_PASSWORD": "",
    }
    target.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    target.chmod(0o600)
    print(f"wrote {target} with fresh development secrets")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
