"""Settings from the environment (and `.env`), validated once at start-up."""
from __future__ import annotations

import ipaddress
import logging
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from limits import parse as parse_rate
from limits import parse_many
from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from api.core import phones, secret_rules

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
    helpline_api_token: str = ""   # the operator's token: everything the API offers
    # Least privilege (issue #15): the action server's token may only do what the bot needs, and
    # Prometheus's only read /metrics.
    helpline_bot_token: str = ""
    metrics_token: str = ""
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
    # The helpline's own numbers, offered on the public chat page (tel: and sms: links, and in the
    # message shown when the browser runs no JavaScript). Empty: the page does not offer that way in.
    helpline_phone_number: str = ""
    # Empty: TWILIO_FROM_NUMBER, the number the helpline's texts come from and are answered on.
    helpline_sms_number: str = ""

    @field_validator("helpline_phone_number", "helpline_sms_number")
    @classmethod
    def _helpline_number(cls, value: str, info: ValidationInfo) -> str:
        value = value.strip()
        if value:
            if phones.parse(value) is None:
                raise ValueError(f"{(info.field_name or '').upper()} '{value}' is not a phone number such as "
                                 "0300 123 4567 or +443001234567")
        return value

    @property
    def helpline_sms(self) -> str:
        """The number people may text: HELPLINE_SMS_NUMBER, else the number texts are sent from."""
        return self.helpline_sms_number or self.twilio_from_number

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
    # Pages that cannot be abused (issue #15; api/domain/page_gate.py): cases from one source (a
    # phone number, a web chat conversation or client) that would page within this window attach
    # to the first case's page instead of starting a ladder each; a source a practitioner marks as
    # abuse has its pages held this long (an emergency or a crisis still pages, once per window).
    page_group_window_seconds: float = Field(1800, gt=0)
    abuse_silence_seconds: float = Field(86400, gt=0)
    timezone: str = "Europe/London"
    # Practitioner reviews (issue #17; api/services/reviews.py): a triaged case with no review this
    # many days after it was opened is listed for the clinical lead in the concordance report.
    review_due_days: int = Field(7, ge=1, le=365)
    # Follow-ups (issue #18; api/domain/follow_ups.py): reminder texts to the worker go from this
    # London hour on the working day a follow-up is due; overdue alerts to the case owner from this
    # hour on the first working day after it.
    follow_up_reminder_hour: int = Field(8, ge=0, le=23)
    follow_up_alert_hour: int = Field(9, ge=0, le=23)

    log_level: str = "INFO"
    # json (one object per line, for log shippers) or text. Unset: text in development, json elsewhere.
    log_format: Literal["json", "text"] | None = None

    # Sign-in throttling (issue #15; api/web/throttle.py): failed sign-ins one client address may
    # make in a moving window (a `limits` rate, e.g. "20/15minutes") before /login answers 429
    # without checking passwords. Counted in the door limits' store, by their client address rule.
    sign_in_ip_limit: str = "20/15minutes"

    @field_validator("sign_in_ip_limit")
    @classmethod
    def _sign_in_rate(cls, value: str) -> str:
        try:
            rate = parse_rate(value)
        except ValueError:
            rate = None
        if rate is None or rate.amount < 1:
            raise ValueError(f"SIGN_IN_IP_LIMIT '{value}' is not a rate such as '20/15minutes'")
        return value

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

    # Abuse-resistant public doors (issue #15; api/services/door_limits.py): how fast one client may
    # reach the bot through the web chat, SMS and voice. A message over a limit is still stored and
    # answered with the safety advice (first aid, emergency department, 999, the crisis numbers),
    # but it is not relayed to Rasa and opens no case, so it pages nobody. Rates in the `limits`
    # notation ("2/5seconds"), several joined by commas, each a moving window. Within one
    # conversation the limits are far above a person's pace: a message not relayed is a fact the bot
    # never hears, and one conversation is one case, so it cannot multiply pages. What multiplies
    # pages is new conversations (limited per address here) and repeated cases (paging's grouping).
    door_limit_chat_conversation: str = "20/minute,200/hour"  # messages in one web chat conversation
    door_limit_chat_client: str = "60/minute,600/hour"  # messages from one client address (a hospital's NAT is one)
    door_limit_chat_new: str = "3/minute,30/hour"  # new web chat conversations from one client address
    door_limit_chat_history: str = "30/minute,300/hour"  # history reads from one client address (over: 429)
    door_limit_sms_number: str = "20/minute,200/hour"  # texts from one number
    door_limit_voice_number: str = "3/5minutes,10/hour"  # calls from one number
    door_limit_voice_call: str = "30/minute"  # answers within one call (each is spoken: a person is far slower)
    # Where the counts live: a `limits` storage URI; empty is Redis when RASA_LOCK_REDIS_HOST is set
    # (the scaled set-up's, so every API process shares the counts), else this process's memory.
    door_limit_storage_uri: str = ""
    rasa_lock_redis_host: str = ""
    rasa_lock_redis_port: str = "6379"
    rasa_lock_redis_password: str = ""
    rasa_lock_redis_db: str = "1"
    # Reverse proxies (addresses or networks, comma-separated) whose X-Forwarded-For names the
    # client; from any other peer the header is ignored. Empty: trust none.
    trusted_proxies: str = ""

    @field_validator("door_limit_chat_conversation", "door_limit_chat_client", "door_limit_chat_new",
                     "door_limit_chat_history", "door_limit_sms_number", "door_limit_voice_number",
                     "door_limit_voice_call")
    @classmethod
    def _door_rates(cls, value: str, info: ValidationInfo) -> str:
        try:
            rates = parse_many(value)
        except ValueError:
            rates = []
        if not rates or any(rate.amount < 1 for rate in rates):
            raise ValueError(f"{(info.field_name or '').upper()} '{value}' is not a rate such as '2/5seconds' "
                             "(several joined by commas)")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        for part in filter(None, (p.strip() for p in value.split(","))):
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise ValueError(f"TRUSTED_PROXIES: '{part}' is not an address or network") from None
        return value

    @property
    def door_limit_storage(self) -> str:
        """The storage URI the door limits use (see door_limit_storage_uri)."""
        if self.door_limit_storage_uri:
            return self.door_limit_storage_uri
        if self.rasa_lock_redis_host:
            auth = f":{quote(self.rasa_lock_redis_password, safe='')}@" if self.rasa_lock_redis_password else ""
            return (f"redis://{auth}{self.rasa_lock_redis_host}:{self.rasa_lock_redis_port or '6379'}"
                    f"/{self.rasa_lock_redis_db or '0'}")
        return "memory://"

    @property
    def trusted_proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in self.trusted_proxies.split(",")
                     if p.strip())

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
        if self.environment == "production":
            # Production refuses to start rather than serve anything with a guessable secret.
            problems = production_secret_problems(self, secret_rules.published(REPO_ROOT))
            if problems:
                raise ValueError("unsafe secrets for production: " + "; ".join(problems))
            return self
        required = {
            "HELPLINE_API_TOKEN": self.helpline_api_token,
            "SESSION_SECRET": self.session_secret,
        }
        if self.twilio_account_sid:
            required["TWILIO_AUTH_TOKEN"] = self.twilio_auth_token
        weak = [name for name, value in required.items() if value.lower() in PLACEHOLDERS or len(value) < 16]
        if weak:
            warnings.warn(f"missing or placeholder secrets: {', '.join(sorted(weak))}", stacklevel=2)
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


