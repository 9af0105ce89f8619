"""Benchmark: the API's signed SMS path against bare Rasa, paging time, deadline lateness.

    .venv-api/bin/python bench/run.py                      # make bench: start everything, 50 conversations
    .venv-api/bin/python bench/run.py --conversations 20 --rounds 1 --out /tmp/r.md
    .venv-api/bin/python bench/run.py --api-url http://127.0.0.1:8000 --rasa-url http://127.0.0.1:5005 \
        --database-url sqlite:///var/helpline.db          # against running processes (reads .env)

By default it starts its own API, action server and Rasa (bench/stack.py) on free loopback
ports with a temporary SQLite database (migrated and seeded) and the trained model, and
stops them at the end. Phases, each bounded in time:

1. warm-up: every script once on each path (not measured).
2. turns: N concurrent conversations (--conversations, default 50; conversation i follows
   script i mod 5 of bench/conversations.yml, no think time) sent straight to Rasa's REST
   channel with the metadata the API sends, then the same messages through the API's
   signed Twilio webhook (unique From per conversation, unique MessageSid per turn);
   repeated --rounds times, alternating, so neither path always runs first.
3. decision-to-page: emergency cases posted to /api/cases; case created -> the page row's
   sent_at -> the outbox row handed to the notifier.
4. deadlines: the API restarted with ACK_SECONDS_EMERGENCY=--ack-seconds (same database),
   emergency cases created, nobody acknowledges: page_overdue event (and the backup's page
   and text) minus the deadline.

Results (machine, date, command, versions, tables, pass/fail) go to --out (bench/results.md).
Everything is on 127.0.0.1. Exit code 0 whether or not targets pass (1 if the run broke).
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata
import json
import os
import platform
import random
import secrets
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import yaml
from twilio.request_validator import RequestValidator

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import stack as stk  # noqa: E402

SAFE_MARKER = "the assistant is not available"  # api.services.safe_answer.SAFE_ANSWER
TARGET_RATIO_P95 = 1.3
TARGET_TURNS_PER_SECOND = 20.0
TARGET_PAGE_SECONDS = 2.0
TARGET_LATE_SECONDS = 5.0
HELPLINE_NUMBER = "+441134960000"
EMERGENCY_ANSWERS = {"exposure_type": "percutaneous", "fluid": "blood",
                     "device": {"kind": "hollow_bore_needle", "used": True},
                     "source": {"identified": True, "hiv": "positive"}}


# --- statistics ----------------------------------------------------------------------------

def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); nan for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


def dist(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "p50": pct(values, 50), "p95": pct(values, 95), "p99": pct(values, 99),
            "max": max(values) if values else float("nan"),
            "mean": statistics.fmean(values) if values else float("nan")}


def ms(seconds: float) -> str:
    return "n/a" if seconds != seconds else f"{seconds * 1000:.0f}"


def secs(seconds: float) -> str:
    return "n/a" if seconds != seconds else f"{seconds:.3f}"


# --- conversations ---------------------------------------------------------------------------

@dataclass
class TurnResult:
    path: str
    conversation: int
    number: int
    text: str
    sent: float          # time.time() when the request left
    seconds: float       # until the whole answer was read
    status: int | None
    error: str | None    # transport error, HTTP status, safe answer, empty answer
    unexpected: bool
    sid: str | None = None


@dataclass
class PhaseResult:
    path: str
    round: int
    started: float
    finished: float
    turns: list[TurnResult] = field(default_factory=list)


def load_scripts(path: Path) -> list[dict[str, Any]]:
    scripts = yaml.safe_load(path.read_text())["scripts"]
    for script in scripts:
        for turn in script["turns"]:
            turn["user"] = str(turn["user"])
    return scripts


def expected(turn: dict[str, Any], reply: str) -> bool:
    wanted = turn.get("expect") or []
    low = reply.lower()
    return not wanted or any(str(w).lower() in low for w in wanted)


class Paths:
    """The two ways a turn reaches the bot: the API's signed webhook, or Rasa directly."""

    def __init__(self, client: httpx.AsyncClient, *, api_url: str, rasa_url: str, public_url: str,
                 twilio_token: str, timeout: float) -> None:
        self.client, self.api_url, self.rasa_url = client, api_url.rstrip("/"), rasa_url.rstrip("/")
        self.public_url = public_url.rstrip("/")
        self.validator = RequestValidator(twilio_token)
        self.timeout = timeout

    async def via_api(self, phone: str, text: str) -> tuple[int, str, str]:
        sid = "SM" + secrets.token_hex(16)
        params = {"MessageSid": sid, "SmsSid": sid, "AccountSid": "AC" + "0" * 32, "From": phone,
                  "To": HELPLINE_NUMBER, "Body": text, "NumMedia": "0"}
        signature = self.validator.compute_signature(self.public_url + "/twilio/sms", params)
        response = await self.client.post(self.api_url + "/twilio/sms", data=params, timeout=self.timeout,
                                          headers={"X-Twilio-Signature": signature})
        if response.status_code != 200:
            return response.status_code, "", sid
        reply = "\n".join(m.text or "" for m in ET.fromstring(response.text).iter("Message"))
        return 200, reply, sid

    async def via_rasa(self, sender: str, phone: str, text: str, buttons: list[dict]) -> tuple[int, str, list]:
        # What the API would relay: a bare choice number becomes the offered button's payload
        # (on SMS the bot lists numbered replies itself, so there are normally no buttons).
        message = text
        if text.strip().isdigit() and buttons and 0 < int(text) <= len(buttons):
            message = buttons[int(text) - 1].get("payload") or text
        body = {"sender": sender, "message": message, "metadata": {"channel": "sms", "phone": phone}}
        response = await self.client.post(self.rasa_url + "/webhooks/rest/webhook", json=body, timeout=self.timeout)
        if response.status_code != 200:
            return response.status_code, "", []
        messages = response.json()
        parts, offered = [], []
        for m in messages:
            parts.append(m.get("text") or "")
            offered += m.get("buttons") or []
        return 200, "\n".join(parts), offered


