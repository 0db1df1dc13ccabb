"""The send budget: every message Hali sends or edits waits its turn here, under Telegram's limits.

Telegram lets a bot send about 30 messages a second in all (answers and notifications together),
about one a second to one chat and 20 a minute to one group or channel; above that it answers 429
with `retry_after`. Hali paces itself under those limits instead of meeting the 429s:

Lanes
    A lane is one stream of permits from a `Slots` source. The free lane (HALI_SEND_RATE) carries the
    answers and, unless paid broadcast is on, the notifications; with paid broadcast the notifications
    have a lane of their own (Telegram's paid broadcasts, up to 1000/s). The processes of one
    deployment share each lane through the store (`bot/store/budget.py`): together they never exceed it.

Priorities
    ANSWER (a citizen waiting for an answer, an operator's confirmation, a post to the public channel)
    comes before NOTICE (subscribers' notifications, report follow-ups). While both have work, NOTICE
    gets `share` of the lane (a fifth by default): a fan-out is never starved, and the answers' queue
    drains at the rest. Within a priority, first come, first served.

Per chat
    A small token bucket per chat (a burst of two, then one a second), and for groups and channels
    also at most 20 in any minute. A chat that must wait does not hold up the others.

429
    Pauses the whole lane, in every process (through the slot source), for `retry_after`; the item is
    sent again, first in its chat's line, and the attempt does not count.

Coalescing
    An item with a `key` replaces a queued, unsent item of the same chat and key: three questions
    about one service while the first answer waits make one card, several Refresh presses on one card
    make one edit. Everyone who submitted it learns the one result.

Deadlines
    An item not sent by its deadline is dropped with a log line and a count, never silently: a reply
    nobody is waiting for any more (HALI_REPLY_MAX_WAIT) would only delay the ones that still matter.

Nothing here knows Telegram or SQL: an item is a callable that raises a `SendError` to say what went
wrong, and the slot source is injected.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import math
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum, IntEnum
from typing import Any, Protocol

log = logging.getLogger(__name__)

Monotonic = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class Priority(IntEnum):
    """Who waits for a message; a lower value goes first."""

    ANSWER = 0
    NOTICE = 1


# --- what went wrong with one send -----------------------------------------------------------------


class SendError(Exception):
    """A send that did not go through; the subclass says what to do about it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Throttled(SendError):
    """429: Telegram asks everyone to wait."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"flood control: retry after {retry_after:g}s")
        self.retry_after = retry_after


class ChatGone(SendError):
    """The chat will never receive messages again (blocked, deleted, not found)."""


class Transient(SendError):
    """Worth trying again later: 5xx, network trouble, a 403 that is not a block."""


class Rejected(SendError):
    """Telegram refused the message itself; sending it again cannot help."""


class Dropped(SendError):
    """Not sent before its deadline: nobody is waiting for it any more."""


class Abandoned(SendError):
    """The budget stopped before the item was sent; whoever owns it must hand it back."""


# --- slots: the permits of one lane ----------------------------------------------------------------


class Slots(Protocol):
    """Where a lane's permits come from: evenly spaced moments at `rate` per second."""

    rate: float

    async def take(self, want: int = 1) -> float:
        """Return at the moment the next permit is due (after any pause), and that moment (monotonic);
        `want`: how many are ready."""
        ...

    def pause(self, seconds: float) -> None:
        """A 429: no permit until `seconds` from now, for every taker."""
        ...

    def throttled(self) -> None:
        """A 429 was answered: messages reached Telegram closer together than they left."""
        ...

    def succeeded(self) -> None:
        """A permit led to a message Telegram accepted."""
        ...


