"""Text (or call) the running helpline from a terminal, signed exactly as Twilio signs.

    .venv-api/bin/python scripts/sms.py                      # an SMS conversation, one line per text
    .venv-api/bin/python scripts/sms.py "I stabbed myself"   # one text, print the reply
    .venv-api/bin/python scripts/sms.py --voice              # a phone call: type what you'd say; digits,
                                                             # * or # are keys pressed; an empty line is
                                                             # silence; Ctrl-D hangs up

It reads TWILIO_AUTH_TOKEN and PUBLIC_BASE_URL from .env (the environment wins), posts to
--api (default http://127.0.0.1:8000) and signs each request with the twilio SDK's
RequestValidator over PUBLIC_BASE_URL + path, as Twilio would when PUBLIC_BASE_URL is the
address it calls. Nothing leaves this machine.

A call is played as Twilio plays it: what the voice says is shown, each turn is posted to the
action of the last <Gather> (words as SpeechResult, keys as Digits, silence as neither), and a
<Dial> of the warm transfer rings the practitioner: their whisper is shown and you answer for
them (accept: press 1 and the call goes through; no-answer: the next person on the ladder).
"""
from __future__ import annotations

import argparse
import os
import re
import secrets
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from twilio.request_validator import RequestValidator

DEFAULT_FROM = "+447700900123"  # Ofcom drama range: never a real person
DEFAULT_TO = "+441134960000"
CONFIDENCE = "0.92"             # what the speech recogniser is taken to be sure of
KEYS = re.compile(r"[0-9*#]+")
CALLER_PROMPT = "you (words, or digits and * for the keypad; empty = silence; Ctrl-D hangs up)> "
KEYPAD_PROMPT = "you (keypad only: digits or *; empty = silence; Ctrl-D hangs up)> "
PRACTITIONER_PROMPT = "answer as practitioner? [accept/no-answer] (accept)> "


def load_env(path: str | Path = ".env") -> dict[str, str]:
    values: dict[str, str] = {}
    file = Path(path)
    if file.exists():
        for raw in file.read_text(encoding="utf-8").splitlines():
            line = raw.strip()
            if line and not line.startswith("#") and "=" in line:
                key, _, value = line.partition("=")
                values[key.strip()] = value.strip().strip('"').strip("'")
    values.update({k: v for k, v in os.environ.items() if k in ("TWILIO_AUTH_TOKEN", "PUBLIC_BASE_URL")})
    return values