async def converse(paths: Paths, path: str, index: int, script: dict, *, run_id: str, phone: str,
                   start_delay: float, think: float = 0.0) -> list[TurnResult]:
    await asyncio.sleep(start_delay)
    results, buttons = [], []
    sender = f"bench-{run_id}-{index}"
    for number, turn in enumerate(script["turns"], 1):
        text = turn["user"]
        sent = time.time()
        t0 = time.perf_counter()
        error, status, reply, sid = None, None, "", None
        try:
            if path == "api":
                status, reply, sid = await paths.via_api(phone, text)
            else:
                status, reply, buttons = await paths.via_rasa(sender, phone, text, buttons)
            if status != 200:
                error = f"HTTP {status}"
            elif SAFE_MARKER in reply:
                error = "safe answer (Rasa unavailable or too slow for the API)"
            elif not reply.strip():
                error = "empty answer"
        except Exception as exc:  # timeouts, refused connections, bad XML
            error = type(exc).__name__
        seconds = time.perf_counter() - t0
        results.append(TurnResult(path, index, number, text, sent, seconds, status, error,
                                  unexpected=error is None and not expected(turn, reply), sid=sid))
        if status is None and error and "Connect" in error:
            break  # nothing is listening: no point going on
        # Otherwise carry on, as a person would after the safe answer: the load stays the same.
        if think:
            await asyncio.sleep(random.uniform(0, think))
    return results


async def run_phase(paths: Paths, path: str, scripts: list[dict], count: int, *, round_no: int, run_id: str,
                    phones: list[str], budget: float, ramp: float = 2.0, think: float = 0.0) -> PhaseResult:
    phase = PhaseResult(path, round_no, time.time(), 0.0)
    tasks = [converse(paths, path, i, scripts[i % len(scripts)], run_id=f"{run_id}-{path}{round_no}",
                      phone=phones[i], start_delay=ramp * i / max(count, 1), think=think) for i in range(count)]
    done = await asyncio.wait_for(asyncio.gather(*tasks), timeout=budget)
    phase.finished = time.time()
    phase.turns = [t for conversation in done for t in conversation]
    return phase


# --- API helpers -------------------------------------------------------------------------------

def api_headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def create_cases(client: httpx.AsyncClient, api_url: str, token: str, count: int, *,
                       spread_seconds: float, concurrency: int = 10) -> list[dict]:
    """`count` emergency cases, started evenly over `spread_seconds`; each with the client's send time."""
    gate = asyncio.Semaphore(concurrency)
    occurred = datetime.now(timezone.utc).isoformat()

    async def one(i: int) -> dict:
        await asyncio.sleep(spread_seconds * i / max(count, 1))
        async with gate:
            body = {"line": "sharps", "channel": "api", "organisation_code": "Y00001",
                    "contact": {"phone": f"+4477009009{i % 100:02d}"},
                    "answers": {**EMERGENCY_ANSWERS, "occurred_at": occurred}}
            sent = time.time()
            t0 = time.perf_counter()
            response = await client.post(f"{api_url}/api/cases", json=body, headers=api_headers(token), timeout=30)
            took = time.perf_counter() - t0
        if response.status_code != 201:
            return {"error": f"HTTP {response.status_code}", "sent": sent, "seconds": took}
        return {**response.json(), "sent": sent, "seconds": took}

    return list(await asyncio.gather(*(one(i) for i in range(count))))


def ack_seconds(page: dict) -> float:
    if not (page.get("sent_at") and page.get("ack_deadline")):
        return 0.0
    return (parse_ts(page["ack_deadline"]) - parse_ts(page["sent_at"])).total_seconds()


