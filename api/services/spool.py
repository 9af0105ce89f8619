"""No message is dropped when the database is down.

If the database refuses connections while a person's message is being handled (a Twilio
SMS or voice webhook, or a web chat turn), api/errors.py asks the channel's adapter for the
message as an Inbound and what to say, and `keep`s both here: a spool file (fsync'd, mode
0600, under INBOUND_SPOOL_DIR). The person gets the safe answer (first aid, the emergency
route); the /api routes answer 503 with Retry-After instead (their callers retry).

The worker's `replay` step stores each spooled Inbound as its turn, exactly as if it had
just arrived (idempotent on the provider's id: a Twilio retry that got in first is not
doubled, and a turn stored before the database failed mid-turn is finished, not left
pending), opens a case through the API's own triage (paging on call) with the words the
person was told, then deletes the file. While the database is still down the file stays.

A file is claimed by renaming it (`.<name>.<pid>.claimed`, its mtime the claim time), so of
several processes only one stores it; a claim older than CLAIM_LEASE_SECONDS belongs to a
process that died between claiming and storing, and is put back for the next replay.
Plain Inbound records only: nothing here knows a channel.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from api.core.config import Settings
from api.enums import TurnStatus
from api.services import safe_answer, turn_store
from api.services.messages import Inbound, Reply

log = logging.getLogger(__name__)

REASON = "database unavailable when the message arrived"
# Storing one entry takes well under a second; a claim this old was left by a dead process.
CLAIM_LEASE_SECONDS = 60.0


def spool_dir(settings: Settings) -> Path:
    return Path(settings.inbound_spool_dir)


def database_key(settings: Settings) -> str:
    """Which database an entry belongs to: a process on another database never stores it."""
    return hashlib.sha256(settings.database_url.encode()).hexdigest()[:16]


def keep(settings: Settings, inbound: Inbound, *, told: list[str], needs_case: bool) -> Path:
    """Write one message durably (temp file, fsync, rename, fsync the directory), with the
    words the person was told and whether it needs a case."""
    folder = spool_dir(settings)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    stamp = inbound.received_at.isoformat().replace(":", "").replace("-", "")
    name = f"{stamp}-{secrets.token_hex(8)}.json"
    if not inbound.provider_sid:
        inbound = replace(inbound, provider_sid=f"spool:{name}")  # every replay of this file is the same turn
    entry = {"inbound": inbound.to_record(), "told": told, "needs_case": needs_case,
             "database": database_key(settings)}
    tmp = folder / f".{name}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(entry, handle)
        handle.flush()
        os.fsync(handle.fileno())
    path = folder / name
    os.replace(tmp, path)
    _fsync_dir(folder)
    return path


def _fsync_dir(folder: Path) -> None:
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def pending(settings: Settings) -> list[Path]:
    folder = spool_dir(settings)
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def _claimed_name(path: Path) -> str:
    """'.<name>.<pid>.claimed' -> '<name>.json'."""
    stem = path.name[1:].rsplit(".", 2)[0]
    return f"{stem}.json"


def reclaim(settings: Settings, *, lease_seconds: float = CLAIM_LEASE_SECONDS) -> int:
    """Put back files claimed by a process that died before storing them."""
    folder = spool_dir(settings)
    if not folder.is_dir():
        return 0
    put_back = 0
    cutoff = time.time() - lease_seconds
    for claimed in folder.glob(".*.claimed"):
        try:
            if claimed.stat().st_mtime > cutoff:
                continue  # a live process may be storing it right now
            os.rename(claimed, folder / _claimed_name(claimed))
        except FileNotFoundError:
            continue  # stored and deleted, or put back by another process
        put_back += 1
        log.warning("spool: %s was claimed by a process that stopped; put back to be stored", _claimed_name(claimed))
    if put_back:
        _fsync_dir(folder)
    return put_back


def _claim(found: Path) -> Path | None:
    path = found.with_name(f".{found.stem}.{os.getpid()}.claimed")
    try:
        os.rename(found, path)
        os.utime(path)  # the lease starts now, not when the message arrived
    except FileNotFoundError:
        return None
    return path


def _entry_of(path: Path) -> tuple[Inbound, list[str], bool]:
    entry = json.loads(path.read_text(encoding="utf-8"))
    told = [str(t) for t in entry.get("told") or []]
    return Inbound.from_record(entry["inbound"]), told, bool(entry.get("needs_case", True))


def _store(session: Session, settings: Settings, clock: Callable[[], datetime], inbound: Inbound,
           told: list[str], needs_case: bool) -> None:
    """The same path as a live turn (turn_store.start_turn); then the answer that was given."""
    turn = turn_store.start_turn(session, inbound, details={"spooled": True})
    if turn.status != TurnStatus.pending:
        return  # a retry that got in first, or an earlier replay, already answered it
    if needs_case and inbound.text.strip():
        safe_answer.safe_answer(session, turn, settings=settings, now=clock(), phone=inbound.phone, reason=REASON,
                                told=" ".join(told) or None)
    else:
        turn_store.answer(session, turn, [Reply(t) for t in told], now=clock(), details={"spooled": True})


def replay(session_factory: sessionmaker[Session], settings: Settings, clock: Callable[[], datetime],
           limit: int = 100) -> int:
    """Store spooled messages, oldest first. Raises (and keeps the file) if the database is still down."""
    reclaim(settings)
    done = 0
    mine = database_key(settings)
    for found in pending(settings)[:limit]:
        try:
            if json.loads(found.read_text(encoding="utf-8")).get("database") != mine:
                continue
        except (OSError, ValueError, AttributeError):
            pass  # gone (another process claimed it) or unreadable: handled below
        path = _claim(found)
        if path is None:
            continue
        try:
            inbound, told, needs_case = _entry_of(path)
        except (ValueError, KeyError, TypeError, AttributeError):
            log.error("spool: unreadable entry kept aside as %s.bad", found.stem)
            path.rename(found.with_suffix(".bad"))
            continue
        try:
            with session_factory() as session:
                _store(session, settings, clock, inbound, told, needs_case)
        except OperationalError:
            os.rename(path, found)  # still down: the next tick tries again
            raise
        except DBAPIError:
            # The database is up but refuses this entry (e.g. a NUL character): set it aside for a
            # person to look at, so that it never holds up the messages behind it.
            log.error("spool: entry the database refuses kept aside as %s.bad", found.stem)
            path.rename(found.with_suffix(".bad"))
            continue
        path.unlink()
        done += 1
    if done:
        log.warning("spool: %s messages kept while the database was down are now stored", done,
                    extra={"count": done})
    return done

