"""redis-server on a loopback port (Debian's redis-server, no persistence), for Rasa's lock
store in the scaled-out tests and the benchmark, with just enough of a client to check it."""
from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

from tests.support.processes import ServiceProcess, free_port


def _resp(words: tuple[str, ...]) -> bytes:
    return ("*%d\r\n" % len(words) + "".join(f"${len(w.encode())}\r\n{w}\r\n" for w in words)).encode()


def _read_reply(reader) -> str:
    """One RESP reply: "+OK", ":1", "-ERR ..." as they are; a bulk string as its text ("" for nil)."""
    line = reader.readline()
    if not line:
        raise OSError("connection closed")
    if line.startswith(b"$"):
        size = int(line[1:])
        return "" if size < 0 else reader.read(size + 2)[:-2].decode(errors="replace")
    return line.decode(errors="replace").strip()


class Redis:
    """redis-server on a free loopback port; FileNotFoundError when it is not installed."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        if not binary:
            raise FileNotFoundError("redis-server not found (apt-get install redis-server)")
        self.port = free_port()
        self.proc = ServiceProcess(
            "redis", [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                      "--dir", str(workdir)],
            env=dict(os.environ), ready_url=None, ready=lambda: self.command("PING") == "+PONG",
            log=workdir / "redis.log", ready_seconds=30)
        self.proc.start()

    def command(self, *words: str, db: int | None = None) -> str:
        """The reply to one command (in database `db`, if given); "" when Redis cannot be reached."""
        commands = ([("SELECT", str(db))] if db is not None else []) + [words]
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
                s.sendall(b"".join(_resp(c) for c in commands))
                with s.makefile("rb") as reader:
                    return [_read_reply(reader) for _ in commands][-1]
        except OSError:
            return ""

    def stats(self) -> dict[str, str]:
        text = self.command("INFO", "stats")
        return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)

    def exists(self, key: str, *, db: int | None = None) -> bool:
        return self.command("EXISTS", key, db=db) == ":1"

    def stop(self) -> None:
        self.proc.stop(timeout=10)
