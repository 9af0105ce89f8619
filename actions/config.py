"""Settings of the action server, read from the environment when asked for (never at
import), so tests and processes can change them without reloading modules."""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass

logger = logging.getLogger(__name__)

DEFAULT_API_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True)
class Settings:
    api_url: str
    #: HELPLINE_BOT_TOKEN: the API lets it do only what the actions do (api/deps.py)
    api_token: str
    timeout_seconds: float
    connect_retries: int
    # Shown only when the API cannot be reached; empty = no number configured.
    oncall_phone: str


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    try:
        return float(raw) if raw else default
    except ValueError:
        return default


_warned: set[str] = set()


def _warn_once(message: str, *, level: int = logging.WARNING) -> None:
    """Settings are read per request: say it once per process, not once per turn."""
    if message not in _warned:
        _warned.add(message)
        logger.log(level, message)


def api_token() -> str:
    """HELPLINE_BOT_TOKEN, the action server's own token. Outside production an older .env that
    has only the operator's HELPLINE_API_TOKEN still works (with a warning); in production the
    operator's token is never used here: without the bot token every call is refused (401)."""
    token = os.environ.get("HELPLINE_BOT_TOKEN", "").strip()
    if token:
        return token
    production = os.environ.get("ENVIRONMENT", "").strip().lower() == "production"
    fallback = os.environ.get("HELPLINE_API_TOKEN", "").strip()
    if production:
        _warn_once("HELPLINE_BOT_TOKEN is not set: the API will refuse the action server's calls "
                   "(production never falls back to the operator's HELPLINE_API_TOKEN)", level=logging.ERROR)
        return ""
    if fallback:
        _warn_once("HELPLINE_BOT_TOKEN is not set: using HELPLINE_API_TOKEN, the operator's full token "
                   "(development only; run `make env` or add HELPLINE_BOT_TOKEN to .env)")
    return fallback


def get_settings() -> Settings:
    """Read the environment now. Cheap; call it per request."""
    return Settings(
        api_url=os.environ.get("HELPLINE_API_URL", "").strip().rstrip("/") or DEFAULT_API_URL,
        api_token=api_token(),
        timeout_seconds=_float("HELPLINE_API_TIMEOUT", DEFAULT_TIMEOUT_SECONDS),
        connect_retries=int(_float("HELPLINE_API_CONNECT_RETRIES", 1)),
        oncall_phone=os.environ.get("HELPLINE_ONCALL_PHONE", "").strip(),
    )