def parse_ts(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


class Database:
    """Read-only look-ups the HTTP API does not offer (outbox rows, relay timings)."""

    def __init__(self, url: str | None) -> None:
        self.engine = None
        if url:
            from api.core.db import make_engine

            self.engine = make_engine(url)

    def rows(self, sql: str, **params: Any) -> list[dict]:
        if self.engine is None:
            return []
        from sqlalchemy import text

        with self.engine.connect() as connection:
            return [dict(r._mapping) for r in connection.execute(text(sql), params)]

    def close(self) -> None:
        if self.engine is not None:
            self.engine.dispose()


def decision_to_page(db: Database, cases: list[dict]) -> dict[str, list[float]]:
    """case created -> primary page sent_at; -> its outbox row created; -> handed to the notifier."""
    out: dict[str, list[float]] = {"page": [], "outbox_row": [], "outbox_sent": [], "client": []}
    for case in cases:
        if "ref" not in case:
            continue
        created = parse_ts(case["created_at"])
        primary = next((p for p in case["pages"] if p["attempt"] == 1 and p["sent_at"]), None)
        if primary is None:
            continue
        out["page"].append((parse_ts(primary["sent_at"]) - created).total_seconds())
        out["client"].append(case["seconds"])
        for row in db.rows("SELECT created_at, sent_at FROM outbox_message WHERE page_id = :id", id=primary["id"]):
            out["outbox_row"].append((parse_ts(row["created_at"]) - created).total_seconds())
            if row["sent_at"] is not None:
                out["outbox_sent"].append((parse_ts(row["sent_at"]) - created).total_seconds())
    return out


def decisions_in_conversations(db: Database) -> dict[str, list[float]]:
    """Cases opened by the benchmark's conversations (under load): the triage event that first
    called for a page -> the first page's sent_at, and -> its text handed to the notifier."""
    out: dict[str, list[float]] = {"page": [], "outbox_sent": []}
    events = db.rows("SELECT case_id, created_at, details FROM case_event WHERE type = 'triaged' ORDER BY id")
    first: dict[int, datetime] = {}
    for event in events:
        details = event["details"]
        if isinstance(details, str):
            details = json.loads(details)
        decision = (details or {}).get("decision") or details or {}
        if decision.get("page_on_call") or decision.get("urgency") in ("urgent", "emergency"):
            first.setdefault(event["case_id"], parse_ts(event["created_at"]))
    pages = db.rows("SELECT p.id, p.case_id, p.sent_at, o.sent_at AS outbox_sent FROM page p "
                    "LEFT JOIN outbox_message o ON o.page_id = p.id WHERE p.sent_at IS NOT NULL ORDER BY p.id")
    seen: set[int] = set()
    for page in pages:
        if page["case_id"] in seen or page["case_id"] not in first:
            continue
        seen.add(page["case_id"])
        decided = first[page["case_id"]]
        out["page"].append((parse_ts(page["sent_at"]) - decided).total_seconds())
        if page["outbox_sent"] is not None:
            out["outbox_sent"].append((parse_ts(page["outbox_sent"]) - decided).total_seconds())
    return out


async def deadline_lateness(client: httpx.AsyncClient, db: Database, api_url: str, token: str, count: int,
                            budget: float) -> dict[str, Any]:
    cases = await create_cases(client, api_url, token, count, spread_seconds=2.0)
    refs = [c["ref"] for c in cases if "ref" in c]
    errors = sum(1 for c in cases if "ref" not in c)
    ack = max((ack_seconds(p) for c in cases if "ref" in c for p in c["pages"]), default=None)
    deadline_at = time.monotonic() + budget
    late_event: dict[str, float] = {}
    late_backup: dict[str, float] = {}
    late_text: dict[str, float] = {}
    pending = set(refs)
    while pending and time.monotonic() < deadline_at:
        await asyncio.sleep(0.5)
        for ref in list(pending):
            case = (await client.get(f"{api_url}/api/cases/{ref}", headers=api_headers(token))).json()
            primary = next((p for p in case["pages"] if p["attempt"] == 1), None)
            backup = next((p for p in case["pages"] if p["attempt"] == 2), None)
            if primary is None or backup is None:
                continue
            events = (await client.get(f"{api_url}/api/cases/{ref}/events", headers=api_headers(token))).json()
            overdue = next((e for e in events if e["type"] == "page_overdue"
                            and (e.get("details") or {}).get("page_id") == primary["id"]), None)
            if overdue is None:
                continue
            due = parse_ts(primary["ack_deadline"])
            late_event[ref] = (parse_ts(overdue["created_at"]) - due).total_seconds()
            late_backup[ref] = (parse_ts(backup["sent_at"]) - due).total_seconds()
            rows = db.rows("SELECT sent_at FROM outbox_message WHERE page_id = :id", id=backup["id"])
            if db.engine is not None and not (rows and rows[0]["sent_at"]):
                continue  # the backup's text has not left yet: look again
            if rows:
                late_text[ref] = (parse_ts(rows[0]["sent_at"]) - due).total_seconds()
            pending.discard(ref)
    # Stop the ladder climbing for ever: acknowledge what was paged.
    for ref in refs:
        with contextlib.suppress(Exception):
            case = (await client.get(f"{api_url}/api/cases/{ref}", headers=api_headers(token))).json()
            for page in case["pages"]:
                if page["status"] == "pending":
                    await client.post(f"{api_url}/api/pages/{page['id']}/ack", json={"by": "bench"},
                                      headers=api_headers(token))
    return {"cases": len(refs), "errors": errors, "not_fired": len(pending), "ack_seconds": ack,
            "event": list(late_event.values()), "backup_page": list(late_backup.values()),
            "backup_text": list(late_text.values())}


# --- machine and versions --------------------------------------------------------------------

def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time so far (Linux /proc) of a process and every live process in its
    process group (Rasa's Sanic workers; each started process leads its own group), 0 if unknown."""
    if not pid:
        return 0.0
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(stat.parent.name) == pid or int(fields[2]) == pid:  # fields[2]: process group id
                ticks += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            continue
    return ticks / os.sysconf("SC_CLK_TCK")


def machine() -> dict[str, str]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    nproc = subprocess.run(["nproc"], capture_output=True, text=True, check=False).stdout.strip() or str(os.cpu_count())
    return {"nproc": nproc, "memory": mem, "cpu": cpu, "kernel": platform.release(),
            "load": " ".join(f"{x:.2f}" for x in os.getloadavg())}


def versions(rasa_version: str | None) -> dict[str, str]:
    out = {"python (API)": platform.python_version()}
    for name in ("fastapi", "uvicorn", "starlette", "sqlalchemy", "httpx", "twilio"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            out[name] = importlib.metadata.version(name)
    bot_python = stk.BOT_BIN / "python"
    if bot_python.exists():
        probe = ("import importlib.metadata as m, platform; "
                 "print(platform.python_version(), m.version('rasa'), m.version('rasa-sdk'), m.version('sanic'))")
        result = subprocess.run([str(bot_python), "-c", probe], capture_output=True, text=True, check=False)
        if result.returncode == 0:
            py, rasa, sdk, sanic = result.stdout.split()
            out.update({"python (bot)": py, "rasa": rasa, "rasa-sdk": sdk, "sanic": sanic})
    if rasa_version:
        out["rasa (server says)"] = rasa_version
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True, check=False)
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, check=False)
    if commit.returncode == 0:
        out["git"] = commit.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip() else "")
    return out


