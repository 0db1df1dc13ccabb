"""The status watcher: turns changes of a service's effective status into events for subscribers.

It looks at the status board, never at a particular source, so automatic checks, citizens' reports
and maintenance windows all produce events without knowing about notifications. What it decides
is `bot.core.notifications.decide`; what subscribers were last told is persisted by the store, in the
same transaction as the events, so a restart neither repeats nor loses one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import Protocol

from bot.core.board import StatusBoard
from bot.core.clock import Clock, system_clock
from bot.core.notifications import Decision, WatchState, decide
from bot.core.status import EffectiveStatus

log = logging.getLogger(__name__)


class WatchStore(Protocol):
    async def watch(
        self, statuses: Iterable[EffectiveStatus],
        decide: Callable[[WatchState | None, EffectiveStatus], Decision],
    ) -> list[int]: ...

    async def purge(self, *, days: float = 30) -> int: ...


class StatusWatcher:
    """Every `interval` seconds: take a fresh snapshot and apply the settle/coalesce/flap rule."""

    def __init__(
        self, board: StatusBoard, store: WatchStore, *, settle: float = 120.0, interval: float = 10.0,
        clock: Clock = system_clock,
    ) -> None:
        self.board = board
        self.store = store
        self.settle = settle
        self.interval = interval
        self.clock = clock

    async def tick(self) -> list[int]:
        """One look at the board; returns the ids of the events it created."""
        self.board.invalidate()
        snapshot = await self.board.snapshot()
        now = self.clock()
        created = await self.store.watch(
            snapshot.statuses.values(), lambda previous, status: decide(previous, status, now, self.settle)
        )
        if created:
            log.info("status watcher created events %s", created)
        return created

    async def run(self) -> None:
        """Tick until cancelled; an error is logged and the next tick tries again.

        About once an hour it also purges deliveries older than 30 days (what /privacy promises).
        """
        ticks = 0
        while True:
            try:
                if ticks % max(1, int(3600 / self.interval)) == 0:
                    await self.store.purge(days=30)
                ticks += 1
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("status watcher tick failed")
            await asyncio.sleep(self.interval)
