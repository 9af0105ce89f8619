"""Live conversation checks: real NLU, dialogue and action server, through Rasa's REST
channel and, for conversations that ask for it, through the API's signed Twilio SMS webhook
and as phone calls through its signed Twilio voice webhooks.
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

    - name: an emergency call, put through       # a call: see "voice" below
      channels: [voice]
      # input: keypad                            # or speech: every turn keys / none (see input)
      metadata: {voice_phone: "+447700900321"}   # optional: the caller's number
      turns:
      - user: the patient has HIV                # spoken
        decides: emergency
        voice_first: ["emergency department"]    # what the caller hears first
      - keys: "1"                                # pressed instead of spoken (silence: true: neither)
        dial: [no-answer, accept]                # the transfer ladder, played after this turn
        voice_expect: ["putting you through"]    # checks on what the caller hears
        whisper_expect: ["press 1"]              # what the practitioner who answers hears
        hangs_up: true

A turn's reply is all the bot's messages for it joined (REST: each message's text and its
buttons' titles; SMS: the text of every TwiML <Message>, where buttons are "Reply 1 for ...";
voice: the text of every <Say> the caller hears, in order).
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
           voice: the conversation is one phone call through --api, played as Twilio plays it
           (tests/support/twilio_voice.py): POST /twilio/voice starts it (the greeting, checked
           as turn 0), and each turn is posted to the action of the last <Gather> of the TwiML
           before it: `user` as SpeechResult (Confidence 0.92), or the turn's `keys` as Digits,
           or, with `silence: true`, neither. Without --api it is skipped, and said so, as sms is.
           Every TwiML of every voice turn (and the greeting) is checked by twilio_voice.problems():
           each Say with a voice and language en-GB and none of the words reply, tap, click,
           button, type, link, menu, no raw case reference (SH-000123) or +44 number; each
           caller's Gather with input, action, actionOnEmptyResult="true" and, for speech,
           language en-GB, speechTimeout="auto" and hints. Any problem fails the turn.
           `expect`, `expect_any` and `absent` are not applied to a call (its wording differs):
           `voice_expect`, `voice_expect_any` and `voice_absent` are, to the spoken text;
           `decides` is (OUTCOME_MARKERS["voice"]). The caller's From is a generated number
           distinct from every number of the run (metadata.phone is the texter's, not used:
           a call from a number that texted earlier would resume that conversation by design),
           unless the conversation gives metadata.voice_phone.
input      conversation level, voice: `keypad`: every turn has `keys` (a keypad-only walk);
           `speech`: no turn has `keys` (a speech-only walk). Checked before anything runs.
voice turn keys (only a conversation with voice in its channels may use them)
           keys: "1"          one key (0-9, * or #) pressed instead of speaking `user`; a turn
                              with keys needs no `user` when the conversation is voice only.
           silence: true      nothing said or pressed (voice-only conversations).
           dial: [no-answer, accept]   after the turn's answer, play each <Dial> the call reaches,
                              in order: no-answer (or busy, failed) posts the Dial's action with that
                              DialCallStatus; accept posts the Number's whisper url as the
                              practitioner's leg, presses 1 on the whisper's Gather, then posts the
                              Dial's action with DialCallStatus=completed. Each outcome must find a
                              Dial, the call must not be left dialling, and no number is rung twice.
                              What the caller hears on the way is part of the turn's reply.
           voice_expect / voice_expect_any / voice_absent   as expect / expect_any / absent.
           voice_first        phrases the first <Say> of the reply holds (what the caller hears first).
           gather_input       the input of the Gather the reply ends with: "speech dtmf" or "dtmf"
                              (keypad only).
           whisper_expect     phrases every one of which the accepting practitioner's whisper says.
           hangs_up: true|false   the call ends (<Hangup/>) with this turn's answer, or does not.
metadata   conversation level. rest: sent as Rasa metadata with every turn (the relay sends
           {"channel", "phone"}). sms: `phone` is the From number; without one, a distinct
           number in Ofcom's drama range (+447700900500-999) is chosen per conversation and
           channel. Two sms conversations in one run must not share a From number (the API
           would continue the first conversation): that is reported as a failure.
           voice: `voice_phone` is the caller's number (see voice above); nothing else is used.
           turn level: added to that turn's Rasa metadata (e.g. {missed_reply: true}, the mark
           the API puts on the first message after a safe answer). Only REST can send it: a
           conversation with turn metadata is run on rest only, and its sms and voice runs are
           reported as skipped.
decides    emergency | urgent: the deciding fact is in this message, so the reply to THIS
           message must already carry the outcome. emergency: the reply contains "emergency
           department"; urgent: it contains "looked at today" (an emergency reply satisfies
           urgent too); the markers per channel are OUTCOME_MARKERS. Checked like `expect`
           (on every channel, voice too), and written to the decisive-facts report
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
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from tests.support.twilio_sms import SmsError, TwilioSms, safe_answer_text  # noqa: E402
from tests.support.twilio_voice import (  # noqa: E402
    DIAL_OUTCOMES, GATHER_INPUTS, KEYS, TurnResult, TwilioCall, VoiceError, problems as voice_problems)

DEFAULT_REPORT = REPO / "reports" / "decisive-facts.json"
CHANNELS = ("rest", "sms", "voice")
# What carries each outcome, per channel (a call may word it differently: change it here only).
OUTCOME_MARKERS: dict[str, dict[str, tuple[str, ...]]] = {
    "rest": {"emergency": ("emergency department",), "urgent": ("looked at today", "emergency department")},
    "sms": {"emergency": ("emergency department",), "urgent": ("looked at today", "emergency department")},
    "voice": {"emergency": ("emergency department",), "urgent": ("looked at today", "emergency department")},
}
OUTCOMES = OUTCOME_MARKERS["rest"]
CONVERSATION_KEYS = {"name", "channels", "metadata", "turns", "input"}
INPUTS = ("keypad", "speech")
VOICE_TURN_KEYS = {"keys", "silence", "dial", "voice_expect", "voice_expect_any", "voice_absent", "voice_first",
                   "whisper_expect", "hangs_up", "gather_input"}
TURN_KEYS = {"user", "expect", "expect_any", "absent", "metadata", "decides"} | VOICE_TURN_KEYS
PHRASE_LISTS = ("expect", "expect_any", "absent", "voice_expect", "voice_expect_any", "voice_absent", "voice_first",
                "whisper_expect")
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


def carries(outcome: str, reply: str, channel: str = "rest") -> bool:
    low = reply.lower()
    return any(marker in low for marker in OUTCOME_MARKERS[channel][outcome])


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
    """From numbers for the sms and voice runs: the files' own, else a distinct generated one."""

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
    call: Callable[[str], TwilioCall] | None = None   # From number -> a new call to the API (--api)


