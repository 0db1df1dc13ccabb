"""Two dispatchers, each with its own connection pool, on one PostgreSQL: nobody gets a message twice."""

from __future__ import annotations

import asyncio
from collections import Counter

from sqlalchemy import insert

from bot.catalog.loader import load_catalog
from bot.catalog.model import Text
from bot.core.budget import SendBudget
from bot.core.clock import system_clock
from bot.core.dispatcher import Dispatcher, DispatchSettings
from bot.core.notifications import ALL_SERVICES
from bot.core.recipient import TELEGRAM
from bot.core.status import State
from bot.render.notify import composer
from bot.store.models import SubscriberRow, SubscriptionRow
from bot.store.repo import Store
from bot.telegram.outbound import TelegramSender
from hali_dev.botapi import TOKEN, FakeBotAPI
from tests.conftest import _reset

SUBSCRIBERS = 200


async def test_two_dispatchers_on_postgres_never_send_a_row_twice(postgres_url: str, api: FakeBotAPI) -> None:
    setup = Store.from_url(postgres_url)
    await setup.upgrade()
    await _reset(setup)
    await setup.load_catalog(load_catalog())
    async with setup.sessions.begin() as session:
        await session.execute(insert(SubscriberRow), [
            {"medium": TELEGRAM, "address": str(c), "language": "en", "active": True}
            for c in range(1, SUBSCRIBERS + 1)])
        await session.execute(insert(SubscriptionRow), [
            {"medium": TELEGRAM, "address": str(c), "service_id": ALL_SERVICES} for c in range(1, SUBSCRIBERS + 1)])
    await setup.open_incident("ecitizen", State.MAJOR_OUTAGE, Text("Down"), actor="cli")

    stores = [Store.from_url(postgres_url) for _ in range(2)]
    senders = [TelegramSender.create(TOKEN, api.base_url, connections=8) for _ in range(2)]
    budgets = [SendBudget.local(5000, inflight=4) for _ in range(2)]
    dispatchers = [
        Dispatcher(store.outbox, sender, store.catalog, composer(system_clock), budget=budget,
                   settings=DispatchSettings(rate=5000, batch=15))
        for store, sender, budget in zip(stores, senders, budgets, strict=True)
    ]
    try:
        for sender in senders:
            await sender.start()
        for budget in budgets:
            budget.start()
        await asyncio.gather(*(d.drain() for d in dispatchers))
    finally:
        for budget in budgets:
            await budget.stop(grace=0)
        for sender in senders:
            await sender.close()
        for store in (*stores, setup):
            await store.close()

    counts = Counter(r.chat_id for r in api.sent if r.method == "sendMessage")
    assert set(counts) == set(range(1, SUBSCRIBERS + 1))
    assert max(counts.values()) == 1
    assert all(d.stats.sent > 0 for d in dispatchers), "both took a share"
    assert sum(d.stats.sent for d in dispatchers) == SUBSCRIBERS