class LocalSlots:
    """Evenly spaced permits at `rate` per second within one process.

    Telegram counts messages in a sliding second, so besides the spacing no `ceil(rate)` permits are
    ever granted within `window` seconds (a little over one): a late permit that is made up for cannot
    squeeze a second's worth of messages into less than a second. After a 429 the window widens a
    little, and narrows back after successes, so a burst of load on the machine slows only the next
    few seconds.
    """

    def __init__(self, rate: float, *, monotonic: Monotonic = time.monotonic, sleep: Sleep = asyncio.sleep,
                 window: float = 1.03) -> None:
        self.rate = rate
        self.monotonic = monotonic
        self.sleep = sleep
        self.window = self.base_window = window
        self._next = 0.0  # when the next permit is free
        self._paused_until = 0.0
        self._lock = asyncio.Lock()
        self._granted: deque[float] = deque()

    async def take(self, want: int = 1) -> float:
        async with self._lock:
            while True:
                now = self.monotonic()
                wait = max(self._paused_until, self._next) - now
                limit = max(1, math.ceil(self.rate))
                while len(self._granted) > limit:
                    self._granted.popleft()
                if len(self._granted) == limit:
                    wait = max(wait, self._granted[0] + self.window - now)
                if wait <= 0:
                    self._granted.append(now)
                    # Waking a little late is made up for (else the rate sags by the sleep's
                    # overshoot), but by less than one interval: an idle spell never becomes a burst.
                    interval = 1.0 / self.rate
                    self._next = (self._next if now - self._next < interval else now) + interval
                    return now
                await self.sleep(wait)

    @property
    def next_free(self) -> float:
        """When the next permit is free (monotonic): where another taker must start after this one."""
        return max(self._next, self._paused_until)

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, self.monotonic() + seconds)

    def throttled(self) -> None:
        self.widen()

    def succeeded(self) -> None:
        self.narrow()

    def widen(self, step: float = 0.02, most: float = 1.25) -> None:
        """After a 429: allow for messages that reached Telegram closer together than they left."""
        self.window = min(most, self.window + step)

    def narrow(self, step: float = 0.0002) -> None:
        """After a success: creep back towards the base window (one 429's widening per 100 sends)."""
        self.window = max(self.base_window, self.window - step)


# --- per chat ----------------------------------------------------------------------------------------


@dataclass
class _ChatState:
    tokens: float
    updated: float
    recent: deque[float] = field(default_factory=deque)  # groups: send times within the last minute


class ChatPacer:
    """About one message a second per chat (a burst of `burst`), and `group_per_minute` for groups.

    Group, supergroup and channel ids are negative in the Bot API; private chats are positive.
    """

    def __init__(self, *, rate: float = 1.0, burst: int = 2, group_per_minute: int = 20,
                 keep: float = 120.0) -> None:
        self.rate = rate
        self.burst = burst
        self.group_per_minute = group_per_minute
        self.keep = keep
        self._chats: dict[int, _ChatState] = {}
        self._pruned = 0.0

    def _state(self, chat_id: int, now: float) -> _ChatState:
        state = self._chats.get(chat_id)
        if state is None:
            state = self._chats[chat_id] = _ChatState(float(self.burst), now)
        else:
            state.tokens = min(float(self.burst), state.tokens + (now - state.updated) * self.rate)
            state.updated = now
        return state

    def ready_at(self, chat_id: int, now: float) -> float:
        """When the chat may receive its next message (now, or later)."""
        state = self._chats.get(chat_id)
        if state is None:
            return now
        tokens = min(float(self.burst), state.tokens + (now - state.updated) * self.rate)
        at = now if tokens >= 1 else now + (1 - tokens) / self.rate
        if chat_id < 0:
            recent = state.recent
            while recent and recent[0] <= now - 60:
                recent.popleft()
            if len(recent) >= self.group_per_minute:
                at = max(at, recent[0] + 60)
        return at

    def take(self, chat_id: int, now: float) -> None:
        state = self._state(chat_id, now)
        state.tokens -= 1
        if chat_id < 0:
            state.recent.append(now)
        if now - self._pruned > self.keep:
            self._prune(now)

    def _prune(self, now: float) -> None:
        self._pruned = now
        idle = [c for c, s in self._chats.items() if now - s.updated > self.keep]
        for chat_id in idle:
            del self._chats[chat_id]