def other_load() -> str:
    """Other heavy work on the machine (a clean-clone `make test` in /tmp/cc, say) pollutes numbers."""
    result = subprocess.run(["pgrep", "-f", "/tmp/cc"], capture_output=True, text=True, check=False)  # exit 1: no match
    mine = {str(os.getpid())}
    others = [p for p in result.stdout.split() if p not in mine]
    return f"{len(others)} process(es) matching /tmp/cc were running" if others else "none"


# --- report ------------------------------------------------------------------------------------

def summarise(phases: list[PhaseResult], path: str) -> dict[str, Any]:
    mine = [p for p in phases if p.path == path]
    turns = [t for p in mine for t in p.turns]
    ok = [t.seconds for t in turns if t.error is None]
    wall = sum(p.finished - p.started for p in mine)
    errors: dict[str, int] = {}
    for t in turns:
        if t.error:
            errors[t.error] = errors.get(t.error, 0) + 1
    return {"turns": len(turns), "ok": len(ok), "wall": wall,
            "tps": len(ok) / wall if wall else 0.0, "latency": dist(ok), "errors": errors,
            "unexpected": sum(1 for t in turns if t.unexpected),
            "per_round": [(p.round, len(p.turns), p.finished - p.started) for p in mine]}


def passfail(ok: bool) -> str:
    return "**PASS**" if ok else "**FAIL**"


