"""page grouping and abuse marks: case.source_key, case.grouped_with_id, abuse_mark

Plain ALTER TABLE on "case" (no batch, and so no database reference for grouped_with_id): batch
mode would copy "case" on SQLite, and with foreign keys on, dropping the old table under its
audit trail and pages fails once it holds cases.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SOURCE_INDEX = "ix_case_source_key"


def upgrade() -> None:
    op.add_column("case", sa.Column("source_key", sa.String(length=160), nullable=True))
    op.add_column("case", sa.Column("grouped_with_id", sa.Integer(), nullable=True))
    op.create_index(SOURCE_INDEX, "case", ["source_key"], unique=False)
    op.create_table(
        "abuse_mark",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_key", sa.String(length=160), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("marked_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lifted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lifted_by", sa.String(length=120), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], ondelete="RESTRICT",
                                name=op.f("fk_abuse_mark_case_id_case")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_abuse_mark")),
    )
    with op.batch_alter_table("abuse_mark") as batch:
        batch.create_index(batch.f("ix_abuse_mark_source_key"), ["source_key"], unique=False)
        batch.create_index(batch.f("ix_abuse_mark_case_id"), ["case_id"], unique=False)
        batch.create_index(batch.f("ix_abuse_mark_until"), ["until"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("abuse_mark") as batch:
        batch.drop_index(batch.f("ix_abuse_mark_until"))
        batch.drop_index(batch.f("ix_abuse_mark_case_id"))
        batch.drop_index(batch.f("ix_abuse_mark_source_key"))
    op.drop_table("abuse_mark")
    op.drop_index(SOURCE_INDEX, table_name="case")
    # DROP COLUMN (SQLite 3.35+, and PostgreSQL): no copy of the table.
    op.drop_column("case", "grouped_with_id")
    op.drop_column("case", "source_key")
