"""subscribers, subscriptions and deliveries keyed by a recipient (medium, address), not a Telegram chat id

Every existing row is a Telegram chat: it becomes the recipient ("telegram", "<chat id>"), so every
subscription, quiet hours, the public channel and every queued delivery are kept. A chat's /language
choice, which the fan-out used to read from `users`, is written into its subscriber row, where the
fan-out now reads it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-12 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("subscribers", "subscriptions", "deliveries")


def _add_recipient(table: str) -> None:
    """Add (medium, address) and fill them from chat_id: every row so far is a Telegram chat."""
    with op.batch_alter_table(table) as batch:
        batch.add_column(sa.Column("medium", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("address", sa.String(length=64), nullable=True))
    op.execute(sa.text(f"UPDATE {table} SET medium = 'telegram', address = CAST(chat_id AS VARCHAR(64))"))


def upgrade() -> None:
    # The subscriptions' key refers to the subscribers' key: let go of it before either changes.
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_constraint("fk_subscriptions_chat_id_subscribers", type_="foreignkey")
        batch.drop_index("ix_subscriptions_service_chat")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_constraint("uq_deliveries_event_chat", type_="unique")
        batch.drop_index("ix_deliveries_chat")
    for table in _TABLES:
        _add_recipient(table)
    op.execute(sa.text(
        "UPDATE subscribers SET language = "
        "(SELECT users.language FROM users WHERE users.chat_id = subscribers.chat_id) "
        "WHERE channel = FALSE AND EXISTS (SELECT 1 FROM users WHERE users.chat_id = subscribers.chat_id "
        "AND users.language IS NOT NULL)"))
    with op.batch_alter_table("subscribers") as batch:
        batch.alter_column("medium", existing_type=sa.String(length=16), nullable=False)
        batch.alter_column("address", existing_type=sa.String(length=64), nullable=False)
        batch.drop_constraint("pk_subscribers", type_="primary")
        batch.create_primary_key("pk_subscribers", ["medium", "address"])
        batch.drop_column("chat_id")
    with op.batch_alter_table("subscriptions") as batch:
        batch.alter_column("medium", existing_type=sa.String(length=16), nullable=False)
        batch.alter_column("address", existing_type=sa.String(length=64), nullable=False)
        batch.drop_constraint("pk_subscriptions", type_="primary")
        batch.create_primary_key("pk_subscriptions", ["medium", "address", "service_id"])
        batch.drop_column("chat_id")
        batch.create_foreign_key("fk_subscriptions_medium_subscribers", "subscribers",
                                 ["medium", "address"], ["medium", "address"], ondelete="CASCADE")
        batch.create_index("ix_subscriptions_service_recipient", ["service_id", "medium", "address"])
    with op.batch_alter_table("deliveries") as batch:
        batch.alter_column("medium", existing_type=sa.String(length=16), nullable=False)
        batch.alter_column("address", existing_type=sa.String(length=64), nullable=False)
        batch.drop_column("chat_id")
        batch.create_unique_constraint("uq_deliveries_event_recipient", ["event_id", "medium", "address"])
        batch.create_index("ix_deliveries_recipient", ["medium", "address"])


def _restore_chat_id(table: str) -> None:
    with op.batch_alter_table(table) as batch:
        batch.add_column(sa.Column("chat_id", sa.BigInteger(), nullable=True))
    op.execute(sa.text(f"DELETE FROM {table} WHERE medium <> 'telegram'"))
    op.execute(sa.text(f"UPDATE {table} SET chat_id = CAST(address AS BIGINT)"))


def downgrade() -> None:
    """Back to Telegram chat ids: recipients on any other medium are dropped (they had no chat id)."""
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_constraint("fk_subscriptions_medium_subscribers", type_="foreignkey")
        batch.drop_index("ix_subscriptions_service_recipient")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_constraint("uq_deliveries_event_recipient", type_="unique")
        batch.drop_index("ix_deliveries_recipient")
    for table in _TABLES:
        _restore_chat_id(table)
    with op.batch_alter_table("subscribers") as batch:
        batch.alter_column("chat_id", existing_type=sa.BigInteger(), nullable=False)
        batch.drop_constraint("pk_subscribers", type_="primary")
        batch.create_primary_key("pk_subscribers", ["chat_id"])
        batch.drop_column("medium")
        batch.drop_column("address")
    with op.batch_alter_table("subscriptions") as batch:
        batch.alter_column("chat_id", existing_type=sa.BigInteger(), nullable=False)
        batch.drop_constraint("pk_subscriptions", type_="primary")
        batch.create_primary_key("pk_subscriptions", ["chat_id", "service_id"])
        batch.drop_column("medium")
        batch.drop_column("address")
        batch.create_foreign_key("fk_subscriptions_chat_id_subscribers", "subscribers",
                                 ["chat_id"], ["chat_id"], ondelete="CASCADE")
        batch.create_index("ix_subscriptions_service_chat", ["service_id", "chat_id"])
    with op.batch_alter_table("deliveries") as batch:
        batch.alter_column("chat_id", existing_type=sa.BigInteger(), nullable=False)
        batch.drop_column("medium")
        batch.drop_column("address")
        batch.create_unique_constraint("uq_deliveries_event_chat", ["event_id", "chat_id"])
        batch.create_index("ix_deliveries_chat", ["chat_id"])
