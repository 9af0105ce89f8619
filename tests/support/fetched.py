"""Counts the SQL statements a session (or every session of a sessionmaker) runs and the rows
they hand back to Python: how the reports test and benchmark show nothing reads every message."""
from __future__ import annotations

from typing import Any

from sqlalchemy import event


class Fetched:
    def __init__(self, target: Any) -> None:
        self.statements = 0
        self.rows = 0
        self.target = target
        event.listen(target, "do_orm_execute", self)

    def __call__(self, state):
        frozen = state.invoke_statement().freeze()
        self.statements += 1
        self.rows += len(frozen.data)
        return frozen()

    def close(self) -> None:
        event.remove(self.target, "do_orm_execute", self)
