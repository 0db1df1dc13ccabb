"""Every wait on the store is bounded: a statement behind a held lock fails instead of hanging."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text, update
from sqlalchemy.exc import DBAPIError

from bot.store.db import StoreTimeouts
from bot.store.models import UserRow
from bot.store.repo import Store

QUICK = StoreTimeouts(connect=2, statement=0.3, pool=1)


@pytest.fixture
async def quick(store: Store, store_url: str) -> AsyncIterator[Store]:
    """A second process on the same database, with a short statement bound."""
    other = Store.from_url(store_url, timeouts=QUICK)
    yield other
    await other.close()


async def test_the_statement_bound_reaches_the_database(quick: Store) -> None:
    async with quick.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            assert (await conn.execute(text("SHOW statement_timeout"))).scalar() == "300ms"
        else:
            assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar() == 300


async def test_a_write_behind_a_held_lock_fails_instead_of_waiting(store: Store, quick: Store) -> None:
    async with store.engine.begin() as conn:
        await conn.execute(UserRow.__table__.insert(), {"chat_id": 1, "language": "en"})
    async with store.engine.connect() as holder:
        await holder.execute(text("BEGIN IMMEDIATE") if holder.dialect.name == "sqlite" else text("SELECT 1"))
        await holder.execute(update(UserRow).values(language="sw"))  # holds the row (PostgreSQL), the file (SQLite)
        with pytest.raises(DBAPIError):
            async with asyncio.timeout(20):  # a hang fails the test rather than the suite
                async with quick.sessions.begin() as session:
                    await session.execute(update(UserRow).values(language="en"))
        await holder.rollback()
