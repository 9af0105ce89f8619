"""Human-readable case references (SH-000123, MA-000045), one sequence per line."""
from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.models import RefCounter

PREFIX = {"sharps": "SH", "manager": "MA"}


def next_ref(session: Session, line: str) -> str:
    prefix = PREFIX[line]
    # UPDATE first: it takes the row lock (PostgreSQL) or the write lock (SQLite), so the
    # value read back is ours alone.
    bumped = session.execute(
        update(RefCounter).where(RefCounter.prefix == prefix).values(value=RefCounter.value + 1)
    ).rowcount
    if not bumped:
        session.add(RefCounter(prefix=prefix, value=1))
        session.flush()
    value = session.scalar(select(RefCounter.value).where(RefCounter.prefix == prefix))
    return f"{prefix}-{value:06d}"