class Twilio:
    """Posts form-encoded webhooks with X-Twilio-Signature, like Twilio."""

    def __init__(self, client: httpx.Client, *, api: str, public: str, token: str) -> None:
        self.client, self.api, self.public = client, api.rstrip("/"), public.rstrip("/")
        self.validator = RequestValidator(token)

    def path_of(self, url: str) -> str:
        """TwiML URLs are public; the path (and query) is what we post to the API."""
        parts = urlsplit(url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def post(self, path: str, params: dict[str, str]) -> httpx.Response:
        signature = self.validator.compute_signature(self.public + path, params)
        response = self.client.post(self.api + path, data=params, headers={"X-Twilio-Signature": signature})
        if response.status_code == 403:
            raise SystemExit("403: the API refused the signature. Is TWILIO_AUTH_TOKEN the same as the API's, "
                             "and PUBLIC_BASE_URL the address the API was started with?")
        response.raise_for_status()
        return response


def sms(twilio: Twilio, text: str, *, sender: str, to: str) -> list[str]:
    sid = "SM" + secrets.token_hex(16)
    params = {"MessageSid": sid, "SmsSid": sid, "AccountSid": "AC" + "0" * 32, "From": sender, "To": to,
              "Body": text, "NumMedia": "0"}
    root = ET.fromstring(twilio.post("/twilio/sms", params).text)
    return [m.text or "" for m in root.iter("Message")]


def call(twilio: Twilio, *, sender: str, to: str, ask: Callable[[str], str], show: Callable[[str], None]) -> None:
    """Walk a call: every Say is shown; the last Gather asks you (words, keys, or silence); a Dial
    shows the practitioner's whisper and asks whether they accept; a Redirect is followed only
    when nothing else takes the call on; Hangup ends it. EOF from `ask` hangs up."""
    sid = "CA" + secrets.token_hex(16)
    base = {"CallSid": sid, "AccountSid": "AC" + "0" * 32, "From": sender, "To": to,
            "CallStatus": "in-progress", "Direction": "inbound"}
    root = ET.fromstring(twilio.post("/twilio/voice", base).text)
    while True:
        for say in root.iter("Say"):
            show(f"bot: {say.text}")
        gathers, dials = root.findall("Gather"), root.findall("Dial")
        if root.find("Hangup") is not None:
            show("[call ended]")
            return
        try:
            if dials:
                next_post = _dial(twilio, dials[-1], base=base, ask=ask, show=show)
            elif gathers:
                next_post = _turn(twilio, gathers[-1], base=base, ask=ask)
            elif root.find("Redirect") is not None:
                next_post = (twilio.path_of(root.find("Redirect").text or ""), dict(base))
            else:
                show("[call ended]")
                return
        except EOFError:
            show("[you hung up]")
            return
        root = ET.fromstring(twilio.post(*next_post).text)


def _turn(twilio: Twilio, gather: ET.Element, *, base: dict[str, str],
          ask: Callable[[str], str]) -> tuple[str, dict[str, str]]:
    """The caller's answer to a Gather, posted to its action."""
    keypad_only = "speech" not in (gather.get("input") or "").split()
    heard = ask(KEYPAD_PROMPT if keypad_only else CALLER_PROMPT).strip()
    if not heard:
        fields: dict[str, str] = {}                       # silence: the Gather posts an empty result
    elif KEYS.fullmatch(heard):
        fields = {"Digits": heard}
    else:
        fields = {"SpeechResult": heard, "Confidence": CONFIDENCE}
    return twilio.path_of(gather.get("action", "")), {**base, **fields}


def _dial(twilio: Twilio, dial: ET.Element, *, base: dict[str, str], ask: Callable[[str], str],
          show: Callable[[str], None]) -> tuple[str, dict[str, str]]:
    """The transfer rings a practitioner: their whisper (a child call, as on Twilio), your answer for
    them, and the Dial's outcome for the caller's call."""
    number = dial.find("Number")
    dialled = (number.text or "").strip() if number is not None else ""
    show(f"[dialling {dialled}]")
    child = "CA" + secrets.token_hex(16)
    leg = {"CallSid": child, "ParentCallSid": base["CallSid"], "AccountSid": base["AccountSid"],
           "From": dial.get("callerId") or base["To"], "To": dialled, "Called": dialled,
           "CallStatus": "in-progress", "Direction": "outbound-dial"}
    whisper_gather = None
    if number is not None and number.get("url"):
        whisper = ET.fromstring(twilio.post(twilio.path_of(number.get("url", "")), dict(leg)).text)
        whisper_gather = whisper.find("Gather")
        for say in (whisper_gather if whisper_gather is not None else whisper).iter("Say"):
            show(f"  (to the practitioner) {say.text}")
    answer = ask(PRACTITIONER_PROMPT).strip().lower() or "accept"
    if answer in ("accept", "a", "1", "yes", "y"):
        if whisper_gather is not None and whisper_gather.get("action"):
            accepted = ET.fromstring(
                twilio.post(twilio.path_of(whisper_gather.get("action", "")), {**leg, "Digits": "1"}).text)
            for say in accepted.iter("Say"):
                show(f"  (to the practitioner) {say.text}")
        show("[the practitioner and the caller talk; then the call ends]")
        status = {"DialCallStatus": "completed", "DialCallSid": child, "DialCallDuration": "60"}
    else:
        outcome = answer if answer in ("busy", "failed") else "no-answer"
        show(f"[{outcome}]")
        status = {"DialCallStatus": outcome, "DialCallSid": child, "DialCallDuration": "0"}
    return twilio.path_of(dial.get("action", "")), {**base, **status}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("message", nargs="*", help="send this one text and exit")
    parser.add_argument("--voice", action="store_true", help="a phone call instead of texts")
    parser.add_argument("--api", default="http://127.0.0.1:8000",
                        help="where the API listens (default %(default)s)")
    parser.add_argument("--from", dest="sender", default=DEFAULT_FROM, help="the texter's number")
    parser.add_argument("--to", default=DEFAULT_TO, help="the helpline's Twilio number")
    parser.add_argument("--env", default=".env")
    args = parser.parse_args(argv)

    env = load_env(args.env)
    token = env.get("TWILIO_AUTH_TOKEN")
    if not token:
        print("TWILIO_AUTH_TOKEN is not set (in .env or the environment); `make run` writes a development one.",
              file=sys.stderr)
        return 2
    public = env.get("PUBLIC_BASE_URL") or args.api
    with httpx.Client(timeout=30) as client:
        twilio = Twilio(client, api=args.api, public=public, token=token)
        if args.voice:
            call(twilio, sender=args.sender, to=args.to, ask=input, show=print)
            return 0
        if args.message:
            for reply in sms(twilio, " ".join(args.message), sender=args.sender, to=args.to):
                print(reply, end="\n\n")
            return 0
        print(f"Texting {args.api} as {args.sender}. Ctrl-D to stop.")
        while True:
            try:
                text = input("you> ")
            except EOFError:
                print()
                return 0
            if text.strip():
                for reply in sms(twilio, text, sender=args.sender, to=args.to):
                    print(f"bot> {reply}\n")


if __name__ == "__main__":
    sys.exit(main())
