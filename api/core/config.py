"""Settings from the environment (and `.env`), validated once at start-up."""
from __future__ import annotations

import logging
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger(__name__)

# The repository: relative paths in settings that are not database URLs are resolved against it.
REPO_ROOT = Path(__file__).resolve().parents[2]

# Values that mean "nobody set this": refused in production.
PLACEHOLDERS = {"", "changethis", "change-me", "changeme", "secret", "dev", "test"}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///var/helpline.db"
    public_base_url: str = "http://127.0.0.1:8000"

    # Secrets: no usable defaults. `make run` writes fresh development values into .env.
    helpline_api_token: str = ""
    session_secret: str = ""
    twilio_auth_token: str = ""
    twilio_account_sid: str = ""
    twilio_from_number: str = ""
    # What a caller hears: a British voice Twilio offers (Amazon Polly's Amy by default; any
    # <Say voice=...> name Twilio lists for en-GB) and the language of speech recognition.
    twilio_voice: str = "Polly.Amy"
    twilio_voice_language: str = "en-GB"
    # <Gather speechModel>: empty lets Twilio choose the speech-to-text model and fail over between
    # providers (its recommended default since 2025); set one (e.g. "googlev2_telephony") to pin it.
    twilio_speech_model: str = ""

    rasa_url: str = "http://127.0.0.1:5005"
    # Seconds the API waits for Rasa before answering with the safe answer and opening a case
    # (which pages the on-call practitioner: a false alarm costs someone's night). A text or a
    # web chat can wait a little (Twilio waits 15 s for the webhook); a caller hears silence.
    rasa_timeout_seconds: float = Field(8.0, gt=0)
    rasa_timeout_seconds_voice: float = Field(4.0, gt=0)

    def rasa_timeout_for(self, channel: str) -> float:
        return self.rasa_timeout_seconds_voice if channel == "voice" else self.rasa_timeout_seconds

    # Escalation policy. Seconds so that a real run can be made short for a demo.
    ack_seconds_emergency: float = Field(300, gt=0)
    ack_seconds_urgent: float = Field(900, gt=0)
    # A sharps case opened before any deciding answer holds its "nothing known" page this
    # long, so that the answers that follow decide; an emergency is never held.
    provisional_hold_seconds: float = Field(600, ge=0)
    worker_enabled: bool = True
    worker_interval_seconds: float = Field(1.0, gt=0)
    # Recovery (api/services/recovery.py): a turn still pending this long after it arrived has
    # no live request behind it (longer than any wait for Rasa), and an outbox text left
    # `sending` this long was taken by a process that died while sending.
    stale_turn_seconds: float = Field(120, gt=0)
    sending_lease_seconds: float = Field(120, gt=0)
    timezone: str = "Europe/London"

    log_level: str = "INFO"
    # json (one object per line, for log shippers) or text. Unset: text in development, json elsewhere.
    log_format: Literal["json", "text"] | None = None

    # Privacy housekeeping (api/services/retention.py): personal details and transcripts of a
    # case are removed this many days after it was closed (548 days, about 18 months).
    retention_days_after_closure: int = Field(548, ge=1)
    # Where a person's message is kept when the database refuses connections (api/services/spool.py).
    inbound_spool_dir: str = "var/spool"

    # Rasa's tracker store (every conversation's text and slots), pruned by retention and read by
    # subject access (api/services/tracker_store.py). The same variables as bot/endpoints.yml, so
    # one .env configures both. sqlite: RASA_TRACKER_DB is a file, relative to the repository;
    # postgresql: RASA_TRACKER_DB is the database, RASA_TRACKER_URL its host:port.
    rasa_tracker_dialect: Literal["sqlite", "postgresql"] = "sqlite"
    rasa_tracker_db: str = "var/rasa-tracker.db"
    rasa_tracker_url: str = ""
    rasa_tracker_username: str = ""
    rasa_tracker_password: str = ""
    # Rasa's own variable for a PostgreSQL schema other than the default (search_path).
    postgresql_schema: str = ""

    @field_validator("rasa_tracker_dialect", mode="before")
    @classmethod
    def _tracker_dialect(cls, value: object) -> object:
        # An empty RASA_TRACKER_DIALECT= means the default, as in the .env that `make run` writes.
        return (value.strip().lower() or "sqlite") if isinstance(value, str) else value

    @model_validator(mode="after")
    def _stale_turns_outlast_rasa(self) -> "Settings":
        slowest = max(self.rasa_timeout_seconds, self.rasa_timeout_seconds_voice)
        if self.stale_turn_seconds <= slowest + 10:
            raise ValueError(f"STALE_TURN_SECONDS must be more than the slowest Rasa timeout plus 10 s "
                             f"({slowest + 10:g}): a live turn would be answered twice")
        return self

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> "Settings":
        required = {
            "HELPLINE_API_TOKEN": self.helpline_api_token,
            "SESSION_SECRET": self.session_secret,
        }
        if self.twilio_account_sid:
            required["TWILIO_AUTH_TOKEN"] = self.twilio_auth_token
        weak = [name for name, value in required.items() if value.lower() in PLACEHOLDERS or len(value) < 16]
        if weak:
            message = f"missing or placeholder secrets: {', '.join(sorted(weak))}"
            if self.environment == "production":
                raise ValueError(message)
            warnings.warn(message, stacklevel=2)
        return self

    @property
    def twilio_enabled(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token and self.twilio_from_number)

    @property
    def effective_log_format(self) -> str:
        return self.log_format or ("text" if self.environment == "development" else "json")

    @property
    def rasa_tracker_sqlite_path(self) -> Path:
        """The tracker store's SQLite file (RASA_TRACKER_DB), relative paths from the repository."""
        path = Path(self.rasa_tracker_db or "var/rasa-tracker.db").expanduser()
        return path if path.is_absolute() else REPO_ROOT / path

    def ack_seconds(self, urgency: str) -> float:
        return self.ack_seconds_emergency if urgency == "emergency" else self.ack_seconds_urgent


@lru_cache
def get_settings() -> Settings:
    return Settings()
