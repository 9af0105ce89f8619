"""Start the real processes (API, action server, Rasa) on free loopback ports, for the
benchmark (bench/run.py) and the fault tests (tests/faults/).

Everything runs from the repository with its own environment (never .env's secrets: every
setting the API reads is passed explicitly), logs to files in a work directory, and is
stopped by its own process id. Each process is started in its own session, so a kill -9
hits exactly that process and nothing else.
"""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.support.processes import ServiceProcess, free_port  # noqa: E402
from tests.support.redis import Redis  # noqa: E402

API_BIN = REPO / ".venv-api" / "bin"
BOT_BIN = REPO / ".venv-bot" / "bin"
MODEL = REPO / "models" / "helpline.tar.gz"

# Quiet, reproducible bot processes (as the Makefile exports them).
BOT_ENV = {"PYTHONHASHSEED": "0", "TF_CPP_MIN_LOG_LEVEL": "2", "TF_DETERMINISTIC_OPS": "1",
           "SANIC_HOST": "127.0.0.1"}


@dataclass
class Secrets:
    api_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    session_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    twilio_token: str = field(default_factory=lambda: secrets.token_hex(16))


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RASA_", "HELPLINE_", "TWILIO_"))}
    env.pop("DATABASE_URL", None)
    return env


# The public doors' rate limits (api/services/door_limits.py) lifted: these stacks drive scripted
# conversations and many clients from one address at machine speed, which is what the limits
# stop. The limits have their own tests (tests/api/channels/test_limits.py).
UNLIMITED_DOORS = dict.fromkeys((
    "DOOR_LIMIT_CHAT_CONVERSATION", "DOOR_LIMIT_CHAT_CLIENT", "DOOR_LIMIT_CHAT_NEW", "DOOR_LIMIT_CHAT_HISTORY",
    "DOOR_LIMIT_SMS_NUMBER", "DOOR_LIMIT_VOICE_NUMBER", "DOOR_LIMIT_VOICE_CALL"), "1000/second")


