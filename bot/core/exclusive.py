"""A background job that runs once per deployment: only in the replica that holds its lease.

Every replica runs the same wrapper. Each `renew_every` seconds it takes or renews the lease; the job
runs while the lease is held and is stopped as soon as it is not; the replicas without it try again
every `try_every` seconds. A holder that dies (`kill -9`, a lost machine) stops renewing, so its lease
expires and the next replica to try takes the job over: within the lease's time-to-live plus
`try_every`. A holder stopped gracefully stops the job and gives the lease back, so another replica
takes over at its next try.

When the lease cannot be renewed (the store is away), the job goes on only while the last renewal is
sure to hold; past that another replica may have taken it, and the job is stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import Any, Protocol

log = logging.getLogger(__name__)


class Lease(Protocol):
    holder: str
    ttl: timedelta

    async def acquire(self) -> bool: ...
    async def release(self) -> None: ...


class Exclusive:
    """Runs `job` while this process holds `lease`; `run` and `stop` are what `bot.app.Jobs` calls."""

    def __init__(self, name: str, lease: Lease, job: Callable[[], Coroutine[Any, Any, Any]], *,
                 stop_job: Callable[[], Awaitable[None]] | None = None, renew_every: float = 10.0,
                 try_every: float | None = None, grace: float = 3.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        if renew_every * 2 >= lease.ttl.total_seconds():
            raise ValueError("the lease must outlive at least two renewals")
        self.name = name
        self.lease = lease
        self.job = job
        self.stop_job = stop_job
        self.renew_every = renew_every
        self.try_every = renew_every if try_every is None else try_every
        self.grace = grace
        self.monotonic = monotonic
        self.holding = False
        self.started = 0  # how many times the job was started here
        self._task: asyncio.Task[Any] | None = None
        self._runner: asyncio.Task[None] | None = None
        self._stopping = False
        self._wake = asyncio.Event()

    async def run(self) -> None:
        """Take, renew and hold the lease until stopped; run the job while it is held."""
        self._runner = asyncio.current_task()
        renewed_at: float | None = None
        try:
            while not self._stopping:
                asked = self.monotonic()
                try:
                    held = await self.lease.acquire()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    sure = self.lease.ttl.total_seconds() - self.renew_every
                    held = self.holding and renewed_at is not None and self.monotonic() - renewed_at < sure
                    log.warning("%s: the lease could not be renewed (%s); %s", self.name, type(exc).__name__,
                                "still held" if held else "the job stops")
                else:
                    if held:
                        renewed_at = asked  # the lease runs from before the request, not its answer
                if self._stopping:
                    break
                if held != self.holding:
                    log.info("%s: %s the lease (%s)", self.name, "took" if held else "lost", self.lease.holder)
                self.holding = held
                if held:
                    self._start_job()
                else:
                    await self._stop_job()
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.renew_every if held else self.try_every)
        finally:
            await self._stop_job()
            if self.holding:
                self.holding = False
                try:
                    await self.lease.release()
                except Exception as exc:
                    log.warning("%s: the lease could not be given back (%s); it expires by itself",
                                self.name, type(exc).__name__)

    async def stop(self) -> None:
        """Stop the job and give the lease back; returns once both are done."""
        self._stopping = True
        self._wake.set()
        runner = self._runner
        if runner is not None and runner is not asyncio.current_task():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await runner

    def _start_job(self) -> None:
        task = self._task
        if task is not None and not task.done():
            return
        if task is not None:
            self._report_end(task)
        self._task = asyncio.create_task(self.job(), name=f"hali-{self.name}")
        self.started += 1

    async def _stop_job(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        if not task.done() and self.stop_job is not None:
            try:
                await self.stop_job()
            except Exception:
                log.exception("stopping %s failed", self.name)
            with contextlib.suppress(TimeoutError, asyncio.CancelledError, Exception):
                await asyncio.wait_for(asyncio.shield(task), self.grace)
        if not task.done():
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task

    def _report_end(self, task: asyncio.Task[Any]) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.error("background job %s stopped with an error; starting it again", self.name, exc_info=exc)
