"""Live conversation checks: real NLU, dialogue and action server, through Rasa's REST
channel and, for conversations that ask for it, through the API's signed Twilio SMS webhook.
Used by scripts/run_story_tests.sh; not collected by pytest.

    python tests/stories_api_down/live_check.py --rasa http://127.0.0.1:5005 FILE.yml ...
    TWILIO_AUTH_TOKEN=... python tests/stories_api_down/live_check.py --rasa URL \\
        --api http://127.0.0.1:8000 [--public-base-url URL] FILE.yml ...
    python tests/stories_api_down/live_check.py --summary      # print the decisive-facts report's counts

File format (YAML)
------------------
    conversations:
    - name: needlestick by SMS, HIV source      # required; printed and used in the report
      channels: [rest, sms]                      # optional, default [rest]
      metadata: {channel: sms, phone: "+447700900123"}
      turns:
      - user: the patient has hiv                # the person's message
        expect: ["Go to your nearest emergency department"]   # every phrase must be in the reply
        expect_any: ["has been paged", "on-call"]             # at least one of these
        absent: ["gloves:"]                                    # none of these
        decides: emergency                       # or urgent (see below)
        metadata: {missed_reply: true}           # REST only (see below)

A turn's reply is all the bot's messages for it joined (REST: each message's text and its
buttons' titles; SMS: the text of every TwiML <Message>, where buttons are "Reply 1 for ...").
Every check is a case-insensitive substring test; a turn with no checks only has to be sent.

channels   rest: POST {"sender", "message", "metadata"} to Rasa's /webhooks/rest/webhook with
           a fresh sender id per conversation, as the API's relay would.
           sms: POST each turn to the API's /twilio/sms exactly as Twilio does (form fields
           From, To, Body, a new MessageSid per turn, AccountSid, NumMedia; X-Twilio-Signature
           over PUBLIC_BASE_URL + path with TWILIO_AUTH_TOKEN from the environment), so the
           API stores the turn, relays it to Rasa (which runs the real actions) and answers in
           TwiML. sms needs --api; without it (the API-down pass) sms is skipped, and said so.
           A reply that is the API's safe answer (api/services/safe_answer.py SAFE_ANSWER: Rasa gave no
           usable answer within the API's RASA_TIMEOUT_SECONDS) fails the turn: the harness
           never accepts it as the bot's answer (run_story_tests.sh gives the test API 30 s).
metadata   conversation level. rest: sent as Rasa metadata with every turn (the relay sends
           {"channel", "phone"}). sms: `phone` is the From number; without one, a distinct
           number in Ofcom's drama range (+447700900500-999) is chosen per conversation and
           channel. Two sms conversations in one run must not share a From number (the API
           would continue the first conversation): that is reported as a failure.
           turn level: added to that turn's Rasa metadata (e.g. {missed_reply: true}, the mark
           the API puts on the first message after a safe answer). Only REST can send it: a
           conversation with turn metadata is run on rest only, and its sms run is reported
           as skipped.
decides    emergency | urgent: the deciding fact is in this message, so the reply to THIS
           message must already carry the outcome. emergency: the reply contains "emergency
           department"; urgent: it contains "looked at today" (an emergency reply satisfies
           urgent too). Checked like `expect`, and written to the decisive-facts report
           (--report, default reports/decisive-facts.json and .md beside it): for every
           conversation and channel with a `decides` turn, its name, channel, k (1-based
           message index), the outcome, whether reply k carried it and, if not, the first later
           reply that did (or never). --append adds this run's rows to the report's rows
           (run_story_tests.sh deletes the report first and appends from every pass).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import urllib.request
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from tests.support.twilio_sms import SmsError, TwilioSms, safe_answer_text  # noqa: E402

DEFAULT_REPORT = REPO / "reports" / "decisive-facts.json"
CHANNELS = ("rest", "sms")
OUTCOMES: dict[str, tuple[str, ...]] = {
    "emergency": ("emergency department",),
    "urgent": ("looked at today", "emergency department"),
}
TURN_KEYS = {"user", "expect", "expect_any", "absent", "metadata", "decides"}
GENERATED_PHONES = range(500, 1000)   # +447700900500..999: clear of the demo rota (1xx) and the files' own


# --- sending ------------------------------------------------------------------------------

def send_rest(rasa: str, sender: str, text: str, metadata: dict) -> str:
    payload = json.dumps({"sender": sender, "message": text, "metadata": metadata}).encode()
    request = urllib.request.Request(f"{rasa}/webhooks/rest/webhook", data=payload,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        messages = json.loads(response.read())
    parts = []
    for message in messages:
        parts.append(message.get("text") or "")
        parts += [b.get("title", "") for b in message.get("buttons") or []]
    return "\n".join(parts)


# --- the report ---------------------------------------------------------------------------

@dataclass
class Decisive:
    file: str
    conversation: str
    channel: str
    k: int
    message: str
    expected: str
    in_reply_k: bool
    first_seen: int | None   # the first reply from k on that carried it; None: never (or not reached)
    reached: bool = True

    @property
    def status(self) -> str:
        if self.in_reply_k:
            return "on time"
        return "late" if self.first_seen is not None else ("never" if self.reached else "not reached")


def carries(outcome: str, reply: str) -> bool:
    low = reply.lower()
    return any(marker in low for marker in OUTCOMES[outcome])


def counts(rows: list[dict]) -> dict[str, int]:
    result = {"decisive_turns": len(rows), "on_time": 0, "late": 0, "never": 0}
    for row in rows:
        if row["in_reply_k"]:
            result["on_time"] += 1
        elif row["first_seen"] is not None:
            result["late"] += 1
        else:
            result["never"] += 1
    return result


def markdown(rows: list[dict], generated: str) -> str:
    c = counts(rows)
    lines = [
        "# Decisive facts",
        "",
        f"Written {generated} by tests/stories_api_down/live_check.py. A user turn marked `decides` holds "
        "the deciding fact: the reply to that message (k, 1-based) must already carry the outcome "
        '(emergency: "emergency department"; urgent: "looked at today", or an emergency reply).',
        "",
        f"**{c['decisive_turns']} decisive turn(s): {c['on_time']} on time, {c['late']} late, "
        f"{c['never']} never.**",
        "",
    ]
    if not rows:
        lines.append("No conversation in this run has a `decides` turn.")
        return "\n".join(lines) + "\n"
    lines += ["| File | Conversation | Channel | k | Message | Expected | In reply k | First seen in reply |",
              "|---|---|---|---:|---|---|---|---|"]

    def cell(text: object) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    for row in rows:
        if row["in_reply_k"]:
            seen = str(row["k"])
        elif row["first_seen"] is not None:
            seen = f"{row['first_seen']} (late by {row['first_seen'] - row['k']})"
        else:
            seen = "never" if row.get("reached", True) else "never (conversation stopped before k)"
        lines.append(f"| {cell(row['file'])} | {cell(row['conversation'])} | {row['channel']} | {row['k']} | "
                     f"{cell(row['message'])} | {row['expected']} | {'yes' if row['in_reply_k'] else 'NO'} | "
                     f"{seen} |")
    return "\n".join(lines) + "\n"


def write_report(path: Path, rows: list[Decisive], append: bool) -> tuple[Path, dict[str, int]]:
    all_rows: list[dict] = []
    if append and path.exists():
        all_rows = json.loads(path.read_text(encoding="utf-8")).get("rows", [])
    all_rows += [{**asdict(r), "status": r.status} for r in rows]
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    path.parent.mkdir(parents=True, exist_ok=True)
    c = counts(all_rows)
    path.write_text(json.dumps({"generated": generated, "counts": c, "rows": all_rows}, indent=2) + "\n",
                    encoding="utf-8")
    md = path.with_suffix(".md")
    md.write_text(markdown(all_rows, generated), encoding="utf-8")
    return md, c


def summary(path: Path) -> int:
    md = path.with_suffix(".md")
    if not path.exists():
        print(f"decisive facts: no report at {md} (no live checks ran)")
        return 0
    c = json.loads(path.read_text(encoding="utf-8"))["counts"]
    print(f"decisive facts: {md} ({path.name} beside it): {c['decisive_turns']} decisive turn(s), "
          f"{c['on_time']} on time, {c['late']} late, {c['never']} never")
    return 1 if c["late"] or c["never"] else 0


# --- running ------------------------------------------------------------------------------

class Phones:
    """From numbers for the sms runs: the files' own, else a distinct generated one."""

    def __init__(self, explicit: set[str]) -> None:
        self.taken: set[str] = set(explicit)
        self.used: dict[str, str] = {}   # number -> the conversation that used it

    def generated(self, key: str) -> str:
        start = int(hashlib.sha256(key.encode()).hexdigest(), 16)
        for i in range(len(GENERATED_PHONES)):
            number = f"+447700900{GENERATED_PHONES[(start + i) % len(GENERATED_PHONES)]:03d}"
            if number not in self.taken:
                self.taken.add(number)
                return number
        raise RuntimeError("no free generated phone number left")

    def claim(self, number: str, who: str) -> str | None:
        """None, or who used this number already."""
        earlier = self.used.get(number)
        self.used.setdefault(number, who)
        return earlier


