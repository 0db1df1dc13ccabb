"""The dispatcher: claims due deliveries from the outbox and hands them to the send budget.

Pacing
    The process's send budget (`bot.core.budget`) paces every message: notifications are NOTICE items
    there, so citizens waiting for an answer go first, the fan-out keeps at least its share, one chat
    gets about one message a second, and a 429 pauses everything that sends for the bot. A post to the
    public channel is an ANSWER item: one post reaches every member, it should not wait behind them.

Errors
    * 429: the budget pauses and sends the same row again (not counted as a failure);
    * the chat is gone (403 "bot was blocked by the user", "user is deactivated", "bot was kicked",
      400 "chat not found"): the chat is deactivated and its queued rows dropped;
    * another 403, a 5xx or a network error: retried with capped exponential backoff for as long as
      the message is still useful (`max_age` from its first failure, HALI_NOTIFY_MAX_AGE), then the
      row is marked failed with the reason;
    * any other 400 (Telegram rejects the message itself): failed at once; retrying cannot help.

Crash safety
    A row is claimed under a lease, and marked
    sent as soon as Telegram confirms: one commit per message at 30/s, per small group (about 1/30 s of
    sends, `mark_group`) at paid rates. If the process dies, its claimed rows become claimable again
    when the lease ends, so none is lost. The only rows sent twice are those Telegram accepted but
    whose mark did not commit: at most the sends under way in the budget's lane plus one uncommitted
    group per crash. Stopping gives the rows not yet sent back at once. When its permit comes, a row
    whose lease is half gone (a long 429 pause, a slow share) has the batch's leases renewed first, and
    one whose lease was lost is not sent: another dispatcher may own it now.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Protocol

from bot.catalog.model import Catalog
from bot.core.budget import (
    Abandoned,
    ChatGone,
    Dropped,
    Outgoing,
    Priority,
    Rejected,
    SendBudget,
    SendError,
    Throttled,
    Transient,
)
from bot.core.clock import Clock, system_clock
from bot.core.notifications import Event
from bot.core.recipient import Recipient
from bot.core.reply import Reply

log = logging.getLogger(__name__)

__all__ = [
    "ChatGone", "ClaimedRow", "Compose", "DispatchSettings", "DispatchStats", "Dispatcher", "OutboxPort",
    "Rejected", "SendError", "Sender", "Throttled", "Transient",
]


# --- what the dispatcher needs from the outside world ------------------------------------------------


class Sender(Protocol):
    async def send(self, chat_id: int, reply: Reply) -> None: ...


class ClaimedRow(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def event_id(self) -> int: ...
    @property
    def recipient(self) -> Recipient: ...
    @property
    def chat_id(self) -> int: ...
    @property
    def language(self) -> str: ...
    @property
    def attempts(self) -> int: ...
    @property
    def first_failed_at(self) -> datetime | None: ...


class OutboxPort(Protocol):
    async def claim(self, worker: str, limit: int, lease: float) -> Sequence[ClaimedRow]: ...
    async def renew(self, worker: str, ids: Sequence[int], lease: float) -> set[int]: ...
    async def release(self, worker: str, ids: Sequence[int], *, delay: float = 0.0) -> None: ...
    async def mark_sent(self, ids: Sequence[int]) -> None: ...
    async def retry_later(self, delivery_id: int, attempts: int, delay: float, error: str) -> None: ...
    async def mark_failed(self, delivery_id: int, attempts: int, error: str) -> None: ...
    async def deactivate(self, recipient: Recipient, reason: str) -> int: ...
    async def events(self, ids: Sequence[int]) -> dict[int, Event]: ...


Compose = Callable[[Catalog, Event, str], Reply | None]


# --- the dispatcher --------------------------------------------------------------------------------------


@dataclass
class DispatchSettings:
    rate: float = 30.0  # the notifications' lane rate: sizes batches and confirmation groups
    batch: int | None = None  # rows claimed at once; None: two seconds' worth
    lease: float = 60.0
    max_age: float = 6 * 3600.0  # retry a transient failure for this long after the first one
    backoff: float = 5.0  # first retry after this many seconds, doubling, at most `backoff_max`
    backoff_max: float = 300.0
    mark_group: int | None = None  # confirmations committed together; None: ~1/30 s worth (1 at 30/s)
    idle_poll: float = 0.5

    def batch_size(self) -> int:
        return self.batch or max(10, math.ceil(self.rate * 2))

    def marks_per_commit(self) -> int:
        return self.mark_group or max(1, math.ceil(self.rate / 30))


@dataclass
class DispatchStats:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    deactivated: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)


class Dispatcher:
    """Claims batches, hands each row to the send budget, and records what became of it."""

    def __init__(
        self, outbox: OutboxPort, sender: Sender, catalog: Callable[[], Awaitable[Catalog]],
        compose: Compose, *, budget: SendBudget, settings: DispatchSettings | None = None,
        worker_id: str | None = None, channel_id: int | None = None, clock: Clock = system_clock,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.outbox = outbox
        self.sender = sender
        self.catalog = catalog
        self.compose = compose
        self.budget = budget
        self.settings = settings or DispatchSettings()
        self.worker = worker_id or f"d-{uuid.uuid4().hex[:12]}"
        self.channel_id = channel_id
        self.clock = clock
        self.monotonic = monotonic
        self.sleep = sleep
        self.stats = DispatchStats()
        self._stopping = False
        self._replies: dict[tuple[int, str], Reply | None] = {}
        self._catalog_cache: tuple[float, Catalog] | None = None
        self._confirmed: list[int] = []
        self._mark_lock = asyncio.Lock()
        self._marks_failing = False
        self._queued: dict[int, asyncio.Future[Any]] = {}  # row id -> its item in the budget
        self._claimed_at = 0.0
        self._kept: set[int] = set()  # rows whose lease is known to be ours
        self._chats: dict[int, int] = {}  # row id -> chat id, for the batch in hand
        self._gone: set[int] = set()  # chats of the batch in hand that Telegram said are gone
        self._outcomes: dict[int, BaseException] = {}  # row id -> what ended it, when it failed
        self._handled: set[int] = set()
        self._renew_lock = asyncio.Lock()

    @property
    def throttled(self) -> int:
        """429s met by the lane the notifications use (every sender in this process counts)."""
        return self.budget.lane(Priority.NOTICE).stats.throttled

    def stop(self) -> None:
        """Finish the sends under way, give the rest of the batch back, and leave `run`."""
        self._stopping = True
        self.budget.cancel(list(self._queued.values()))

    async def run(self) -> None:
        """Dispatch until stopped or cancelled."""
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

    async def run_once(self) -> int:
        """Claim one batch and see it through the budget; returns how many rows were handled (0: none due)."""
        settings = self.settings
        rows = list(await self.outbox.claim(self.worker, settings.batch_size(), settings.lease))
        if not rows:
            return 0
        events = await self.outbox.events([r.event_id for r in rows])
        catalog = await self._catalog()
        if len(self._replies) > 512:
            self._replies.clear()
        submitted: list[ClaimedRow] = []
        self._claimed_at = self.monotonic()
        self._kept = {row.id for row in rows}
        self._chats = {row.id: row.chat_id for row in rows}
        self._gone = set()
        self._handled = set()  # rows whose fate is known: sent, or failed and recorded below
        try:
            for row in rows:
                if self._stopping:
                    break
                event = events.get(row.event_id)
                reply = self._reply(catalog, event, row.language) if event is not None else None
                if reply is None:
                    await self.outbox.mark_failed(row.id, row.attempts, "event or service no longer known")
                    self.stats.failed += 1
                    self._handled.add(row.id)
                    continue
                channel = row.chat_id == self.channel_id
                future = self.budget.submit(Outgoing(
                    row.chat_id, partial(self._send, row.id, row.chat_id, reply),
                    priority=Priority.ANSWER if channel else Priority.NOTICE, retry_transient=False,
                    what="channel post" if channel else "notification"))
                self._queued[row.id] = future
                future.add_done_callback(partial(self._settle, row.id, row.chat_id))
                submitted.append(row)
            # What became of each row is written once the batch is through (a failure is rare; the
            # sends already marked themselves).
            results = await asyncio.gather(*(self._queued[r.id] for r in submitted if r.id in self._queued),
                                           return_exceptions=True)
            del results
            for row in submitted:
                outcome = self._outcomes.pop(row.id, None)
                if outcome is not None:
                    try:
                        await self._outcome(row, outcome)
                    except Exception:
                        log.exception("recording a delivery failed")
        finally:
            await self._flush_marks()
            self.budget.cancel(list(self._queued.values()))  # settles them as unsent
            self._queued.clear()
            await self.outbox.release(self.worker, sorted({row.id for row in rows} - self._handled))
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

    def _settle(self, row_id: int, chat_id: int, future: asyncio.Future[Any]) -> None:
        """A row's item is through the budget: count a success; keep a failure to record."""
        self._queued.pop(row_id, None)
        if future.cancelled():
            return
        error = future.exception()
        if error is None:
            self.stats.sent += 1
            self._handled.add(row_id)
        elif not isinstance(error, Abandoned):  # an abandoned row is given back with the batch
            self._outcomes[row_id] = error
            self._handled.add(row_id)
            if isinstance(error, ChatGone):
                # The chat's other rows in this batch would only meet the same answer.
                self.budget.cancel([self._queued[r] for r, chat in self._chats.items()
                                    if chat == chat_id and r in self._queued])

    async def _outcome(self, row: ClaimedRow, error: BaseException) -> None:
        if isinstance(error, ChatGone):
            if row.chat_id in self._gone:
                return  # a second message was already on its way when the first learnt it
            self._gone.add(row.chat_id)
            dropped = await self.outbox.deactivate(row.recipient, error.reason)
            self.stats.deactivated += 1
            log.info("a chat is gone (%s); %d queued rows dropped", error.reason, dropped)
        elif isinstance(error, Rejected | Dropped):
            await self.outbox.mark_failed(row.id, row.attempts + 1, error.reason)
            self._count_failure(error.reason)
        else:
            reason = error.reason if isinstance(error, SendError) else f"{type(error).__name__}: {error}"[:200]
            if not isinstance(error, Transient):
                log.error("a delivery failed unexpectedly", exc_info=error)
            await self._retry_or_fail(row, reason)

    async def _retry_or_fail(self, row: ClaimedRow, reason: str) -> None:
        """Try again later, unless the first failure is older than the message's useful life."""
        attempts = row.attempts + 1
        first = row.first_failed_at or self.clock()
        if self.clock() - first >= timedelta(seconds=self.settings.max_age):
            await self.outbox.mark_failed(row.id, attempts, f"gave up after {attempts} attempts: {reason}"[:200])
            self._count_failure(reason)
            return
        await self.outbox.retry_later(row.id, attempts, self._backoff(attempts), reason)
        self.stats.retried += 1

    async def _send(self, row_id: int, chat_id: int, reply: Reply) -> None:
        """The budget's call for one row: sent only while the row's lease is still this dispatcher's."""
        if self.monotonic() - self._claimed_at >= self.settings.lease / 2:
            async with self._renew_lock:
                if self.monotonic() - self._claimed_at >= self.settings.lease / 2:
                    self._kept &= await self.outbox.renew(self.worker, sorted(self._queued), self.settings.lease)
                    self._claimed_at = self.monotonic()
        if row_id not in self._kept:
            raise Abandoned("the lease was lost: another dispatcher may own the row now")
        if self._marks_failing and not await self._flush_marks():
            raise Abandoned("confirmations cannot be written: nothing more is sent until they are")
        await self.sender.send(chat_id, reply)
        # Confirmed inside the permit: the next send waits for the mark, so a crash repeats only the
        # sends under way and one group.
        self._confirmed.append(row_id)
        if len(self._confirmed) >= self.settings.marks_per_commit():
            await self._flush_marks()

    async def _flush_marks(self) -> bool:
        """Commit the confirmed sends; False (and they are kept) when the store does not take them.

        Until they are committed they are the ones a crash would repeat.
        """
        async with self._mark_lock:
            ids, self._confirmed = self._confirmed, []
            if not ids:
                return True
            try:
                await self.outbox.mark_sent(ids)
            except Exception:
                self._confirmed[:0] = ids
                if not self._marks_failing:
                    log.warning("could not mark %d sent deliveries; kept, and no more is sent until they are",
                                len(ids), exc_info=True)
                self._marks_failing = True
                return False
            self._marks_failing = False
            return True

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
