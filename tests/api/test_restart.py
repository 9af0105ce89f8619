"""A pending deadline survives a kill -9: the restarted API pages the backup on its first tick."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timezone

import httpx
import pytest

from tests.support.processes import REPO, api_process, free_port, sleep_until, wait_until

TOKEN = "restart-test-token-0123456789"
pytestmark = pytest.mark.slow


def _timestamp(value: str) -> float:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


def test_overdue_deadline_fires_after_kill_and_restart(tmp_path):
    env = {
        **os.environ,
        "ENVIRONMENT": "test",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'restart.db'}",
        "HELPLINE_API_TOKEN": TOKEN,
        "SESSION_SECRET": "restart-test-session-secret",
        "ACK_SECONDS_EMERGENCY": "2",
        "WORKER_INTERVAL_SECONDS": "0.2",
    }
    subprocess.run([sys.executable, "-m", "alembic", "upgrade", "head"], cwd=REPO, env=env, check=True,
                   capture_output=True)
    subprocess.run([sys.executable, "-m", "api.seed"], cwd=REPO, env=env, check=True, capture_output=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    answers = {"exposure_type": "percutaneous", "fluid": "blood", "source": {"identified": True, "hiv": "positive"}}

    api = api_process(port, env=env, log=tmp_path / "api.log")
    api.start()
    try:
        case = httpx.post(f"{base}/api/cases", json={"line": "sharps", "answers": answers}, headers=headers,
                          timeout=30).json()
    finally:
        api.kill9()
    assert [p["tier"] for p in case["pages"]] == ["primary"]
    # The page is written with the decision, in the same transaction.
    sent = datetime.fromisoformat(case["pages"][0]["sent_at"])
    assert (sent - datetime.fromisoformat(case["created_at"])).total_seconds() < 2

    # The deadline passes while nothing is running.
    sleep_until(_timestamp(case["pages"][0]["ack_deadline"]) + 0.5)
    api.start()
    try:
        def two_pages() -> list[str] | None:
            pages = httpx.get(f"{base}/api/cases/{case['ref']}", headers=headers, timeout=10).json()["pages"]
            return [p["tier"] for p in pages] if len(pages) >= 2 else None

        paged = wait_until(two_pages, seconds=60, what="a second page after the restart")
        assert paged[:2] == ["primary", "backup"]
        events = httpx.get(f"{base}/api/cases/{case['ref']}/events", headers=headers, timeout=10).json()
        assert [e["type"] for e in events].count("page_overdue") >= 1
    finally:
        api.stop()
