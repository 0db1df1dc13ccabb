"""Subscriptions and deliveries are keyed by a recipient (medium, address): the migration that made it so
keeps every Telegram chat's subscriptions, and a recipient on another medium is queued apart."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Connection

from bot.catalog.loader import load_catalog
from bot.core.clock import FrozenClock
from bot.core.notifications import Event, EventKind
from bot.core.recipient import Recipient
from bot.core.status import State
from bot.store.db import alembic_config, upgrade_schema
from bot.store.outbox import record_event
from bot.store.repo import Store
from tests.conftest import ADMIN_URL, PARTS, _admin

BEFORE = "0008"  # the last revision keyed by Telegram chat ids
AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of its own (the shared test database is already at the newest revision)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
        return
    request.getfixturevalue("postgres_url")  # skips, or fails in CI, when PostgreSQL is away
    name = f"hali_migrate_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    base = ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"postgresql+asyncpg://{base.split('://', 1)[1]}/{name}"
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _old_rows(store: Store) -> None:
    """What a deployment at 0008 holds: two chats, one with quiet hours, the channel, a queued delivery."""
    rows = [
        "INSERT INTO subscribers (chat_id, language, quiet_start, quiet_end, active, created_at, channel) "
        "VALUES (1001, 'sw', 22, 6, TRUE, :at, FALSE), (1002, 'en', NULL, NULL, TRUE, :at, FALSE), "
        "(-1009876543210, 'en+sw', NULL, NULL, TRUE, :at, TRUE)",
        "INSERT INTO subscriptions (chat_id, service_id, created_at) VALUES "
        "(1001, 'kra', :at), (1001, 'ntsa', :at), (1002, '*', :at), (-1009876543210, '*', :at)",
        # 1002 subscribed in English, then chose Swahili with /language; 1001 chose nothing.
        "INSERT INTO users (chat_id, language, first_seen, last_seen) VALUES "
        "(1002, 'sw', :at, :at), (1001, NULL, :at, :at)",
        "INSERT INTO notification_events (id, service_id, kind, state, created_at, payload) "
        "VALUES (1, 'kra', 'changed', 'major_outage', :at, '{}')",
        "INSERT INTO deliveries (event_id, chat_id, language, status, not_before, attempts) "
        "VALUES (1, 1002, 'en', 'pending', :at, 0)",
    ]
    async with store.engine.begin() as conn:
        for row in rows:
            await conn.execute(text(row), {"at": AT})


async def test_the_migration_keeps_every_subscription_quiet_hours_the_channel_and_the_queue(fresh_url: str) -> None:
    store = Store.from_url(fresh_url, clock=FrozenClock(AT), **PARTS)
    try:
        await upgrade_schema(store.engine, BEFORE)
        await _old_rows(store)
        await store.upgrade()

        subscriptions = store.subscriptions
        first, second = Recipient.telegram(1001), Recipient.telegram(1002)
        assert sorted(await subscriptions.following(first)) == ["kra", "ntsa"]
        assert await subscriptions.following(second) == ["*"]
        assert await subscriptions.quiet_hours(first) == (22, 6)
        data = await subscriptions.subscriber(first)
        assert data is not None and data.language == "sw" and data.active
        chose = await subscriptions.subscriber(second)
        assert chose is not None and chose.language == "sw", "the /language choice is the subscriber's now"
        assert await subscriptions.channel() == (Recipient.telegram(-1009876543210), None)
        claimed = await store.outbox.claim("after-upgrade", 10, lease=60)
        assert [(c.event_id, c.chat_id, c.language) for c in claimed] == [(1, 1002, "en")]
        assert await subscriptions.count_following() == 2, "the channel is not a citizen"
    finally:
        await store.close()


async def test_a_recipient_on_another_medium_is_queued_but_never_claimed_by_the_telegram_dispatcher(
    store: Store,
) -> None:
    phone = Recipient("sms", "+254700000001")
    chat = Recipient.telegram(2001)
    await store.subscriptions.subscribe(phone, "kra", "sw")
    await store.subscriptions.subscribe(chat, "kra", "en")
    assert await store.subscriptions.is_subscribed(phone, "kra")
    assert await store.subscriptions.following(Recipient("sms", "2001")) == [], "the address alone is not the key"
    async with store.sessions.begin() as session:
        await record_event(session, Event(id=0, service_id="kra", kind=EventKind.CHANGED,
                                          state=State.MAJOR_OUTAGE, created_at=store.clock()))

    telegram = await store.outbox.claim("telegram", 10, lease=60)
    assert [c.recipient for c in telegram] == [chat]
    sms = await store.outbox.claim("sms", 10, lease=60, medium="sms")
    assert [(c.recipient, c.language) for c in sms] == [(phone, "sw")]
    with pytest.raises(ValueError, match="no Telegram chat id"):
        _ = sms[0].chat_id


async def test_forget_erases_the_chat_as_a_recipient_and_leaves_the_same_number_on_another_medium(
    store: Store,
) -> None:
    await store.load_catalog(load_catalog())
    await store.subscriptions.subscribe(Recipient.telegram(3001), "kra", "en")
    await store.subscriptions.subscribe(Recipient("sms", "3001"), "kra", "en")
    assert await store.forget_user(3001)
    assert await store.subscriptions.subscriber(Recipient.telegram(3001)) is None
    assert await store.subscriptions.following(Recipient("sms", "3001")) == ["kra"]


def _downgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


async def test_going_back_to_chat_ids_keeps_the_telegram_chats_and_drops_other_media(fresh_url: str) -> None:
    store = Store.from_url(fresh_url, clock=FrozenClock(AT), **PARTS)
    try:
        await upgrade_schema(store.engine, BEFORE)
        await _old_rows(store)
        await store.upgrade()
        await store.subscriptions.subscribe(Recipient("sms", "+254700000002"), "kra", "sw")
        async with store.engine.begin() as conn:
            await conn.run_sync(_downgrade, BEFORE)
        async with store.engine.connect() as conn:
            follows = (await conn.execute(text(
                "SELECT chat_id, service_id FROM subscriptions ORDER BY chat_id, service_id"))).all()
            queued = (await conn.execute(text("SELECT chat_id, status FROM deliveries"))).all()
        assert [tuple(r) for r in follows] == [
            (-1009876543210, "*"), (1001, "kra"), (1001, "ntsa"), (1002, "*")]
        assert [tuple(r) for r in queued] == [(1002, "pending")]
    finally:
        await store.close()
