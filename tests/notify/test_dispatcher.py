"""The dispatcher against the strict fake Bot API: pacing, Telegram's errors, restarts and crashes."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter

import pytest

from bot.catalog.model import Text
from bot.core.budget import LocalSlots
from bot.core.dispatcher import Dispatcher
from bot.core.notifications import ALL_SERVICES
from bot.core.recipient import Recipient
from bot.core.status import State
from bot.store.outbox import DEACTIVATED, FAILED, PENDING, SENT, Outbox
from bot.store.repo import Store
from hali_dev.botapi import FakeBotAPI
from tests.notify.conftest import FakeTime, MakeDispatcher


async def subscribers(store: Store, chats: range, service: str = ALL_SERVICES, lang: str = "en") -> None:
    for chat in chats:
        await store.subscriptions.subscribe(Recipient.telegram(chat), service, lang)


async def outage(store: Store, service: str = "ecitizen") -> int:
    return await store.open_incident(
        service, State.MAJOR_OUTAGE, Text("Payments failing", "Malipo yanakataa"), actor="cli",
        message=Text("Engineers are on it"), workaround=Text("Pay at a Huduma Centre"),
    )


async def statuses(store: Store) -> Counter[str]:
    [counts] = (await store.outbox.counts())[:1]
    return Counter({PENDING: counts.pending, SENT: counts.sent, FAILED: counts.failed,
                    DEACTIVATED: counts.deactivated})


async def deliver_all(dispatcher: Dispatcher, fake_time: FakeTime, rounds: int = 4) -> None:
    """Drain, let a second pass (a chat's next message waits about a second), drain again."""
    for _ in range(rounds):
        await dispatcher.drain()
        await fake_time.sleep(1.0)


def sent_chats(api: FakeBotAPI) -> list[int]:
    return [r.chat_id for r in api.sent if r.method == "sendMessage" and r.chat_id is not None]


async def test_every_subscriber_gets_one_notification_in_their_language(
    sqlite_store: Store, api: FakeBotAPI, make_dispatcher: MakeDispatcher
) -> None:
    await subscribers(sqlite_store, range(1, 4))
    await sqlite_store.subscriptions.subscribe(Recipient.telegram(4), "ecitizen", "sw")
    await sqlite_store.subscriptions.subscribe(Recipient.telegram(4), ALL_SERVICES, "sw")
    await outage(sqlite_store)
    dispatcher = await make_dispatcher(sqlite_store)
    assert await dispatcher.drain() == 4
    assert sorted(sent_chats(api)) == [1, 2, 3, 4]
    [en] = api.messages_to(1)
    assert "eCitizen: Major outage" in (en.plain_text or "")
    assert "Payments failing" in (en.plain_text or "") and "Pay at a Huduma Centre" in (en.plain_text or "")
    assert en.reply_markup == {"inline_keyboard": [[{"text": "Check status", "callback_data": "s:ecitizen"}]]}
    [sw] = api.messages_to(4)
    assert "Malipo yanakataa" in (sw.plain_text or "")
    assert "Engineers are on it (kwa Kiingereza)" in (sw.plain_text or "")
    assert "Angalia hali" in str(sw.reply_markup)
    assert (await statuses(sqlite_store))[SENT] == 4


async def test_a_429_pauses_the_whole_dispatcher_for_retry_after(
    sqlite_store: Store, api: FakeBotAPI, make_dispatcher: MakeDispatcher, fake_time: FakeTime
) -> None:
    await subscribers(sqlite_store, range(1, 6))
    await outage(sqlite_store)
    api.fail_next("sendMessage", 429, retry_after=7)
    dispatcher = await make_dispatcher(sqlite_store, inflight=1)
    await dispatcher.drain()
    assert sorted(sent_chats(api)) == [1, 2, 3, 4, 5]
    assert dispatcher.throttled == 1
    assert 7 in [round(s) for s in fake_time.sleeps], "the whole dispatcher waited retry_after"
    throttled = [r for r in api.requests if r.error_code == 429]
    after = [r for r in api.requests if r.method == "sendMessage" and r.ok]
    assert len(throttled) == 1 and len(after) == 5


async def test_a_blocked_user_and_an_unknown_chat_are_deactivated_and_their_queue_dropped(
    sqlite_store: Store, api: FakeBotAPI, make_dispatcher: MakeDispatcher, fake_time: FakeTime
) -> None:
    await subscribers(sqlite_store, range(1, 5))
    api.block(2)
    api.unknown_chat(3)
    await outage(sqlite_store)
    await outage(sqlite_store, "kra")
    dispatcher = await make_dispatcher(sqlite_store)
    await deliver_all(dispatcher, fake_time)
    assert Counter(sent_chats(api)) == Counter({1: 2, 4: 2})
    assert dispatcher.stats.deactivated == 2
    for chat in (2, 3):
        data = await sqlite_store.subscriptions.subscriber(Recipient.telegram(chat))
        assert data is not None and not data.active and data.services == ()
    counts = await sqlite_store.outbox.counts()
    assert sum(c.deactivated for c in counts) == 4 and sum(c.pending for c in counts) == 0


async def test_a_403_of_another_wording_is_retried_not_treated_as_a_block(
    sqlite_store: Store, api: FakeBotAPI, make_dispatcher: MakeDispatcher, fake_time: FakeTime
) -> None:
    await subscribers(sqlite_store, range(1, 2))
    await outage(sqlite_store)
    api.fail_next("sendMessage", 403, "Forbidden: bot can't send messages to this chat right now")
    dispatcher = await make_dispatcher(sqlite_store)
    await dispatcher.drain()
    assert sent_chats(api) == [] and dispatcher.stats.retried == 1
    assert (await sqlite_store.subscriptions.subscriber(Recipient.telegram(1))).active  # type: ignore[union-attr]
    await fake_time.sleep(10)
    await dispatcher.drain()
    assert sent_chats(api) == [1]


async def test_server_errors_back_off_then_fail_with_the_reason_once_too_old(
    sqlite_store: Store, api: FakeBotAPI, make_dispatcher: MakeDispatcher, fake_time: FakeTime
) -> None:
    await subscribers(sqlite_store, range(1, 2))
    await outage(sqlite_store)
    api.fail_next("sendMessage", 500, times=10_000)
    dispatcher = await make_dispatcher(sqlite_store, max_age=3600, backoff=5, backoff_max=300)
    await dispatcher.drain()
    assert dispatcher.stats.retried == 1
    assert await dispatcher.drain() == 0, "the retry waits for its backoff"
    tries = [fake_time.now]
    while (await statuses(sqlite_store))[PENDING] and fake_time.now - tries[0] < 2 * 3600:
        await fake_time.sleep(5)
        if await dispatcher.drain():
            tries.append(fake_time.now)
    counts = await statuses(sqlite_store)
    assert counts[FAILED] == 1 and counts[SENT] == 0
    assert 3600 <= tries[-1] - tries[0] <= 3600 + 400, "retried for the message's useful life, then no more"
    gaps = [b - a for a, b in itertools.pairwise(tries)]
    assert gaps[0] <= 5 * 1.2 + 5 and gaps[-2] >= 300 * 0.8, "backing off from seconds to the cap"
    assert max(gaps) <= 300 * 1.2 + 5, "never longer than the cap"
    assert api.stats.by_error_code[500] == len(tries)
    [event] = await sqlite_store.outbox.counts()
    assert event.failed == 1


async def test_two_minutes_without_the_bot_api_lose_no_notification(
    sqlite_store: Store, api: FakeBotAPI, make_dispatcher: MakeDispatcher, fake_time: FakeTime
) -> None:
    await subscribers(sqlite_store, range(1, 31))
    await outage(sqlite_store)
    api.fail_next("sendMessage", 502, times=10_000)
    dispatcher = await make_dispatcher(sqlite_store, backoff=5, backoff_max=60)
    start = fake_time.now
    while fake_time.now - start < 120:
        await dispatcher.drain()
        await fake_time.sleep(5)
    assert sent_chats(api) == [] and (await statuses(sqlite_store))[FAILED] == 0
    api.clear_failures()  # the Bot API is back
    for _ in range(30):
        await dispatcher.drain()
        await fake_time.sleep(5)
    assert Counter(sent_chats(api)) == Counter(range(1, 31)), "every subscriber, once"
    assert (await statuses(sqlite_store))[SENT] == 30


async def test_a_restart_mid_fan_out_reaches_every_subscriber_exactly_once(
    sqlite_store: Store, api: FakeBotAPI, make_dispatcher: MakeDispatcher
) -> None:
    await subscribers(sqlite_store, range(1, 31))
    await outage(sqlite_store)
    first = await make_dispatcher(sqlite_store, batch=10, inflight=1)
    await first.run_once()  # ten sent, then the process is stopped between batches
    assert len(sent_chats(api)) == 10
    second = await make_dispatcher(sqlite_store, batch=10, inflight=1)
    await second.drain()
    assert Counter(sent_chats(api)) == Counter(range(1, 31))


async def test_stopping_mid_batch_gives_the_unsent_rows_back_at_once(
    sqlite_store: Store, api: FakeBotAPI, make_dispatcher: MakeDispatcher
) -> None:
    await subscribers(sqlite_store, range(1, 21))
    await outage(sqlite_store)
    first = await make_dispatcher(sqlite_store, batch=20, inflight=1, mark_group=1)
    first.outbox = Outbox(sqlite_store)  # its own, as in a process of its own
    sent = 0
    original = first.outbox.mark_sent

    async def mark_and_maybe_stop(ids: list[int]) -> None:
        nonlocal sent
        await original(ids)
        sent += len(ids)
        if sent == 7:
            first.stop()

    first.outbox.mark_sent = mark_and_maybe_stop  # type: ignore[method-assign]
    await first.run_once()
    assert 7 <= len(sent_chats(api)) < 20
    second = await make_dispatcher(sqlite_store, batch=20)
    await second.drain()  # no lease to wait for: the rows were released
    assert Counter(sent_chats(api)) == Counter(range(1, 21))


async def test_a_crash_between_send_and_mark_repeats_only_the_unconfirmed_sends(
    sqlite_store: Store, api: FakeBotAPI, make_dispatcher: MakeDispatcher, fake_time: FakeTime
) -> None:
    await subscribers(sqlite_store, range(1, 11))
    await outage(sqlite_store)
    crashing = await make_dispatcher(sqlite_store, batch=10, inflight=1, mark_group=1)
    crashing.outbox = Outbox(sqlite_store)  # its own, as in a process of its own
    marks = committed = 0
    died = asyncio.Event()
    original = crashing.outbox.mark_sent

    async def die_at_the_fifth(ids: list[int]) -> None:
        nonlocal marks, committed
        marks += len(ids)
        if marks >= 5 or died.is_set():
            died.set()  # Telegram has these messages; the store never hears of them
            await asyncio.Event().wait()
        await original(ids)
        committed += len(ids)

    crashing.outbox.mark_sent = die_at_the_fifth  # type: ignore[method-assign]
    batch = asyncio.create_task(crashing.run_once())
    await died.wait()
    batch.cancel()  # kill -9: nothing more is sent, nothing released
    await crashing.budget.stop(grace=0)
    await asyncio.gather(batch, return_exceptions=True)
    sent_before = len(sent_chats(api))
    assert 5 <= sent_before <= 6, "up to the fifth confirmation, and at most the one send under way"
    restarted = await make_dispatcher(sqlite_store, batch=10)
    await restarted.drain()
    await fake_time.sleep(61)
    await restarted.drain()
    counts = Counter(sent_chats(api))
    assert set(counts) == set(range(1, 11)), "nobody is missed"
    duplicates = sum(c - 1 for c in counts.values())
    assert duplicates == sent_before - committed, "only the sends Telegram took but the store never marked"
    assert duplicates <= 1 + 1, "at most the sends under way (1) plus one unconfirmed group (1)"


async def test_paid_broadcast_sends_allow_paid_broadcast(
    sqlite_store: Store, api: FakeBotAPI, make_dispatcher: MakeDispatcher
) -> None:
    await subscribers(sqlite_store, range(1, 3))
    await outage(sqlite_store)
    dispatcher = await make_dispatcher(sqlite_store, paid=True)
    await dispatcher.drain()
    assert [r.params.get("allow_paid_broadcast") for r in api.messages_to(1)] == ["true"]
    free = await make_dispatcher(sqlite_store)
    await outage(sqlite_store, "kra")
    await free.drain()
    assert "allow_paid_broadcast" not in api.messages_to(2)[-1].params


async def test_one_chat_gets_about_one_message_a_second(
    sqlite_store: Store, api: FakeBotAPI, make_dispatcher: MakeDispatcher, fake_time: FakeTime
) -> None:
    await subscribers(sqlite_store, range(1, 2))
    await outage(sqlite_store, "kra")
    await outage(sqlite_store, "sha")
    await outage(sqlite_store, "ntsa")
    dispatcher = await make_dispatcher(sqlite_store)
    for _ in range(5):
        await dispatcher.drain()
        await fake_time.sleep(1.0)
    stamps = [r.timestamp for r in api.messages_to(1)]
    assert len(stamps) == 3
    assert len(fake_time.sleeps) >= 2


async def test_with_grouped_marks_a_crash_repeats_at_most_one_group_and_the_sends_in_flight(
    sqlite_store: Store, api: FakeBotAPI, make_dispatcher: MakeDispatcher, fake_time: FakeTime
) -> None:
    await subscribers(sqlite_store, range(1, 13))
    await outage(sqlite_store)
    crashing = await make_dispatcher(sqlite_store, batch=12, inflight=1, mark_group=4)
    crashing.outbox = Outbox(sqlite_store)  # its own, as in a process of its own

    async def lose_the_commit(ids: list[int]) -> None:
        crashing.stop()
        raise ConnectionResetError("the process died before the commit")

    crashing.outbox.mark_sent = lose_the_commit  # type: ignore[method-assign]
    await crashing.run_once()
    await fake_time.sleep(61)
    await (await make_dispatcher(sqlite_store)).drain()
    counts = Counter(sent_chats(api))
    assert set(counts) == set(range(1, 13))
    duplicates = sum(c - 1 for c in counts.values())
    assert duplicates == 4, "one group of 4 confirmations was lost"


async def test_a_resolve_with_another_problem_open_says_so(
    sqlite_store: Store, api: FakeBotAPI, make_dispatcher: MakeDispatcher
) -> None:
    await subscribers(sqlite_store, range(1, 2))
    first = await outage(sqlite_store, "kra")
    await sqlite_store.open_incident("kra", State.DEGRADED, Text("PIN checker slow"), actor="cli")
    dispatcher = await make_dispatcher(sqlite_store)
    await dispatcher.drain()
    await sqlite_store.resolve_incident(first, actor="cli")
    for _ in range(3):
        await dispatcher.drain()
        await dispatcher.sleep(1.0)
    text = api.messages_to(1)[-1].plain_text or ""
    assert "one problem resolved" in text and "Degraded performance" in text
    assert "working again" not in text


async def test_pacing_widens_after_a_429_and_creeps_back_after_successes(fake_time: FakeTime) -> None:
    bucket = LocalSlots(30, monotonic=fake_time.monotonic, sleep=fake_time.sleep)
    for _ in range(31):
        await bucket.take()
    assert fake_time.now - 1000.0 >= 1.03 - 1 / 30, "31 permits never fit in the base window"
    bucket.widen()
    assert bucket.window == pytest.approx(1.05)
    for _ in range(100):
        bucket.narrow()
    assert bucket.window == pytest.approx(1.03)
