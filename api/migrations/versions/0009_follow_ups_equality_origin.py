"""after the call: follow_up (dated tasks on a case, with SMS reminders), equality_response
(optional answers kept apart from any case) and conversation_origin (the organisation a poster's
chat link named)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "follow_up",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("what", sa.String(length=200), nullable=False),
        sa.Column("remind_by_sms", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=120), nullable=True),
        sa.Column("close_note", sa.Text(), nullable=True),
        sa.Column("reminder_sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("overdue_alerted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], ondelete="RESTRICT",
                                name=op.f("fk_follow_up_case_id_case")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_up")),
    )
    op.create_index(op.f("ix_follow_up_case_id"), "follow_up", ["case_id"], unique=False)
    op.create_index(op.f("ix_follow_up_due_on"), "follow_up", ["due_on"], unique=False)
    op.create_index(op.f("ix_follow_up_status"), "follow_up", ["status"], unique=False)

    op.create_table(
        "equality_response",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("answered_on", sa.Date(), nullable=False),
        sa.Column("line", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("age_band", sa.String(length=32), nullable=True),
        sa.Column("sex", sa.String(length=32), nullable=True),
        sa.Column("ethnic_group", sa.String(length=32), nullable=True),
        sa.Column("disability", sa.String(length=32), nullable=True),
        sa.Column("staff_group", sa.String(length=48), nullable=True),
        sa.Column("organisation_type", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_equality_response")),
    )
    op.create_index(op.f("ix_equality_response_answered_on"), "equality_response", ["answered_on"], unique=False)

    op.create_table(
        "conversation_origin",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisation.id"], ondelete="RESTRICT",
                                name=op.f("fk_conversation_origin_organisation_id_organisation")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_origin")),
        sa.UniqueConstraint("conversation_id", name=op.f("uq_conversation_origin_conversation_id")),
    )
    op.create_index(op.f("ix_conversation_origin_organisation_id"), "conversation_origin", ["organisation_id"],
                    unique=False)
    op.create_index(op.f("ix_conversation_origin_created_at"), "conversation_origin", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_conversation_origin_created_at"), table_name="conversation_origin")
    op.drop_index(op.f("ix_conversation_origin_organisation_id"), table_name="conversation_origin")
    op.drop_table("conversation_origin")
    op.drop_index(op.f("ix_equality_response_answered_on"), table_name="equality_response")
    op.drop_table("equality_response")
    op.drop_index(op.f("ix_follow_up_status"), table_name="follow_up")
    op.drop_index(op.f("ix_follow_up_due_on"), table_name="follow_up")
    op.drop_index(op.f("ix_follow_up_case_id"), table_name="follow_up")
    op.drop_table("follow_up")
