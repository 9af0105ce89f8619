"""The staff pages' browser tests share this: Debian's Chromium through playwright, and the real
API (uvicorn) over a temporary SQLite database migrated with Alembic and seeded with the demo
rota, organisations and one account per role. The fixtures are in conftest.py.

Needs /usr/bin/chromium and the playwright package; never runs `playwright install`. Skips
without them, unless HELPLINE_REQUIRE_CHROMIUM=1 (CI), when it fails.
"""
from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.processes import api_process, free_port

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = os.environ.get("HELPLINE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def need(reason: str) -> None:
    if os.environ.get("HELPLINE_REQUIRE_CHROMIUM") == "1":
        pytest.fail(f"browser test required but {reason}")
    pytest.skip(reason)


_SEED = """
import json
from datetime import datetime, timezone
from api.core.config import Settings
from api.core.db import make_engine, make_session_factory
from api.seed import seed
from api.services.accounts import seed_accounts
settings = Settings()
engine = make_engine(settings.database_url)
with make_session_factory(engine)() as session:
    now = datetime.now(timezone.utc)
    seed(session, now=now)
    made = seed_accounts(session, now, environment=settings.environment)
    session.commit()
engine.dispose()
print(json.dumps(made))
"""


@contextmanager
def staff_server(tmp: Path, extra_env: dict[str, str] | None = None) -> Iterator[dict[str, Any]]:
    """uvicorn on a free loopback port; yields base, token, db_url and accounts {role: (email, password)}."""
    db_url = f"sqlite:///{tmp / 'helpline.db'}"
    port = free_port()
    env = {
        **os.environ,
        "ENVIRONMENT": "test", "DATABASE_URL": db_url, "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "HELPLINE_API_TOKEN": secrets.token_urlsafe(24), "SESSION_SECRET": secrets.token_urlsafe(32),
        # Never the developer's Twilio account, whatever .env says: pages go to the outbox and the log.
        "TWILIO_ACCOUNT_SID": "", "TWILIO_AUTH_TOKEN": "", "TWILIO_FROM_NUMBER": "",
        "RASA_URL": "http://127.0.0.1:9", "LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT),
        # Ofcom's drama ranges: numbers that look real and reach nobody.
        "HELPLINE_PHONE_NUMBER": "0306 999 0123", "HELPLINE_SMS_NUMBER": "07700 900123",
        **(extra_env or {}),
    }
    subprocess.run([sys.executable, "-m", "alembic", "upgrade", "head"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    seeded = subprocess.run([sys.executable, "-c", _SEED], cwd=ROOT, env=env, check=True, capture_output=True,
                            text=True)
    accounts = {role: tuple(pair) for role, pair in json.loads(seeded.stdout.strip().splitlines()[-1]).items()}
    proc = api_process(port, env=env, log=tmp / "uvicorn.log")
    try:
        proc.start()
        yield {"base": f"http://127.0.0.1:{port}", "token": env["HELPLINE_API_TOKEN"], "db_url": db_url,
               "accounts": accounts, "email": accounts["practitioner"][0],
               "password": accounts["practitioner"][1]}
    finally:
        proc.stop()


def api(server: dict[str, Any], method: str, path: str, **kwargs: Any) -> httpx.Response:
    """The operator's API, with the server's token; fails the test on an error status."""
    r = httpx.request(method, server["base"] + path, headers={"Authorization": f"Bearer {server['token']}"},
                      timeout=10, **kwargs)
    assert r.status_code < 300, r.text
    return r


def sign_in(page: Any, server: dict[str, Any], role: str, *, next_path: str = "/") -> None:
    email, password = server["accounts"][role]
    page.goto(f"{server['base']}/login?next={next_path}")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "/login" not in page.url, f"{role} could not sign in"
