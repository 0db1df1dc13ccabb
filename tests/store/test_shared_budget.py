"""The send budget shared through the store: processes never exceed the lane together, a 429 pauses all."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.core.budget import Demand
from bot.store.budget import SenderBoard, SharedSlots, demands, sending_report
from bot.store.repo import Store


def slots(store: Store, rate: float, **options: float) -> SharedSlots:
    return SharedSlots(store.sessions, store.engine.dialect.name, "free", rate, **options)


def most_in_any_second(stamps: list[float]) -> int:
    stamps = sorted(stamps)
    return max(sum(1 for t in stamps if start <= t < start + 1.0) for start in stamps)


async def test_two_processes_sharing_a_lane_never_exceed_it_together(store_url: str, store: Store) -> None:
    other = Store.from_url(store_url)  # a second process: its own engine and connections
    try:
        mine, theirs = slots(store, 20), slots(other, 20)
        stamps: list[float] = []

        async def take(lane: SharedSlots, n: int) -> None:
            for _ in range(n):
                # The moment granted, not when this task next ran: a busy machine delays the latter.
                stamps.append(await lane.take(want=3))

        started = time.monotonic()
        await asyncio.gather(take(mine, 30), take(theirs, 30))
    finally:
        await other.close()
    assert most_in_any_second(stamps) <= 20, "never more than the lane's rate in any second, both together"
    assert time.monotonic() - started >= 59 / 20 * 0.95, "the two shared one rate"
    assert mine.reservations < 30 and theirs.reservations < 30, "permits are reserved a few at a time"


async def test_a_429_met_by_one_process_pauses_the_other(store_url: str, store: Store) -> None:
    other = Store.from_url(store_url)
    try:
        mine, theirs = slots(store, 50), slots(other, 50)
        await mine.take()
        await theirs.take()
        mine.pause(1.5)
        await asyncio.sleep(0.05)  # the pause is written to the store in the background
        before = time.monotonic()
        await theirs.take()
        assert time.monotonic() - before >= 1.5 - 0.3, "the other process waited out the pause"
    finally:
        await other.close()


async def test_a_lane_books_only_a_short_way_ahead(store: Store) -> None:
    lane = slots(store, 10, horizon=0.25, chunk=1.0)
    await lane.take(want=100)
    booked = len(lane._slots)
    assert booked == 9, "one chunk (a second's worth) at most, the first of it already taken"
    waited = time.monotonic()
    for _ in range(booked):
        await lane.take()
    assert time.monotonic() - waited == pytest.approx(booked / (10 * lane.headroom), abs=0.2)


async def test_the_heartbeat_shares_queues_and_counts_for_hali_sending(store: Store) -> None:
    bot = SenderBoard(store.sessions, store.engine.dialect.name, "bot:1", "bot", clock=store.clock)
    dispatch = SenderBoard(store.sessions, store.engine.dialect.name, "dispatch:1", "dispatch", clock=store.clock)
    await bot.beat(answers=300, notices=0, paid=0, rate=24.0, sent=10, throttled=1, dropped=2)
    rows = await dispatch.beat(answers=0, notices=20000, paid=0, rate=6.0, sent=5, throttled=0, dropped=0)
    assert sorted(demands(rows), key=lambda d: d.sender) == [Demand("bot:1", 300, 0), Demand("dispatch:1", 0, 20000)]
    await bot.beat(answers=100, notices=0, paid=0, rate=24.0, sent=40, throttled=1, dropped=2)
    report = await sending_report(store.sessions, store.clock)
    assert [s.role for s in report.senders] == ["bot", "dispatch"]
    assert (report.sent_last_hour, report.throttled_last_hour, report.dropped_last_hour) == (45, 1, 2)
    await bot.leave()
    assert [s.role for s in (await sending_report(store.sessions, store.clock)).senders] == ["dispatch"]


async def test_a_fast_lane_gives_a_permit_to_a_lone_message_after_an_idle_spell(store: Store) -> None:
    lane = slots(store, 1000)  # a moment is a millisecond: shorter than a reservation's round trip
    for _ in range(5):
        await asyncio.sleep(0.05)
        async with asyncio.timeout(1):
            await lane.take()
    assert lane.reservations <= 10


async def test_a_lone_process_spaces_its_permits_without_the_store(store: Store) -> None:
    lane = slots(store, 40)
    lane.set_alone(True)
    started = time.monotonic()
    for _ in range(41):
        await lane.take(want=10)
    assert lane.reservations == 0, "alone, no permit costs a round trip to the store"
    assert time.monotonic() - started == pytest.approx(40 / (40 * lane.headroom), abs=0.2)


async def test_a_lane_coordinated_by_a_heartbeat_sends_nothing_before_its_first_beat(store: Store) -> None:
    lane = SharedSlots(store.sessions, store.engine.dialect.name, "free", 50, coordinated=True)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3):
            await lane.take()
    lane.set_alone(True)
    async with asyncio.timeout(0.3):
        await lane.take()


async def test_a_process_that_finds_another_shares_the_rate_with_what_it_sent_alone(
    store_url: str, store: Store
) -> None:
    other = Store.from_url(store_url)
    try:
        first = SharedSlots(store.sessions, store.engine.dialect.name, "free", 20, coordinated=True)
        first.set_alone(True)
        stamps: list[float] = []

        async def take(lane: SharedSlots, n: int) -> None:
            for _ in range(n):
                stamps.append(await lane.take(want=5))

        await take(first, 15)  # alone for most of a second
        second = SharedSlots(other.sessions, other.engine.dialect.name, "free", 20, coordinated=True)
        # The newcomer's first beat finds the first process; the first learns of it on its next beat.
        second.set_alone(False, others_must_see_me_by=time.monotonic() + 1.0)  # two beats
        both = asyncio.gather(take(first, 20), take(second, 20))
        await asyncio.sleep(0.1)
        first.set_alone(False)
        await both
    finally:
        await other.close()
    assert most_in_any_second(stamps) <= 20, "what was sent alone counts against the shared rate"
    assert first.reservations > 0 and second.reservations > 0
