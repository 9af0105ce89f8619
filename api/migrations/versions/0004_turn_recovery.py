"""turn recovery: outbox_message.claimed_at (a lease on `sending`) and an index on turn status

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_message") as batch:
        batch.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("conversation_message") as batch:
        batch.create_index(batch.f("ix_conversation_message_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("conversation_message") as batch:
        batch.drop_index(batch.f("ix_conversation_message_status"))
    with op.batch_alter_table("outbox_message") as batch:
        batch.drop_column("claimed_at")
