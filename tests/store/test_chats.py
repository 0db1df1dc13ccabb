"""The chat cache: batched reads, a minute's memory, and no stale state after this process's changes."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from bot.core.clock import FrozenClock
from bot.core.notifications import ALL_SERVICES
from bot.core.recipient import Recipient
from bot.core.reports import ReportFlow, Step
from bot.store.chats import ChatCache, ChatState
from bot.store.repo import Store
from bot.store.reports import ReportStore


class FakeLoader:
    """Records every batch; each read can be held open to let things happen meanwhile."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.languages: dict[int, str] = {}
        self.hold: asyncio.Event | None = None
        self.fail: Exception | None = None

    async def __call__(self, chat_ids: Sequence[int]) -> dict[int, ChatState]:
        self.batches.append(list(chat_ids))
        snapshot = dict(self.languages)  # what the database held when the read began
        if self.hold is not None:
            await self.hold.wait()
        if self.fail is not None:
            raise self.fail
        return {c: ChatState(language=snapshot.get(c)) for c in chat_ids}


async def test_chats_asking_together_are_read_in_one_batch() -> None:
    loader = FakeLoader()
    cache = ChatCache(loader, clock=FrozenClock())
    states = await asyncio.gather(*(cache.get(c) for c in (1, 2, 3, 2)))
    assert loader.batches == [[1, 2, 3]]
    assert states == [ChatState()] * 4


async def test_a_chat_read_in_the_last_minute_is_answered_from_memory() -> None:
    loader, clock = FakeLoader(), FrozenClock()
    cache = ChatCache(loader, clock=clock)
    await cache.get(7)
    clock.advance(seconds=59)
    await cache.get(7)
    assert len(loader.batches) == 1
    clock.advance(seconds=2)
    assert cache.cached(7) is None
    await cache.get(7)
    assert len(loader.batches) == 2


async def test_a_change_during_a_read_does_not_leave_the_old_state_behind() -> None:
    loader = FakeLoader()
    cache = ChatCache(loader, clock=FrozenClock())
    loader.hold = asyncio.Event()
    reading = asyncio.create_task(cache.get(5))
    await asyncio.sleep(0.01)  # the read has begun and holds the old language
    loader.languages[5] = "sw"  # the chat chose Swahili meanwhile
    cache.drop(5)
    loader.hold.set()
    assert (await reading).language is None  # that read answers its own moment…
    assert cache.cached(5) is None  # …but is not kept
    loader.hold = None
    assert (await cache.get(5)).language == "sw"


async def test_a_failed_read_reaches_every_waiter_and_the_next_message_tries_again() -> None:
    loader = FakeLoader()
    cache = ChatCache(loader, clock=FrozenClock())
    loader.fail = ConnectionError("database away")
    results = await asyncio.gather(cache.get(1), cache.get(2), return_exceptions=True)
    assert [type(r) for r in results] == [ConnectionError, ConnectionError]
    loader.fail = None
    assert await cache.get(1) == ChatState()


async def test_a_big_burst_is_read_in_bounded_batches() -> None:
    loader = FakeLoader()
    cache = ChatCache(loader, clock=FrozenClock(), max_batch=10)
    await asyncio.gather(*(cache.get(c) for c in range(25)))
    assert [len(b) for b in loader.batches] == [10, 10, 5]


async def test_memory_is_bounded() -> None:
    loader = FakeLoader()
    cache = ChatCache(loader, clock=FrozenClock(), max_chats=10)
    await asyncio.gather(*(cache.get(c) for c in range(8)))
    await asyncio.gather(*(cache.get(c) for c in range(100, 105)))
    assert cache.cached(0) is None and cache.cached(104) is not None


async def test_a_shared_cache_answers_from_memory_only_while_it_listens() -> None:
    loader = FakeLoader()
    cache = ChatCache(loader, clock=FrozenClock(), shared=True)
    await cache.get(3)
    await cache.get(3)
    assert len(loader.batches) == 2, "nobody tells it of other processes' changes: every update reads"
    cache.drop_all()  # as the listener does once it listens
    cache.listening = True
    await cache.get(3)
    await cache.get(3)
    assert len(loader.batches) == 3
    cache.listening = False
    assert cache.cached(3) is None