def api_env(*, database_url: str, public_url: str, rasa_url: str, keys: Secrets, spool: Path,
            extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = base_env()
    env.update({
        "ENVIRONMENT": "test", "DATABASE_URL": database_url, "PUBLIC_BASE_URL": public_url,
        "HELPLINE_API_TOKEN": keys.api_token, "SESSION_SECRET": keys.session_secret,
        "TWILIO_AUTH_TOKEN": keys.twilio_token, "TWILIO_ACCOUNT_SID": "", "TWILIO_FROM_NUMBER": "",
        "RASA_URL": rasa_url, "LOG_LEVEL": "WARNING", "LOG_FORMAT": "json", "INBOUND_SPOOL_DIR": str(spool),
        **UNLIMITED_DOORS,
    })
    env.update(extra or {})
    return env


def prepare_database(database_url: str, keys: Secrets, log: Path) -> None:
    """alembic upgrade head + the demo organisations, practitioners and rota."""
    env = api_env(database_url=database_url, public_url="http://127.0.0.1", rasa_url="http://127.0.0.1:9",
                  keys=keys, spool=log.parent / "spool")
    with open(log, "ab") as handle:
        for argv in ([str(API_BIN / "alembic"), "upgrade", "head"], [str(API_BIN / "python"), "-m", "api.seed"]):
            subprocess.run(argv, cwd=REPO, env=env, stdout=handle, stderr=subprocess.STDOUT, check=True)


def api_proc(name: str, *, port: int, database_url: str, rasa_url: str, keys: Secrets, workdir: Path,
             extra: Mapping[str, str] | None = None, public_url: str | None = None) -> ServiceProcess:
    url = f"http://127.0.0.1:{port}"
    env = api_env(database_url=database_url, public_url=public_url or url, rasa_url=rasa_url, keys=keys,
                  spool=workdir / f"spool-{name}", extra=extra)
    argv = [str(API_BIN / "uvicorn"), "--factory", "api.main:create_app", "--host", "127.0.0.1",
            "--port", str(port), "--log-level", "warning", "--no-access-log"]
    return ServiceProcess(name, argv, env, f"{url}/health", workdir / f"{name}.log", ready_seconds=60)


def actions_proc(name: str, *, port: int, api_url: str, keys: Secrets, workdir: Path) -> ServiceProcess:
    env = base_env()
    env.update(BOT_ENV)
    env.update({"HELPLINE_API_URL": api_url, "HELPLINE_API_TOKEN": keys.api_token})
    argv = [str(BOT_BIN / "python"), "-m", "rasa_sdk", "--actions", "actions", "--port", str(port)]
    return ServiceProcess(name, argv, env, f"http://127.0.0.1:{port}/health", workdir / f"{name}.log", ready_seconds=90)


def sqlite_endpoints(path: Path, *, actions_port: int, tracker_db: Path) -> Path:
    path.write_text(
        "action_endpoint:\n"
        f"  url: http://127.0.0.1:{actions_port}/webhook\n"
        "tracker_store:\n"
        "  type: SQL\n"
        "  dialect: sqlite\n"
        f"  db: {tracker_db}\n"
    )
    return path


def rasa_proc(name: str, *, port: int, endpoints: Path, workdir: Path, model: Path = MODEL,
              extra: Mapping[str, str] | None = None) -> ServiceProcess:
    env = base_env()
    env.update(BOT_ENV)
    env.update(extra or {})
    argv = [str(BOT_BIN / "python"), "-m", "bot.serve", "run", "--model", str(model), "--endpoints", str(endpoints),
            "--credentials", str(REPO / "bot" / "credentials.yml"), "--interface", "127.0.0.1",
            "--port", str(port)]
    return ServiceProcess(name, argv, env, f"http://127.0.0.1:{port}/", workdir / f"{name}.log", ready_seconds=300)


class Stack:
    """The three processes of `make run`, on free ports, with a temporary SQLite database.

        stack = Stack(workdir); stack.start(); ...; stack.procs["rasa"].kill9(); ...; stack.stop()

    rasa_workers > 1: Rasa serves with that many Sanic worker processes (SANIC_WORKERS) on
    one port, which Rasa allows only with a shared lock store: a redis-server is started
    for it (deploy/scaled/README.md, "One host, several cores").
    """

    def __init__(self, workdir: Path, *, api_extra: Mapping[str, str] | None = None, model: Path = MODEL,
                 database_url: str | None = None, rasa_workers: int = 1) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.keys = Secrets()
        self.db_path = self.workdir / "api.db"
        self.database_url = database_url or f"sqlite:///{self.db_path}"
        self.api_port, self.actions_port, self.rasa_port = free_port(), free_port(), free_port()
        self.api_url = f"http://127.0.0.1:{self.api_port}"
        self.rasa_url = f"http://127.0.0.1:{self.rasa_port}"
        self.endpoints = sqlite_endpoints(self.workdir / "endpoints.yml", actions_port=self.actions_port,
                                          tracker_db=self.workdir / "rasa-tracker.db")
        self.rasa_workers = rasa_workers
        self.redis: Redis | None = None
        self.procs: dict[str, ServiceProcess] = {
            "api": api_proc("api", port=self.api_port, database_url=self.database_url, rasa_url=self.rasa_url,
                            keys=self.keys, workdir=self.workdir, extra=api_extra),
            "actions": actions_proc("actions", port=self.actions_port, api_url=self.api_url, keys=self.keys,
                                    workdir=self.workdir),
            "rasa": rasa_proc("rasa", port=self.rasa_port, endpoints=self.endpoints, workdir=self.workdir,
                              model=model, extra={"SANIC_WORKERS": str(rasa_workers)} if rasa_workers > 1 else None),
        }

    @property
    def api(self) -> ServiceProcess:
        return self.procs["api"]

    @property
    def actions(self) -> ServiceProcess:
        return self.procs["actions"]

    @property
    def rasa(self) -> ServiceProcess:
        return self.procs["rasa"]

    def start(self) -> "Stack":
        if self.database_url.startswith("sqlite") and not self.db_path.exists():
            prepare_database(self.database_url, self.keys, self.workdir / "prepare.log")
        if self.rasa_workers > 1 and self.redis is None:
            self.redis = Redis(self.workdir)  # FileNotFoundError when redis-server is not installed
            with open(self.endpoints, "a") as endpoints:
                endpoints.write(f"lock_store:\n  type: redis\n  url: 127.0.0.1\n  port: {self.redis.port}\n"
                                "  key_prefix: bench\n")
        # Rasa takes longest: start it first, the others while it loads the model.
        for name in ("rasa", "actions", "api"):
            self.procs[name].start(wait=False)
        for name in ("api", "actions", "rasa"):
            self.procs[name].wait_ready()
        return self

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.stop()
        if self.redis is not None:
            self.redis.stop()

    def __enter__(self) -> "Stack":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def check_model(model: Path = MODEL) -> None:
    if not model.exists():
        sys.exit(f"{model} not found: run `make train` first")
