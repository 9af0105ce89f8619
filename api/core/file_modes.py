"""Files the helpline writes hold personal and clinical data (SQLite databases, the inbound spool,
logs, .env's secrets): they are readable by the account that runs the helpline only.

Every entry point (the API's create_app, which also runs the deadline worker; `python -m api.seed`;
`python -m api.retention`; Alembic's migrations) calls `owner_only()` before it creates anything.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

OWNER_ONLY_UMASK = 0o077


def owner_only() -> None:
    """New files 0600 and new folders 0700 in this process, whoever creates them (SQLite too)."""
    os.umask(OWNER_ONLY_UMASK)


def restrict_sqlite_files(database_url: str) -> None:
    """A SQLite database made before this rule (0644) is narrowed too, with its WAL files."""
    if not database_url.startswith("sqlite"):
        return
    path = database_url.split("///", 1)[-1]
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    restrict_sqlite_file(Path(path))


def restrict_sqlite_file(path: Path) -> None:
    for name in (str(path), f"{path}-wal", f"{path}-shm", f"{path}-journal"):
        target = Path(name)
        with contextlib.suppress(OSError):  # absent, or another account's: leave it to the operator
            if target.is_file() and target.stat().st_mode & 0o077:
                target.chmod(0o600)
