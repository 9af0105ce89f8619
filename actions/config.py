"""Settings of the action server, read from the environment when asked for (never at
import), so tests and processes can change them without reloading modules."""
from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_API_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True)
class Settings:
    api_url: str
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


def get_settings() -> Settings:
    """Read the environment now. Cheap; call it per request."""
    return Settings(
        api_url=os.environ.get("HELPLINE_API_URL", "").strip().rstrip("/") or DEFAULT_API_URL,
        api_token=os.environ.get("HELPLINE_API_TOKEN", "").strip(),
        timeout_seconds=_float("HELPLINE_API_TIMEOUT", DEFAULT_TIMEOUT_SECONDS),
        connect_retries=int(_float("HELPLINE_API_CONNECT_RETRIES", 1)),
        oncall_phone=os.environ.get("HELPLINE_ONCALL_PHONE", "").strip(),
    )
