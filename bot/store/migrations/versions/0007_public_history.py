"""check_days and check_failures: the public status page's 90-day bars and outage records

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EAT = ZoneInfo("Africa/Nairobi")


def upgrade() -> None:
    days = op.create_table('check_days',
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('service_id', sa.String(length=64), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('good', sa.Integer(), nullable=False),
    sa.Column('slow', sa.Integer(), nullable=False),
    sa.Column('offline', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key', 'day', name=op.f('pk_check_days'))
    )
    with op.batch_alter_table('check_days', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_check_days_service_id'), ['service_id'], unique=False)

    op.create_table('check_failures',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('service_id', sa.String(length=64), nullable=False),
    sa.Column('first_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_check_failures'))
    )
    with op.batch_alter_table('check_failures', schema=None) as batch_op:
        batch_op.create_index('ix_check_failures_key_last', ['key', 'last_at'], unique=False)
        batch_op.create_index('ix_check_failures_service_last', ['service_id', 'last_at'], unique=False)

    # The hourly counts already kept (31 days) become the first days of the 90-day bars.
    hours = sa.table('check_hours', sa.column('key', sa.String()), sa.column('hour', sa.DateTime(timezone=True)),
                     sa.column('service_id', sa.String()), sa.column('total', sa.Integer()),
                     sa.column('good', sa.Integer()), sa.column('slow', sa.Integer()),
                     sa.column('offline', sa.Integer()))
    summed: dict[tuple[str, object], dict[str, object]] = {}
    for key, hour, service_id, total, good, slow, offline in op.get_bind().execute(sa.select(hours)):
        if isinstance(hour, str):
            hour = datetime.fromisoformat(hour)
        if hour.tzinfo is None:
            hour = hour.replace(tzinfo=UTC)
        day = hour.astimezone(EAT).date()
        row = summed.setdefault((key, day), {"key": key, "day": day, "service_id": service_id,
                                             "total": 0, "good": 0, "slow": 0, "offline": 0})
        for name, value in (("total", total), ("good", good), ("slow", slow), ("offline", offline)):
            row[name] = int(row[name]) + int(value or 0)  # type: ignore[call-overload]
    if summed:
        op.bulk_insert(days, list(summed.values()))


def downgrade() -> None:
    with op.batch_alter_table('check_failures', schema=None) as batch_op:
        batch_op.drop_index('ix_check_failures_service_last')
        batch_op.drop_index('ix_check_failures_key_last')
    op.drop_table('check_failures')
    with op.batch_alter_table('check_days', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_check_days_service_id'))
    op.drop_table('check_days')
