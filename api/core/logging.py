"""Logs: one JSON object per line (or plain text in development), never personal data.

What a line may carry: time, level, logger, message, the case reference when one is known
(from `extra={"case_ref": ...}` or the request's path, see `CaseRefMiddleware`), and a few
named figures (`SAFE_EXTRA`). Never a name, a phone number or what someone wrote: log calls
say "turn 42" or "case SH-000123", not the text. `RedactFilter` is the safety net under that
rule: on every handler this module installs (and on uvicorn's), it replaces anything shaped
like a UK or E.164 phone number, any `phone=` query value and SQLAlchemy's bound parameters
(which can hold anything a person typed) before the line is written.
"""
from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

from api.core.config import Settings

case_ref_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("helpline_case_ref", default=None)

# Figures a log call may pass with `extra=`; anything else given that way is left out of JSON lines.
SAFE_EXTRA = ("case_ref", "turn_id", "page_id", "channel", "outcome", "tier", "seconds", "count")

PHONE = "[phone]"
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # phone=... in a query string or form, whatever its shape (URL-encoded too).
    (re.compile(r"(?i)\b(phone|from|to|caller|called)=[^&\s\"']+"), r"\1=[redacted]"),
    # SQLAlchemy's "[parameters: ...]" block in an exception message: the values sent.
    (re.compile(r"\[parameters: .*?\](?=\n|$)", re.S), "[parameters: redacted]"),
    # International: +44 7700 900123, 0044..., %2B447700900123 (E.164 and spaced forms).
    (re.compile(r"(?:\+|%2[Bb]|\b00)\s?[1-9](?:[\s\-.()]{0,2}\d){7,14}\b"), PHONE),
    # UK national: 07700 900123, 020 7946 0000, (0113) 496 0000, 0113-496-0000.
    (re.compile(r"(?:\(|\b)0(?:[\s\-()]{0,2}\d){9,10}\b"), PHONE),
    # A bare 44 country code without the plus: 447700900123.
    (re.compile(r"\b44\d{9,10}\b"), PHONE),
]


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactFilter(logging.Filter):
    """Formats the message once, redacted, and drops the arguments (they are in it now)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_helpline_redacted", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string still gets logged, without its arguments
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        record._helpline_redacted = True
        return True


def _case_ref(record: logging.LogRecord) -> str | None:
    return getattr(record, "case_ref", None) or case_ref_var.get()


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        ref = _case_ref(record)
        if ref:
            entry["case_ref"] = ref
        for key in SAFE_EXTRA[1:]:
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(self.formatException(record.exc_info))
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = redact(super().format(record))
        ref = _case_ref(record)
        return f"{line} [{ref}]" if ref and ref not in record.getMessage() else line


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is now (so test capture and reloads see the lines)."""

    _helpline = True

    @property  # type: ignore[override]
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def configure_logging(settings: Settings) -> None:
    """Idempotent: each call replaces the handler the previous call installed."""
    json_lines = settings.effective_log_format == "json"
    root = logging.getLogger()
    root.setLevel(settings.log_level.upper())
    for handler in list(root.handlers):
        if getattr(handler, "_helpline", False):
            root.removeHandler(handler)
    handler = _StderrHandler()
    handler.addFilter(RedactFilter())
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    root.addHandler(handler)
    # One line per outbound HTTP request (each relayed turn) is noise; their failures are logged by us.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # uvicorn's own lines (start-up, errors, the access log with its query strings).
    for name in ("uvicorn", "uvicorn.access"):
        logger = logging.getLogger(name)
        if json_lines:
            for h in list(logger.handlers):
                logger.removeHandler(h)
            logger.propagate = True
        else:
            for h in logger.handlers:
                if not any(isinstance(f, RedactFilter) for f in h.filters):
                    h.addFilter(RedactFilter())


@contextlib.contextmanager
def bind_case_ref(ref: str | None) -> Iterator[None]:
    """Every line logged inside carries this case reference."""
    token = case_ref_var.set(ref)
    try:
        yield
    finally:
        case_ref_var.reset(token)


_REF_IN_PATH = re.compile(r"/((?:SH|MA)-?\d{1,6})(?=/|$)", re.I)


class CaseRefMiddleware:
    """Binds the case reference in a request's path (/api/cases/SH-000123/...) to its log lines."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        match = _REF_IN_PATH.search(scope.get("path", ""))
        if not match:
            await self.app(scope, receive, send)
            return
        with bind_case_ref(match.group(1).upper()):
            await self.app(scope, receive, send)