def validate(path: Path, spec: dict) -> list[str]:
    problems = []
    for conversation in spec.get("conversations") or []:
        name = conversation.get("name", "?")
        where = f"{path.name}: {name}"
        unknown = set(conversation) - CONVERSATION_KEYS
        if unknown:
            problems.append(f"{where}: unknown conversation key(s) {sorted(unknown)}")
        channels = conversation.get("channels") or ["rest"]
        for channel in channels:
            if channel not in CHANNELS:
                problems.append(f"{where}: unknown channel {channel!r} (known: {', '.join(CHANNELS)})")
        voice, voice_only = "voice" in channels, set(channels) == {"voice"}
        mode = conversation.get("input")
        if mode is not None:
            if mode not in INPUTS:
                problems.append(f"{where}: input must be one of {list(INPUTS)}, not {mode!r}")
            if not voice:
                problems.append(f"{where}: input {mode!r} is for calls, and voice is not in its channels")
        turns = conversation.get("turns") or []
        if not turns:
            problems.append(f"{where}: no turns")
        for number, turn in enumerate(turns, 1):
            at = f"{where}: turn {number}"
            if not isinstance(turn, dict):
                problems.append(f"{at}: not a mapping")
                continue
            unknown = set(turn) - TURN_KEYS
            if unknown:
                problems.append(f"{at}: unknown key(s) {sorted(unknown)}")
            if "decides" in turn and turn["decides"] not in OUTCOMES:
                problems.append(f"{at}: decides must be one of {sorted(OUTCOMES)}")
            for key in PHRASE_LISTS:
                value = turn.get(key)
                if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
                    problems.append(f"{at}: {key} must be a list of phrases")
            used_voice = sorted(set(turn) & VOICE_TURN_KEYS)
            if used_voice and not voice:
                problems.append(f"{at}: {used_voice} only apply to a call, and voice is not in its channels")
            has_keys, silent = "keys" in turn, bool(turn.get("silence"))
            if has_keys and (not isinstance(turn["keys"], (str, int)) or len(str(turn["keys"])) != 1
                             or str(turn["keys"]) not in KEYS):
                problems.append(f"{at}: keys must be one key (0-9, * or #), not {turn['keys']!r}")
            if "silence" in turn and turn["silence"] is not True:
                problems.append(f"{at}: silence must be true (or left out)")
            if silent and (has_keys or "user" in turn):
                problems.append(f"{at}: a silent turn has neither user nor keys")
            if silent and not voice_only:
                problems.append(f"{at}: silence can only be sent on a call (channels: [voice])")
            if "user" not in turn and not silent and not (has_keys and voice_only):
                problems.append(f"{at}: no user (only a turn of a voice-only conversation can have just keys "
                                "or silence)")
            if "user" in turn and not isinstance(turn["user"], str):
                problems.append(f"{at}: user must be a string (quote it: \"yes\", \"5\")")
            dial = turn.get("dial")
            if dial is not None and not (isinstance(dial, list) and dial and all(d in DIAL_OUTCOMES for d in dial)):
                problems.append(f"{at}: dial must be a list of {', '.join(DIAL_OUTCOMES)}")
            if "hangs_up" in turn and not isinstance(turn["hangs_up"], bool):
                problems.append(f"{at}: hangs_up must be true or false")
            if "gather_input" in turn and turn["gather_input"] not in GATHER_INPUTS:
                problems.append(f"{at}: gather_input must be one of {sorted(GATHER_INPUTS)}")
            if mode == "keypad" and not has_keys:
                problems.append(f"{at}: input is keypad, but the turn has no keys")
            if mode == "speech" and has_keys:
                problems.append(f"{at}: input is speech, but the turn has keys")
    return problems


