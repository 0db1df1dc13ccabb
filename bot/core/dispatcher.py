"""The dispatcher: claims due deliveries from the outbox and sends them at Telegram's pace.

Pacing
    One token bucket per process at `rate` messages per second (burst 1, so sends are evenly spaced),
    shared between live dispatchers: each takes rate / N, N from the heartbeat table. About one message
    per second per chat. A 429 pauses the WHOLE dispatcher for `retry_after`, not only that message.

Errors
    * 429: pause everything, then send the same row again (not counted as an attempt);
    * the chat is gone (403 "bot was blocked by the user", "user is deactivated", "bot was kicked",
      400 "chat not found"): the chat is deactivated and its queued rows dropped;
    * another 403, a 5xx or a network error: retried with exponential backoff, at most
      `max_attempts` times, then the row is marked failed with the reason;
    * any other 400 (Telegram rejects the message itself): failed at once; retrying cannot help.

Crash safety
    A row is claimed under a lease, and marked sent in its own transaction as soon as Telegram
    confirms: one commit per message at the default 30/s, per small group (about 1/30 s of sends,
    `mark_group`) at paid rates, where a commit per message would cost more than the send. If the
    process dies, its claimed rows become claimable again when the lease ends, so none is lost. The
    only rows sent twice are those Telegram accepted but whose mark did not commit: at most the
    sends under way plus one uncommitted group, `inflight + mark_group - 1` per crash: 3 at the
    defaults for 30/s, 1 with HALI_BROADCAST_INFLIGHT=1.
    Before every send the lease is checked and renewed when half of it is gone, so a long 429 pause
    never lets another dispatcher take a row this one is about to send.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from bot.catalog.model import Catalog
from bot.core.notifications import Event
from bot.render import Reply

log = logging.getLogger(__name__)


# --- what the dispatcher needs from the outside world ------------------------------------------------


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


class Sender(Protocol):
    async def send(self, chat_id: int, reply: Reply) -> None: ...


class ClaimedRow(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def event_id(self) -> int: ...
    @property
    def chat_id(self) -> int: ...
    @property
    def language(self) -> str: ...
    @property
    def attempts(self) -> int: ...


class OutboxPort(Protocol):
    async def claim(self, worker: str, limit: int, lease: float) -> Sequence[ClaimedRow]: ...
    async def renew(self, worker: str, ids: Sequence[int], lease: float) -> set[int]: ...
    async def release(self, worker: str, ids: Sequence[int], *, delay: float = 0.0) -> None: ...
    async def mark_sent(self, ids: Sequence[int]) -> None: ...
    async def retry_later(self, delivery_id: int, attempts: int, delay: float, error: str) -> None: ...
    async def mark_failed(self, delivery_id: int, attempts: int, error: str) -> None: ...
    async def deactivate_chat(self, chat_id: int, reason: str) -> int: ...
    async def events(self, ids: Sequence[int]) -> dict[int, Event]: ...
    async def heartbeat(self, worker: str, stale_after: float) -> int: ...
    async def unregister(self, worker: str) -> None: ...


Compose = Callable[[Catalog, Event, str], Reply | None]


# --- pacing ---------------------------------------------------------------------------------------------


class TokenBucket:
    """Evenly spaced permits at `rate` per second; `pause` stops every taker until a moment passes.

    Telegram counts messages in a sliding second, so besides the spacing no `ceil(rate)` permits are
    ever granted within `window` seconds (a little over one): a late permit that is made up for
    cannot squeeze a second's worth of messages into less than a second.
    """

    def __init__(
        self, rate: float, *, monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep, window: float = 1.03,
    ) -> None:
        self.rate = rate
        self.monotonic = monotonic
        self.sleep = sleep
        self.window = self.base_window = window
        self._next = 0.0  # when the next permit is free
        self._paused_until = 0.0
        self._lock = asyncio.Lock()
        self._granted: deque[float] = deque()

    async def take(self) -> None:
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
                    # overshoot), but by one interval at most: an idle spell never becomes a burst.
                    interval = 1.0 / self.rate
                    self._next = max(self._next, now - interval) + interval
                    return
                await self.sleep(wait)

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, self.monotonic() + seconds)

    def widen(self, step: float = 0.02, most: float = 1.25) -> None:
        """After a 429: the messages reached Telegram closer together than they left; allow for it."""
        self.window = min(most, self.window + step)

    def narrow(self, step: float = 0.0002) -> None:
        """After a success: creep back towards the base window (one 429's widening per 100 sends),
        so a burst of load on the machine does not slow every later broadcast."""
        self.window = max(self.base_window, self.window - step)


# --- the dispatcher --------------------------------------------------------------------------------------


@dataclass
class DispatchSettings:
    rate: float = 30.0
    inflight: int | None = None  # sends under way at once; None: enough for ~100 ms round trips
    batch: int | None = None  # rows claimed at once; None: two seconds' worth
    lease: float = 60.0
    max_attempts: int = 5
    backoff: float = 5.0  # first retry after this many seconds, doubling, at most `backoff_max`
    backoff_max: float = 600.0
    per_chat_interval: float = 1.0
    # Telegram's limit is strict; pacing a little under it keeps arrival jitter from costing a 429
    # (each one pauses everything for at least a second).
    headroom: float = 0.97
    mark_group: int | None = None  # confirmations committed together; None: ~1/30 s worth (1 at 30/s)
    idle_poll: float = 0.5
    heartbeat: float = 5.0
    max_throttles_per_row: int = 10

    def concurrency(self) -> int:
        # Enough for ~100 ms round trips, but at most 32: httpcore scans its whole pool for every
        # request, so past a few dozen connections a bigger pool makes one process slower, not faster
        # (see the benchmark); more dispatcher processes scale instead.
        return self.inflight or min(32, max(1, math.ceil(self.rate / 10)))

    def batch_size(self) -> int:
        return self.batch or max(10, math.ceil(self.rate * 2))

    def marks_per_commit(self) -> int:
        return self.mark_group or max(1, math.ceil(self.rate / 30))


@dataclass
class DispatchStats:
    sent: int = 0
    throttled: int = 0
    retried: int = 0
    failed: int = 0
    deactivated: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)


class Dispatcher:
    """Claims batches, paces, sends, and marks each row; see the module docstring."""

    def __init__(
        self, outbox: OutboxPort, sender: Sender, catalog: Callable[[], Awaitable[Catalog]],
        compose: Compose, *, settings: DispatchSettings | None = None, worker_id: str | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.outbox = outbox
        self.sender = sender
        self.catalog = catalog
        self.compose = compose
        self.settings = settings or DispatchSettings()
        self.worker = worker_id or f"d-{uuid.uuid4().hex[:12]}"
        self.monotonic = monotonic
        self.sleep = sleep
        self.bucket = TokenBucket(self.settings.rate * self.settings.headroom, monotonic=monotonic, sleep=sleep)
        self.stats = DispatchStats()
        self._recent: dict[int, float] = {}  # chat id -> when a message last went to it
        self._stopping = False
        self._last_heartbeat = -math.inf
        self._replies: dict[tuple[int, str], Reply | None] = {}
        self._catalog_cache: tuple[float, Catalog] | None = None
        self._confirmed: list[int] = []
        self._mark_lock = asyncio.Lock()

    def stop(self) -> None:
        """Finish the sends under way, give the rest of the batch back, and leave `run`."""
        self._stopping = True

    async def run(self) -> None:
        """Dispatch until stopped or cancelled."""
        try:
            while not self._stopping:
                try:
                    handled = await self.run_once()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("dispatcher batch failed")
                    handled = 0
                if handled == 0 and not self._stopping:
                    await self.sleep(self.settings.idle_poll)
        finally:
            try:
                await self.outbox.unregister(self.worker)
            except Exception:
                log.warning("could not unregister dispatcher %s", self.worker, exc_info=True)

    async def run_once(self) -> int:
        """Claim one batch and send it; returns how many rows were handled (0: nothing due)."""
        await self._heartbeat()
        settings = self.settings
        rows = list(await self.outbox.claim(self.worker, settings.batch_size(), settings.lease))
        if not rows:
            return 0
        claimed_at = self.monotonic()
        events = await self.outbox.events([r.event_id for r in rows])
        catalog = await self._catalog()
        if len(self._replies) > 512:
            self._replies.clear()
        semaphore = asyncio.Semaphore(settings.concurrency())
        tasks: set[asyncio.Task[None]] = set()
        held: list[int] = []
        remaining = {r.id for r in rows}
        try:
            for row in rows:
                if self._stopping:
                    break
                if self._too_soon(row.chat_id):
                    held.append(row.id)
                    remaining.discard(row.id)
                    continue
                if self.monotonic() - claimed_at >= settings.lease / 2:
                    kept = await self.outbox.renew(self.worker, sorted(remaining), settings.lease)
                    remaining &= kept
                    claimed_at = self.monotonic()
                if row.id not in remaining:
                    continue  # the lease was lost: someone else may own it now
                await self.bucket.take()
                await semaphore.acquire()
                if self._stopping:  # stopped while waiting for a free slot
                    semaphore.release()
                    break
                remaining.discard(row.id)
                self._recent[row.chat_id] = self.monotonic()
                task = asyncio.create_task(self._deliver(row, events.get(row.event_id), catalog, claimed_at))
                tasks.add(task)
                task.add_done_callback(lambda _: semaphore.release())
            if tasks:
                for outcome in await asyncio.gather(*tasks, return_exceptions=True):
                    if isinstance(outcome, Exception):
                        log.error("a delivery failed unexpectedly", exc_info=outcome)
        finally:
            await self._flush_marks()
            await self.outbox.release(self.worker, held, delay=settings.per_chat_interval)
            await self.outbox.release(self.worker, sorted(remaining))
        self._prune_recent()
        return len(rows)

    async def drain(self, *, max_batches: int = 1000) -> int:
        """Run batches until nothing is due (for tests and one-shot use); returns rows handled."""
        total = 0
        for _ in range(max_batches):
            handled = await self.run_once()
            if handled == 0:
                break
            total += handled
        return total

    # --- one row ---------------------------------------------------------------------------------------

    async def _deliver(self, row: ClaimedRow, event: Event | None, catalog: Catalog, claimed_at: float) -> None:
        reply = self._reply(catalog, event, row.language) if event is not None else None
        if reply is None:
            await self.outbox.mark_failed(row.id, row.attempts, "event or service no longer known")
            self.stats.failed += 1
            return
        throttles = 0
        while True:
            try:
                await self.sender.send(row.chat_id, reply)
            except Throttled as exc:
                self.stats.throttled += 1
                throttles += 1
                self.bucket.pause(exc.retry_after)
                self.bucket.widen()
                log.warning("Telegram asked to wait %ss; the dispatcher pauses", exc.retry_after)
                if throttles >= self.settings.max_throttles_per_row:
                    await self.outbox.retry_later(row.id, row.attempts, exc.retry_after, exc.reason)
                    return
                await self.bucket.take()
                continue
            except ChatGone as exc:
                dropped = await self.outbox.deactivate_chat(row.chat_id, exc.reason)
                self.stats.deactivated += 1
                log.info("a chat is gone (%s); %d queued rows dropped", exc.reason, dropped)
            except Rejected as exc:
                await self.outbox.mark_failed(row.id, row.attempts + 1, exc.reason)
                self._count_failure(exc.reason)
            except Transient as exc:
                attempts = row.attempts + 1
                if attempts >= self.settings.max_attempts:
                    await self.outbox.mark_failed(row.id, attempts, exc.reason)
                    self._count_failure(exc.reason)
                else:
                    await self.outbox.retry_later(row.id, attempts, self._backoff(attempts), exc.reason)
                    self.stats.retried += 1
            else:
                self.stats.sent += 1
                self.bucket.narrow()
                self._confirmed.append(row.id)
                if len(self._confirmed) >= self.settings.marks_per_commit():
                    await self._flush_marks()
            return

    async def _flush_marks(self) -> None:
        """Commit the confirmed sends. Until this commits they are the ones a crash would repeat."""
        async with self._mark_lock:
            ids, self._confirmed = self._confirmed, []
            if ids:
                await self.outbox.mark_sent(ids)

    async def _catalog(self) -> Catalog:
        """The catalogue, re-read at most every 30 seconds (names and workarounds rarely change)."""
        now = self.monotonic()
        if self._catalog_cache is None or now - self._catalog_cache[0] >= 30:
            self._catalog_cache = (now, await self.catalog())
        return self._catalog_cache[1]

    def _reply(self, catalog: Catalog, event: Event, language: str) -> Reply | None:
        key = (event.id, language)
        if key not in self._replies:
            self._replies[key] = self.compose(catalog, event, language)
        return self._replies[key]

    def _backoff(self, attempts: int) -> float:
        base = min(self.settings.backoff_max, self.settings.backoff * 2 ** (attempts - 1))
        return float(base * random.uniform(0.8, 1.2))  # spread retries so they do not return together

    def _count_failure(self, reason: str) -> None:
        self.stats.failed += 1
        self.stats.by_reason[reason] = self.stats.by_reason.get(reason, 0) + 1

    def _too_soon(self, chat_id: int) -> bool:
        last = self._recent.get(chat_id)
        return last is not None and self.monotonic() - last < self.settings.per_chat_interval

    def _prune_recent(self) -> None:
        if len(self._recent) < 4 * self.settings.batch_size():
            return
        cutoff = self.monotonic() - self.settings.per_chat_interval
        self._recent = {chat: at for chat, at in self._recent.items() if at >= cutoff}

    async def _heartbeat(self) -> None:
        now = self.monotonic()
        if now - self._last_heartbeat < self.settings.heartbeat:
            return
        self._last_heartbeat = now
        live = max(1, await self.outbox.heartbeat(self.worker, stale_after=3 * self.settings.heartbeat))
        self.bucket.rate = self.settings.rate * self.settings.headroom / live
