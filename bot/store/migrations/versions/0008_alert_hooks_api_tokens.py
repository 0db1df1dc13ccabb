"""api_tokens and alert_signals: the alert hooks and the operator API

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-10 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('services', sa.JSON(), nullable=True),
    sa.Column('hooks', sa.Boolean(), nullable=False),
    sa.Column('incidents', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('digest', name=op.f('uq_api_tokens_digest')),
    sa.UniqueConstraint('name', name=op.f('uq_api_tokens_name'))
    )
    op.create_table('alert_signals',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('service_id', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=32), nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_alert_signals_service_id_services')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_signals')),
    sa.UniqueConstraint('key', 'service_id', name=op.f('uq_alert_signals_key'))
    )
    with op.batch_alter_table('alert_signals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_signals_service_id'), ['service_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('alert_signals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_signals_service_id'))
    op.drop_table('alert_signals')
    op.drop_table('api_tokens')
