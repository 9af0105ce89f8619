"""No message is dropped when the database is down.

If the database refuses connections while a person's message is being handled (a Twilio
SMS or voice webhook, or a web chat turn), api/errors.py asks `answer_without_database`
for a reply: the message is written to a spool file (fsync'd, mode 0600, under
INBOUND_SPOOL_DIR) and the person gets the safe answer (first aid, the emergency route).
The /api routes answer 503 with Retry-After instead: their callers (the action server)
retry.

The worker's next tick (`replay`) stores each spooled message as its inbound turn, exactly
as if it had just arrived (idempotent on the provider's id, so a Twilio retry that got in
first is not doubled), opens a case through the API's own triage (paging on call) and
records the safe answer that was sent, then deletes the file. While the database is still
down the file stays and the next tick tries again.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from api.core.config import Settings

log = logging.getLogger(__name__)

REASON = "database unavailable when the message arrived"
SPOOLED_PATHS = frozenset({"/twilio/sms", "/twilio/voice", "/twilio/voice/gather", "/chat/messages"})


def spool_dir(settings: Settings) -> Path:
    return Path(settings.inbound_spool_dir)


def database_key(settings: Settings) -> str:
    """Which database an entry belongs to: a process on another database never stores it."""
    return hashlib.sha256(settings.database_url.encode()).hexdigest()[:16]


def keep(settings: Settings, entry: dict[str, Any]) -> Path:
    """Write one message durably (temp file, fsync, rename, fsync the directory)."""
    entry = {**entry, "database": database_key(settings)}
    folder = spool_dir(settings)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    name = f"{entry['received_at'].replace(':', '').replace('-', '')}-{secrets.token_hex(8)}.json"
    tmp = folder / f".{name}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(entry, handle)
        handle.flush()
        os.fsync(handle.fileno())
    path = folder / name
    os.replace(tmp, path)
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return path


def pending(settings: Settings) -> list[Path]:
    folder = spool_dir(settings)
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


# --- while the database is down: from the request, a spool entry and the safe answer ---------

async def answer_without_database(request: Any, settings: Settings, now: datetime) -> Any | None:
    """The reply for a person's message that could not be stored, or None (not such a request)."""
    from fastapi import HTTPException
    from fastapi.responses import JSONResponse, Response

    from api.channels import texts, voice, webchat
    from api.channels.security import twilio_params
    from api.services import relay

    path = request.url.path
    if path not in SPOOLED_PATHS:
        return None
    entry: dict[str, Any] = {"received_at": now.isoformat()}
    if path.startswith("/twilio/"):
        try:
            params = await twilio_params(request, settings)  # the form is cached: checked again, cheaply
        except HTTPException:
            return None
        phone = relay.phone_or_none(params.get("From"))
        entry["phone"] = phone
        if path == "/twilio/sms":
            sid = params.get("MessageSid") or params.get("SmsSid") or ""
            body = params.get("Body", "")
            entry.update(channel="sms", provider_sid=f"sms:{sid}" if sid else None, text=body,
                         conversation_id=relay.sms_conversation_id(settings.session_secret, phone) if phone
                         else relay.anonymous_conversation_id(settings.session_secret, sid or body))
            keep(settings, entry)
            replies = [] if texts.keyword(body) == "stop" else [relay.Reply(relay.SAFE_ANSWER_NOT_PAGED)]
            from twilio.twiml.messaging_response import MessagingResponse

            twiml = MessagingResponse()
            for chunk in texts.split_sms(texts.sms_body(replies)) if replies else []:
                twiml.message(chunk)
            return Response(str(twiml), media_type="application/xml")
        call_sid = params.get("CallSid", "")
        if path == "/twilio/voice":
            turn, text = 0, voice.GREETING_TEXT
        else:
            try:
                turn = int(request.query_params.get("turn", "1"))
            except ValueError:
                turn = 1
            text = (params.get("SpeechResult") or params.get("Digits") or "").strip()
        if text:
            entry.update(channel="voice", provider_sid=f"{call_sid}:{turn}", conversation_id=call_sid, text=text)
            keep(settings, entry)
        from twilio.twiml.voice_response import VoiceResponse

        twiml = VoiceResponse()
        voice._say(twiml, relay.SAFE_ANSWER_NOT_PAGED)
        twiml.hangup()
        return Response(str(twiml), media_type="application/xml")
    # the web chat
    try:
        body = json.loads(await request.body() or b"{}")
        text = str(body.get("text") or "")[:2000]
    except (ValueError, AttributeError):
        return None
    if not text:
        return None
    cid = webchat._conversation(settings, request.cookies.get(webchat.COOKIE)) or f"web-{secrets.token_hex(16)}"
    client_id = body.get("client_id") if isinstance(body.get("client_id"), str) else None
    entry.update(channel="web", conversation_id=cid, text=text, phone=None,
                 provider_sid=f"web:{cid}:{client_id[:40]}" if client_id else None)
    keep(settings, entry)
    return JSONResponse({"messages": [{"text": relay.SAFE_ANSWER_NOT_PAGED, "buttons": []}], "status": relay.SAFE,
                         "case_ref": None}, headers={"Cache-Control": "no-store"})


# --- once it is back: store each spooled message, open its case ---------------------------------

def replay(session_factory: sessionmaker[Session], settings: Settings, clock: Callable[[], datetime],
           limit: int = 100) -> int:
    """Store spooled messages, oldest first. Raises (and keeps the file) if the database is still down."""
    from api.channels import texts
    from api.services import relay

    done = 0
    mine = database_key(settings)
    for found in pending(settings)[:limit]:
        try:
            if json.loads(found.read_text(encoding="utf-8")).get("database") != mine:
                continue
        except (OSError, ValueError, AttributeError):
            pass  # gone (another process claimed it) or unreadable: handled below
        # Claimed by renaming, so of several API processes only one stores each message.
        path = found.with_name(f".{found.stem}.{os.getpid()}.claimed")
        try:
            os.rename(found, path)
        except FileNotFoundError:
            continue
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
            received = datetime.fromisoformat(entry["received_at"])
            text = str(entry.get("text") or "")
        except (ValueError, KeyError, TypeError):
            log.error("spool: unreadable entry kept aside as %s.bad", found.stem)
            path.rename(found.with_suffix(".bad"))
            continue
        try:
            with session_factory() as session:
                turn = relay.start_turn(session, provider_sid=entry.get("provider_sid"),
                                        conversation_id=entry["conversation_id"], channel=entry["channel"],
                                        text=text, now=received, details={"spooled": True})
                if turn.new:
                    word = texts.keyword(text) if entry["channel"] == "sms" else None
                    if word in ("stop", "start", "help") or not text.strip():
                        relay.answer(session, turn, [], now=clock(), details={"keyword": word, "spooled": True})
                    else:
                        relay.safe_answer(session, turn, settings=settings, now=clock(), phone=entry.get("phone"),
                                          reason=REASON)
        except OperationalError:
            os.rename(path, found)  # still down: the next tick tries again
            raise
        except DBAPIError:
            # The database is up but refuses this entry (e.g. a NUL character): set it aside for a
            # person to look at, so that it never holds up the messages behind it.
            log.error("spool: entry the database refuses kept aside as %s.bad", found.stem)
            path.rename(found.with_suffix(".bad"))
            continue
        path.unlink()
        done += 1
    if done:
        log.warning("spool: %s messages kept while the database was down are now stored", done,
                    extra={"count": done})
    return done
