"""Helpers for the fault tests: Twilio-signed texts, database look-ups.

Starting, stopping and waiting for processes is in tests/support/processes.py."""
from __future__ import annotations

import json
import secrets
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import httpx
from twilio.request_validator import RequestValidator

from api.services.safe_answer import SAFE_ANSWER

HELPLINE = "+441134960000"
SAFE = SAFE_ANSWER[:60]


class Texter:
    """Texts an API exactly as Twilio does: form-encoded, signed over PUBLIC_BASE_URL + path."""

    def __init__(self, twilio_token: str) -> None:
        self.validator = RequestValidator(twilio_token)

    def params(self, phone: str, text: str, sid: str | None = None) -> dict[str, str]:
        sid = sid or "SM" + secrets.token_hex(16)
        return {"MessageSid": sid, "SmsSid": sid, "AccountSid": "AC" + "0" * 32, "From": phone, "To": HELPLINE,
                "Body": text, "NumMedia": "0"}

    def post(self, api_url: str, params: dict[str, str], *, public_url: str | None = None,
             timeout: float = 60) -> httpx.Response:
        signature = self.validator.compute_signature((public_url or api_url) + "/twilio/sms", params)
        return httpx.post(api_url + "/twilio/sms", data=params, headers={"X-Twilio-Signature": signature},
                          timeout=timeout)

    def send(self, api_url: str, phone: str, text: str, **kw: Any) -> str:
        response = self.post(api_url, self.params(phone, text), **kw)
        assert response.status_code == 200, response.text
        return reply_text(response)


def reply_text(response: httpx.Response) -> str:
    return "\n".join(m.text or "" for m in ET.fromstring(response.text).iter("Message"))


def rasa_say(rasa_url: str, sender: str, text: str, metadata: dict | None = None) -> str:
    response = httpx.post(f"{rasa_url}/webhooks/rest/webhook", timeout=60,
                          json={"sender": sender, "message": text, "metadata": metadata or {}})
    assert response.status_code == 200, response.text
    return "\n".join(m.get("text") or "" for m in response.json())


def rows(db: Path, sql: str, *params: Any) -> list[dict[str, Any]]:
    connection = sqlite3.connect(db, timeout=15)
    connection.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in connection.execute(sql, params)]
    finally:
        connection.close()


def transcript(db: Path, conversation_id: str) -> list[dict[str, Any]]:
    out = rows(db, "SELECT id, direction, status, text, provider_sid, details FROM conversation_message "
                   "WHERE conversation_id = ? ORDER BY id", conversation_id)
    for row in out:
        row["details"] = json.loads(row["details"]) if row["details"] else {}
    return out


def inbound_texts(db: Path, conversation_id: str) -> list[str]:
    return [r["text"] for r in transcript(db, conversation_id) if r["direction"] == "inbound"]


def tracker_user_texts(tracker_db: Path, sender_id: str) -> list[str]:
    """The user messages in Rasa's SQL tracker store for one conversation, in order."""
    out = []
    for row in rows(tracker_db, "SELECT data FROM events WHERE sender_id = ? AND type_name = 'user' ORDER BY id",
                    sender_id):
        out.append(json.loads(row["data"]).get("text"))
    return out


def api_get(api_url: str, token: str, path: str) -> Any:
    response = httpx.get(api_url + path, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    response.raise_for_status()
    return response.json()
