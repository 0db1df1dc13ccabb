"""Replicas on one PostgreSQL: a change made through one holds on the next update any other takes.

Each replica is a Store of its own (its engine, its connections, its chat cache) with its chat
listener running, as `hali run` starts it. The frozen clock never moves here: what is seen is never
the minute's memory running out.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import text

from bot.catalog.loader import load_catalog
from bot.core.clock import FrozenClock
from bot.core.recipient import Recipient
from bot.core.reports import ReportFlow, Step
from bot.store.chats import ChatListener, ChatState, ListenConnection
from bot.store.repo import Store
from bot.store.reports import ReportStore
from tests.conftest import _reset
from tests.waiting import until


@dataclass
class Replica:
    store: Store
    reports: ReportStore
    listener: ChatListener
    task: asyncio.Task[None]
    reads: list[list[int]]  # the chats of each read
    listening: list[Any]  # its listening connections, the last one in use


async def replica(url: str, clock: FrozenClock, name: str) -> Replica:
    store = Store.from_url(url, clock=clock)
    reports = store.reports
    listener = store.chat_listener()
    assert listener is not None
    listener.retry_every = 0.05
    connections: list[Any] = []
    connect = listener._connect

    async def recorded() -> ListenConnection:
        connection = await connect()
        connections.append(connection)
        return connection

    listener._connect = recorded
    reads: list[list[int]] = []
    load = store.chats._load

    async def counted(chat_ids: Sequence[int]) -> dict[int, ChatState]:
        reads.append(list(chat_ids))
        return await load(chat_ids)

    store.chats._load = counted
    task = asyncio.create_task(listener.run())
    await until(lambda: store.chats.listening, f"{name} listens")
    return Replica(store, reports, listener, task, reads, connections)


@pytest.fixture
async def replicas(postgres_url: str, clock: FrozenClock) -> AsyncIterator[tuple[Replica, Replica]]:
    setup = Store.from_url(postgres_url, clock=clock)
    await setup.upgrade()
    await _reset(setup)
    await setup.load_catalog(load_catalog())
    await setup.close()
    a, b = await replica(postgres_url, clock, "a"), await replica(postgres_url, clock, "b")
    yield a, b
    for r in (a, b):
        await r.listener.stop()
        await r.task
        await r.store.close()


async def test_memory_answers_while_nothing_changes(replicas: tuple[Replica, Replica]) -> None:
    _, b = replicas
    await b.store.chat(5)
    await b.store.chat(5)
    assert await b.store.subscriptions.is_subscribed(Recipient.telegram(5), "kra") is False
    assert b.reads == [[5]]


async def test_a_language_chosen_through_one_replica_holds_on_the_others_next_update(
        replicas: tuple[Replica, Replica]) -> None:
    a, b = replicas
    assert (await b.store.chat(5)).language is None
    await a.store.set_language(5, "sw")
    await until(lambda: b.store.chats.cached(5) is None, "b hears of the change")
    assert (await b.store.chat(5)).language == "sw"
    await b.store.set_language(5, "en")
    await until(lambda: a.store.chats.cached(5) is None, "a hears of the change")
    assert (await a.store.chat(5)).language == "en"


async def test_a_subscription_made_through_one_replica_shows_on_the_other(
        replicas: tuple[Replica, Replica]) -> None:
    a, b = replicas
    await b.store.chat(6)
    assert await b.store.subscriptions.is_subscribed(Recipient.telegram(6), "kra") is False
    await a.store.subscriptions.subscribe(Recipient.telegram(6), "kra", "en")
    await until(lambda: b.store.chats.cached(6) is None, "b hears of the subscription")
    assert (await b.store.chat(6)).follows == {"kra"}
    assert await b.store.subscriptions.is_subscribed(Recipient.telegram(6), "kra") is True
    await a.store.subscriptions.unsubscribe(Recipient.telegram(6), "kra")
    await until(lambda: b.store.chats.cached(6) is None, "b hears of the unsubscription")
    assert await b.store.subscriptions.is_subscribed(Recipient.telegram(6), "kra") is False


async def test_a_report_step_and_forget_through_one_replica_show_on_the_other(
        replicas: tuple[Replica, Replica]) -> None:
    a, b = replicas
    assert await b.reports.flow(7) is None  # from memory: no report under way
    await a.reports.save_flow(ReportFlow(7, "n1", Step.SYMPTOM, "kra"))
    await until(lambda: b.store.chats.cached(7) is None, "b hears of the report flow")
    flow = await b.reports.flow(7)
    assert flow is not None and flow.step is Step.SYMPTOM
    await b.store.chat(7)
    await a.store.set_language(7, "sw")
    await a.store.forget_user(7)
    await until(lambda: b.store.chats.cached(7) is None, "b hears of /forget")
    assert await b.store.chat(7) == ChatState()
    assert await b.reports.flow(7) is None


async def test_quiet_hours_set_through_one_replica_apply_on_the_other(
        replicas: tuple[Replica, Replica]) -> None:
    a, b = replicas
    await a.store.subscriptions.subscribe(Recipient.telegram(8), "kra", "en")
    await a.store.subscriptions.set_quiet(Recipient.telegram(8), (22, 6), "en")
    assert await b.store.subscriptions.quiet_hours(Recipient.telegram(8)) == (22, 6)  # read from the store, never kept
    await a.store.subscriptions.set_quiet(Recipient.telegram(8), None, "en")
    assert await b.store.subscriptions.quiet_hours(Recipient.telegram(8)) is None


async def test_without_its_listening_connection_a_replica_trusts_no_memory_until_it_is_back(
        replicas: tuple[Replica, Replica]) -> None:
    a, b = replicas
    await b.store.chat(9)
    assert b.reads == [[9]]
    b.listener.retry_every = 0.5  # long enough to change the chat while b is deaf
    connections = b.listener.connections
    async with a.store.engine.connect() as conn:
        assert await conn.scalar(text("SELECT pg_terminate_backend(:pid)"),
                                 {"pid": b.listening[-1].get_server_pid()}) is True
    await until(lambda: not b.store.chats.listening, "b notices its connection is gone")
    await a.store.set_language(9, "sw")  # announced while b cannot hear it
    assert (await b.store.chat(9)).language == "sw"
    assert (await b.store.chat(9)).language == "sw"
    assert len(b.reads) == 3, "every update read afresh while deaf"
    await until(lambda: b.listener.connections == connections + 1, "b listens again")
    await b.store.chat(9)
    await b.store.chat(9)
    assert len(b.reads) == 4, "trusted again once it listens"

