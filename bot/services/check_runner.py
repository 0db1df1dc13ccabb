"""The check runner: one per deployment (a lease elects it), probing each check on its own interval.

`hali run` starts it in the background. Every `tick` it renews the lease (every ~15 s) and launches
the checks that are due as one batch; a batch records each result as soon as it arrives, except
network failures, which wait for the batch to end: if every probe failed on the network, the batch
is Hali's own connection failing and is recorded as offline instead of against the services.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sys
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from bot.catalog.model import Catalog, Check
from bot.core.checks import ProbeResult, offline_batch
from bot.core.clock import Clock
from bot.services.probe import Prober
from bot.store.checks import Lease
from bot.store.repo import Store

log = logging.getLogger(__name__)

LEASE_NAME = "checks"
LEASE_TTL = timedelta(seconds=45)
RENEW_EVERY = timedelta(seconds=15)
PRUNE_EVERY = timedelta(hours=1)
CATALOG_EVERY = timedelta(seconds=30)
# A batch's results are written again after these pauses when the store fails, then given up (logged).
WRITE_RETRIES = (1.0, 2.0, 4.0, 8.0, 16.0)


def default_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class CheckRunner:
    def __init__(
        self,
        store: Store,
        prober: Prober,
        *,
        holder: str | None = None,
        clock: Clock | None = None,
        lease_ttl: timedelta = LEASE_TTL,
        renew_every: timedelta = RENEW_EVERY,
        retry_delays: Sequence[float] = WRITE_RETRIES,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.store = store
        self.checks = store.checks
        self.prober = prober
        self.clock = clock or store.clock
        self.lease = Lease(store, LEASE_NAME, holder or default_holder(), ttl=lease_ttl)
        self.renew_every = renew_every
        self.retry_delays = tuple(retry_delays)
        self._sleep = sleep
        self.holding = False
        self._renewed_at: datetime | None = None
        self._pruned_at: datetime | None = None
        self._due: dict[str, datetime] = {}
        self._in_flight: set[str] = set()
        self._batches: set[asyncio.Task[list[ProbeResult]]] = set()
        self._loop_task: asyncio.Task[None] | None = None
        self.offline = False
        self._catalog: tuple[datetime, Catalog] | None = None

    async def tick(self, *, wait: bool = True) -> list[ProbeResult]:
        """Renew the lease if it is time; if held, run the due checks (and wait for them, by default)."""
        now = self.clock()
        if self._renewed_at is None or now - self._renewed_at >= self.renew_every or not self.holding:
            was = self.holding
            self.holding = await self.lease.acquire()
            self._renewed_at = now
            if self.holding != was:
                log.info("check runner %s the lease (%s)", "took" if self.holding else "lost",
                         self.lease.holder)
            if not self.holding:
                self._due.clear()  # whoever takes over later starts fresh
        if not self.holding:
            return []
        if self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY:
            self._pruned_at = now
            await self.checks.prune()
        due = await self._take_due(now)
        if not due:
            return []
        batch = asyncio.create_task(self.run_batch(due))
        self._batches.add(batch)
        batch.add_done_callback(self._batch_done)
        return await batch if wait else []

    def _batch_done(self, batch: asyncio.Task[list[ProbeResult]]) -> None:
        self._batches.discard(batch)
        if not batch.cancelled() and (error := batch.exception()) is not None:
            log.error("a batch of checks failed: %s", type(error).__name__, exc_info=error)

    async def _record(self, items: Sequence[tuple[ProbeResult, Check]]) -> None:
        """Write results; when the store fails, again after each of `retry_delays`, then raise."""
        for attempt, delay in enumerate((*self.retry_delays, None)):
            try:
                await self.checks.record_many(items)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if delay is None:
                    raise
                log.warning("recording %d check results failed (%s); trying again in %.0f s (attempt %d)",
                            len(items), type(exc).__name__, delay, attempt + 1)
                await self._sleep(delay)

    async def _take_due(self, now: datetime) -> list[tuple[str, Check]]:
        # The catalogue rarely changes: read it again every CATALOG_EVERY, not every tick.
        if self._catalog is None or now - self._catalog[0] >= CATALOG_EVERY or now < self._catalog[0]:
            self._catalog = (now, await self.store.catalog())
        catalog = self._catalog[1]
        due: list[tuple[str, Check]] = []
        for service in catalog.services:
            for check in service.checks:
                key = check.key(service.id)
                if key in self._in_flight or self._due.get(key, now) > now:
                    continue
                # A fixed rate from the first run; after a long pause, start again from now.
                following = self._due.get(key, now) + timedelta(seconds=check.interval_s)
                self._due[key] = following if following > now else now + timedelta(seconds=check.interval_s)
                due.append((service.id, check))
        return due

    async def run_batch(self, due: Sequence[tuple[str, Check]]) -> list[ProbeResult]:
        """Probe a batch concurrently and record it (see the module docstring for offline batches)."""
        checks = {c.key(sid): c for sid, c in due}
        self._in_flight.update(checks)
        held: list[ProbeResult] = []
        results: list[ProbeResult] = []
        answered = False
        # Results are written by one writer, in one transaction for whatever arrived meanwhile.
        pending: list[ProbeResult] = []
        writer: asyncio.Task[None] | None = None

        async def write() -> None:
            while pending:
                chunk = pending[:]
                pending.clear()
                await self._record([(r, checks[r.key]) for r in chunk])

        try:
            for next_done in asyncio.as_completed([self.prober.probe(sid, c) for sid, c in due]):
                result = await next_done
                results.append(result)
                if result.outcome.is_network and not answered:
                    held.append(result)
                    continue
                answered = True
                pending.extend((*held, result))
                held.clear()
                if writer is None or writer.done():
                    if writer is not None:
                        await writer  # surface a failed write
                    writer = asyncio.create_task(write())
            if writer is not None:
                await writer
            offline = offline_batch(results)
            if offline != self.offline:
                self.offline = offline
                if offline:
                    log.warning("every check failed on the network: Hali cannot reach the internet; "
                                "the services are not marked down for it")
                else:
                    log.info("Hali reaches the internet again")
            marked = {id(r): replace(r, offline=offline) for r in held}
            if held:
                await self._record([(marked[id(r)], checks[r.key]) for r in held])
            return [marked.get(id(r), r) for r in results]
        finally:
            self._in_flight.difference_update(checks)
            # A failed write that is not what this batch ends with would otherwise go unseen.
            if writer is not None and writer.done() and not writer.cancelled():
                failed = writer.exception()
                if failed is not None and failed is not sys.exc_info()[1]:
                    log.error("check results could not be recorded", exc_info=failed)

    # --- background -------------------------------------------------------------------------------

    async def loop(self, *, every: float = 1.0, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        """Tick until cancelled (or stopped); a failing tick is logged and the next one tries again."""
        self._loop_task = asyncio.current_task()
        while True:
            try:
                await self.tick(wait=False)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("check runner tick failed; trying again")
            await sleep(every)

    def start(self, *, every: float = 1.0, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        """Tick in the background until stop()."""
        self._loop_task = asyncio.create_task(self.loop(every=every, sleep=sleep), name="hali-check-runner")

    async def stop(self) -> None:
        """Stop ticking, abandon running batches, and release the lease so another replica takes over."""
        task, self._loop_task = self._loop_task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        for batch in list(self._batches):
            batch.cancel()
        if self._batches:
            await asyncio.gather(*self._batches, return_exceptions=True)
        if self.holding:
            await self.lease.release()
            self.holding = False
