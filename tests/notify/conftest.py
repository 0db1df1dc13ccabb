"""A dispatcher driven by explicit ticks: fake monotonic time and a sleep that only moves clocks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.core.budget import SendBudget
from bot.core.clock import FrozenClock
from bot.core.dispatcher import Dispatcher, DispatchSettings
from bot.render.notify import composer
from bot.store.repo import Store
from bot.telegram.outbound import TelegramSender
from hali_dev.botapi import TOKEN, FakeBotAPI


@dataclass
class FakeTime:
    """`time.monotonic` and `asyncio.sleep` for the dispatcher: sleeping moves time, never waits."""

    clock: FrozenClock
    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        self.clock.advance(seconds=seconds)
        await asyncio.sleep(0)


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as fake:
        yield fake


@pytest.fixture
def fake_time(clock: FrozenClock) -> FakeTime:
    return FakeTime(clock)


MakeDispatcher = Callable[..., Any]


@pytest.fixture
async def make_dispatcher(
    api: FakeBotAPI, clock: FrozenClock, fake_time: FakeTime
) -> AsyncIterator[MakeDispatcher]:
    senders: list[TelegramSender] = []
    budgets: list[SendBudget] = []

    async def make(store: Store, *, paid: bool = False, inflight: int = 8,
                   channel: tuple[int, str] | None = None, **options: Any) -> Dispatcher:
        """A dispatcher with a send budget of its own (`inflight`: sends under way at once)."""
        sender = TelegramSender.create(TOKEN, api.base_url, connections=8, paid_broadcast=paid)
        await sender.start()
        senders.append(sender)
        options.setdefault("rate", 1000.0)
        budget = SendBudget.local(options["rate"], inflight=inflight, monotonic=fake_time.monotonic,
                                  sleep=fake_time.sleep)
        budget.start()
        budgets.append(budget)
        return Dispatcher(store.outbox, sender, store.catalog,
                          composer(clock, channel=channel[1] if channel else None), budget=budget,
                          settings=DispatchSettings(**options), channel_id=channel[0] if channel else None,
                          clock=clock, monotonic=fake_time.monotonic, sleep=fake_time.sleep)

    yield make
    for budget in budgets:
        await budget.stop(grace=0)
    for sender in senders:
        await sender.close()
