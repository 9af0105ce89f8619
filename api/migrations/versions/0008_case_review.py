"""practitioner review: case_review, the practitioner's own urgency beside the rules'

Append-only rows (the newest per case counts), so concordance by rule version is a count over
this table joined to its case.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-10
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("urgency", sa.String(length=16), nullable=False),
        sa.Column("rules_urgency", sa.String(length=16), nullable=True),
        sa.Column("rule_version", sa.String(length=40), nullable=True),
        sa.Column("by", sa.String(length=200), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"], ondelete="RESTRICT",
                                name=op.f("fk_case_review_case_id_case")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_review")),
    )
    op.create_index(op.f("ix_case_review_case_id"), "case_review", ["case_id"], unique=False)
    op.create_index(op.f("ix_case_review_created_at"), "case_review", ["created_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_case_review_created_at"), table_name="case_review")
    op.drop_index(op.f("ix_case_review_case_id"), table_name="case_review")
    op.drop_table("case_review")
