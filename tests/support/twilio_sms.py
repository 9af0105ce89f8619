"""Text the API's signed SMS webhook (POST /twilio/sms) as Twilio does, with the standard
library only, so it runs under either virtualenv (tests/stories_api_down/live_check.py runs
under .venv-bot, which has neither the twilio SDK nor the API's packages).

The signature is Twilio's documented scheme, the one the SDK's RequestValidator computes
(scripts/sms.py and api/channels/security.py use the SDK):

    base64(HMAC-SHA1(auth_token, url + name1 + value1 + name2 + value2 ...))

with the POST parameters sorted by name, and `url` the public address Twilio called
(PUBLIC_BASE_URL + path), not the address the request is actually sent to.
"""
from __future__ import annotations

import ast
import base64
import hashlib
import hmac
import secrets
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SMS_PATH = "/twilio/sms"
HELPLINE_NUMBER = "+441134960000"   # the To number (Ofcom drama range, as scripts/sms.py)
ACCOUNT_SID = "AC" + "0" * 32       # any: the API does not check it, and has no account SID itself


def signature(token: str, url: str, params: dict[str, str]) -> str:
    """X-Twilio-Signature for a form POST to `url` (Twilio's HMAC-SHA1 scheme)."""
    payload = url + "".join(name + params[name] for name in sorted(params))
    digest = hmac.new(token.encode("utf-8"), payload.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def safe_answer_text() -> str:
    """The advice every safe answer opens with (api/services/safe_answer.py _SAFE_ADVICE; the paged and
    not-paged endings follow it), read from the source without importing the API (whose
    packages this interpreter may not have)."""
    tree = ast.parse((REPO / "api/services/safe_answer.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "_SAFE_ADVICE" for t in node.targets):
            return ast.literal_eval(node.value)
    raise RuntimeError("_SAFE_ADVICE not found in api/services/safe_answer.py")


class SmsError(RuntimeError):
    pass


class TwilioSms:
    """Posts one text per call to the API as Twilio would and returns the TwiML <Message> bodies."""

    def __init__(self, api: str, *, public_base_url: str, token: str, timeout: float = 120.0) -> None:
        self.api, self.public = api.rstrip("/"), public_base_url.rstrip("/")
        self.token, self.timeout = token, timeout

    def send(self, text: str, *, sender: str, to: str = HELPLINE_NUMBER) -> list[str]:
        sid = "SM" + secrets.token_hex(16)   # unique per turn: the API treats a known SID as a retry
        params = {"MessageSid": sid, "SmsSid": sid, "AccountSid": ACCOUNT_SID, "From": sender, "To": to,
                  "Body": text, "NumMedia": "0"}
        request = urllib.request.Request(
            self.api + SMS_PATH, data=urllib.parse.urlencode(params).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded",
                     "X-Twilio-Signature": signature(self.token, self.public + SMS_PATH, params)})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                body = response.read().decode("utf-8")
        except urllib.error.HTTPError as exc:
            hint = (" (signature refused: is TWILIO_AUTH_TOKEN the API's, and PUBLIC_BASE_URL the address "
                    "the API was started with?)" if exc.code == 403 else "")
            raise SmsError(f"POST {SMS_PATH}: HTTP {exc.code}{hint}") from exc
        root = ET.fromstring(body)
        return [m.text or "" for m in root.iter("Message")]