@dataclass
class Options:
    rasa: str
    sms: TwilioSms | None
    verbose: bool


def validate(path: Path, spec: dict) -> list[str]:
    problems = []
    for conversation in spec.get("conversations") or []:
        name = conversation.get("name", "?")
        for channel in conversation.get("channels") or ["rest"]:
            if channel not in CHANNELS:
                problems.append(f"{path.name}: {name}: unknown channel {channel!r} (known: {', '.join(CHANNELS)})")
        for number, turn in enumerate(conversation.get("turns") or [], 1):
            unknown = set(turn) - TURN_KEYS
            if unknown:
                problems.append(f"{path.name}: {name}: turn {number}: unknown key(s) {sorted(unknown)}")
            if "decides" in turn and turn["decides"] not in OUTCOMES:
                problems.append(f"{path.name}: {name}: turn {number}: decides must be one of {sorted(OUTCOMES)}")
    return problems


def check(turn: dict, reply: str) -> tuple[list[str], list[str]]:
    low = reply.lower()
    missing = [p for p in turn.get("expect") or [] if p.lower() not in low]
    present = [p for p in turn.get("absent") or [] if p.lower() in low]
    any_of = turn.get("expect_any") or []
    if any_of and not any(p.lower() in low for p in any_of):
        missing.append(f"one of {any_of}")
    if turn.get("decides") and not carries(turn["decides"], reply):
        missing.append(f"decides {turn['decides']}: one of {list(OUTCOMES[turn['decides']])}")
    return missing, present