# Production secrets (issue #15; the rules are in api/core/secret_rules.py). TWILIO_AUTH_TOKEN
# verifies every Twilio webhook and those routes are always served, so it is required whether or
# not an account is set to send texts. The bot's and Prometheus's tokens may be left empty (their
# doors then stay shut) but never weak, and no two secrets may share a value: one leaked token must
# not open another's door.
# The action server never falls back to the operator's token in production (actions/config.py),
# so without HELPLINE_BOT_TOKEN the bot could not open a case: required.
SECRETS_REQUIRED_IN_PRODUCTION = ("HELPLINE_API_TOKEN", "HELPLINE_BOT_TOKEN", "SESSION_SECRET", "TWILIO_AUTH_TOKEN")
SECRETS_OPTIONAL_IN_PRODUCTION = ("METRICS_TOKEN",)


def production_secret_problems(settings: Settings, examples: secret_rules.Published) -> list[str]:
    """Each secret that production must refuse, with why (never the value)."""
    problems: list[str] = []
    seen: dict[str, str] = {}
    for name in SECRETS_REQUIRED_IN_PRODUCTION + SECRETS_OPTIONAL_IN_PRODUCTION:
        value = getattr(settings, name.lower())
        if not value and name in SECRETS_OPTIONAL_IN_PRODUCTION:
            continue
        reason = secret_rules.weakness(value, examples, PLACEHOLDERS)
        if reason == "missing" and name == "TWILIO_AUTH_TOKEN":
            reason = "missing (it verifies every Twilio webhook, and those are always served)"
        if reason:
            problems.append(f"{name} is {reason}")
        if value and value in seen:
            problems.append(f"{name} has the same value as {seen[value]}: each secret must be its own")
        seen.setdefault(value, name)
    return problems


@lru_cache
def get_settings() -> Settings:
    return Settings()
