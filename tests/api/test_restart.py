"""A pending deadline survives a kill -9: the restarted API pages the backup on its first tick."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
TOKEN = "restart-test-token-0123456789"
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(env: dict, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "api.main:create_app", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=0.5).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("API did not start")


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
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {TOKEN}"}
    answers = {"exposure_type": "percutaneous", "fluid": "blood", "source": {"identified": True, "hiv": "positive"}}

    proc = _start(env, port)
    try:
        case = httpx.post(f"{base}/api/cases", json={"line": "sharps", "answers": answers}, headers=headers).json()
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert [p["tier"] for p in case["pages"]] == ["primary"]
    # The page is written with the decision, in the same transaction.
    from datetime import datetime

    sent = datetime.fromisoformat(case["pages"][0]["sent_at"])
    assert (sent - datetime.fromisoformat(case["created_at"])).total_seconds() < 2

    time.sleep(2.5)  # the deadline passes while nothing is running
    proc = _start(env, port)
    try:
        deadline = time.monotonic() + 10
        tiers: list[str] = []
        while time.monotonic() < deadline:
            tiers = [p["tier"] for p in httpx.get(f"{base}/api/cases/{case['ref']}", headers=headers).json()["pages"]]
            if len(tiers) >= 2:
                break
            time.sleep(0.2)
        assert tiers[:2] == ["primary", "backup"]
        events = httpx.get(f"{base}/api/cases/{case['ref']}/events", headers=headers).json()
        assert [e["type"] for e in events].count("page_overdue") >= 1
    finally:
        proc.terminate()
        proc.wait(timeout=10)
