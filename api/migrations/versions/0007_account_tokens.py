"""account admin: one-time set-password links (account_token), email rows in the outbox

account_token keeps the SHA-256 of each invitation or reset link, never the link. The link goes
out as an outbox row with channel "email", so outbox_message."to" widens from 32 characters
(an E.164 number) to 254 (an email address).

Widening a column is an ALTER in place on PostgreSQL. SQLite cannot change a column's declared
type, so batch mode copies outbox_message there: nothing refers to that table, so the copy is
safe with foreign keys on (unlike "case", see 0005).

Downgrade deletes the email rows before narrowing "to" again: their links die with
account_token anyway, and an address longer than 32 characters would not fit.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-09
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "account_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["user_account.id"], ondelete="RESTRICT",
                                name=op.f("fk_account_token_user_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_account_token_token_hash")),
    )
    with op.batch_alter_table("account_token") as batch:
        batch.create_index(batch.f("ix_account_token_user_id"), ["user_id"], unique=False)
    with op.batch_alter_table("outbox_message") as batch:
        batch.alter_column("to", existing_type=sa.String(length=32), type_=sa.String(length=254),
                           existing_nullable=False)


def downgrade() -> None:
    outbox = sa.table("outbox_message", sa.column("channel", sa.String()))
    op.execute(outbox.delete().where(outbox.c.channel == "email"))
    with op.batch_alter_table("outbox_message") as batch:
        batch.alter_column("to", existing_type=sa.String(length=254), type_=sa.String(length=32),
                           existing_nullable=False)
    with op.batch_alter_table("account_token") as batch:
        batch.drop_index(batch.f("ix_account_token_user_id"))
    op.drop_table("account_token")
