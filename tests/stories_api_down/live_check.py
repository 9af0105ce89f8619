"""Live conversation checks through Rasa's REST channel (real NLU, dialogue and action
server). Used by scripts/run_story_tests.sh; not collected by pytest.

    python tests/stories_api_down/live_check.py --rasa http://127.0.0.1:5005 FILE.yml ...

Each file lists conversations; every turn's reply (all bot messages joined) must contain
each `expect` phrase, one of the `expect_any` phrases if given, and none of the
`absent` phrases (case-insensitive). The relay's
metadata ({"channel", "phone"}) is sent with every turn, as the API does; a turn's own
`metadata` is added to it (e.g. {missed_reply: true}, the API's mark after a safe answer).
"""
from __future__ import annotations

import argparse
import json
import sys
import urllib.request
import uuid
from pathlib import Path

import yaml


def send(rasa: str, sender: str, text: str, metadata: dict) -> str:
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


def run(rasa: str, path: Path, verbose: bool = False) -> int:
    failures = 0
    spec = yaml.safe_load(path.read_text())
    for conversation in spec["conversations"]:
        sender = f"live-{uuid.uuid4().hex[:10]}"
        metadata = conversation.get("metadata") or {}
        print(f"== {path.name}: {conversation['name']}")
        for number, turn in enumerate(conversation["turns"], 1):
            reply = send(rasa, sender, turn["user"], {**metadata, **(turn.get("metadata") or {})})
            low = reply.lower()
            missing = [p for p in turn.get("expect", []) if p.lower() not in low]
            present = [p for p in turn.get("absent", []) if p.lower() in low]
            any_of = turn.get("expect_any") or []
            if any_of and not any(p.lower() in low for p in any_of):
                missing.append(f"one of {any_of}")
            status = "ok" if not (missing or present) else "FAIL"
            print(f"  {number:2d}. {turn['user']!r}: {status}")
            if verbose:
                print("      bot: " + reply.replace("\n", "\n      bot: "))
            if missing or present:
                failures += 1
                print(f"      missing: {missing}  unexpected: {present}")
                print("      reply: " + reply.replace("\n", " | ")[:600])
    return failures


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rasa", default="http://127.0.0.1:5005")
    parser.add_argument("--verbose", "-v", action="store_true", help="print every reply")
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args()
    failures = sum(run(args.rasa, f, args.verbose) for f in args.files)
    print(f"live checks: {failures} failing turn(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