def check(turn: dict, reply: str, channel: str = "rest") -> tuple[list[str], list[str]]:
    low = reply.lower()
    prefix = "voice_" if channel == "voice" else ""
    missing = [p for p in turn.get(f"{prefix}expect") or [] if p.lower() not in low]
    present = [p for p in turn.get(f"{prefix}absent") or [] if p.lower() in low]
    any_of = turn.get(f"{prefix}expect_any") or []
    if any_of and not any(p.lower() in low for p in any_of):
        missing.append(f"one of {any_of}")
    if turn.get("decides") and not carries(turn["decides"], reply, channel):
        missing.append(f"decides {turn['decides']}: one of {list(OUTCOME_MARKERS[channel][turn['decides']])}")
    return missing, present


def check_call(turn: dict, result: TurnResult) -> list[str]:
    """The call's own checks on one turn: the protocol, the transfer, whether it hung up."""
    failed = list(voice_problems(result))
    if turn.get("voice_first"):
        first = result.says[0].lower() if result.says else ""
        failed += [f"the first thing said lacks {p!r}" for p in turn["voice_first"] if p.lower() not in first]
    if "gather_input" in turn:
        gather = result.gather
        if gather is None:
            failed.append(f"no Gather (gather_input {turn['gather_input']!r} expected)")
        elif gather.input != turn["gather_input"]:
            failed.append(f"the Gather's input is {gather.input!r}, not {turn['gather_input']!r}")
    whisper = result.whisper_text.lower()
    if turn.get("whisper_expect"):
        if not result.whispers:
            failed.append("no practitioner heard a whisper (whisper_expect needs an accepted dial)")
        failed += [f"whisper lacks {p!r}" for p in turn["whisper_expect"] if p.lower() not in whisper]
    if turn.get("dial"):
        last = result.last
        if last is not None and last.dials:
            failed.append(f"the call is still dialling {last.dials[-1].numbers} after the dial outcomes "
                          f"{turn['dial']}: give one more")
        repeated = sorted({n for n in result.dialled if result.dialled.count(n) > 1})
        if repeated:
            failed.append(f"the ladder rang {repeated} more than once ({result.dialled})")
    if "hangs_up" in turn and result.hung_up != turn["hangs_up"]:
        failed.append("the call did not hang up" if turn["hangs_up"] else "the call hung up")
    return failed