def render(args: argparse.Namespace, info: dict[str, Any]) -> str:
    m, v = info["machine"], info["versions"]
    api, rasa = info["api"], info["rasa"]
    ratio = api["latency"]["p95"] / rasa["latency"]["p95"] if rasa["latency"]["p95"] else float("nan")
    total_errors = sum(api["errors"].values()) + sum(rasa["errors"].values())
    lines = [
        "# Benchmark results",
        "",
        f"- date: {info['date']}",
        f"- command: `{info['command']}`",
        f"- machine: {m['nproc']} CPU(s) (`nproc`), {m['memory']} memory, {m['cpu']}, Linux {m['kernel']}; "
        f"load average at start {m['load']}",
        f"- other load during the run: {info['other_load_start']} at start, {info['other_load_end']} at the end",
        "- versions: " + ", ".join(f"{k} {val}" for k, val in v.items()),
        f"- set-up: {info['setup']}",
        f"- load: {args.conversations} concurrent conversations per phase, {args.rounds} round(s) per path "
        f"(alternating, Rasa first), started evenly over {args.ramp:g} s, "
        + (f"think time up to {args.think:g} s" if args.think else "no think time (closed loop: "
           f"{args.conversations} turns always in flight)") + "; scripts: `bench/conversations.yml` "
        f"({info['scripts']}); per-turn timeout {args.timeout:.0f}s",
        "",
        "## Turns: API (signed SMS webhook) vs bare Rasa (REST channel), same model and messages",
        "",
        "| path | turns | ok | errors | unexpected replies | p50 ms | p95 ms | p99 ms | max ms | turns/s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, s in (("bare Rasa (`POST /webhooks/rest/webhook`)", rasa), ("API (`POST /twilio/sms`)", api)):
        lat = s["latency"]
        lines.append(f"| {name} | {s['turns']} | {s['ok']} | {sum(s['errors'].values())} | {s['unexpected']} | "
                     f"{ms(lat['p50'])} | {ms(lat['p95'])} | {ms(lat['p99'])} | {ms(lat['max'])} | {s['tps']:.1f} |")
    lines += [
        "",
        f"- ratio API / bare Rasa at p95: **{ratio:.2f}x** (target <= {TARGET_RATIO_P95}x): "
        f"{passfail(ratio <= TARGET_RATIO_P95)}",
        f"- API throughput: **{api['tps']:.1f} turns/s** (target >= {TARGET_TURNS_PER_SECOND:.0f}): "
        f"{passfail(api['tps'] >= TARGET_TURNS_PER_SECOND)}; bare Rasa {rasa['tps']:.1f} turns/s",
        f"- errors: **{total_errors}** (target 0): {passfail(total_errors == 0)}"
        + (f"; API {api['errors']}" if api["errors"] else "") + (f"; Rasa {rasa['errors']}" if rasa["errors"] else ""),
        "- rounds (path, round, turns, seconds): "
        + "; ".join(f"{n} r{r}: {t} in {w:.1f}s" for n, s in (("rasa", rasa), ("api", api))
                    for r, t, w in s["per_round"]),
    ]
    if api["errors"]:
        lines.append("- with errors on the API path the ratio flatters the API: a turn that got the safe answer "
                     "was cut off at `RASA_TIMEOUT_SECONDS`")
    if info.get("cpu"):
        lines.append("- CPU time per turn, by process (ms, from /proc): " + "; ".join(
            f"{'bare Rasa' if path == 'rasa' else 'API'} path: "
            + ", ".join(f"{name} {value:.0f}" for name, value in by.items())
            for path, by in info["cpu"].items()))
    inside = info.get("api_inside")
    if inside:
        lines += [
            f"- inside the API (its own timing of the Rasa call, `rasa_seconds` on the stored turn, n={inside['n']}): "
            f"Rasa wait p50 {ms(inside['rasa']['p50'])} ms / p95 {ms(inside['rasa']['p95'])} ms; "
            f"the rest of the API turn (client latency minus Rasa wait) p50 {ms(inside['rest']['p50'])} ms / "
            f"p95 {ms(inside['rest']['p95'])} ms",
        ]
    lines += ["", "## Decision to page", ""]
    dp = info.get("decision_to_page")
    if dp:
        lines += [
            f"{dp['cases']} emergency cases posted to `/api/cases` ({dp['errors']} errors), 10 at a time over 5 s, "
            "nothing else running. Times from the case's `created_at` (server clock).",
            "",
            "| measure | n | p50 s | p95 s | max s |",
            "|---|---:|---:|---:|---:|",
        ]
        for label, key in (("page row `sent_at`", "page"), ("outbox row written", "outbox_row"),
                           ("outbox row handed to the notifier (`sent_at`)", "outbox_sent"),
                           ("client: POST /api/cases answered (s)", "client")):
            d = dist(dp[key])
            lines.append(f"| {label} | {d['n']} | {secs(d['p50'])} | {secs(d['p95'])} | {secs(d['max'])} |")
        conv = info.get("decision_in_conversations")
        if conv:
            for label, key in (("conversations under load: deciding triage -> page `sent_at`", "page"),
                               ("conversations under load: deciding triage -> text handed to the notifier",
                                "outbox_sent")):
                d = dist(conv[key])
                lines.append(f"| {label} | {d['n']} | {secs(d['p50'])} | {secs(d['p95'])} | {secs(d['max'])} |")
        worst = max(dist(dp["outbox_sent"])["max"] if dp["outbox_sent"] else float("inf"),
                    dist(dp["page"])["max"] if dp["page"] else float("inf"))
        lines += ["", f"- worst case created -> page text handed to the notifier: {secs(worst)} s "
                  f"(target < {TARGET_PAGE_SECONDS:.0f} s): {passfail(worst < TARGET_PAGE_SECONDS)}"]
    else:
        lines.append("not measured")
    lines += ["", "## Acknowledgement deadlines: how late they fire", ""]
    dl = info.get("deadlines")
    if dl and dl.get("event"):
        lines += [
            f"{dl['cases']} emergency cases ({dl['errors']} errors) created over 2 s, API restarted with "
            f"`ACK_SECONDS_EMERGENCY={dl['ack_seconds']:g}` and `WORKER_INTERVAL_SECONDS` "
            f"{info['worker_interval']}; nobody acknowledges. Lateness = time - the primary page's `ack_deadline`. "
            f"Not fired within the wait: {dl['not_fired']}.",
            "",
            "| measure | n | p50 s | p95 s | max s |",
            "|---|---:|---:|---:|---:|",
        ]
        for label, key in (("`page_overdue` event (worker claims the deadline)", "event"),
                           ("backup page row `sent_at`", "backup_page"),
                           ("backup's text handed to the notifier", "backup_text")):
            d = dist(dl[key])
            lines.append(f"| {label} | {d['n']} | {secs(d['p50'])} | {secs(d['p95'])} | {secs(d['max'])} |")
        worst = max(dl["backup_text"] or dl["event"])
        ok = worst < TARGET_LATE_SECONDS and dl["not_fired"] == 0
        lines += ["", f"- worst lateness: {secs(worst)} s (target < {TARGET_LATE_SECONDS:.0f} s): {passfail(ok)}"]
    else:
        lines.append(dl.get("note", "not measured") if dl else "not measured")
    if info.get("notes"):
        lines += ["", "## Notes", ""] + [f"- {n}" for n in info["notes"]]
    lines += ["", "## How it was measured", "",
              "Client-side latency per turn: from sending the request to reading the whole answer (httpx, one "
              "asyncio client, keep-alive connections). Bare Rasa gets exactly what the API relays: the same text "
              "and `metadata: {channel: sms, phone}`; each conversation is its own sender id. The API path signs "
              "each request with the twilio SDK's `RequestValidator` over `PUBLIC_BASE_URL + /twilio/sms` "
              "(a unique `MessageSid` per turn, a unique `From` per conversation), so every turn is stored, "
              "relayed to the same Rasa, stored again and answered as TwiML. Throughput = answered turns / "
              "wall time of the phase (first conversation start to last answer). An error is a transport "
              "error, a non-200, an empty answer or the API's safe answer (Rasa too slow for "
              "`RASA_TIMEOUT_SECONDS`); a conversation carries on after an error, as a person would, so the "
              "load stays the same. \"Unexpected replies\" are "
              "answers without the phrase the script expects (the bot went off script; still timed).", ""]
    return "\n".join(lines)


# --- main --------------------------------------------------------------------------------------

def env_file() -> dict[str, str]:
    values: dict[str, str] = {}
    path = REPO / ".env"
    if path.exists():
        for raw in path.read_text().splitlines():
            line = raw.strip()
            if line and not line.startswith("#") and "=" in line:
                key, _, value = line.partition("=")
                values[key.strip()] = value.strip().strip('"').strip("'")
    return values


async def warm_up(paths: Paths, scripts: list[dict], run_id: str) -> None:
    for path in ("rasa", "api"):
        phones = [f"+447700900{990 - i}" if path == "api" else f"+447700900{980 - i}" for i in range(len(scripts))]
        await asyncio.gather(*(converse(paths, path, i, s, run_id=f"{run_id}-warm-{path}", phone=phones[i],
                                        start_delay=0) for i, s in enumerate(scripts)))


async def main_async(args: argparse.Namespace) -> int:
    started_wall = time.time()
    scripts = load_scripts(args.scripts)
    own = args.api_url is None
    workdir = Path(tempfile.mkdtemp(prefix="helpline-bench-"))
    notes: list[str] = []
    stack = None
    info: dict[str, Any] = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        # make bench sets BENCH_COMMAND (with its BENCH_ARGS), so the report names what was typed.
        "command": os.environ.get("BENCH_COMMAND") or " ".join(
            [f"{os.path.relpath(sys.executable, REPO)} bench/run.py",  # noqa: ASYNC240  relpath: string work, no disk I/O
             *(shlex.quote(a) for a in sys.argv[1:])]),
        "machine": stk_machine(), "other_load_start": other_load(), "scripts": len(scripts),
    }
    try:
        if own:
            stk.check_model()
            interval = "1.0"
            stack = stk.Stack(workdir, api_extra={"RASA_TIMEOUT_SECONDS": str(args.rasa_timeout),
                                                  "WORKER_INTERVAL_SECONDS": interval},
                              rasa_workers=args.rasa_workers)
            print(f"starting API, action server and Rasa in {workdir} ...", flush=True)
            t0 = time.monotonic()
            try:
                stack.start()
            except FileNotFoundError as exc:  # --rasa-workers > 1 needs redis-server for Rasa's lock store
                print(f"{exc}; or run Rasa as one process: make bench BENCH_ARGS='--rasa-workers 1'", file=sys.stderr)
                return 1
            print(f"  ready in {time.monotonic() - t0:.0f}s: API {stack.api_url}, Rasa {stack.rasa_url}", flush=True)
            api_url, rasa_url, public_url = stack.api_url, stack.rasa_url, stack.api_url
            token, twilio_token, database_url = stack.keys.api_token, stack.keys.twilio_token, stack.database_url
            rasa_setup = ("1 `rasa run` process (`python -m bot.serve run`; SQL tracker store on SQLite in WAL "
                          "mode, in-memory lock store)" if args.rasa_workers == 1 else
                          f"1 `rasa run` (`python -m bot.serve run`) with SANIC_WORKERS={args.rasa_workers} worker "
                          "processes on one port (SQL tracker store on SQLite in WAL mode, Redis lock store: a "
                          "local redis-server)")
            info["setup"] = ("started by the benchmark: 1 uvicorn API process (SQLite, WAL, temp file, migrated and "
                             f"seeded), 1 action server, {rasa_setup}, model `models/helpline.tar.gz`; "
                             f"`RASA_TIMEOUT_SECONDS={args.rasa_timeout:g}`")
            info["worker_interval"] = interval
        else:
            env = {**env_file(), **os.environ}
            api_url, rasa_url = args.api_url.rstrip("/"), args.rasa_url.rstrip("/")
            public_url = args.public_url or env.get("PUBLIC_BASE_URL") or api_url
            token, twilio_token = env.get("HELPLINE_API_TOKEN", ""), env.get("TWILIO_AUTH_TOKEN", "")
            database_url = args.database_url
            if not (token and twilio_token):
                print("HELPLINE_API_TOKEN and TWILIO_AUTH_TOKEN are needed (.env or the environment)", file=sys.stderr)
                return 1
            info["setup"] = f"processes already running: API {api_url}, Rasa {rasa_url}"
            info["worker_interval"] = env.get("WORKER_INTERVAL_SECONDS", "1.0 (default)")
        db = Database(database_url)
        limits = httpx.Limits(max_connections=args.conversations * 2 + 20,
                              max_keepalive_connections=args.conversations * 2 + 20)
        async with httpx.AsyncClient(limits=limits) as client:
            try:
                info["rasa_version"] = (await client.get(f"{rasa_url}/version", timeout=5)).json().get("version")
            except Exception:
                info["rasa_version"] = None
            paths = Paths(client, api_url=api_url, rasa_url=rasa_url, public_url=public_url,
                          twilio_token=twilio_token, timeout=args.timeout)
            run_id = secrets.token_hex(3)
            print("warm-up ...", flush=True)
            await warm_up(paths, scripts, run_id)

            # From numbers: Ofcom's drama range (+447700900000-999), never a real phone; a fresh
            # block per run so a long-lived database does not continue an old conversation.
            base = 200 if own else random.randrange(200, 900 - args.conversations)
            phones = [f"+447700900{base + i:03d}" for i in range(args.conversations)]
            phases: list[PhaseResult] = []
            pids = {name: proc.pid for name, proc in stack.procs.items()} if stack else {}
            cpu: dict[str, dict[str, float]] = {"rasa": {}, "api": {}}
            for round_no in range(1, args.rounds + 1):
                for path in ("rasa", "api"):
                    round_phones = list(phones)
                    label = f"round {round_no}: {path}"
                    print(f"{label}: {args.conversations} conversations ...", flush=True)
                    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
                    phase = await run_phase(paths, path, scripts, args.conversations, round_no=round_no,
                                            run_id=f"{run_id}r{round_no}", phones=round_phones,
                                            budget=args.phase_seconds, ramp=args.ramp, think=args.think)
                    phases.append(phase)
                    for name, pid in pids.items():
                        cpu[path][name] = cpu[path].get(name, 0.0) + cpu_seconds(pid) - before[name]
                    ok = [t for t in phase.turns if not t.error]
                    print(f"  {len(phase.turns)} turns, {len(phase.turns) - len(ok)} errors, "
                          f"{len(ok) / (phase.finished - phase.started):.1f} turns/s, "
                          f"p95 {pct([t.seconds for t in ok], 95) * 1000:.0f} ms", flush=True)
                    await asyncio.sleep(2)  # let the worker and the action server settle
                if round_no < args.rounds:
                    # Later rounds need fresh conversations on the API path: new From numbers.
                    phones = [f"+447700900{base + args.conversations * round_no + i:03d}"
                              if base + args.conversations * (round_no + 1) < 1000 else phones[i]
                              for i in range(args.conversations)]
                    if base + args.conversations * (round_no + 1) >= 1000:
                        notes.append("not enough drama-range numbers for a fresh From per round: later rounds "
                                     "reuse numbers (their conversations continue)")
            info["rasa"] = summarise(phases, "rasa")
            info["api"] = summarise(phases, "api")
            info["cpu"] = {path: {name: 1000 * total / max(info[path]["turns"], 1) for name, total in by.items()}
                           for path, by in cpu.items() if by}

            # The API's own timing of its Rasa call, per stored turn.
            sids = {f"sms:{t.sid}": t.seconds for p in phases if p.path == "api" for t in p.turns
                    if t.sid and not t.error}
            if db.engine is not None and sids:
                waits, rest = [], []
                for row in db.rows("SELECT provider_sid, details FROM conversation_message "
                                   "WHERE direction = 'inbound' AND provider_sid LIKE 'sms:%'"):
                    details = row["details"]
                    if isinstance(details, str):
                        details = json.loads(details)
                    if row["provider_sid"] in sids and (details or {}).get("rasa_seconds") is not None:
                        waits.append(details["rasa_seconds"])
                        rest.append(sids[row["provider_sid"]] - details["rasa_seconds"])
                if waits:
                    info["api_inside"] = {"n": len(waits), "rasa": dist(waits), "rest": dist(rest)}
            if db.engine is not None:
                info["decision_in_conversations"] = decisions_in_conversations(db)

            print(f"decision-to-page: {args.page_cases} emergency cases ...", flush=True)
            await asyncio.sleep(2)
            cases = await create_cases(client, api_url, token, args.page_cases, spread_seconds=5.0)
            await asyncio.sleep(3)  # at least two worker ticks: the texts are handed over
            refreshed = []
            for case in cases:
                if "ref" in case:
                    fresh = (await client.get(f"{api_url}/api/cases/{case['ref']}", headers=api_headers(token))).json()
                    refreshed.append({**fresh, "seconds": case["seconds"]})
            dp = decision_to_page(db, refreshed)
            info["decision_to_page"] = {**dp, "cases": len(refreshed),
                                        "errors": sum(1 for c in cases if "ref" not in c)}
            if db.engine is None:
                notes.append("no --database-url: outbox times not measured")

            print(f"deadlines: {args.deadline_cases} emergency cases, ACK_SECONDS_EMERGENCY={args.ack_seconds:g} ...",
                  flush=True)
            if own:
                api = stack.api
                api.stop()
                api.env["ACK_SECONDS_EMERGENCY"] = f"{args.ack_seconds:g}"
                api.start()
                info["deadlines"] = await deadline_lateness(client, db, api_url, token, args.deadline_cases,
                                                            budget=args.ack_seconds + 30)
            else:
                probe = await create_cases(client, api_url, token, 1, spread_seconds=0)
                ack = max((ack_seconds(p) for c in probe for p in c.get("pages", [])), default=0)
                if ack and ack <= 30:
                    info["deadlines"] = await deadline_lateness(client, db, api_url, token, args.deadline_cases,
                                                                budget=ack + 30)
                else:
                    info["deadlines"] = {"note": f"skipped: the running API's emergency deadline is {ack:g}s; start "
                                                 "it with ACK_SECONDS_EMERGENCY=2 to measure"}
        db.close()
    finally:
        if stack is not None:
            stack.stop()
            if args.keep:
                print(f"logs kept in {workdir}")
            else:
                shutil.rmtree(workdir, ignore_errors=True)
    info["other_load_end"] = other_load()
    info["versions"] = versions(info.get("rasa_version"))
    info["notes"] = notes
    info["elapsed"] = time.time() - started_wall
    report = render(args, info)
    args.out.write_text(report + f"\nTotal run time {info['elapsed']:.0f} s.\n")
    print(report)
    print(f"\nwritten to {args.out}")
    return 0


