"""A store with a realistic day of trouble, the public app on it, and a client (aiohttp's test utilities)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import App, assemble
from bot.catalog.model import Check, Text
from bot.config import Settings
from bot.core.checks import Outcome, ProbeResult
from bot.core.clock import FrozenClock
from bot.core.status import State
from bot.store.checks import CheckStore
from bot.store.repo import Store
from bot.web import PUBLISHER, public_app

PUBLIC_URL = "https://hali.example/"


async def seed(store: Store, clock: FrozenClock) -> dict[str, int]:
    """Ten days of KRA checks with an outage, an open eCitizen incident, a resolved NTSA one, and a window."""
    catalog = await store.catalog()
    kra = catalog["kra"]
    check: Check = kra.checks[0]
    checks = CheckStore(store)
    start = clock.now - timedelta(days=10)
    outage_start = clock.now - timedelta(days=3, hours=2)
    moment = start
    results = []
    while moment < clock.now - timedelta(hours=1):
        down = outage_start <= moment < outage_start + timedelta(hours=3)
        results.append((ProbeResult(check.key("kra"), "kra", moment, Outcome.HTTP_STATUS if down else Outcome.OK,
                                    200, 503 if down else 200), check))
        moment += timedelta(minutes=60 if not down else 5)  # within a verdict's staleness: one run
    await checks.record_many(results)
    clock.now = outage_start + timedelta(minutes=20)
    resolved = await store.open_incident("kra", State.MAJOR_OUTAGE, Text("iTax is down", "iTax haipatikani"),
                                         actor="cli", message=Text("We are looking into it"))
    clock.now = outage_start + timedelta(hours=3)
    await store.resolve_incident(resolved, actor="cli", message=Text("iTax is back", "iTax imerejea"))
    clock.now = start + timedelta(days=10)
    opened = await store.open_incident(
        "ecitizen", State.PARTIAL_OUTAGE, Text("Payments to 222222 delayed <b>&", "Malipo ya 222222 yanachelewa"),
        actor="cli", message=Text("Payments are not reflecting"),
        workaround=Text("Wait for validation; do not pay twice"))
    clock.advance(minutes=25)
    await store.update_incident(opened, Text("Still delayed; keep the M-Pesa SMS"), actor="cli")
    clock.advance(minutes=5)
    window = await store.schedule_maintenance(
        "kra", clock.now + timedelta(days=2), clock.now + timedelta(days=2, hours=4),
        Text("iTax upgrade", "Kuboresha iTax"), actor="cli")
    return {"open": opened, "resolved": resolved, "window": window}


@pytest.fixture
async def hali(sqlite_store: Store, clock: FrozenClock) -> App:
    return assemble(Settings(), sqlite_store, cache_seconds=0)


@pytest.fixture
async def seeded(hali: App, clock: FrozenClock) -> dict[str, int]:
    return await seed(hali.store, clock)


@pytest.fixture
def web_app(hali: App) -> web.Application:
    return public_app(hali, public_url=PUBLIC_URL)


@pytest.fixture
async def client(web_app: web.Application) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    async with TestClient(TestServer(web_app)) as c:
        yield c


async def refresh(web_app: web.Application) -> None:
    await web_app[PUBLISHER].refresh()


@pytest.fixture
async def app_on_each_store(store: Store) -> App:
    """The app on SQLite and on PostgreSQL, without the board's cache: for what writes to the store."""
    return assemble(Settings(), store, cache_seconds=0)


@pytest.fixture
async def client_on_each_store(app_on_each_store: App) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    async with TestClient(TestServer(public_app(app_on_each_store))) as c:
        yield c
