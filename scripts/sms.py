"""Text (or call) the running helpline from a terminal, signed exactly as Twilio signs.

    .venv-api/bin/python scripts/sms.py                      # an SMS conversation, one line per text
    .venv-api/bin/python scripts/sms.py "I stabbed myself"   # one text, print the reply
    .venv-api/bin/python scripts/sms.py --voice              # a phone call's turns (type what you'd say,
                                                             # digits for the keypad, empty line = silence)

It reads TWILIO_AUTH_TOKEN and PUBLIC_BASE_URL from .env (the environment wins), posts to
--api (default http://127.0.0.1:8000) and signs each request with the twilio SDK's
RequestValidator over PUBLIC_BASE_URL + path, as Twilio would when PUBLIC_BASE_URL is the
address it calls. Nothing leaves this machine.
"""
from __future__ import annotations

import argparse
import os
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
    """Walk a call: Say is shown, Gather asks, Redirect is followed, Dial asks for its outcome."""
    sid = "CA" + secrets.token_hex(16)
    base = {"CallSid": sid, "AccountSid": "AC" + "0" * 32, "From": sender, "To": to,
            "CallStatus": "in-progress", "Direction": "inbound"}
    root = ET.fromstring(twilio.post("/twilio/voice", base).text)
    while True:
        next_post: tuple[str, dict[str, str]] | None = None
        for verb in root:
            if verb.tag == "Say":
                show(f"bot: {verb.text}")
            elif verb.tag == "Gather":
                for say in verb.iter("Say"):
                    show(f"bot: {say.text}")
                heard = ask("you (words, digits for the keypad, empty = silence)> ").strip()
                if heard:
                    key = "Digits" if heard.isdigit() else "SpeechResult"
                    next_post = (twilio.path_of(verb.get("action", "")), {**base, key: heard})
                    break
            elif verb.tag == "Redirect":
                next_post = (twilio.path_of(verb.text or ""), dict(base))
                break
            elif verb.tag == "Dial":
                for number in verb.iter("Number"):
                    show(f"[dialling {number.text}; whisper from {number.get('url')}]")
                    whisper = ET.fromstring(twilio.post(twilio.path_of(number.get("url", "")), dict(base)).text)
                    for say in whisper.iter("Say"):
                        show(f"  (to the practitioner) {say.text}")
                outcome = ask("dial result [completed/no-answer/busy/failed] (no-answer)> ").strip() or "no-answer"
                next_post = (twilio.path_of(verb.get("action", "")), {**base, "DialCallStatus": outcome})
                break
            elif verb.tag == "Hangup":
                show("[call ended]")
                return
        if next_post is None:
            show("[call ended]")
            return
        root = ET.fromstring(twilio.post(*next_post).text)


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
