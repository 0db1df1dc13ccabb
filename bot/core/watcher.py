"""The status watcher: turns changes of a service's effective status into events for subscribers.

It looks at the status board, never at a particular source, so automatic checks, citizens' reports
and maintenance windows all produce events without knowing about notifications. What it decides
is `bot.core.notifications.decide`; what subscribers were last told is persisted by the store, in the
same transaction as the events, so a restart neither repeats nor loses one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from bot.catalog.model import Service
from bot.core.board import Snapshot, StatusBoard
from bot.core.clock import Clock, system_clock
from bot.core.dependencies import dependency_events
from bot.core.notifications import Decision, Event, EventKind, WatchState, decide
from bot.core.status import EffectiveStatus, State

log = logging.getLogger(__name__)

#: How a dependency's change is worded for a dependent service's subscribers: (service, dependency, the
#: dependency's state or None when it recovered) -> the message's HTML in each language.
DependencyWording = Callable[[Service, Service, State | None], Mapping[str, str]]


class WatchStore(Protocol):
    async def watch(
        self, statuses: Iterable[EffectiveStatus],
        decide: Callable[[WatchState | None, EffectiveStatus], Decision],
        settled_news: Callable[[set[str]], Sequence[Event]] | None = None,
    ) -> list[int]: ...


class Purging(Protocol):
    async def purge(self, *, days: float = 30) -> int: ...


class StatusWatcher:
    """Every `interval` seconds: take a fresh snapshot and apply the settle/coalesce/flap rule."""

    def __init__(
        self, board: StatusBoard, store: WatchStore, *, settle: float = 120.0, interval: float = 10.0,
        clock: Clock = system_clock, wording: DependencyWording | None = None, outbox: Purging | None = None,
    ) -> None:
        """`store`: the watcher's state (`bot.store.watch`); `outbox`: purged of old deliveries hourly."""
        self.board = board
        self.outbox = outbox
        self.wording = wording  # without it, dependency changes are not announced
        self.store = store
        self.settle = settle
        self.interval = interval
        self.clock = clock
        # Each service's status as of the last time it had settled: what dependency news compares.
        self._settled: Snapshot | None = None

    async def tick(self) -> list[int]:
        """One look at the board; returns the ids of the events it created."""
        self.board.invalidate()
        snapshot = await self.board.snapshot()
        now = self.clock()
        before = self._settled
        after: list[Snapshot] = []

        def news(settled: set[str]) -> list[Event]:
            # A dependency's problem is news for its dependents when the dependency's own state has
            # settled (announced, or adopted from an operator): the same moment and rule.
            if before is None:
                after.append(snapshot)  # first look: adopted silently, like decide() does
                return []
            statuses = dict(before.statuses)
            statuses.update({s: snapshot.statuses[s] for s in settled if s in snapshot.statuses})
            current = Snapshot(snapshot.catalog, statuses)
            after.append(current)
            if self.wording is None:
                return []
            return dependency_news(Snapshot(snapshot.catalog, dict(before.statuses)), current, now, self.wording)

        created = await self.store.watch(
            snapshot.statuses.values(), lambda previous, status: decide(previous, status, now, self.settle),
            news,
        )
        if after:
            self._settled = after[-1]
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
                if self.outbox is not None and ticks % max(1, int(3600 / self.interval)) == 0:
                    await self.outbox.purge(days=30)
                ticks += 1
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("status watcher tick failed")
            await asyncio.sleep(self.interval)


def dependency_news(before: Snapshot, after: Snapshot, now: datetime, wording: DependencyWording) -> list[Event]:
    """One event per dependent service and dependency change, worded for its subscribers."""
    events: list[Event] = []
    for change in dependency_events(before, after):
        service = after.catalog.get(change.service_id)
        dependency = after.catalog.get(change.dependency_id)
        if service is None or dependency is None:
            continue
        rendered = dict(wording(service, dependency, change.state))
        status = after.statuses.get(change.service_id)
        events.append(Event(
            id=0, service_id=change.service_id, kind=EventKind.DEPENDENCY,
            state=status.state if status is not None else State.OPERATIONAL, created_at=now,
            rendered=rendered, key=change.dedupe_key,
        ))
    return events
