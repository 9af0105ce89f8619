"""Migration 0007 (account tokens, a wider outbox "to") on a database that already holds pages
and their texts: SQLite copies outbox_message with foreign keys on and keeps every row."""
from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, inspect, text

from api.core.db import make_engine
from tests.api.test_migration_0005 import ROWS
from tests.api.test_migrations import _config

TEXT = ("insert into outbox_message (id, channel, \"to\", body, page_id, status, attempts, created_at) "
        "values (1, 'sms', '+447700900201', 'OH HELPLINE EMERGENCY SH-000001', 1, 'sent', 1, '2026-11-23 14:00:00')")
EMAIL = ("insert into outbox_message (id, channel, \"to\", body, status, attempts, created_at) values "
         "(2, 'email', 'a.very.long.name@occupational-health.example.nhs.uk', 'link', 'queued', 0, "
         "'2026-11-23 14:00:00')")


def _to_length(engine) -> int:
    return next(c["type"].length for c in inspect(engine).get_columns("outbox_message") if c["name"] == "to")


def test_0007_upgrades_and_downgrades_a_database_holding_texts(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    command.upgrade(_config(url), "0006")
    engine = make_engine(url)  # the app's engine: foreign keys enforced, as the migrations run them
    with engine.begin() as conn:
        for row in [*ROWS, TEXT]:
            conn.execute(text(row))
    engine.dispose()

    command.upgrade(_config(url), "0007")
    plain = create_engine(url)
    assert _to_length(plain) == 254 and "account_token" in inspect(plain).get_table_names()
    assert {i["name"] for i in inspect(plain).get_indexes("outbox_message")} == {
        "ix_outbox_message_page_id", "ix_outbox_message_status"}
    with plain.begin() as conn:
        assert conn.execute(text("select id, page_id, \"to\" from outbox_message")).all() == [(1, 1, "+447700900201")]
        conn.execute(text(EMAIL))
        assert conn.execute(text("pragma foreign_key_check")).all() == []
    plain.dispose()

    command.downgrade(_config(url), "0006")
    plain = create_engine(url)
    assert _to_length(plain) == 32 and "account_token" not in inspect(plain).get_table_names()
    with plain.connect() as conn:  # the email row went with its link; the page's text stays
        assert conn.execute(text("select id, channel from outbox_message")).all() == [(1, "sms")]
        assert conn.execute(text("select count(*) from page")).scalar() == 1
    plain.dispose()
