"""sign-in audit (user_event) and session revocation (user_account.sessions_valid_after)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("user_account") as batch:
        batch.add_column(sa.Column("sessions_valid_after", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "user_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=255), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], ondelete="RESTRICT",
                                name=op.f("fk_user_event_user_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_event")),
    )
    with op.batch_alter_table("user_event") as batch:
        batch.create_index(batch.f("ix_user_event_user_id"), ["user_id"], unique=False)
        batch.create_index(batch.f("ix_user_event_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("user_event") as batch:
        batch.drop_index(batch.f("ix_user_event_created_at"))
        batch.drop_index(batch.f("ix_user_event_user_id"))
    op.drop_table("user_event")
    with op.batch_alter_table("user_account") as batch:
        batch.drop_column("sessions_valid_after")
