"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-23
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    
    op.create_table('organisation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('type', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organisation')),
    sa.UniqueConstraint('code', name=op.f('uq_organisation_code'))
    )
    op.create_table('practitioner',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('mobile', sa.String(length=32), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_practitioner')),
    sa.UniqueConstraint('mobile', name=op.f('uq_practitioner_mobile'))
    )
    op.create_table('ref_counter',
    sa.Column('prefix', sa.String(length=8), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('prefix', name=op.f('pk_ref_counter'))
    )
    op.bulk_insert(
        sa.table("ref_counter", sa.column("prefix", sa.String), sa.column("value", sa.Integer)),
        [{"prefix": "SH", "value": 0}, {"prefix": "MA", "value": 0}],
    )
    op.create_table('case',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=16), nullable=False),
    sa.Column('line', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('urgency', sa.String(length=16), nullable=True),
    sa.Column('conversation_id', sa.String(length=128), nullable=True),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('contact', sa.JSON(), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('decision', sa.JSON(), nullable=True),
    sa.Column('rule_version', sa.String(length=40), nullable=True),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.Column('provisional', sa.Boolean(), nullable=False),
    sa.Column('escalation_round', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=40), nullable=True),
    sa.Column('follow_up_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('triaged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('in_progress_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('follow_up_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_case_organisation_id_organisation'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['owner_id'], ['practitioner.id'], name=op.f('fk_case_owner_id_practitioner'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case')),
    sa.UniqueConstraint('ref', name=op.f('uq_case_ref'))
    )
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_conversation_id'), ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_line'), ['line'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_urgency'), ['urgency'], unique=False)

    op.create_table('rota_shift',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('practitioner_id', sa.Integer(), nullable=False),
    sa.Column('tier', sa.String(length=16), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['practitioner_id'], ['practitioner.id'], name=op.f('fk_rota_shift_practitioner_id_practitioner'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rota_shift'))
    )
    with op.batch_alter_table('rota_shift', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rota_shift_ends_at'), ['ends_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_rota_shift_practitioner_id'), ['practitioner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rota_shift_starts_at'), ['starts_at'], unique=False)

    op.create_table('case_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('actor', sa.String(length=120), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_case_event_case_id_case'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_event'))
    )
    with op.batch_alter_table('case_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_event_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_event_created_at'), ['created_at'], unique=False)

    op.create_table('page',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('practitioner_id', sa.Integer(), nullable=True),
    sa.Column('tier', sa.String(length=16), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('urgency', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('not_before', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ack_seconds', sa.Float(), nullable=False),
    sa.Column('ack_deadline', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by', sa.String(length=120), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], name=op.f('fk_page_case_id_case'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['practitioner_id'], ['practitioner.id'], name=op.f('fk_page_practitioner_id_practitioner'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_page'))
    )
    with op.batch_alter_table('page', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_page_ack_deadline'), ['ack_deadline'], unique=False)
        batch_op.create_index(batch_op.f('ix_page_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_page_status'), ['status'], unique=False)

    op.create_table('outbox_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('to', sa.String(length=32), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('page_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('provider_sid', sa.String(length=64), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['page_id'], ['page.id'], name=op.f('fk_outbox_message_page_id_page'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_message'))
    )
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_message_page_id'), ['page_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_message_status'), ['status'], unique=False)

    


def downgrade() -> None:
    
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_message_status'))
        batch_op.drop_index(batch_op.f('ix_outbox_message_page_id'))

    op.drop_table('outbox_message')
    with op.batch_alter_table('page', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_page_status'))
        batch_op.drop_index(batch_op.f('ix_page_case_id'))
        batch_op.drop_index(batch_op.f('ix_page_ack_deadline'))

    op.drop_table('page')
    with op.batch_alter_table('case_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_event_created_at'))
        batch_op.drop_index(batch_op.f('ix_case_event_case_id'))

    op.drop_table('case_event')
    with op.batch_alter_table('rota_shift', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rota_shift_starts_at'))
        batch_op.drop_index(batch_op.f('ix_rota_shift_practitioner_id'))
        batch_op.drop_index(batch_op.f('ix_rota_shift_ends_at'))

    op.drop_table('rota_shift')
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_urgency'))
        batch_op.drop_index(batch_op.f('ix_case_status'))
        batch_op.drop_index(batch_op.f('ix_case_line'))
        batch_op.drop_index(batch_op.f('ix_case_conversation_id'))

    op.drop_table('case')
    op.drop_table('ref_counter')
    op.drop_table('practitioner')
    op.drop_table('organisation')
    