# --- items -----------------------------------------------------------------------------------------


class _State(Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"


@dataclass(eq=False)
class Outgoing:
    """One message to send (or edit): `call` makes the Bot API request and raises a SendError."""

    chat_id: int
    call: Callable[[], Awaitable[Any]]
    priority: Priority = Priority.ANSWER
    key: Hashable | None = None  # same chat and key, still queued: the newer one replaces it
    deadline: float | None = None  # monotonic; dropped unsent after it
    retry_transient: bool = True  # answers: retry network trouble until the deadline; notices: raise
    what: str = "message"  # for the log: no personal data
    # First come, first served by when the request arrived (an update's receipt), then by `rank`
    # (its update id); None: when submitted.
    since: float | None = None
    rank: int = 0
    future: asyncio.Future[Any] = field(init=False, repr=False)
    enqueued: float = field(init=False, default=0.0)
    seq: int = field(init=False, default=0)
    attempts: int = field(init=False, default=0)
    not_before: float = field(init=False, default=0.0)
    state: _State = field(init=False, default=_State.QUEUED)
    followers: list[asyncio.Future[Any]] = field(init=False, default_factory=list)


@dataclass
class LaneStats:
    sent: int = 0
    throttled: int = 0
    dropped: int = 0
    failed: int = 0
    retried: int = 0
    coalesced: int = 0
    by_priority: dict[Priority, int] = field(default_factory=dict)


class Lane:
    """One stream of permits and the queues that wait for it; see the module docstring."""

    def __init__(self, name: str, slots: Slots, *, share: float = 0.2, inflight: int = 32,
                 pacer: ChatPacer, monotonic: Monotonic, sleep: Sleep,
                 backoff: float = 1.0, backoff_max: float = 30.0) -> None:
        self.name = name
        self.slots = slots
        self.share = share
        self.inflight = inflight
        self.pacer = pacer
        self.monotonic = monotonic
        self.sleep = sleep
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.stats = LaneStats()
        # Per-priority rate caps set from the whole deployment's demand (None: uncapped).
        self.caps: dict[Priority, float | None] = {p: None for p in Priority}
        self._cap_next: dict[Priority, float] = {p: 0.0 for p in Priority}
        self._queues: dict[tuple[int, Priority], deque[Outgoing]] = {}
        self._ready: dict[Priority, list[tuple[float, int, int, int]]] = {p: [] for p in Priority}
        self._waiting: list[tuple[float, int, int, Priority]] = []
        self._deadlines: list[tuple[float, int, Outgoing]] = []
        self._keyed: dict[tuple[int, Hashable], Outgoing] = {}
        self._queued = {p: 0 for p in Priority}
        self._seq = itertools.count(1)
        self._credit = 0.0
        self._wake = asyncio.Event()
        self._running: set[asyncio.Task[None]] = set()
        self._slot_free = asyncio.Event()
        self._stopping = False
        self._slots_failing = False
        self._recent_sent: deque[float] = deque()

    # --- submitting -------------------------------------------------------------------------------

    def submit(self, item: Outgoing) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        item.future = loop.create_future()
        if self._stopping:
            item.future.set_exception(Abandoned("the send budget is stopping"))
            return item.future
        if item.key is not None:
            existing = self._keyed.get((item.chat_id, item.key))
            if existing is not None and existing.state is _State.QUEUED and existing.priority == item.priority:
                existing.call = item.call
                if existing.deadline is not None:
                    existing.deadline = None if item.deadline is None else max(existing.deadline, item.deadline)
                existing.followers.append(item.future)
                self.stats.coalesced += 1
                return item.future
        item.enqueued = self.monotonic() if item.since is None else item.since
        item.seq = next(self._seq)
        item.state = _State.QUEUED
        if item.key is not None:
            self._keyed[(item.chat_id, item.key)] = item
        queue = self._queues.setdefault((item.chat_id, item.priority), deque())
        self._drop_stale_heads(queue)
        queue.append(item)
        self._queued[item.priority] += 1
        if queue[0] is item:
            self._schedule_chat(item.chat_id, item.priority)
        if item.deadline is not None:
            heapq.heappush(self._deadlines, (item.deadline, item.seq, item))
        self._wake.set()
        return item.future

    def cancel(self, futures: Iterable[asyncio.Future[Any]]) -> int:
        """Take queued, unsent items out (their futures get Abandoned); returns how many."""
        wanted = set(futures)
        cancelled = 0
        for queue in self._queues.values():
            for item in queue:
                if item.state is _State.QUEUED and item.future in wanted:
                    self._finish(item, error=Abandoned("taken back"))
                    cancelled += 1
        return cancelled

    def depth(self) -> dict[Priority, int]:
        """Items queued (not yet sent), per priority."""
        return dict(self._queued)

    def rate_now(self, window: float = 10.0) -> float:
        """Messages sent per second over the last `window` seconds."""
        now = self.monotonic()
        while self._recent_sent and self._recent_sent[0] < now - window:
            self._recent_sent.popleft()
        return len(self._recent_sent) / window

    # --- the loop ---------------------------------------------------------------------------------

    async def run(self) -> None:
        """Hand out permits until stopped."""
        while not self._stopping:
            if not await self._wait_for_work():
                continue
            while len(self._running) >= self.inflight:
                self._slot_free.clear()
                await self._slot_free.wait()
            try:
                await self.slots.take(want=max(1, self._ready_count()))
            except Exception:  # the store behind shared slots is away: wait, and ask again
                if not self._slots_failing:
                    log.warning("the %s lane cannot get permits; trying again every second", self.name,
                                exc_info=True)
                self._slots_failing = True
                await self.sleep(1.0)
                continue
            if self._slots_failing:
                log.info("the %s lane gets permits again", self.name)
                self._slots_failing = False
            item = self._pop_next(self.monotonic())
            if item is None:
                continue  # what was ready expired or was taken back while the permit came
            self._launch(item)

    async def stop(self, grace: float = 5.0) -> None:
        """Stop giving permits; let the sends under way finish (up to `grace`); abandon the rest."""
        self._stopping = True
        self._wake.set()
        if self._running:
            _, late = await asyncio.wait(set(self._running), timeout=grace)
            for task in late:
                task.cancel()
            if late:
                await asyncio.gather(*late, return_exceptions=True)
        for queue in self._queues.values():
            for item in list(queue):
                if item.state is _State.QUEUED:
                    self._finish(item, error=Abandoned("the send budget stopped"))
        self._queues.clear()

    async def _wait_for_work(self) -> bool:
        """Wait until some item may be sent now; False to look again (woken, or time moved)."""
        now = self.monotonic()
        self._expire(now)
        self._promote(now)
        if self._choose(now, consume=False) is not None:
            return True
        wake_at = math.inf
        if self._waiting:
            wake_at = self._waiting[0][0]
        for priority in Priority:
            if self._ready[priority] and self.caps[priority] is not None:
                wake_at = min(wake_at, self._cap_next[priority])
        if self._deadlines:
            wake_at = min(wake_at, self._deadlines[0][0])
        self._wake.clear()
        if wake_at == math.inf:
            await self._wake.wait()
            return False
        timer = asyncio.ensure_future(self.sleep(max(0.0, wake_at - now)))
        woken = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({timer, woken}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (timer, woken):
                if not task.done():
                    task.cancel()
            await asyncio.gather(timer, woken, return_exceptions=True)
        return False

    def _ready_count(self) -> int:
        """How many permits to ask for: everything ready, but one at a time for a capped priority
        (permits booked for items the cap then holds back would go to waste)."""
        return sum((len(heap) if self.caps[p] is None else min(1, len(heap))) for p, heap in self._ready.items())

    def _promote(self, now: float) -> None:
        """Chats whose turn has come move from waiting to ready."""
        while self._waiting and self._waiting[0][0] <= now:
            _, _, chat_id, priority = heapq.heappop(self._waiting)
            self._push_ready(chat_id, priority)

    def _schedule_chat(self, chat_id: int, priority: Priority) -> None:
        queue = self._queues.get((chat_id, priority))
        if not queue:
            return
        now = self.monotonic()
        at = max(self.pacer.ready_at(chat_id, now), queue[0].not_before)
        if at <= now:
            self._push_ready(chat_id, priority)
        else:
            heapq.heappush(self._waiting, (at, next(self._seq), chat_id, priority))

    def _push_ready(self, chat_id: int, priority: Priority) -> None:
        queue = self._queues.get((chat_id, priority))
        if queue:
            head = queue[0]
            heapq.heappush(self._ready[priority], (head.enqueued, head.rank, head.seq, chat_id))

    def _choose(self, now: float, *, consume: bool) -> Priority | None:
        """Which priority takes the next permit: ANSWER first, NOTICE its `share` while both wait."""
        allowed = [p for p in Priority if self._has_ready(p, now) and self._cap_allows(p, now)]
        if not allowed:
            return None
        if len(allowed) == 1:
            choice = allowed[0]
            if consume and choice is not Priority.NOTICE:
                self._credit = 0.0
        else:
            credit = self._credit + self.share
            choice = Priority.NOTICE if credit >= 1.0 else Priority.ANSWER
            if consume:
                self._credit = credit - 1.0 if choice is Priority.NOTICE else credit
        if consume and self.caps[choice] is not None:
            # An average, not a strict spacing: half an interval late is made up for, so waiting for
            # the cap and for the lane's next slot overlap instead of adding up.
            cap = self.caps[choice] or 1e-9
            self._cap_next[choice] = max(self._cap_next[choice], now - 0.5 / cap) + 1 / cap
        return choice

    def _cap_allows(self, priority: Priority, now: float) -> bool:
        cap = self.caps[priority]
        if cap is None:
            return True
        return cap > 0 and self._cap_next[priority] <= now

    def _has_ready(self, priority: Priority, now: float) -> bool:
        heap = self._ready[priority]
        while heap:
            _, _, seq, chat_id = heap[0]
            queue = self._queues.get((chat_id, priority))
            if queue and queue[0].seq == seq and queue[0].state is _State.QUEUED:
                if self.pacer.ready_at(chat_id, now) <= now:
                    return True
                # The chat received something meanwhile (another priority): it waits its turn.
                heapq.heappop(heap)
                self._schedule_chat(chat_id, priority)
                continue
            heapq.heappop(heap)  # stale entry: sent, coalesced, dropped or taken back
            if queue is not None:
                self._drop_stale_heads(queue)
                if queue:
                    self._schedule_chat(chat_id, priority)
                else:
                    del self._queues[(chat_id, priority)]
        return False

    @staticmethod
    def _drop_stale_heads(queue: deque[Outgoing]) -> None:
        while queue and queue[0].state is not _State.QUEUED:
            queue.popleft()

    def _pop_next(self, now: float) -> Outgoing | None:
        self._expire(now)
        self._promote(now)
        priority = self._choose(now, consume=True)
        if priority is None:
            return None
        _, _, _, chat_id = heapq.heappop(self._ready[priority])
        queue = self._queues[(chat_id, priority)]
        item = queue.popleft()
        if not queue:
            del self._queues[(chat_id, priority)]
        return item

    def _expire(self, now: float) -> None:
        while self._deadlines and self._deadlines[0][0] <= now:
            _, _, item = heapq.heappop(self._deadlines)
            if item.state is not _State.QUEUED:
                continue
            if item.deadline is None or item.deadline > now:  # a coalesced newer item moved it on
                if item.deadline is not None:
                    heapq.heappush(self._deadlines, (item.deadline, item.seq, item))
                continue
            self._drop(item, now, "its turn did not come")

    def _drop(self, item: Outgoing, now: float, why: str) -> None:
        self.stats.dropped += 1
        log.warning("%s to a %s chat dropped: not sent within its deadline, %s (waited %.0f s)",
                    item.what, "group" if item.chat_id < 0 else "private", why, now - item.enqueued)
        self._finish(item, error=Dropped("not sent before its deadline"))

    def _launch(self, item: Outgoing) -> None:
        item.state = _State.RUNNING
        self._queued[item.priority] -= 1
        if item.key is not None and self._keyed.get((item.chat_id, item.key)) is item:
            del self._keyed[(item.chat_id, item.key)]
        now = self.monotonic()
        self.pacer.take(item.chat_id, now)
        queue = self._queues.get((item.chat_id, item.priority))
        if queue is not None:  # the chat's next item waits for its turn
            self._drop_stale_heads(queue)
            if queue:
                self._schedule_chat(item.chat_id, item.priority)
            else:
                del self._queues[(item.chat_id, item.priority)]
        task = asyncio.create_task(self._execute(item), name=f"hali-send-{self.name}")
        self._running.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._slot_free.set()
        self._wake.set()

    async def _execute(self, item: Outgoing) -> None:
        try:
            result = await item.call()
        except Throttled as exc:
            self.stats.throttled += 1
            self.slots.pause(exc.retry_after)
            self.slots.throttled()
            log.warning("Telegram asked to wait %gs; the %s lane pauses", exc.retry_after, self.name)
            self._requeue(item, self.monotonic())
        except Transient as exc:
            now = self.monotonic()
            delay = min(self.backoff_max, self.backoff * 2 ** item.attempts) * random.uniform(0.8, 1.2)
            if item.retry_transient and (item.deadline is None or now + delay < item.deadline):
                item.attempts += 1
                self.stats.retried += 1
                self._requeue(item, now + delay)
            elif item.retry_transient:
                self._drop(item, now, f"Telegram could not be reached ({exc.reason[:60]})")
            else:
                self.stats.failed += 1
                self._finish(item, error=exc)
        except asyncio.CancelledError:
            self._finish(item, error=Abandoned("cancelled while sending"))
            raise
        except Exception as exc:  # a SendError, or a bug in the call: its owner decides
            self.stats.failed += 1
            self._finish(item, error=exc)
        else:
            now = self.monotonic()
            self.stats.sent += 1
            self.stats.by_priority[item.priority] = self.stats.by_priority.get(item.priority, 0) + 1
            self._recent_sent.append(now)
            self.slots.succeeded()
            self._finish(item, result=result)

    def _requeue(self, item: Outgoing, not_before: float) -> None:
        """Back to the front of its chat's line, keeping its place in time."""
        if self._stopping:
            self._finish(item, error=Abandoned("the send budget stopped"))
            return
        item.state = _State.QUEUED
        item.not_before = not_before
        self._queued[item.priority] += 1
        if item.key is not None and (item.chat_id, item.key) not in self._keyed:
            self._keyed[(item.chat_id, item.key)] = item
        queue = self._queues.setdefault((item.chat_id, item.priority), deque())
        queue.appendleft(item)
        self._schedule_chat(item.chat_id, item.priority)
        if item.deadline is not None:
            heapq.heappush(self._deadlines, (item.deadline, item.seq, item))
        self._wake.set()

    def _finish(self, item: Outgoing, *, result: Any = None, error: BaseException | None = None) -> None:
        if item.state is _State.QUEUED:
            self._queued[item.priority] -= 1
            if item.key is not None and self._keyed.get((item.chat_id, item.key)) is item:
                del self._keyed[(item.chat_id, item.key)]
        item.state = _State.DONE
        for future in (item.future, *item.followers):
            if future.done():
                continue
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)
        # A result nobody awaits must not warn "exception was never retrieved".
        for future in (item.future, *item.followers):
            if future.done() and not future.cancelled():
                future.add_done_callback(_retrieve)


def _retrieve(future: asyncio.Future[Any]) -> None:
    with contextlib.suppress(BaseException):
        future.exception()


# --- the budget: lanes by priority ------------------------------------------------------------------


class SendBudget:
    """The process's one send budget: the lanes, and which lane each priority uses."""

    def __init__(self, lanes: Mapping[Priority, Lane]) -> None:
        self.routes = dict(lanes)
        self.lanes: list[Lane] = list(dict.fromkeys(self.routes.values()))
        self._tasks: list[asyncio.Task[None]] = []

    @classmethod
    def local(cls, rate: float, *, paid_rate: float | None = None, share: float = 0.2, inflight: int = 32,
              paid_inflight: int = 32, burst: int = 2, monotonic: Monotonic = time.monotonic,
              sleep: Sleep = asyncio.sleep) -> SendBudget:
        """A budget for one process on its own (tests, and anything not sharing a bot token)."""
        pacer = ChatPacer(burst=burst)
        free = Lane("free", LocalSlots(rate, monotonic=monotonic, sleep=sleep), share=share, inflight=inflight,
                    pacer=pacer, monotonic=monotonic, sleep=sleep)
        if paid_rate is None:
            return cls({Priority.ANSWER: free, Priority.NOTICE: free})
        paid = Lane("paid", LocalSlots(paid_rate, monotonic=monotonic, sleep=sleep), share=0.0,
                    inflight=paid_inflight, pacer=pacer, monotonic=monotonic, sleep=sleep)
        return cls({Priority.ANSWER: free, Priority.NOTICE: paid})

    def lane(self, priority: Priority) -> Lane:
        return self.routes[priority]

    def submit(self, item: Outgoing) -> asyncio.Future[Any]:
        """Queue an item; the future gets the call's result, or the SendError that ended it."""
        return self.routes[item.priority].submit(item)

    async def send(self, item: Outgoing) -> Any:
        """Queue an item and wait for it to be sent."""
        return await self.submit(item)

    def cancel(self, futures: Iterable[asyncio.Future[Any]]) -> int:
        wanted = list(futures)
        return sum(lane.cancel(wanted) for lane in self.lanes)

    def depth(self) -> dict[Priority, int]:
        total = {p: 0 for p in Priority}
        for lane in self.lanes:
            for priority, n in lane.depth().items():
                total[priority] += n
        return total

    def start(self) -> None:
        if not self._tasks:
            self._tasks = [asyncio.create_task(lane.run(), name=f"hali-budget-{lane.name}") for lane in self.lanes]

    async def stop(self, grace: float = 5.0) -> None:
        for lane in self.lanes:
            await lane.stop(grace)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    @property
    def running(self) -> bool:
        return bool(self._tasks) and not any(t.done() for t in self._tasks)


# --- sharing a lane between the processes of a deployment ---------------------------------------------


@dataclass(frozen=True)
class Demand:
    """What one process has waiting in one lane, as it told the store at its last heartbeat."""

    sender: str
    answers: int
    notices: int


def allocate(demands: Iterable[Demand], me: str, rate: float, share: float) -> dict[Priority, float | None]:
    """This process's caps per priority in a lane, from every live process's queues (its own fresh).

    Answers are never capped: they come first, and the lane's slots (shared through the store) keep
    every process together under the rate. Notices are what must make room: while answers wait anywhere,
    the deployment's notices get `share` of the lane, split evenly between the processes that have
    notices (an even split, not one by the size of each queue, so that a process finishing the last few
    rows of a batch finishes them at once). When all the work is here, nothing is capped: the lane's own
    rule splits it and gives a priority's unused permits to the other.
    """
    rows = [d for d in demands if d.sender != me]
    mine = next((d for d in demands if d.sender == me), Demand(me, 0, 0))
    caps: dict[Priority, float | None] = {Priority.ANSWER: None, Priority.NOTICE: None}
    if not any(d.answers or d.notices for d in rows):
        return caps
    answers = mine.answers + sum(d.answers for d in rows)
    if answers and (mine.notices or any(d.notices for d in rows)):
        others = sum(1 for d in rows if d.notices)
        caps[Priority.NOTICE] = rate * share / (others + 1)
    return caps
