"""conversation messages (transcripts, webhook idempotency) and user accounts

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "conversation_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("provider_sid", sa.String(length=96), nullable=True),
        sa.Column("reply_to_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["reply_to_id"], ["conversation_message.id"], ondelete="RESTRICT",
                                name=op.f("fk_conversation_message_reply_to_id_conversation_message")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_message")),
        sa.UniqueConstraint("provider_sid", name=op.f("uq_conversation_message_provider_sid")),
    )
    with op.batch_alter_table("conversation_message") as batch:
        batch.create_index(batch.f("ix_conversation_message_conversation_id"), ["conversation_id"], unique=False)
        batch.create_index(batch.f("ix_conversation_message_created_at"), ["created_at"], unique=False)
    op.create_table(
        "user_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("practitioner_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisation.id"], ondelete="RESTRICT",
                                name=op.f("fk_user_account_organisation_id_organisation")),
        sa.ForeignKeyConstraint(["practitioner_id"], ["practitioner.id"], ondelete="RESTRICT",
                                name=op.f("fk_user_account_practitioner_id_practitioner")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_account")),
        sa.UniqueConstraint("email", name=op.f("uq_user_account_email")),
    )


def downgrade() -> None:
    op.drop_table("user_account")
    with op.batch_alter_table("conversation_message") as batch:
        batch.drop_index(batch.f("ix_conversation_message_created_at"))
        batch.drop_index(batch.f("ix_conversation_message_conversation_id"))
    op.drop_table("conversation_message")
