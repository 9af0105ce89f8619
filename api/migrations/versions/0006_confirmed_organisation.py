"""who sees a referral: case.confirmed_organisation_id, the organisation a person bound it to

Referrals a manager made on the web are bound to the manager's organisation on upgrade (the
manager was that person). Any other referral's organisation stays a suggestion until a
practitioner confirms it on the case page: until then that organisation's managers do not see it.

Plain ALTER TABLE on both databases: batch mode would copy "case" on SQLite, and with foreign
keys on, dropping the old table under its audit trail and pages fails once it holds cases.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_case_confirmed_organisation_id"


def upgrade() -> None:
    op.add_column("case", sa.Column("confirmed_organisation_id", sa.Integer(), nullable=True))
    op.create_index(INDEX, "case", ["confirmed_organisation_id"], unique=False)
    case = sa.table("case", sa.column("id", sa.Integer()), sa.column("line", sa.String()),
                    sa.column("organisation_id", sa.Integer()), sa.column("confirmed_organisation_id", sa.Integer()))
    event = sa.table("case_event", sa.column("case_id", sa.Integer()), sa.column("type", sa.String()),
                     sa.column("actor", sa.String()))
    made_by_a_manager = sa.exists().where(event.c.case_id == case.c.id, event.c.type == "case_created",
                                          event.c.actor.like("% (manager)"))
    op.execute(case.update()
               .where(case.c.line == "manager", case.c.organisation_id.is_not(None), made_by_a_manager)
               .values(confirmed_organisation_id=case.c.organisation_id))


def downgrade() -> None:
    op.drop_index(INDEX, table_name="case")
    op.drop_column("case", "confirmed_organisation_id")  # SQLite 3.35 or later drops it in place
