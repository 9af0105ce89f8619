"""Migration 0005 (page grouping and abuse marks) on a database that already holds cases, their
audit trail and pages: the case table is altered in place, never copied, on SQLite too."""
from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, inspect, text

from api.core.db import make_engine
from tests.api.test_migrations import _config

ROWS = [
    "insert into practitioner (id, name, role, mobile, active, created_at) "
    "values (1, 'Alex', 'nurse', '+447700900201', 1, '2026-11-23 14:00:00')",
    "insert into \"case\" (id, ref, line, kind, channel, status, contact, answers, escalation_round, provisional, "
    "created_at, updated_at) values (1, 'SH-000001', 'sharps', 'exposure', 'sms', 'escalated', '{}', '{}', 1, 0, "
    "'2026-11-23 14:00:00', '2026-11-23 14:00:00')",
    "insert into case_event (id, case_id, type, actor, description, details, created_at) "
    "values (1, 1, 'case_created', 'api', 'opened', '{}', '2026-11-23 14:00:00')",
    "insert into page (id, case_id, practitioner_id, tier, attempt, urgency, status, ack_seconds, created_at) "
    "values (1, 1, 1, 'primary', 1, 'emergency', 'pending', 300, '2026-11-23 14:00:00')",
]


def test_0005_upgrades_and_downgrades_a_database_holding_cases(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    command.upgrade(_config(url), "0004")
    engine = make_engine(url)  # the app's engine: foreign keys enforced, as the migrations run them
    with engine.begin() as conn:
        for row in ROWS:
            conn.execute(text(row))
    engine.dispose()

    command.upgrade(_config(url), "0005")
    plain = create_engine(url)
    columns = {c["name"] for c in inspect(plain).get_columns("case")}
    assert {"source_key", "grouped_with_id"} <= columns and "abuse_mark" in inspect(plain).get_table_names()
    with plain.connect() as conn:
        assert conn.execute(text("select ref, source_key from \"case\"")).all() == [("SH-000001", None)]
        assert conn.execute(text("select count(*) from page")).scalar() == 1
    plain.dispose()

    command.downgrade(_config(url), "0004")
    plain = create_engine(url)
    assert "source_key" not in {c["name"] for c in inspect(plain).get_columns("case")}
    assert "abuse_mark" not in inspect(plain).get_table_names()
    with plain.connect() as conn:
        assert conn.execute(text("select count(*) from case_event")).scalar() == 1
    plain.dispose()
