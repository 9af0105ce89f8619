"""Benchmark: the service reports (/reports and its CSVs) on a year of traffic.

    .venv-api/bin/python -m bench.reports                    # 100,000 turns, writes bench/reports-results.md
    .venv-api/bin/python -m bench.reports --turns 20000 --runs 5 --out /tmp/r.md
    .venv-api/bin/python -m bench.reports --no-old           # skip the pre-#13 implementation

Builds a throwaway SQLite database in a temporary directory, migrated with the project's own
alembic migrations (as `make run` does), and fills it in bulk with a fixed random seed:
--turns stored turns (ConversationMessage, inbound and outbound, about half each) in
conversations on the sharps and manager lines over SMS, web chat and voice, spread over the
year before a fixed clock (Mon 23 Nov 2026 14:00 UTC), the cases opened from about half of the
conversations (plus cases entered through the API), their pages, events and ratings.

Then, through FastAPI's TestClient signed in as a clinical lead (the report is for staff), it
times --runs requests each (after one warm-up) of:

- GET /reports (the HTML page, charts and every table), default period (8 weeks) and 52 weeks;
- GET /reports/response_times.csv (one table: the medians and 90th percentiles);
- reports.build() in process, serialised to JSON (there is no JSON reports route: this is
  what one would cost without the template).

p50/p95 latency from the timed runs; peak memory from one more run under tracemalloc (Python
allocations during the request), with the number of SQL statements and of rows they returned
to Python. With the implementation before #13 (`git show HEAD:api/services/reports.py`, or
--old-rev; skipped with --no-old or when that revision already has the SQL version) the 8-week
page and the CSV are measured again (--old-runs, default 1, no warm-up: seconds a request), and
both reports, 8 and 52 weeks, are compared figure by figure.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shlex
import subprocess
import sys
import tempfile
import time
import tracemalloc
import types
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.support.fetched import Fetched  # noqa: E402  (the repository root is on the path first)

NOW = datetime(2026, 11, 23, 14, 0, tzinfo=timezone.utc)  # a Monday afternoon, as in the tests
PASSWORD = "bench-password-not-secret"
LEAD_EMAIL = "lead@bench.example"
CHANNELS = {"sharps": (("sms", 0.5), ("voice", 0.2), ("web", 0.3)), "manager": (("web", 1.0),)}
OUTCOMES = {"sharps": ("ed_attended", "pep_started", "bloods_taken", "vaccine_or_hbig_given", "advice_only",
                       "referred_on"),
            "manager": ("advice_only", "referred_on")}
ORG_TYPES = (("gp_practice", 0.6), ("community_pharmacy", 0.25), ("dental_practice", 0.1), ("optometrist", 0.05))


# --- the data --------------------------------------------------------------------------------

def pick(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([k for k, _ in weighted], [w for _, w in weighted])[0]


def migrate(url: str) -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config(str(REPO / "alembic.ini"))
    cfg.set_main_option("script_location", str(REPO / "api" / "migrations"))
    cfg.attributes["database_url"] = url
    cfg.attributes["configure_logging"] = False
    command.upgrade(cfg, "head")


def fill(session_factory, *, turns: int, seed: int) -> dict[str, int]:
    """Bulk inserts (executemany through SQLAlchemy Core, so stored exactly as the API stores them)."""
    from sqlalchemy import insert, select

    from api.models import Case, CaseEvent, ConversationMessage, Organisation, Page, Practitioner
    from api.services import accounts

    rng = random.Random(seed)
    year_ago = NOW - timedelta(days=365)
    with session_factory() as s:
        s.execute(insert(Organisation), [
            {"code": f"B{i:05d}", "name": f"Bench Organisation {i:03d}", "type": pick(rng, ORG_TYPES),
             "created_at": year_ago} for i in range(80)])
        s.execute(insert(Practitioner), [
            {"name": f"Bench Nurse {i}", "role": "nurse", "mobile": f"+4477009002{i:02d}", "active": True,
             "created_at": year_ago} for i in range(8)])
        org_ids = list(s.scalars(select(Organisation.id)))
        nurse_ids = list(s.scalars(select(Practitioner.id)))
        accounts.create_account(s, email=LEAD_EMAIL, name="Bench Lead", role="clinical_lead", password=PASSWORD,
                                now=year_ago, practitioner_id=nurse_ids[0])
        s.commit()

        messages: list[dict] = []
        cases: list[dict] = []
        serial = {"SH": 0, "MA": 0}
        conversation = 0
        org_weights = [rng.paretovariate(1.2) for _ in org_ids]  # a few organisations call far more
        while len(messages) < turns:
            conversation += 1
            cid = f"bench-{conversation:06d}"
            line = "sharps" if rng.random() < 0.7 else "manager"
            channel = pick(rng, CHANNELS[line])
            t = year_ago + timedelta(seconds=rng.uniform(0, 365 * 86400 - 3600))
            for _ in range(max(1, min(20, int(rng.gauss(5, 2))))):  # ~5 exchanges: ~10 turns
                messages.append({"conversation_id": cid, "channel": channel, "direction": "inbound", "text": "x" * 40,
                                 "status": "relayed", "details": {}, "created_at": t})
                t += timedelta(seconds=rng.lognormvariate(0.7, 0.6))
                messages.append({"conversation_id": cid, "channel": channel, "direction": "outbound",
                                 "text": "y" * 160, "status": "relayed", "details": {}, "created_at": t})
                t += timedelta(seconds=rng.uniform(5, 90))
            if rng.random() < 0.5:
                cases.append(new_case(rng, serial, line, channel, cid, t, org_ids, org_weights))
        for _ in range(conversation // 30):  # entered through the API, no conversation
            t = year_ago + timedelta(seconds=rng.uniform(0, 365 * 86400))
            cases.append(new_case(rng, serial, "sharps", "api", None, t, org_ids, org_weights))
        messages = messages[:turns]
        cases.sort(key=lambda c: c["created_at"])
        s.execute(insert(ConversationMessage), messages)
        s.execute(insert(Case), cases)
        ids = dict(s.execute(select(Case.ref, Case.id)).all())
        pages, events = [], []
        for c in cases:
            case_id = ids[c["ref"]]
            events.append({"case_id": case_id, "type": "opened", "actor": "bot", "description": "opened",
                           "details": {}, "created_at": c["created_at"]})
            if c["urgency"] in ("emergency", "urgent") and c["line"] == "sharps":
                sent = c["created_at"] + timedelta(seconds=rng.uniform(0, 3))
                for attempt in range(1, rng.choice((1, 1, 1, 2, 3)) + 1):
                    acked = (sent + timedelta(seconds=rng.lognormvariate(4.5, 0.8))
                             if c["acknowledged_at"] and attempt == 1 else None)
                    pages.append({"case_id": case_id, "practitioner_id": rng.choice(nurse_ids),
                                  "tier": ("primary", "backup", "clinical_lead")[attempt - 1], "attempt": attempt,
                                  "urgency": c["urgency"], "status": "acknowledged" if acked else "escalated",
                                  "sent_at": sent, "ack_seconds": 300.0, "ack_deadline": sent + timedelta(seconds=300),
                                  "acknowledged_at": acked, "acknowledged_by": "Bench Nurse" if acked else None,
                                  "created_at": sent})
                    sent += timedelta(seconds=300)
            if c["conversation_id"] and rng.random() < 0.35:
                events.append({"case_id": case_id, "type": "rating", "actor": "bot", "description": "rating",
                               "details": {"score": rng.choices((1, 2, 3, 4, 5), (7, 6, 12, 30, 45))[0]},
                               "created_at": c["created_at"] + timedelta(minutes=5)})
        s.execute(insert(Page), pages)
        s.execute(insert(CaseEvent), events)
        s.commit()
        return {"turns": len(messages), "conversations": conversation, "cases": len(cases), "pages": len(pages),
                "events": len(events), "organisations": len(org_ids)}


def new_case(rng: random.Random, serial: dict[str, int], line: str, channel: str, cid: str | None,
             t: datetime, org_ids: list[int], org_weights: list[float]) -> dict:
    prefix = "SH" if line == "sharps" else "MA"
    serial[prefix] += 1
    urgency = (rng.choices(("emergency", "urgent", "routine"), (2, 3, 5))[0] if line == "sharps"
               else rng.choices(("urgent", "routine", None), (1, 8, 1))[0])
    age = NOW - t
    # Everything older than a few days is closed; recent cases are in every state.
    status = "closed" if age > timedelta(days=5) or rng.random() < 0.6 else rng.choice(
        ("triaged", "escalated", "acknowledged", "in_progress"))
    closed_at = t + timedelta(hours=rng.uniform(1, 96)) if status == "closed" else None
    if closed_at and closed_at > NOW:
        closed_at = NOW - timedelta(minutes=1)
    acked = t + timedelta(minutes=rng.uniform(1, 20)) if status in ("closed", "acknowledged", "in_progress") else None
    return {"ref": f"{prefix}-{serial[prefix]:06d}", "line": line, "kind": "exposure" if line == "sharps" else "advice",
            "channel": channel, "status": status, "urgency": urgency, "conversation_id": cid,
            "organisation_id": rng.choices(org_ids, org_weights)[0] if rng.random() < 0.95 else None,
            "contact": {}, "answers": {}, "decision": None, "provisional": False, "escalation_round": 0,
            "outcome": rng.choice(OUTCOMES[line]) if closed_at else None,
            "created_at": t, "updated_at": closed_at or t, "acknowledged_at": acked, "closed_at": closed_at}


# --- measuring -------------------------------------------------------------------------------

def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    return ordered[max(1, min(len(ordered), -(-q * len(ordered) // 100))) - 1]


def measure(call: Callable[[], Any], runs: int, session_factory, *, warm_up: bool = True) -> dict[str, Any]:
    if warm_up:
        call()  # templates, statement cache
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    counter = Fetched(session_factory)
    tracemalloc.start()
    try:
        call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        counter.close()
    return {"runs": runs, "p50": pct(times, 50), "p95": pct(times, 95), "max": max(times),
            "peak_mib": peak / 2**20, "statements": counter.statements, "rows": counter.rows}


def old_module(rev: str) -> types.ModuleType | None:
    """api/services/reports.py as committed at `rev`, if that is still the pre-#13 version."""
    try:
        source = subprocess.run(["git", "show", f"{rev}:api/services/reports.py"], cwd=REPO, capture_output=True,
                                text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    if "ConversationMessage.direction == \"inbound\", ConversationMessage.created_at <= now" not in source:
        return None  # `rev` already computes in SQL
    module = types.ModuleType("bench_reports_old")
    module.__file__ = f"{rev}:api/services/reports.py"
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, module.__file__, "exec"), module.__dict__)  # our own file, from git
    return module


