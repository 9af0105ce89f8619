"""Replay a candidate rule file over the past cases in a database and print what would change.

    make rules-check FILE=path/to/sharps-2027.1.1.yaml
    .venv-api/bin/python -m scripts.rules_check FILE [--database-url URL] [--limit N] [--json]

The database is DATABASE_URL (the environment, else .env, as the app reads it; or
--database-url): use a copy of the live database. The line (sharps or manager) comes from the
file's `version:`; a file named like a rule file (<line>-<version>.yaml) must carry that
version, as a shipped file must. The same replay as POST /api/rules/{line}/replay and the
/rules/replay page (api/services/replay.py): the candidate against the live rules, nothing
stored, nobody paged; on PostgreSQL the transaction is read-only as well.

Exit status (for CI): 0 nothing changed, 1 some cases would change (read the table), 2 the file
is invalid (the message names its line), 3 the database could not be read.
README.md "Releasing a rule version" says what happens next.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from api.core.config import get_settings
from api.core.db import make_engine, make_session_factory
from api.domain.replay_diff import CaseReplay, ReplayDiff
from api.services import replay
from api.triage.ruleset import RuleSet, RuleSetError, parse_ruleset

NOTHING_CHANGED, CHANGED, INVALID_FILE, NO_DATABASE = 0, 1, 2, 3
# A file named like a shipped rule file (its version must then be its name).
RULE_FILE_NAME = re.compile(r"(sharps|manager)-\d+(\.\d+)*")


def candidate_from_file(path: Path) -> RuleSet:
    """The validated rule set in the file: the line from its version; a rule-file name must match it."""
    raw = path.read_bytes()
    if len(raw) > replay.MAX_RULE_FILE_BYTES:
        raise RuleSetError(f"the file is larger than {replay.MAX_RULE_FILE_BYTES // 1024} KB", name=path.name)
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RuleSetError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", name=path.name) from None
    named = path.suffix in (".yaml", ".yml") and RULE_FILE_NAME.fullmatch(path.stem) is not None
    # Named like a rule file: it will be committed under that name, so its version must be the name.
    return parse_ruleset(content, name=path.name, version=path.stem if named else None)


def _sqlite_file_missing(url: str) -> str | None:
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[-1]
    if path and path != ":memory:" and not Path(path).is_file():
        return path
    return None


def _rules_change(c: CaseReplay) -> str:
    moved = [f"-{r}" for r in c.rules_removed] + [f"+{r}" for r in c.rules_added]
    return " ".join(moved) or "(same rules)"


def print_diff(diff: ReplayDiff, out: TextIO) -> None:
    changed = diff.changed
    out.write(f"Candidate {diff.candidate_version} against the live {diff.live_version}: "
              f"{len(diff.cases)} past {diff.line} cases replayed ({len(diff.reviewed)} reviewed).\n")
    if diff.version_released:
        out.write(f"WARNING: {diff.candidate_version} is already a released version: a changed file needs a new "
                  f"version number.\n")
    if not diff.cases:
        out.write("WARNING: no past cases in this database: nothing was tried.\n")
    out.write(f"Changed: {len(changed)} ({len(diff.moved_down)} would move down, {len(diff.moved_up)} up)\n")
    if changed:
        header = ("ref", "decided under", "was", "now", "", "rules fired (-no longer, +now)", "review")
        rows = [(c.ref, c.decided_under or "-", c.was, c.now,
                 {"down": "DOWN", "up": "up"}.get(c.direction, ""), _rules_change(c), c.reviewed or "-")
                for c in changed]
        widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            out.write("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() + "\n")
    if diff.changed_otherwise:
        out.write("Same urgency and rules, something else differs: "
                  + "; ".join(f"{c.ref} ({', '.join(c.other)})" for c in diff.changed_otherwise) + "\n")
    out.write(f"Would under-triage against the practitioner's review: "
              f"{len(diff.versus_review('now', 'under'))} (live rules: {len(diff.versus_review('was', 'under'))})\n")
    out.write(f"Would over-triage against the practitioner's review: "
              f"{len(diff.versus_review('now', 'over'))} (live rules: {len(diff.versus_review('was', 'over'))})\n")
    if diff.moved_down:
        out.write("Every case that would move down must be examined before the release is signed off.\n")


def main(argv: Sequence[str] | None = None, *, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.rules_check", description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path, help="the candidate rule file (.yaml)")
    parser.add_argument("--database-url", help="default: DATABASE_URL (the environment, else .env)")
    parser.add_argument("--limit", type=int, default=None, help="only the newest N cases")
    parser.add_argument("--json", action="store_true", help="print the replay's JSON (as the API answers it)")
    args = parser.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be at least 1")
    try:
        rules = candidate_from_file(args.file)
    except OSError as exc:
        err.write(f"{args.file}: cannot read it: {exc.strerror or exc}\n")
        return INVALID_FILE
    except RuleSetError as exc:
        err.write(f"invalid rule file: {exc}\n")
        return INVALID_FILE
    url = args.database_url or get_settings().database_url
    missing = _sqlite_file_missing(url)
    if missing:  # make_engine would create an empty database, and an empty replay would pass
        err.write(f"no database at {missing} (set DATABASE_URL or --database-url to a copy of the live one)\n")
        return NO_DATABASE
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            if engine.dialect.name == "postgresql":
                session.execute(text("SET TRANSACTION READ ONLY"))
            diff = replay.replay_rules(session, line=rules.line, rules=rules, limit=args.limit)
            session.rollback()
    except SQLAlchemyError as exc:
        err.write(f"cannot read the cases: {type(exc).__name__}: {str(exc).splitlines()[0]}\n")
        return NO_DATABASE
    finally:
        engine.dispose()
    if args.json:
        out.write(json.dumps(diff.to_dict(), indent=1) + "\n")
    else:
        print_diff(diff, out)
    return CHANGED if diff.changed else NOTHING_CHANGED


if __name__ == "__main__":
    sys.exit(main())
