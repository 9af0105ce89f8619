"""A throwaway PostgreSQL server on a loopback port, for tests (Debian's postgresql package).

initdb refuses to run as root, so as root the server runs as the `postgres` user.
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support.processes import free_port


def find_bin(name: str) -> str | None:
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else shutil.which(name)


@dataclass
class PostgresServer:
    datadir: Path
    port: int
    prefix: list[str]

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def create_database(self, name: str) -> str:
        subprocess.run([*self.prefix, find_bin("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                        name], check=True, capture_output=True)
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def kill(self) -> None:
        """The server goes away at once (no clean shutdown), keeping its data for start_again."""
        subprocess.run([*self.prefix, find_bin("pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "stop"],
                       check=True, capture_output=True)

    def start_again(self) -> None:
        _pg_start(self.prefix, self.datadir, self.port)

    def stop(self) -> None:
        subprocess.run([*self.prefix, find_bin("pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "stop"],
                       capture_output=True, check=False)  # already stopped (after kill) is fine
        shutil.rmtree(self.datadir.parent, ignore_errors=True)


def _pg_start(prefix: list[str], datadir: Path, port: int) -> None:
    root = datadir.parent
    options = f"-p {port} -c listen_addresses=127.0.0.1 -k {root} -c fsync=off -c full_page_writes=off"
    subprocess.run([*prefix, find_bin("pg_ctl"), "-D", str(datadir), "-o", options, "-l", str(root / "log"), "-w",
                    "start"], check=True, capture_output=True)


def start() -> PostgresServer:
    initdb, pg_ctl = find_bin("initdb"), find_bin("pg_ctl")
    if not initdb or not pg_ctl:
        raise FileNotFoundError("PostgreSQL server binaries not found (apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="helpline-pg-"))
    datadir = root / "data"
    prefix: list[str] = []
    if os.geteuid() == 0:
        prefix = ["runuser", "-u", "postgres", "--"]
        os.chmod(root, 0o755)
        shutil.chown(root, "postgres", "postgres")
    subprocess.run([*prefix, initdb, "-D", str(datadir), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"],
                   check=True, capture_output=True)
    port = free_port()
    _pg_start(prefix, datadir, port)
    server = PostgresServer(datadir=datadir, port=port, prefix=prefix)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        ready = subprocess.run([find_bin("pg_isready"), "-h", "127.0.0.1", "-p", str(port)],
                               capture_output=True, check=False)
        if ready.returncode == 0:
            return server
        time.sleep(0.2)
    server.stop()
    raise RuntimeError("PostgreSQL did not become ready")


def start_or_skip() -> PostgresServer:
    """Start a server; without the binaries skip the test, unless CI requires PostgreSQL."""
    import pytest

    try:
        return start()
    except FileNotFoundError as exc:
        if os.environ.get("HELPLINE_REQUIRE_POSTGRES"):
            raise
        pytest.skip(str(exc))