def report_json(report) -> str:
    return json.dumps({"weeks": report.weeks, "weekly": report.weekly, "flags": report.flags,
                       "rating_summary": report.rating_summary,
                       "stats": [{"measure": m, "group": g, **v} for (m, g), v in report.stats.items()],
                       "tables": {n: {"columns": t.columns, "rows": t.rows} for n, t in report.tables.items()}},
                      default=str)


def same_report(a, b) -> list[str]:
    """Where two reports differ (empty: identical figures and rows)."""
    diffs = [k for k in ("start", "weeks", "weekly", "stats", "rating_summary", "flags")
             if getattr(a, k) != getattr(b, k)]
    def rows(t) -> tuple:
        return (t.name, t.title, t.columns, t.rows) if t is not None else ()

    diffs += [f"table {n}" for n in sorted(set(a.tables) | set(b.tables))
              if rows(a.tables.get(n)) != rows(b.tables.get(n))]
    return diffs


def machine() -> str:
    cpu = "unknown CPU"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    load = " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return (f"{os.cpu_count()} CPU(s) (`os.cpu_count()`), {cpu}, {platform.system()} {platform.release()}; "
            f"load average at start {load}")


def git_rev() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                             check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "api", "bench"], cwd=REPO,
                               capture_output=True, text=True, check=False).stdout.strip()
        return rev + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


