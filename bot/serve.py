"""`rasa` with two measured fixes: python -m bot.serve run --model ... (same arguments as `rasa`).

Rasa runs each conversation's turn on one event loop, so CPU spent per turn is turns per
second lost. Profiling `rasa run` under the benchmark's load (py-spy; bench/README.md):

1. Rasa 3.6 checks every action server reply against its JSON schema with
   `jsonschema.validate(reply, schema)`, which first validates the (constant) schema
   against the draft's meta-schema and builds a new validator: 30% of Rasa's samples.
   Here the validator is built once and reused. The reply is checked against the same
   schema, by the same draft's validator, with the same error.
2. The SQLite tracker store (the default on one machine) committed every turn with a full
   fsync in rollback-journal mode: ~10% of samples, on the event loop. Here SQLite
   connections use write-ahead logging (as the API's own SQLite does) with
   `synchronous=NORMAL` (unlike the API's, which stays fully synchronous: it is the record):
   safe against a crashed process; the last turns could go only if the machine loses
   power, and the API keeps its own copy of every turn. It also lets two Rasa
   processes share the file (readers do not block the writer). PostgreSQL is untouched.
"""
from __future__ import annotations

import functools
import inspect
import os
import sys
from typing import Any, Callable, Dict, List

# The Rasa series whose internals patch_action_reply_validation replaces. Another series may
# move or change them: then the patch would silently do nothing (or the wrong thing), so the
# server refuses to start until this file is checked against the new Rasa.
PATCHED_RASA_SERIES = "3.6."


class RasaChanged(RuntimeError):
    """The Rasa internals this module patches are not the ones it was written for."""


def patch_target_problems() -> List[str]:
    """What differs from the Rasa this module was written for (empty: safe to patch)."""
    import rasa
    from rasa.core.actions.action import RemoteAction

    problems = []
    if not str(getattr(rasa, "__version__", "")).startswith(PATCHED_RASA_SERIES):
        problems.append(f"Rasa is {getattr(rasa, '__version__', '?')}, not {PATCHED_RASA_SERIES}x")
    method = getattr(RemoteAction, "_validate_action_result", None)
    if not callable(method):
        problems.append("RemoteAction._validate_action_result is gone")
    elif list(inspect.signature(method).parameters) != ["self", "result"]:
        problems.append(f"RemoteAction._validate_action_result{inspect.signature(method)} changed")
    spec = getattr(RemoteAction, "action_response_format_spec", None)
    if not callable(spec):
        problems.append("RemoteAction.action_response_format_spec is gone")
    elif inspect.signature(spec).parameters:
        problems.append(f"RemoteAction.action_response_format_spec{inspect.signature(spec)} changed")
    return problems


def cached_validator(schema_of: Callable[[], Dict[str, Any]]) -> Callable[[Dict[str, Any]], None]:
    """validate(instance) against schema_of(), the validator built on first use."""
    from jsonschema.exceptions import best_match
    from jsonschema.validators import validator_for

    @functools.lru_cache(maxsize=1)
    def validator() -> Any:
        schema = schema_of()
        cls = validator_for(schema)
        cls.check_schema(schema)  # once, as jsonschema.validate would on every call
        return cls(schema)

    def validate(instance: Dict[str, Any]) -> None:
        error = best_match(validator().iter_errors(instance))  # as jsonschema.validate
        if error is not None:
            raise error

    return validate


def patch_action_reply_validation() -> None:
    """Make RemoteAction._validate_action_result use a validator built once. Refuses (loudly,
    at start) to patch a Rasa whose internals differ from the ones this was written for."""
    problems = patch_target_problems()
    if problems:
        raise RasaChanged("bot/serve.py cannot patch this Rasa: " + "; ".join(problems)
                          + ". Check the patch against the new Rasa, then update PATCHED_RASA_SERIES.")
    from jsonschema import ValidationError
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    validate = cached_validator(RemoteAction.action_response_format_spec)

    def _validate_action_result(self: RemoteAction, result: Dict[str, Any]) -> bool:
        try:
            validate(result)
            return True
        except ValidationError as e:  # Rasa's own message, unchanged
            e.message += (
                ". Failed to validate Action server response from API, "
                "make sure your response from the Action endpoint is valid. "
                f"For more information about the format visit {DOCS_BASE_URL}/custom-actions"
            )
            raise e

    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    import sqlite3

    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=15000")  # two Rasa processes on one file wait, not fail
        cursor.close()


def tune_sqlite_connections() -> None:
    """WAL and synchronous=NORMAL on every SQLite connection this process opens."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    if not event.contains(Engine, "connect", _sqlite_pragmas):
        event.listen(Engine, "connect", _sqlite_pragmas)


def main() -> None:
    # Rasa's SQLite tracker store holds whole conversations: owner-only, like the API's files.
    os.umask(0o077)
    patch_action_reply_validation()
    tune_sqlite_connections()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
