"""The send budget on a clock that moves only when something waits: pacing, priorities, 429s, coalescing."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.core.budget import (
    Abandoned,
    ChatPacer,
    Demand,
    Dropped,
    Lane,
    LocalSlots,
    Outgoing,
    Priority,
    Rejected,
    SendBudget,
    Throttled,
    Transient,
    allocate,
)


@dataclass
class Time:
    """Monotonic time that only sleeping moves: every wait is instant, every timestamp exact."""

    now: float = 100.0
    sleeps: list[float] = field(default_factory=list)

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        # Whatever was started before the wait runs first, at the time it was started.
        for _ in range(3):
            await asyncio.sleep(0)
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


@dataclass
class Recorder:
    time: Time
    sent: list[tuple[float, int, str]] = field(default_factory=list)
    failures: dict[str, list[Exception]] = field(default_factory=dict)

    def call(self, chat_id: int, label: str) -> Callable[[], Awaitable[str]]:
        async def send() -> str:
            queued = self.failures.get(label)
            if queued:
                raise queued.pop(0)
            self.sent.append((self.time.now, chat_id, label))
            return label
        return send

    def labels(self) -> list[str]:
        return [label for _, _, label in self.sent]


@pytest.fixture
def time_() -> Time:
    return Time()


@pytest.fixture
def recorder(time_: Time) -> Recorder:
    return Recorder(time_)


def lane(time_: Time, rate: float, **options: Any) -> Lane:
    pacer = options.pop("pacer", None) or ChatPacer()
    return Lane("free", LocalSlots(rate, monotonic=time_.monotonic, sleep=time_.sleep), pacer=pacer,
                monotonic=time_.monotonic, sleep=time_.sleep, **options)


@pytest.fixture
async def running() -> AsyncIterator[Callable[[Lane], None]]:
    lanes: list[tuple[Lane, asyncio.Task[None]]] = []

    def start(one: Lane) -> None:
        lanes.append((one, asyncio.create_task(one.run())))

    yield start
    for one, task in lanes:
        await one.stop(grace=0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def item(recorder: Recorder, chat_id: int, label: str, **options: Any) -> Outgoing:
    return Outgoing(chat_id, recorder.call(chat_id, label), **options)


async def test_permits_are_evenly_spaced_at_the_rate_and_first_come_first_served(
    time_: Time, recorder: Recorder, running: Callable[[Lane], None]
) -> None:
    one = lane(time_, rate=10)
    futures = [one.submit(item(recorder, chat, f"a{chat}")) for chat in range(1, 26)]
    running(one)
    await asyncio.gather(*futures)
    assert recorder.labels() == [f"a{chat}" for chat in range(1, 26)]
    stamps = [at for at, _, _ in recorder.sent]
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert min(gaps) >= 0.1 - 1e-9, "never closer than 1/rate"
    # No more than ten permits in any 1.03 s (Telegram counts in a sliding second), and no slower.
    assert 2.4 <= stamps[-1] - stamps[0] <= 2.4 + 2 * 0.03 + 1e-9
    assert one.stats.sent == 25


async def test_answers_go_first_and_notices_get_a_fifth_while_both_wait(
    time_: Time, recorder: Recorder, running: Callable[[Lane], None]
) -> None:
    one = lane(time_, rate=10)
    notices = [one.submit(item(recorder, 1000 + n, f"n{n}", priority=Priority.NOTICE)) for n in range(20)]
    answers = [one.submit(item(recorder, n + 1, f"a{n}")) for n in range(40)]
    running(one)
    await asyncio.gather(*answers, *notices)
    first_fifty = recorder.labels()[:50]
    assert sum(label.startswith("n") for label in first_fifty) == 10, "one permit in five"
    assert [label for label in first_fifty if label.startswith("a")] == [f"a{n}" for n in range(40)]
    assert [label for label in recorder.labels() if label.startswith("n")] == [f"n{n}" for n in range(20)]


async def test_notices_take_every_permit_when_no_answer_waits(
    time_: Time, recorder: Recorder, running: Callable[[Lane], None]
) -> None:
    one = lane(time_, rate=10)
    notices = [one.submit(item(recorder, 1000 + n, f"n{n}", priority=Priority.NOTICE)) for n in range(20)]
    running(one)
    await asyncio.gather(*notices)
    stamps = [at for at, _, _ in recorder.sent]
    assert 1.9 <= stamps[-1] - stamps[0] <= 1.9 + 0.03 + 1e-9


async def test_one_chat_gets_a_short_burst_then_about_one_a_second(
    time_: Time, recorder: Recorder, running: Callable[[Lane], None]
) -> None:
    one = lane(time_, rate=30)
    futures = [one.submit(item(recorder, 7, f"m{n}")) for n in range(5)]
    others = [one.submit(item(recorder, 100 + n, f"o{n}")) for n in range(3)]
    running(one)
    await asyncio.gather(*futures, *others)
    to_seven = [at for at, chat, _ in recorder.sent if chat == 7]
    assert [label for _, chat, label in recorder.sent if chat == 7] == [f"m{n}" for n in range(5)]
    assert to_seven[1] - to_seven[0] < 0.1, "a burst of two"
    assert to_seven[2] - to_seven[0] >= 1.0 - 1e-9
    assert all(b - a >= 1.0 - 1e-9 for a, b in itertools.pairwise(to_seven[2:])), "then one a second"
    waiting_for_seven = max(at for at, chat, _ in recorder.sent if chat != 7)
    assert waiting_for_seven < to_seven[2], "other chats do not wait behind a chat that must"


async def test_a_group_gets_at_most_twenty_in_any_minute(
    time_: Time, recorder: Recorder, running: Callable[[Lane], None]
) -> None:
    one = lane(time_, rate=30, pacer=ChatPacer(burst=30))
    futures = [one.submit(item(recorder, -1001, f"g{n}")) for n in range(25)]
    running(one)
    await asyncio.gather(*futures)
    stamps = [at for at, _, _ in recorder.sent]
    for start in stamps:
        assert sum(1 for at in stamps if start <= at < start + 60) <= 20
    assert stamps[20] - stamps[0] >= 60


async def test_a_429_pauses_the_lane_then_the_same_message_goes_first(
    time_: Time, recorder: Recorder, running: Callable[[Lane], None]
) -> None:
    one = lane(time_, rate=10, inflight=1)
    recorder.failures["a2"] = [Throttled(7)]
    futures = [one.submit(item(recorder, chat, f"a{chat}")) for chat in range(1, 6)]
    running(one)
    assert await asyncio.gather(*futures) == [f"a{chat}" for chat in range(1, 6)]
    assert recorder.labels() == ["a1", "a2", "a3", "a4", "a5"]
    stamps = {label: at for at, _, label in recorder.sent}
    assert stamps["a2"] - stamps["a1"] >= 7, "nothing was sent during the pause"
    assert one.stats.throttled == 1 and one.stats.sent == 5


async def test_three_questions_while_the_first_answer_waits_make_one_card(
    time_: Time, recorder: Recorder, running: Callable[[Lane], None]
) -> None:
    one = lane(time_, rate=10)
    ahead = [one.submit(item(recorder, 100 + n, f"other{n}")) for n in range(5)]
    cards = [one.submit(item(recorder, 7, f"card-v{v}", key=("card", "ecitizen"))) for v in range(3)]
    help_text = one.submit(item(recorder, 7, "help", key=("help",)))
    running(one)
    results = await asyncio.gather(*ahead, *cards, help_text)
    assert [label for _, chat, label in recorder.sent if chat == 7] == ["card-v2", "help"]
    assert results[5:] == ["card-v2", "card-v2", "card-v2", "help"], "everyone who asked learns the one result"
    assert one.stats.coalesced == 2


async def test_an_item_not_sent_by_its_deadline_is_dropped_and_counted(
    time_: Time, recorder: Recorder, running: Callable[[Lane], None], caplog: pytest.LogCaptureFixture
) -> None:
    one = lane(time_, rate=1)
    start = time_.now
    futures = [one.submit(item(recorder, chat, f"a{chat}", deadline=start + 3.5)) for chat in range(1, 11)]
    running(one)
    outcomes = await asyncio.gather(*futures, return_exceptions=True)
    sent = [o for o in outcomes if isinstance(o, str)]
    dropped = [o for o in outcomes if isinstance(o, Dropped)]
    assert sent == ["a1", "a2", "a3", "a4"] and len(dropped) == 6
    assert one.stats.dropped == 6
    assert sum("dropped" in r.getMessage() for r in caplog.records) == 6


async def test_network_trouble_is_retried_for_answers_until_the_deadline_and_raised_for_notices(
    time_: Time, recorder: Recorder, running: Callable[[Lane], None]
) -> None:
    one = lane(time_, rate=10)
    recorder.failures["answer"] = [Transient("502"), Transient("timed out")]
    recorder.failures["notice"] = [Transient("502")]
    recorder.failures["late"] = [Transient("502")] * 50
    answer = one.submit(item(recorder, 1, "answer", deadline=time_.now + 600))
    notice = one.submit(item(recorder, 2, "notice", priority=Priority.NOTICE, retry_transient=False))
    late = one.submit(item(recorder, 3, "late", deadline=time_.now + 20))
    running(one)
    assert await answer == "answer"
    with pytest.raises(Transient):
        await notice
    with pytest.raises(Dropped):
        await late  # an answer retried up to its deadline, then dropped like one that waited too long
    assert one.stats.retried >= 2 and one.stats.dropped == 1


async def test_a_rejected_message_is_not_retried(
    time_: Time, recorder: Recorder, running: Callable[[Lane], None]
) -> None:
    one = lane(time_, rate=10)
    recorder.failures["bad"] = [Rejected("can't parse entities")]
    future = one.submit(item(recorder, 1, "bad"))
    running(one)
    with pytest.raises(Rejected):
        await future
    assert recorder.sent == []


async def test_stopping_abandons_what_was_not_sent(time_: Time, recorder: Recorder) -> None:
    one = lane(time_, rate=1)
    futures = [one.submit(item(recorder, chat, f"a{chat}")) for chat in range(1, 4)]
    await one.stop(grace=0)
    for future in futures:
        with pytest.raises(Abandoned):
            await future
    late = one.submit(item(recorder, 9, "late"))
    with pytest.raises(Abandoned):
        await late


async def test_paid_notifications_have_a_lane_of_their_own(time_: Time, recorder: Recorder) -> None:
    budget = SendBudget.local(10, paid_rate=100, monotonic=time_.monotonic, sleep=time_.sleep)
    budget.start()
    try:
        answers = [budget.submit(item(recorder, chat, f"a{chat}")) for chat in range(1, 11)]
        notices = [budget.submit(item(recorder, 1000 + n, f"n{n}", priority=Priority.NOTICE)) for n in range(100)]
        await asyncio.gather(*answers, *notices)
    finally:
        await budget.stop(grace=0)
    assert budget.lane(Priority.ANSWER) is not budget.lane(Priority.NOTICE)
    assert budget.lane(Priority.ANSWER).stats.sent == 10 and budget.lane(Priority.NOTICE).stats.sent == 100


async def test_a_capped_priority_waits_for_its_cap(
    time_: Time, recorder: Recorder, running: Callable[[Lane], None]
) -> None:
    one = lane(time_, rate=30)
    one.caps[Priority.NOTICE] = 2.0
    notices = [one.submit(item(recorder, 1000 + n, f"n{n}", priority=Priority.NOTICE)) for n in range(7)]
    running(one)
    await asyncio.gather(*notices)
    stamps = [at for at, _, _ in recorder.sent]
    assert stamps[-1] - stamps[0] >= 2.5 - 1e-9, "two a second, not thirty"


def test_a_deployment_shares_the_lane_by_what_each_process_has_waiting() -> None:
    bot, dispatch = "bot", "dispatch"
    uncapped = {Priority.ANSWER: None, Priority.NOTICE: None}
    # Only this process has work: nothing is capped, the lane's own rule applies.
    assert allocate([Demand(bot, 50, 10)], bot, 30, 0.2) == uncapped
    # Citizens wait at the bot while the dispatcher has a fan-out: a fifth for the fan-out, answers uncapped.
    demands = [Demand(bot, 300, 0), Demand(dispatch, 0, 20000)]
    assert allocate(demands, dispatch, 30, 0.2) == {Priority.ANSWER: None, Priority.NOTICE: pytest.approx(6.0)}
    assert allocate(demands, bot, 30, 0.2) == {Priority.ANSWER: None, Priority.NOTICE: pytest.approx(3.0)}
    # The bot has notices too (its own dispatcher): the fifth is split evenly, however long each queue.
    both = [Demand(bot, 300, 3), Demand(dispatch, 0, 20000)]
    assert allocate(both, bot, 30, 0.2)[Priority.NOTICE] == pytest.approx(3.0)
    assert allocate(both, dispatch, 30, 0.2)[Priority.NOTICE] == pytest.approx(3.0)
    # A dispatcher with nothing yet gets an even part, as if it had some: its first notice need not wait.
    assert allocate(both, "d2", 30, 0.2)[Priority.NOTICE] == pytest.approx(2.0)
    # No answers waiting anywhere: the fan-out takes the whole lane.
    assert allocate([Demand(bot, 0, 40), Demand(dispatch, 0, 500)], bot, 30, 0.2) == uncapped
