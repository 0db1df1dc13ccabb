"""The inbox on SQLite and PostgreSQL: kept once, claimed in order within a chat, finished or handed back."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.core.clock import FrozenClock
from bot.store.inbox import DONE, INVALID, Inbox, describe
from bot.store.models import InboxRow
from bot.store.repo import Store


def inbox_of(store: Store) -> Inbox:
    return Inbox(store)


def message(update_id: int, chat_id: int, text: str = "kra?") -> dict[str, Any]:
    return {"update_id": update_id, "message": {"message_id": update_id, "date": 1,
                                                "chat": {"id": chat_id, "type": "private"}, "text": text}}


async def rows(store: Store) -> dict[int, InboxRow]:
    async with store.sessions() as session:
        return {r.update_id: r for r in (await session.scalars(select(InboxRow))).all()}


async def test_an_update_delivered_twice_is_kept_once(store: Store) -> None:
    inbox = inbox_of(store)
    assert await inbox.add([message(1, 10), message(2, 11)]) == [1, 2]
    assert await inbox.add([message(2, 11), message(3, 12)]) == [3], "the second delivery of 2 is recognised"
    await inbox.done([1])
    assert await inbox.add([message(1, 10)]) == [], "even after it was answered"


async def test_updates_of_one_chat_are_claimed_in_order_and_other_chats_are_not_held_up(store: Store) -> None:
    inbox = inbox_of(store)
    await inbox.add([message(1, 10), message(2, 10), message(3, 11), message(4, 10)])
    first = await inbox.claim("a", 10, lease=30)
    assert [i.update_id for i in first] == [1, 3], "a chat's later updates wait for its earliest"
    assert await inbox.claim("b", 10, lease=30) == [], "another worker may not jump ahead in chat 10"
    again = await inbox.claim("a", 10, lease=30)
    assert [i.update_id for i in again] == [2], "the worker holding the chat takes its next update itself"
    await inbox.done([1, 2])
    assert [i.update_id for i in await inbox.claim("b", 10, lease=30)] == [4]


async def test_a_dead_workers_updates_are_taken_over_after_the_lease(store: Store, clock: FrozenClock) -> None:
    inbox = inbox_of(store)
    await inbox.add([message(1, 10), message(2, 11)])
    assert len(await inbox.claim("dead", 10, lease=30)) == 2
    assert await inbox.claim("alive", 10, lease=30) == []
    clock.advance(seconds=31)
    taken = await inbox.claim("alive", 10, lease=30)
    assert [i.update_id for i in taken] == [1, 2]
    assert taken[0].payload["message"]["text"] == "kra?", "the update is all there to be answered"


async def test_a_renewed_lease_keeps_the_updates(store: Store, clock: FrozenClock) -> None:
    inbox = inbox_of(store)
    await inbox.add([message(1, 10)])
    await inbox.claim("a", 10, lease=30)
    clock.advance(seconds=20)
    assert await inbox.renew("a", 30) == 1
    clock.advance(seconds=20)
    assert await inbox.claim("b", 10, lease=30) == []


async def test_done_forgets_what_the_update_said_and_stopping_hands_updates_back(store: Store) -> None:
    inbox = inbox_of(store)
    await inbox.add([message(1, 10, "my phone is 0712345678"), message(2, 11)])
    await inbox.claim("a", 10, lease=30)
    await inbox.done([1])
    await inbox.release("a")
    kept = await rows(store)
    assert kept[1].status == DONE and kept[1].payload is None and kept[1].chat_id is None
    assert kept[2].claimed_by is None
    assert [i.update_id for i in await inbox.claim("b", 10, lease=30)] == [2]


async def test_an_unreadable_update_is_set_aside_with_its_reason(store: Store) -> None:
    inbox = inbox_of(store)
    await inbox.add([{"update_id": 7, "message": {"chat": {"id": 5}, "text": "no date, no type"}}])
    await inbox.claim("a", 10, lease=30)
    await inbox.set_aside(7, "KeyError: 'date'")
    row = (await rows(store))[7]
    assert (row.status, row.reason, row.payload) == (INVALID, "KeyError: 'date'", None)
    assert await inbox.claim("a", 10, lease=30) == [], "never tried again"
    counts = await inbox.counts()
    assert (counts.pending, counts.invalid) == (0, 1)


async def test_entries_without_an_update_id_cannot_be_kept(store: Store) -> None:
    assert await inbox_of(store).add([{"message": {}}, {"update_id": "8"}, {"update_id": True}]) == []


def test_the_chat_of_an_update_is_read_without_trusting_its_shape() -> None:
    assert describe(message(1, 42)) == ("message", 42)
    assert describe({"update_id": 1, "callback_query": {"from": {"id": 9}}}) == ("callback_query", 9)
    assert describe({"update_id": 1, "callback_query": {"message": {"chat": {"id": -5}}}}) == ("callback_query", -5)
    assert describe({"update_id": 1, "message": {"chat": "nonsense"}}) == ("message", None)
    assert describe({"update_id": 1, "poll": {}}) == ("poll", None)