async def test_a_read_begun_before_listening_started_is_not_kept() -> None:
    loader = FakeLoader()
    cache = ChatCache(loader, clock=FrozenClock(), shared=True)
    loader.hold = asyncio.Event()
    reading = asyncio.create_task(cache.get(5))
    await asyncio.sleep(0.01)  # the read holds the old language; a change now may go unannounced
    loader.languages[5] = "sw"
    cache.drop_all()
    cache.listening = True
    loader.hold.set()
    await reading
    assert cache.cached(5) is None
    loader.hold = None
    assert (await cache.get(5)).language == "sw"


# --- on the real store (SQLite and PostgreSQL) ---------------------------------------------------------


async def test_new_chats_arriving_together_are_each_recorded_once(store: Store) -> None:
    other = Store(store.engine, clock=store.clock)  # a second replica seeing the same chats
    await asyncio.gather(*(s.chat(c) for s in (store, other) for c in range(1000, 1040)))
    assert await store.count_users() == 40


async def test_the_chat_sees_its_own_subscriptions_and_report_at_once(store: Store) -> None:
    subscriptions = store.subscriptions
    assert await store.chat(9) == ChatState()
    assert await subscriptions.is_subscribed(Recipient.telegram(9), "kra") is False

    await subscriptions.subscribe(Recipient.telegram(9), "kra", "sw")
    assert (await store.chat(9)).follows == {"kra"}
    assert await subscriptions.is_subscribed(Recipient.telegram(9), "kra") is True
    await subscriptions.subscribe(Recipient.telegram(9), ALL_SERVICES, "sw")
    assert await subscriptions.is_subscribed(Recipient.telegram(9), "ntsa") is True
    await subscriptions.unsubscribe(Recipient.telegram(9), None)
    assert await subscriptions.is_subscribed(Recipient.telegram(9), "kra") is False

    reports = ReportStore(store)
    await reports.save_flow(ReportFlow(9, "n1", Step.SYMPTOM, "kra"))
    assert (await store.chat(9)).reporting is True
    assert (await reports.flow(9)) is not None
    await reports.end_flow(9)
    assert (await store.chat(9)).reporting is False
    assert await reports.flow(9) is None


async def test_a_chat_blocked_and_deactivated_follows_nothing(store: Store) -> None:
    await store.subscriptions.subscribe(Recipient.telegram(11), "ecitizen", "en")
    assert await store.subscriptions.is_subscribed(Recipient.telegram(11), "ecitizen") is True
    await store.outbox.deactivate(Recipient.telegram(11), "Forbidden: bot was blocked by the user")
    assert await store.subscriptions.is_subscribed(Recipient.telegram(11), "ecitizen") is False


async def test_forgetting_a_chat_leaves_nothing_in_memory_either(store: Store) -> None:
    await store.set_language(12, "sw")
    await store.subscriptions.subscribe(Recipient.telegram(12), "kra", "sw")
    assert await store.chat(12) == ChatState("sw", frozenset({"kra"}), False)
    assert await store.forget_user(12) is True
    assert store.chats.cached(12) is None
    assert await store.subscriptions.is_subscribed(Recipient.telegram(12), "kra") is False


async def test_on_sqlite_a_subscription_made_by_another_process_shows_within_a_minute(
        sqlite_store: Store, clock: FrozenClock) -> None:
    # One bot process owns an SQLite file; the others (operators' commands) are seen within the minute.
    # On PostgreSQL, see tests/store/test_chat_coherence.py.
    store = sqlite_store
    other = Store(store.engine, clock=clock)
    await store.chat(13)
    await other.subscriptions.subscribe(Recipient.telegram(13), "kra", "en")
    assert await store.subscriptions.is_subscribed(Recipient.telegram(13), "kra") is False  # the minute-old read
    clock.advance(seconds=61)
    await store.chat(13)
    assert await store.subscriptions.is_subscribed(Recipient.telegram(13), "kra") is True


@pytest.mark.parametrize("chat_id", [-1001234567890, 2**40])
async def test_big_chat_ids_go_through_the_batch(store: Store, chat_id: int) -> None:
    await store.chat(chat_id)
    assert await store.user_data(chat_id) is not None
