"""bot/serve.py: Rasa's action-reply check gives the same verdicts, built once; SQLite in WAL."""
from __future__ import annotations

import jsonschema
import pytest
import sqlalchemy as sa
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

from bot import serve

VALID = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "fluid", "value": "blood"}], "responses": [{"text": "Thanks."}]},
    {"responses": [{"response": "utter_ask_fluid", "buttons": [{"title": "Blood", "payload": "1"}]}]},
]
INVALID = [
    {"events": "not a list"},
    {"events": [{"event": "slot", "name": "x"}, "not an event"]},
    {"responses": [42]},
]


@pytest.fixture(autouse=True)
def patched(monkeypatch):
    monkeypatch.setattr(RemoteAction, "_validate_action_result", RemoteAction._validate_action_result)
    original = RemoteAction._validate_action_result
    serve.patch_action_reply_validation()
    yield original


def _action() -> RemoteAction:
    return RemoteAction("action_test", EndpointConfig("http://127.0.0.1:1/webhook"))


@pytest.mark.parametrize("reply", VALID + INVALID)
def test_the_same_verdict_and_error_as_rasas_own_check(patched, reply):
    def verdict(check):
        try:
            return check(_action(), reply), None
        except jsonschema.ValidationError as e:
            return False, (e.message, list(e.absolute_path))

    assert verdict(RemoteAction._validate_action_result) == verdict(patched)


def test_an_invalid_reply_keeps_rasas_explanation():
    with pytest.raises(jsonschema.ValidationError, match="Failed to validate Action server response"):
        _action()._validate_action_result(INVALID[0])


def test_the_schema_is_checked_once_not_per_reply(monkeypatch):
    calls = []
    real = jsonschema.validators.Draft202012Validator.check_schema.__func__

    def counting(cls, schema, *a, **kw):
        calls.append(1)
        return real(cls, schema, *a, **kw)

    monkeypatch.setattr(jsonschema.validators.Draft202012Validator, "check_schema", classmethod(counting))
    validate = serve.cached_validator(RemoteAction.action_response_format_spec)
    for reply in VALID * 5:
        validate(reply)
    assert len(calls) == 1


def test_sqlite_connections_use_write_ahead_logging(tmp_path):
    serve.tune_sqlite_connections()
    serve.tune_sqlite_connections()  # idempotent: one listener
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'tracker.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL


# -- the version guard: a Rasa upgrade must not lose the patch silently ------------------------
def test_this_rasa_is_the_one_the_patch_was_written_for():
    assert serve.patch_target_problems() == []


def test_another_rasa_series_refuses_to_start(monkeypatch):
    import rasa

    monkeypatch.setattr(rasa, "__version__", "3.7.0")
    with pytest.raises(serve.RasaChanged, match=r"Rasa is 3\.7\.0"):
        serve.patch_action_reply_validation()


def test_a_moved_method_refuses_to_start(monkeypatch):
    monkeypatch.delattr(RemoteAction, "_validate_action_result")
    with pytest.raises(serve.RasaChanged, match="_validate_action_result is gone"):
        serve.patch_action_reply_validation()


def test_a_changed_signature_refuses_to_start(monkeypatch):
    monkeypatch.setattr(RemoteAction, "_validate_action_result", lambda self, result, strict: True)
    with pytest.raises(serve.RasaChanged, match="changed"):
        serve.patch_action_reply_validation()

