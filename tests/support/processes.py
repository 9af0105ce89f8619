"""Child processes for tests: a free loopback port, waiting for a condition, and one class
that starts a command with its own environment and log file, waits until it is ready,
kills it (-9), stops it, starts it again, and shows the end of its log when it fails.

Every process runs in its own session and is signalled by its own process id, so a
kill -9 hits exactly that process and nothing else; nothing is ever stopped by name.
(PostgreSQL, which pg_ctl runs for us, is in tests/support/postgres.py.)

    api = ServiceProcess("api", argv, env=env, ready_url=f"{base}/health", log=tmp / "api.log")
    api.start()          # waits for /health (ready_seconds), or raises with the log's tail
    api.kill9(); api.start()
    api.stop()           # SIGTERM, then SIGKILL after a grace period
"""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

REPO = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def free_port() -> int:
    """A loopback port nobody is listening on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_ok(url: str, timeout: float = 2.0) -> bool:
    """True when GET url answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200
    except Exception:
        return False


def wait_until(check: Callable[[], T], *, seconds: float, every: float = 0.2, what: str = "condition",
               ignore: tuple[type[BaseException], ...] = ()) -> T:
    """Call check() until it returns something true, and return that; AssertionError after
    `seconds`. Exceptions of the `ignore` types count as "not yet". Generous limits cost
    nothing when things are fast: they only matter on a slow or loaded machine."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            value = check()
        except ignore:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds:g}s waiting for {what}")
        time.sleep(every)


def sleep_until(wall_clock: float) -> None:
    """Sleep until time.time() has passed `wall_clock` (a deadline stored by a process)."""
    while (left := wall_clock - time.time()) > 0:
        time.sleep(min(left, 1.0))


@dataclass
class ServiceProcess:
    """One child process: started, waited for, killed (-9) or stopped, started again.

    Ready means GET ready_url answers 200, or, for a server that does not speak HTTP,
    ready() returns true. Output goes to `log` (appended to, one header per start).
    """

    name: str
    argv: list[str]
    env: dict[str, str]
    ready_url: str | None
    log: Path
    ready_seconds: float = 60.0
    cwd: Path = REPO
    ready: Callable[[], bool] | None = None
    popen: subprocess.Popen | None = None
    starts: int = 0

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def is_ready(self) -> bool:
        if self.ready is not None:
            return bool(self.ready())
        return self.ready_url is not None and http_ok(self.ready_url)

    def start(self, wait: bool = True) -> "ServiceProcess":
        if self.alive():
            return self
        self.starts += 1
        Path(self.log).parent.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as handle:
            handle.write(f"\n===== start {self.starts} =====\n".encode())
            handle.flush()
            self.popen = subprocess.Popen(self.argv, cwd=self.cwd, env=self.env, stdout=handle,
                                          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_seconds
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited while starting (see {self.log}):\n{self.tail()}")
            if self.is_ready():
                return
            time.sleep(0.25)
        raise RuntimeError(f"{self.name} not ready after {self.ready_seconds:.0f}s (see {self.log}):\n{self.tail()}")

    def kill9(self) -> None:
        """SIGKILL, no clean-up: what a crash or the OOM killer does. Returns once it is gone."""
        if self.alive():
            os.kill(self.popen.pid, signal.SIGKILL)
        if self.popen is not None:
            self.popen.wait()

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM, and SIGKILL if it has not exited after `timeout` seconds."""
        if not self.alive():
            return
        self.popen.terminate()
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill9()
        try:  # children it left behind (e.g. Sanic workers): its session is its process group
            os.killpg(self.popen.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def restart(self, *, kill: bool = False, wait: bool = True) -> "ServiceProcess":
        """Stop (or kill -9) and start again with the same command, environment and log."""
        if kill:
            self.kill9()
        else:
            self.stop()
        return self.start(wait=wait)

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """SIGSTOP for the duration of the block (the process holds its sockets but does nothing)."""
        with paused(self.pid):
            yield

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(Path(self.log).read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def __enter__(self) -> "ServiceProcess":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def api_process(port: int, *, env: dict[str, str], log: Path, name: str = "api", cwd: Path = REPO,
                ready_seconds: float = 90.0) -> ServiceProcess:
    """The API under uvicorn (this interpreter, so .venv-api) on 127.0.0.1:port; not started yet.
    `env` is the whole environment: pass every setting the test depends on."""
    argv = [sys.executable, "-m", "uvicorn", "--factory", "api.main:create_app", "--host", "127.0.0.1",
            "--port", str(port), "--log-level", "warning"]
    return ServiceProcess(name, argv, env=env, ready_url=f"http://127.0.0.1:{port}/health", log=log, cwd=cwd,
                          ready_seconds=ready_seconds)


@contextlib.contextmanager
def paused(pid: int | None) -> Iterator[None]:
    """SIGSTOP the process for the duration of the block; SIGCONT whatever happens."""
    if pid is None:
        raise RuntimeError("no process to pause")
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def log_tails(processes: Iterable[Any], lines: int = 60) -> str:
    """The end of each process's log (anything with name, log and tail(), e.g. ServiceProcess)."""
    parts = []
    for proc in processes:
        parts.append(f"----- {proc.name}: last {lines} lines of {proc.log} -----\n{proc.tail(lines)}")
    return "\n".join(parts)


@contextlib.contextmanager
def logs_on_failure(request: Any, processes: Callable[[], Iterable[Any]]) -> Iterator[None]:
    """For a function-scoped fixture around each test: when the test failed, print the end of
    every process's log, which pytest shows with the failure ("Captured stdout teardown").

        @pytest.fixture(autouse=True)
        def _logs(request, stack):
            with logs_on_failure(request, lambda: stack.procs.values()):
                yield
    """
    failed = request.session.testsfailed
    yield
    if request.session.testsfailed > failed:
        print(log_tails(processes()))
