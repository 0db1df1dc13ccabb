"""reports, report flows, secrets

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-28 05:35:06.659813
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('report_flows',
    sa.Column('chat_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('nonce', sa.String(length=16), nullable=False),
    sa.Column('step', sa.String(length=16), nullable=False),
    sa.Column('service_id', sa.String(length=64), nullable=True),
    sa.Column('symptom', sa.String(length=32), nullable=True),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('chat_id', name=op.f('pk_report_flows'))
    )
    with op.batch_alter_table('report_flows', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_flows_updated_at'), ['updated_at'], unique=False)

    op.create_table('secrets',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('value', sa.String(length=256), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_secrets'))
    )
    op.create_table('reports',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('reference', sa.String(length=16), nullable=False),
    sa.Column('service_id', sa.String(length=64), nullable=False),
    sa.Column('symptom', sa.String(length=32), nullable=False),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('text_hash', sa.String(length=64), nullable=True),
    sa.Column('reporter_key', sa.String(length=64), nullable=True),
    sa.Column('chat_id', sa.BigInteger(), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('counted', sa.Boolean(), nullable=False),
    sa.Column('flagged', sa.Boolean(), nullable=False),
    sa.Column('hour', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_reports_service_id_services')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reports')),
    sa.UniqueConstraint('reference', name=op.f('uq_reports_reference'))
    )
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reports_chat_id'), ['chat_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reports_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_reports_reporter_key'), ['reporter_key'], unique=False)
        batch_op.create_index('ix_reports_service_created', ['service_id', 'created_at'], unique=False)
        batch_op.create_index('ix_reports_service_hour', ['service_id', 'hour'], unique=False)
        batch_op.create_index(batch_op.f('ix_reports_text_hash'), ['text_hash'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reports_text_hash'))
        batch_op.drop_index('ix_reports_service_hour')
        batch_op.drop_index('ix_reports_service_created')
        batch_op.drop_index(batch_op.f('ix_reports_reporter_key'))
        batch_op.drop_index(batch_op.f('ix_reports_created_at'))
        batch_op.drop_index(batch_op.f('ix_reports_chat_id'))

    op.drop_table('reports')
    op.drop_table('secrets')
    with op.batch_alter_table('report_flows', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_flows_updated_at'))

    op.drop_table('report_flows')
