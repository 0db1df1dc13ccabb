"""the inbox, the shared send budget, senders, the public channel, notification retries by age

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 10:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('inbox',
    sa.Column('update_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('update_id', name=op.f('pk_inbox'))
    )
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.create_index('ix_inbox_status_update', ['status', 'update_id'], unique=False)
        batch_op.create_index('ix_inbox_chat_update', ['chat_id', 'update_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inbox_done_at'), ['done_at'], unique=False)

    op.create_table('send_slots',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('next_at', sa.Float(), nullable=False),
    sa.Column('paused_until', sa.Float(), nullable=False),
    sa.Column('granted_from', sa.Float(), nullable=False),
    sa.Column('granted', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_send_slots'))
    )
    op.create_table('senders',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answers_waiting', sa.Integer(), nullable=False),
    sa.Column('notices_waiting', sa.Integer(), nullable=False),
    sa.Column('paid_waiting', sa.Integer(), nullable=False),
    sa.Column('rate', sa.Float(), nullable=False),
    sa.Column('sent', sa.BigInteger(), nullable=False),
    sa.Column('throttled', sa.BigInteger(), nullable=False),
    sa.Column('dropped', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_senders'))
    )
    op.create_table('sender_minutes',
    sa.Column('minute', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sender', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('sent', sa.Integer(), nullable=False),
    sa.Column('throttled', sa.Integer(), nullable=False),
    sa.Column('dropped', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('minute', 'sender', name=op.f('pk_sender_minutes'))
    )
    # The senders table takes over the dispatchers' heartbeat.
    op.drop_table('dispatchers')
    with op.batch_alter_table('subscribers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('link', sa.String(length=256), nullable=True))
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_failed_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_column('first_failed_at')
    with op.batch_alter_table('subscribers', schema=None) as batch_op:
        batch_op.drop_column('link')
        batch_op.drop_column('channel')
    op.create_table('dispatchers',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dispatchers'))
    )
    op.drop_table('sender_minutes')
    op.drop_table('senders')
    op.drop_table('send_slots')
    with op.batch_alter_table('inbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbox_done_at'))
        batch_op.drop_index('ix_inbox_chat_update')
        batch_op.drop_index('ix_inbox_status_update')
    op.drop_table('inbox')
