"""checks, check history, leases, maintenance windows

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 05:29:07.891097
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004'
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('check_hours',
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('hour', sa.DateTime(timezone=True), nullable=False),
    sa.Column('service_id', sa.String(length=64), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('good', sa.Integer(), nullable=False),
    sa.Column('slow', sa.Integer(), nullable=False),
    sa.Column('offline', sa.Integer(), nullable=False),
    sa.Column('latency_ms_sum', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('key', 'hour', name=op.f('pk_check_hours'))
    )
    with op.batch_alter_table('check_hours', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_check_hours_service_id'), ['service_id'], unique=False)

    op.create_table('check_results',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('service_id', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('latency_ms', sa.Integer(), nullable=True),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('detail', sa.String(length=300), nullable=True),
    sa.Column('offline', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_check_results'))
    )
    with op.batch_alter_table('check_results', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_check_results_at'), ['at'], unique=False)
        batch_op.create_index('ix_check_results_key_at', ['key', 'at'], unique=False)

    op.create_table('check_states',
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('service_id', sa.String(length=64), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=True),
    sa.Column('since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('streak', sa.Integer(), nullable=False),
    sa.Column('streak_level', sa.String(length=16), nullable=True),
    sa.Column('counted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_outcome', sa.String(length=16), nullable=True),
    sa.Column('last_latency_ms', sa.Integer(), nullable=True),
    sa.Column('last_status_code', sa.Integer(), nullable=True),
    sa.Column('last_detail', sa.String(length=300), nullable=True),
    sa.Column('last_offline', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_check_states'))
    )
    with op.batch_alter_table('check_states', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_check_states_service_id'), ['service_id'], unique=False)

    op.create_table('leases',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('holder', sa.String(length=128), nullable=False),
    sa.Column('acquired_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_leases'))
    )
    op.create_table('maintenance_windows',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('service_id', sa.String(length=64), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('every', sa.String(length=16), nullable=True),
    sa.Column('until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('title_en', sa.Text(), nullable=False),
    sa.Column('title_sw', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_maintenance_windows_service_id_services')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_maintenance_windows'))
    )
    with op.batch_alter_table('maintenance_windows', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_maintenance_windows_service_id'), ['service_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('maintenance_windows', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_maintenance_windows_service_id'))

    op.drop_table('maintenance_windows')
    op.drop_table('leases')
    with op.batch_alter_table('check_states', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_check_states_service_id'))

    op.drop_table('check_states')
    with op.batch_alter_table('check_results', schema=None) as batch_op:
        batch_op.drop_index('ix_check_results_key_at')
        batch_op.drop_index(batch_op.f('ix_check_results_at'))

    op.drop_table('check_results')
    with op.batch_alter_table('check_hours', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_check_hours_service_id'))

    op.drop_table('check_hours')
