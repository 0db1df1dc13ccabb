"""Shared fixtures: a store on SQLite and on PostgreSQL (a database of its own per test run)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.catalog.loader import load_catalog
from bot.core.clock import FrozenClock
from bot.services.follow_ups import follow_up_hook
from bot.store.repo import Store

#: The store's parts as `bot.app.make_store` builds them (the reporters' follow-ups included).
PARTS = {"on_return": (follow_up_hook,)}

ADMIN_URL = os.environ.get("HALI_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _asyncpg_dsn(url: str) -> str:
    return url.split("+", 1)[0] + "://" + url.split("://", 1)[1] if "+" in url.split("://")[0] else url


async def _admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(_asyncpg_dsn(ADMIN_URL), timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run, dropped at the end."""
    name = f"hali_test_{uuid.uuid4().hex[:10]}"
    try:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, Exception) as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI but not reachable at {ADMIN_URL}: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {ADMIN_URL}: {exc}")
    base = ADMIN_URL.rsplit("/", 1)[0]
    yield f"postgresql+asyncpg://{base.split('://', 1)[1]}/{name}"
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'hali.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def store(store_url: str, clock: FrozenClock) -> AsyncIterator[Store]:
    """A migrated store with the bundled catalogue, empty of incidents and users."""
    s = Store.from_url(store_url, clock=clock, **PARTS)
    await s.upgrade()
    await _reset(s)
    await s.load_catalog(load_catalog())
    yield s
    await _reset(s)
    await s.close()


async def _reset(s: Store) -> None:
    from bot.store.models import Base

    async with s.engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            await conn.execute(table.delete())


@pytest.fixture
async def sqlite_store(tmp_path: Path, clock: FrozenClock) -> AsyncIterator[Store]:
    s = Store.from_url(f"sqlite+aiosqlite:///{tmp_path / 'hali.db'}", clock=clock, **PARTS)
    await s.upgrade()
    await s.load_catalog(load_catalog())
    yield s
    await s.close()