def run_conversation(path: Path, conversation: dict, channel: str, options: Options,
                     phones: Phones, rows: list[Decisive]) -> int:
    name = conversation["name"]
    turns = conversation["turns"]
    metadata = conversation.get("metadata") or {}
    failures = 0
    if channel == "rest":
        sender = f"live-{uuid.uuid4().hex[:10]}"
        print(f"== {path.name}: {name} [rest]")

        def send(turn: dict) -> str:
            return send_rest(options.rasa, sender, turn["user"], {**metadata, **(turn.get("metadata") or {})})
    else:
        assert options.sms is not None
        phone = metadata.get("phone") or phones.generated(f"{path.name}\0{name}\0{channel}")
        print(f"== {path.name}: {name} [sms from {phone}]")
        earlier = phones.claim(phone, f"{path.name}: {name}")
        if earlier:
            print(f"      FAIL: {phone} already texted in this run by {earlier!r}; the API would continue "
                  "that conversation. Give this one another metadata.phone (or none).")
            return 1
        sms, safe = options.sms, safe_answer_text().lower()

        def send(turn: dict) -> str:
            reply = "\n".join(sms.send(turn["user"], sender=phone))
            if safe[:60] in reply.lower():
                raise SmsError("the API gave its safe answer: Rasa gave no usable answer within the API's "
                               "RASA_TIMEOUT_SECONDS (raise it for the test API: run_story_tests.sh sets "
                               "LIVE_RASA_TIMEOUT, default 30) or failed (see the API and Rasa logs)")
            return reply

    replies: list[str] = []
    for number, turn in enumerate(turns, 1):
        try:
            reply = send(turn)
        except (OSError, SmsError) as exc:   # urllib's errors are OSErrors
            print(f"  {number:2d}. {turn['user']!r}: FAIL")
            print(f"      {type(exc).__name__}: {exc}; the rest of this conversation is not run")
            failures += 1
            break
        replies.append(reply)
        missing, present = check(turn, reply)
        status = "ok" if not (missing or present) else "FAIL"
        mark = f" (decides {turn['decides']})" if turn.get("decides") else ""
        print(f"  {number:2d}. {turn['user']!r}{mark}: {status}")
        if options.verbose:
            print("      bot: " + reply.replace("\n", "\n      bot: "))
        if missing or present:
            failures += 1
            print(f"      missing: {missing}  unexpected: {present}")
            print("      reply: " + reply.replace("\n", " | ")[:600])

    for number, turn in enumerate(turns, 1):
        outcome = turn.get("decides")
        if not outcome:
            continue
        seen = next((i for i, r in enumerate(replies[number - 1:], number) if carries(outcome, r)), None)
        rows.append(Decisive(file=path.name, conversation=name, channel=channel, k=number, message=turn["user"],
                             expected=outcome, in_reply_k=seen == number, first_seen=seen,
                             reached=len(replies) >= number))
    return failures