def label(turn: dict, channel: str) -> str:
    """The turn as the report and the log show it."""
    if channel == "voice":
        if turn.get("silence"):
            return "[silence]"
        if "keys" in turn:
            return f"[key {turn['keys']}]"
    return str(turn["user"])


def run_conversation(path: Path, conversation: dict, channel: str, options: Options,
                     phones: Phones, rows: list[Decisive]) -> int:
    if channel == "voice":
        return run_call(path, conversation, options, phones, rows)
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
        if not claimed(phones, phone, f"{path.name}: {name}", key="metadata.phone"):
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

    add_decisive(rows, path, name, channel, turns, replies)
    return failures


def claimed(phones: Phones, phone: str, who: str, *, key: str) -> bool:
    """False (and says why) when another conversation in this run used the number: the API would
    carry that conversation on (texts and calls from one number are one conversation)."""
    earlier = phones.claim(phone, who)
    if earlier:
        print(f"      FAIL: {phone} already used in this run by {earlier!r}; the API would carry on that "
              f"conversation. Give this one another {key} (or none).")
    return not earlier


def add_decisive(rows: list[Decisive], path: Path, name: str, channel: str, turns: list[dict],
                 replies: list[str]) -> None:
    for number, turn in enumerate(turns, 1):
        outcome = turn.get("decides")
        if not outcome:
            continue
        seen = next((i for i, r in enumerate(replies[number - 1:], number) if carries(outcome, r, channel)), None)
        rows.append(Decisive(file=path.name, conversation=name, channel=channel, k=number,
                             message=label(turn, channel), expected=outcome, in_reply_k=seen == number,
                             first_seen=seen, reached=len(replies) >= number))