# --- the run ---------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=100_000, help="stored turns (default 100000)")
    parser.add_argument("--runs", type=int, default=10, help="timed requests per measurement (default 10)")
    parser.add_argument("--old-runs", type=int, default=1,
                        help="timed requests per measurement, old code (1, no warm-up: it runs after the new code)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--no-old", action="store_true", help="do not measure the implementation before #13")
    parser.add_argument("--old-rev", default="HEAD",
                        help="git revision with the implementation before #13 (default HEAD; once #13 is "
                             "committed: the commit before it)")
    parser.add_argument("--out", default=str(REPO / "bench" / "reports-results.md"))
    args = parser.parse_args(argv)
    given = sys.argv[1:] if argv is None else argv
    command = ".venv-api/bin/python -m bench.reports" + (" " + shlex.join(given) if given else "")
    started = time.perf_counter()
    at_start = machine()

    import sqlalchemy
    from fastapi.testclient import TestClient

    from api.core.config import Settings
    from api.core.db import make_engine, make_session_factory
    from api.main import create_app
    from api.services import reports

    with tempfile.TemporaryDirectory(prefix="bench-reports-") as tmp:
        url = f"sqlite:///{tmp}/reports.db"
        t0 = time.perf_counter()
        migrate(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        counts = fill(factory, turns=args.turns, seed=args.seed)
        fill_seconds = time.perf_counter() - t0
        size_mib = Path(f"{tmp}/reports.db").stat().st_size / 2**20
        print(f"database: {counts} in {fill_seconds:.1f} s ({size_mib:.0f} MiB)", flush=True)

        settings = Settings(_env_file=None, environment="test", database_url=url,
                            inbound_spool_dir=f"{tmp}/spool", rasa_tracker_dialect="sqlite",
                            rasa_tracker_db=f"{tmp}/rasa-tracker.db", helpline_api_token="bench-token-0123456789abcdef",
                            session_secret="bench-session-secret-0123456789", worker_enabled=False)
        app = create_app(settings, clock=lambda: NOW)
        app.state.session_factory = factory
        tz = settings.timezone
        results: list[tuple[str, str, str, dict[str, Any]]] = []
        with TestClient(app, base_url="http://testserver") as client:
            login = client.get("/login")
            token = re.search(r'name="csrf_token" value="([^"]+)"', login.text).group(1)
            signed = client.post("/login", data={"email": LEAD_EMAIL, "password": PASSWORD, "csrf_token": token,
                                                 "next": "/"}, follow_redirects=False)
            assert signed.status_code == 303, signed.text

            def get(path: str) -> Callable[[], None]:
                def call() -> None:
                    response = client.get(path)
                    assert response.status_code == 200, (path, response.status_code, response.text[:300])
                return call

            def built(weeks: int) -> Callable[[], None]:
                def call() -> None:
                    with factory() as session:
                        report_json(reports.build(session, now=NOW, weeks=weeks, tz=tz))
                return call

            targets = [("GET /reports", "8 weeks (default)", get("/reports")),
                       ("GET /reports?weeks=52", "52 weeks", get("/reports?weeks=52")),
                       ("GET /reports/response_times.csv", "8 weeks", get("/reports/response_times.csv")),
                       ("reports.build() + JSON (in process)", "8 weeks", built(8))]

            old = None if args.no_old else old_module(args.old_rev)
            old_label = f"before ({args.old_rev})"
            versions = [("after (SQL)", args.runs)] + ([(old_label, args.old_runs)] if old else [])
            new_build, new_table = reports.build, reports.table
            diffs: dict[int, list[str]] = {}
            for version, runs in versions:
                before = version.startswith("before")
                if before:
                    reports.build = old.build
                    reports.table = lambda session, name, **kw: old.build(session, **kw).tables[name]
                for name, period, call in targets:
                    if before and ("52" in period or "in process" in name):
                        continue  # seconds a request: the 52-week report is compared below, not timed
                    result = measure(call, runs, factory, warm_up=not before)
                    results.append((version, name, period, result))
                    print(f"{version:14} {name:40} {period:18} p50 {result['p50'] * 1000:8.1f} ms  "
                          f"p95 {result['p95'] * 1000:8.1f} ms  peak {result['peak_mib']:6.1f} MiB  "
                          f"rows {result['rows']}", flush=True)
                reports.build, reports.table = new_build, new_table
            if old:
                with factory() as session:
                    for weeks in (8, 52):
                        diffs[weeks] = same_report(old.build(session, now=NOW, weeks=weeks, tz=tz),
                                                   reports.build(session, now=NOW, weeks=weeks, tz=tz))
        engine.dispose()

    total = time.perf_counter() - started
    import resource

    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    lines = [
        "# Reports benchmark results",
        "",
        f"- date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M:%S} UTC",
        f"- command: `{command}` (from the repository root)",
        f"- machine: {at_start}",
        f"- versions: python {platform.python_version()}, sqlalchemy {sqlalchemy.__version__}, "
        f"SQLite {__import__('sqlite3').sqlite_version}, git {git_rev()}",
        f"- data (seed {args.seed}, clock fixed at {NOW:%a %d %b %Y %H:%M} UTC): **{counts['turns']:,} stored turns** "
        f"in {counts['conversations']:,} conversations over the year before, {counts['cases']:,} cases, "
        f"{counts['pages']:,} pages, {counts['events']:,} case events (ratings among them), "
        f"{counts['organisations']} organisations; SQLite file {size_mib:.0f} MiB, migrated with alembic, "
        f"filled in {fill_seconds:.1f} s",
        "- requests through FastAPI's TestClient, signed in as a clinical lead; one warm-up, then the timed runs; "
        "peak memory: Python allocations during one more request (tracemalloc); statements and rows: SQL run by "
        "the request's session and rows it handed back to Python",
        "",
        "| code | request | period | runs | p50 ms | p95 ms | max ms | peak MiB | SQL statements | rows to Python |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for version, name, period, r in results:
        lines.append(f"| {version} | `{name}` | {period} | {r['runs']} | {r['p50'] * 1000:.1f} | "
                     f"{r['p95'] * 1000:.1f} | {r['max'] * 1000:.1f} | {r['peak_mib']:.1f} | {r['statements']} | "
                     f"{r['rows']:,} |")
    lines.append("")
    if len({v for v, *_ in results}) > 1:
        by = {(v, n, p): r for v, n, p, r in results}
        for name, period, _ in targets:
            if (old_label, name, period) not in by:
                continue
            before, after = by[(old_label, name, period)], by[("after (SQL)", name, period)]
            lines.append(f"- `{name}` ({period}): p50 {before['p50'] * 1000:.0f} -> {after['p50'] * 1000:.0f} ms "
                         f"(**{before['p50'] / after['p50']:.1f}x**), peak {before['peak_mib']:.1f} -> "
                         f"{after['peak_mib']:.1f} MiB, rows to Python {before['rows']:,} -> {after['rows']:,}")
        for weeks, diff in diffs.items():
            lines.append(f"- same figures before and after ({weeks} weeks, every table, stat and flag): "
                         + ("**yes**" if not diff else f"**no**: {', '.join(diff)}"))
    else:
        lines.append(f"- the implementation before #13 was not measured (--no-old, or {args.old_rev} "
                     "already has the SQL version)")
    lines += ["", f"Whole run {total:.0f} s; the process's peak RSS {maxrss:.0f} MiB (data generation included).", ""]
    Path(args.out).write_text("\n".join(lines))
    print(f"wrote {args.out} ({total:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
