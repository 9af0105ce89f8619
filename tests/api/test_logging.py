"""Structured logs: one JSON object per line, the case reference when known, never a number or text."""
from __future__ import annotations

import json
import logging
import sys

import httpx
import pytest
import respx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.core.config import Settings
from api.core.logging import CaseRefMiddleware, JsonFormatter, RedactFilter, bind_case_ref, configure_logging, redact

RASA = "http://rasa.test:5005"


@pytest.mark.parametrize("text", [
    "+447700900123", "+44 7700 900123", "+44 (0)7700 900123", "07700 900123", "07700900123", "07700-900-123",
    "020 7946 0000", "(020) 7946 0000", "0113 496 0000", "%2B447700900123", "447700900123", "0044 7700 900123",
    "+1 415 555 2671",
])
def test_phone_numbers_are_redacted_in_any_form(text):
    line = redact(f"caller {text} said hello")
    assert line == "caller [phone] said hello", line


@pytest.mark.parametrize("text", [
    "case SH-000123 escalated", "turn 42 after 0.53s", "2026-11-23T14:05:00+00:00", "page 7, round 2",
    "worker: 3 held pages released, 1 rounds escalated", "rule version sharps-2026.11.1",
])
def test_ordinary_lines_are_left_alone(text):
    assert redact(text) == text


def test_query_values_and_sql_parameters_are_redacted():
    assert redact('GET /api/subject-access?phone=07700&x=1 HTTP/1.1') == \
        'GET /api/subject-access?phone=[redacted]&x=1 HTTP/1.1'
    error = ("(psycopg.errors.UniqueViolation) duplicate key\n[SQL: INSERT INTO case (contact) VALUES (%(c)s)]\n"
             "[parameters: {'c': '{\"name\": \"Sam Smith\"}'}]\n"
             "(Background on this error at: https://sqlalche.me/e/20/gkpj)")
    redacted = redact(error)
    assert "Sam Smith" not in redacted and "[parameters: redacted]" in redacted and "[SQL: INSERT" in redacted


def _record(msg: str, *args, **extra) -> logging.LogRecord:
    record = logging.LogRecord("helpline.test", logging.WARNING, __file__, 1, msg, args, None)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_json_lines_have_time_level_logger_message_and_case_ref():
    record = _record("case %s: paged %s", "SH-000001", "+447700900201", case_ref="SH-000001", turn_id=5,
                     secret="not a safe extra")
    assert RedactFilter().filter(record)
    entry = json.loads(JsonFormatter().format(record))
    assert entry == {"time": entry["time"], "level": "WARNING", "logger": "helpline.test",
                     "message": "case SH-000001: paged [phone]", "case_ref": "SH-000001", "turn_id": 5}
    assert entry["time"].endswith("Z") and entry["time"][:2] == "20"
    with bind_case_ref("MA-000002"):
        assert json.loads(JsonFormatter().format(_record("hello")))["case_ref"] == "MA-000002"
    assert "case_ref" not in json.loads(JsonFormatter().format(_record("hello")))


def test_exceptions_are_one_json_line_and_redacted():
    try:
        raise ValueError("could not text 07700 900123")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    RedactFilter().filter(record)
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert "ValueError" in entry["exception"] and "900123" not in entry["exception"]


def test_log_format_defaults_to_text_only_in_development():
    # Secrets production accepts (api/core/secret_rules.py): random, long and each its own.
    base = {"_env_file": None, "helpline_api_token": "pX7rK2mQ9vLw4sTz8bN1cJ6hF3dG5yA0eU-_Ri",
            "session_secret": "Wq4Ze8Ty2Ui6Op0As3Df7Gh1Jk5Lz9Xc-_Vb",
            "helpline_bot_token": "Nb5Vq8Zr3Tx7Lm1Kp4Wd9Hs2Fj6Gc0Ye-_Ua",
            "twilio_auth_token": "3f9c1e7a0b8d2f46a5c9e1b7d3f08a6c"}
    assert Settings(**base, environment="development").effective_log_format == "text"
    assert Settings(**base, environment="test").effective_log_format == "json"
    assert Settings(**base, environment="production").effective_log_format == "json"
    assert Settings(**base, environment="production", log_format="text").effective_log_format == "text"


def _lines(captured: str) -> list[dict]:
    return [json.loads(line) for line in captured.splitlines() if line.strip()]


def test_request_path_binds_the_case_ref(settings, capsys):
    configure_logging(settings)
    app = FastAPI()
    app.add_middleware(CaseRefMiddleware)

    @app.get("/api/cases/{ref}/thing")
    def thing(ref: str):
        logging.getLogger("helpline.test").warning("looked at a case")
        return {}

    with TestClient(app) as client:
        client.get("/api/cases/sh-000042/thing")
    lines = [e for e in _lines(capsys.readouterr().err) if e["logger"] == "helpline.test"]
    assert lines and lines[-1]["case_ref"] == "SH-000042"


def test_uvicorn_access_lines_lose_the_number_in_the_query(settings, capsys):
    configure_logging(settings.model_copy(update={"log_format": "json"}))
    logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET",
                                             "/api/subject-access?phone=%2B447700900123", "1.1", 200)
    entry = _lines(capsys.readouterr().err)[-1]
    assert entry["logger"] == "uvicorn.access"
    assert "447700900123" not in entry["message"] and "phone=[redacted]" in entry["message"]


def test_a_real_conversation_logs_no_number_and_no_message_text(settings, clock, session_factory, capsys):
    """The safe-answer path logs the most (Rasa down, nobody on the rota): none of it is personal."""
    from api.main import create_app

    app = create_app(settings.model_copy(update={"rasa_url": RASA, "rasa_timeout_seconds": 0.2,
                                                 "rasa_timeout_seconds_voice": 0.2}), clock=clock)
    app.state.session_factory = session_factory
    capsys.readouterr()
    with respx.mock(assert_all_called=False, assert_all_mocked=False) as mock:
        mock.post(f"{RASA}/webhooks/rest/webhook").mock(return_value=httpx.Response(502))
        with TestClient(app) as client:
            r = client.post("/chat/messages", json={"text": "Sam Smith here, needle in my thumb, call 07700 900123"})
    assert r.json()["status"] == "safe_answer"
    err = capsys.readouterr().err
    lines = _lines(err)
    assert lines, "expected log lines on the safe-answer path"
    assert any(e["level"] == "CRITICAL" and e.get("case_ref") for e in lines)  # nobody to page, with the ref
    for word in ("Sam", "Smith", "needle", "thumb", "07700", "900123"):
        assert word not in err
