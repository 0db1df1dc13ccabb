"""A dispatcher driven by explicit ticks: fake monotonic time and a sleep that only moves clocks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.core.clock import FrozenClock
from bot.core.dispatcher import Dispatcher, DispatchSettings
from bot.render.notify import composer
from bot.store.repo import Store
from bot.telegram.sender import TelegramSender
from tests.fakes.botapi import TOKEN, FakeBotAPI


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

    async def make(store: Store, *, paid: bool = False, **options: Any) -> Dispatcher:
        sender = TelegramSender.create(TOKEN, api.base_url, connections=8, paid_broadcast=paid)
        await sender.start()
        senders.append(sender)
        options.setdefault("rate", 1000.0)
        return Dispatcher(store.outbox, sender, store.catalog, composer(clock),
                          settings=DispatchSettings(**options), monotonic=fake_time.monotonic,
                          sleep=fake_time.sleep)

    yield make
    for sender in senders:
        await sender.close()