def run_call(path: Path, conversation: dict, options: Options, phones: Phones, rows: list[Decisive]) -> int:
    """The conversation as one phone call through the API's voice webhooks."""
    assert options.call is not None
    name = conversation["name"]
    turns = conversation["turns"]
    metadata = conversation.get("metadata") or {}
    phone = metadata.get("voice_phone") or phones.generated(f"{path.name}\0{name}\0voice")
    print(f"== {path.name}: {name} [voice from {phone}]")
    if not claimed(phones, phone, f"{path.name}: {name} (voice)", key="metadata.voice_phone"):
        return 1
    call, safe = options.call(phone), safe_answer_text().lower()[:60]

    def show(result: TurnResult) -> None:
        if options.verbose:
            for text in result.says:
                print(f"      call: {text}")
            if result.dialled:
                print(f"      dialled: {', '.join(result.dialled)}")
            for text in (t for w in result.whispers for t in w.texts):
                print(f"      whisper: {text}")
            gather = result.gather
            if gather is not None:
                print(f"      gather: input={gather.input!r} hints={(gather.hints or '')[:80]!r}")
            if result.hung_up:
                print("      [hung up]")

    def failed(result: TurnResult) -> list[str]:
        if safe in result.text.lower():
            return ["the API gave its safe answer: Rasa gave no usable answer within the API's RASA_TIMEOUT_SECONDS "
                    "(raise it for the test API: run_story_tests.sh sets LIVE_RASA_TIMEOUT, default 30) or failed "
                    "(see the API and Rasa logs)"]
        return []

    try:
        greeting = call.start()
    except (OSError, VoiceError) as exc:
        print(f"   0. call start: FAIL\n      {type(exc).__name__}: {exc}; the call is not run")
        return 1
    trouble = failed(greeting) + voice_problems(greeting)
    print(f"   0. call start: {'FAIL' if trouble else 'ok'}")
    show(greeting)
    failures = 0
    if trouble:
        failures += 1
        print(f"      problems: {trouble}")
        print("      heard: " + greeting.text.replace("\n", " | ")[:600])

    replies: list[str] = []
    for number, turn in enumerate(turns, 1):
        said = label(turn, "voice")
        try:
            if turn.get("silence"):
                result = call.silence()
            elif "keys" in turn:
                result = call.press(str(turn["keys"]))
            else:
                result = call.say(turn["user"])
            if turn.get("dial"):
                result = result + call.dial(turn["dial"])
        except (OSError, VoiceError) as exc:
            print(f"  {number:2d}. {said!r}: FAIL")
            print(f"      {type(exc).__name__}: {exc}; the rest of this call is not run")
            failures += 1
            break
        replies.append(result.text)
        missing, present = check(turn, result.text, "voice")
        trouble = failed(result) + check_call(turn, result)
        ok = not (missing or present or trouble)
        mark = f" (decides {turn['decides']})" if turn.get("decides") else ""
        print(f"  {number:2d}. {said!r}{mark}: {'ok' if ok else 'FAIL'}")
        show(result)
        if not ok:
            failures += 1
            if missing or present:
                print(f"      missing: {missing}  unexpected: {present}")
            if trouble:
                print(f"      problems: {trouble}")
            print("      heard: " + result.text.replace("\n", " | ")[:600])
    add_decisive(rows, path, name, "voice", turns, replies)
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
    # A generated caller's number is also clear of every number any conversation names (a case
    # opened with it on REST could be resumed by a call from it).
    phones.taken |= {str(c["metadata"][key]) for _, spec in specs for c in spec["conversations"]
                     for key in ("phone", "voice_phone") if (c.get("metadata") or {}).get(key)}
    failures = 0
    skipped: list[str] = []
    for path, spec in specs:
        for channel in CHANNELS:
            for conversation in spec["conversations"]:
                if channel not in (conversation.get("channels") or ["rest"]):
                    continue
                if channel in ("sms", "voice"):
                    who = f"{path.name}: {conversation['name']}"
                    with_metadata = [n for n, t in enumerate(conversation["turns"], 1) if t.get("metadata")]
                    if with_metadata:
                        skipped.append(f"{channel} skipped: {who}: rest only (turn {with_metadata[0]} has turn "
                                       "metadata, which only REST can send)")
                        continue
                    if channel == "sms" and options.sms is None:
                        skipped.append(f"sms skipped: {who}: no API to text (--api not given)")
                        continue
                    if channel == "voice" and options.call is None:
                        skipped.append(f"voice skipped: {who}: no API to call (--api not given)")
                        continue
                failures += run_conversation(path, conversation, channel, options, phones, rows)
    for line in skipped:
        print(f"-- {line}")
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rasa", default="http://127.0.0.1:5005")
    parser.add_argument("--api", help="the API's base URL, for sms and voice conversations (else they are skipped)")
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
    sms = call = None
    if args.api:
        token = os.environ.get("TWILIO_AUTH_TOKEN")
        if not token:
            parser.error("--api needs TWILIO_AUTH_TOKEN (the API's) in the environment")
        public = args.public_base_url or args.api
        sms = TwilioSms(args.api, public_base_url=public, token=token)

        def call(sender: str) -> TwilioCall:
            return TwilioCall(args.api, public_base_url=public, token=token, sender=sender)
    rows: list[Decisive] = []
    failures = run(args.files, Options(args.rasa, sms, args.verbose, call), rows)
    md, c = write_report(args.report, rows, args.append)
    print(f"live checks: {failures} failing turn(s); decisive facts in {md}: {c['decisive_turns']} turn(s), "
          f"{c['on_time']} on time, {c['late']} late, {c['never']} never")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