def stk_machine() -> dict[str, str]:
    return machine()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", "-n", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds per path (default 2)")
    parser.add_argument("--scripts", type=Path, default=REPO / "bench" / "conversations.yml")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results.md")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per turn before it counts as an error")
    parser.add_argument("--phase-seconds", type=float, default=600.0, help="upper bound on one phase")
    parser.add_argument("--rasa-timeout", type=float, default=8.0,
                        help="RASA_TIMEOUT_SECONDS for the API the benchmark starts (default, as shipped: 8)")
    parser.add_argument("--ramp", type=float, default=2.0, help="conversations start evenly over this many seconds")
    parser.add_argument("--think", type=float, default=0.0,
                        help="a random pause of up to this many seconds between a reply and the next text")
    parser.add_argument("--page-cases", type=int, default=50)
    parser.add_argument("--deadline-cases", type=int, default=30)
    parser.add_argument("--ack-seconds", type=float, default=2.0)
    parser.add_argument("--rasa-workers", type=int, default=2,
                        help="Rasa's Sanic worker processes (default 2, one per core; >1 starts redis-server for "
                             "the lock store Rasa then requires)")
    parser.add_argument("--api-url", help="use this running API instead of starting one (then --rasa-url too)")
    parser.add_argument("--rasa-url", help="the running Rasa the API relays to")
    parser.add_argument("--public-url", help="PUBLIC_BASE_URL of the running API (default: .env, then --api-url)")
    parser.add_argument("--database-url", help="the running API's DATABASE_URL, for outbox and relay timings")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (process logs)")
    args = parser.parse_args(argv)
    if (args.api_url is None) != (args.rasa_url is None):
        parser.error("--api-url and --rasa-url go together")
    random.seed(7)
    loop_result = 1
    try:
        loop_result = asyncio.run(asyncio.wait_for(main_async(args),
                                                   timeout=args.phase_seconds * (2 * args.rounds + 2)))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
    return loop_result


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    sys.exit(main())