def run(paths: list[Path], options: Options, rows: list[Decisive]) -> int:
    specs = [(path, yaml.safe_load(path.read_text(encoding="utf-8"))) for path in paths]
    problems = [p for path, spec in specs for p in validate(path, spec)]
    if problems:
        print("\n".join(["bad conversation file(s):", *problems]))
        return len(problems)
    explicit = {str(c["metadata"]["phone"]) for _, spec in specs for c in spec["conversations"]
                if "sms" in (c.get("channels") or []) and (c.get("metadata") or {}).get("phone")}
    phones = Phones(explicit)
    failures = 0
    skipped: list[str] = []
    for path, spec in specs:
        for channel in CHANNELS:
            for conversation in spec["conversations"]:
                if channel not in (conversation.get("channels") or ["rest"]):
                    continue
                if channel == "sms":
                    label = f"{path.name}: {conversation['name']}"
                    with_metadata = [n for n, t in enumerate(conversation["turns"], 1) if t.get("metadata")]
                    if with_metadata:
                        skipped.append(f"{label}: rest only (turn {with_metadata[0]} has turn metadata, "
                                       "which only REST can send)")
                        continue
                    if options.sms is None:
                        skipped.append(f"{label}: no API to text (--api not given)")
                        continue
                failures += run_conversation(path, conversation, channel, options, phones, rows)
    for line in skipped:
        print(f"-- sms skipped: {line}")
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rasa", default="http://127.0.0.1:5005")
    parser.add_argument("--api", help="the API's base URL, for sms conversations (else they are skipped)")
    parser.add_argument("--public-base-url", default=os.environ.get("PUBLIC_BASE_URL"),
                        help="the API's PUBLIC_BASE_URL, which signatures cover "
                             "(default: $PUBLIC_BASE_URL, else --api)")
    parser.add_argument("--report", type=Path, default=DEFAULT_REPORT,
                        help="the decisive-facts report (JSON; the .md beside it); default %(default)s")
    parser.add_argument("--append", action="store_true", help="add to the report's rows instead of replacing them")
    parser.add_argument("--summary", action="store_true", help="only print the report's path and counts")
    parser.add_argument("--verbose", "-v", action="store_true", help="print every reply")
    parser.add_argument("files", nargs="*", type=Path)
    args = parser.parse_args()
    if args.summary:
        return summary(args.report)
    if not args.files:
        parser.error("no conversation files")
    sms = None
    if args.api:
        token = os.environ.get("TWILIO_AUTH_TOKEN")
        if not token:
            parser.error("--api needs TWILIO_AUTH_TOKEN (the API's) in the environment")
        sms = TwilioSms(args.api, public_base_url=args.public_base_url or args.api, token=token)
    rows: list[Decisive] = []
    failures = run(args.files, Options(args.rasa, sms, args.verbose), rows)
    md, c = write_report(args.report, rows, args.append)
    print(f"live checks: {failures} failing turn(s); decisive facts in {md}: {c['decisive_turns']} turn(s), "
          f"{c['on_time']} on time, {c['late']} late, {c['never']} never")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
