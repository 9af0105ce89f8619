"""Files the helpline creates are its service account's alone (api/core/file_modes.py)."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from api.core.config import Settings
from api.main import create_app
from scripts import make_env

ROOT = Path(__file__).resolve().parents[2]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def lax_umask():
    """The usual login umask (022: new files world-readable), restored afterwards."""
    before = os.umask(0o022)
    yield
    os.umask(before)


def sqlite_settings(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, environment="test", database_url=f"sqlite:///{tmp_path / 'data' / 'helpline.db'}",
                    inbound_spool_dir=str(tmp_path / "spool"), worker_enabled=False)


def test_a_database_created_by_create_app_is_owner_only(tmp_path, lax_umask):
    settings = sqlite_settings(tmp_path)
    app = create_app(settings)
    with app.state.engine.begin() as connection:  # SQLite creates the file (and its WAL) here
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
    database = tmp_path / "data" / "helpline.db"
    assert mode(database) == 0o600
    for extra in (Path(f"{database}-wal"), Path(f"{database}-shm")):
        if extra.exists():
            assert mode(extra) == 0o600
    assert mode(database.parent) == 0o700
    app.state.engine.dispose()


def test_a_database_made_before_the_rule_is_narrowed_at_start(tmp_path, lax_umask):
    database = tmp_path / "data" / "helpline.db"
    database.parent.mkdir()
    database.write_bytes(b"")
    database.chmod(0o644)
    create_app(sqlite_settings(tmp_path)).state.engine.dispose()
    assert mode(database) == 0o600


def test_rasas_tracker_database_is_narrowed_at_start_too(tmp_path, lax_umask):
    tracker = tmp_path / "rasa-tracker.db"
    tracker.write_bytes(b"")
    tracker.chmod(0o644)
    settings = sqlite_settings(tmp_path).model_copy(update={"rasa_tracker_db": str(tracker)})
    create_app(settings).state.engine.dispose()
    assert mode(tracker) == 0o600


def test_the_spool_is_owner_only(tmp_path, lax_umask):
    from datetime import datetime, timezone

    from api.services import spool
    from api.services.messages import Inbound

    settings = sqlite_settings(tmp_path)
    create_app(settings).state.engine.dispose()
    inbound = Inbound(channel="sms", conversation_id="+447700900123", text="help",
                      received_at=datetime(2026, 1, 1, tzinfo=timezone.utc))
    spool.keep(settings, inbound, told=["call 999"], needs_case=True)
    files = [p for p in (tmp_path / "spool").rglob("*") if p.is_file()]
    assert files and all(mode(p) == 0o600 for p in files)
    assert mode(tmp_path / "spool") == 0o700


@pytest.mark.parametrize("module", ["alembic", "api.seed", "api.retention"])
def test_each_command_creates_an_owner_only_database(tmp_path, module):
    """make migrate, make seed and make retention, started with a login shell's umask (022): the
    entry point itself narrows it before the database file exists. (Seed and retention on an
    empty file then stop for want of tables; what matters here is the file they created.)"""
    database = tmp_path / "helpline.db"
    env = {**os.environ, "ENVIRONMENT": "test", "DATABASE_URL": f"sqlite:///{database}", "PYTHONPATH": str(ROOT),
           "RASA_TRACKER_DB": str(tmp_path / "tracker.db"), "LOG_LEVEL": "WARNING"}
    argv = {"alembic": ["-m", "alembic", "upgrade", "head"], "api.seed": ["-m", "api.seed"],
            "api.retention": ["-m", "api.retention", "--dry-run"]}[module]
    done = subprocess.run([sys.executable, *argv], cwd=ROOT, env=env, capture_output=True, text=True,
                          check=False, preexec_fn=lambda: os.umask(0o022))
    assert database.exists(), done.stderr[-2000:]
    assert mode(database) == 0o600
    if module == "alembic":
        assert done.returncode == 0, done.stderr[-2000:]


def test_make_env_writes_and_narrows_env_files(tmp_path, lax_umask):
    fresh = tmp_path / ".env"
    make_env.main(str(fresh))
    assert mode(fresh) == 0o600
    old = tmp_path / "old.env"
    old.write_text("HELPLINE_API_TOKEN=mine\n")
    old.chmod(0o644)
    make_env.main(str(old))
    assert mode(old) == 0o600 and old.read_text().startswith("HELPLINE_API_TOKEN=mine\n")
