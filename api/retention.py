"""Retention job: `python -m api.retention [--days N] [--dry-run]` (or `make retention`).

Redacts every case closed more than RETENTION_DAYS_AFTER_CLOSURE days ago (default 548,
about 18 months) and removes old transcripts, the API's and Rasa's (the tracker store named
by RASA_TRACKER_*: if it is missing or down the rest still runs, and the report says
`"tracker_store": "unavailable"`); see api/services/retention.py for exactly what is kept.
Safe to run as often as wanted (daily from cron or a systemd timer): a case is redacted
once, and a `retention_applied` event on it says when. Prints one JSON line with the counts;
exits 0 on success, 3 when the API's part was done but Rasa's tracker store could not be
reached (so that cron or the timer's alerting notices; the next run catches up).
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import datetime, timezone

from api.core.config import get_settings
from api.core.db import make_engine, make_session_factory
from api.core.file_modes import owner_only
from api.core.logging import configure_logging
from api.services import retention
from api.services.tracker_store import UNAVAILABLE, TrackerStore

TRACKER_NOT_PRUNED = 3  # exit status: the API's data done, Rasa's tracker store unreachable


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def main(argv: list[str] | None = None, *, clock: Callable[[], datetime] = utc_now) -> int:
    parser = argparse.ArgumentParser(prog="python -m api.retention", description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=None,
                        help="days after closure (default: RETENTION_DAYS_AFTER_CLOSURE)")
    parser.add_argument("--dry-run", action="store_true", help="report what would be removed, change nothing")
    args = parser.parse_args(argv)
    owner_only()  # anything it creates (a SQLite database, logs) is the service account's alone
    settings = get_settings()
    configure_logging(settings)
    days = args.days if args.days is not None else settings.retention_days_after_closure
    if days < 1:
        parser.error("--days must be at least 1")
    engine = make_engine(settings.database_url)
    try:
        with make_session_factory(engine)() as session:
            report = retention.apply(session, now=clock(), days=days, tracker=TrackerStore.from_settings(settings),
                                     dry_run=args.dry_run)
            if args.dry_run:
                session.rollback()
            else:
                session.commit()
    finally:
        engine.dispose()
    print(json.dumps({**report.as_dict(), "dry_run": args.dry_run}))
    return TRACKER_NOT_PRUNED if report.tracker_store == UNAVAILABLE else 0


if __name__ == "__main__":
    sys.exit(main())
