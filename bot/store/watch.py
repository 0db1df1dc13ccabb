"""The watcher's state: per service, what subscribers were last told and what is settling.

`WatchStates.watch` applies the watcher's rule (`bot.core.notifications`) to every service in one
transaction and records the events it decides through the outbox (`bot.store.outbox`), so a change
is announced once, whatever crashes when and however many processes watch. An operator's incident
change also moves the told state, from the outbox's side (`record_incident_event`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.notifications import Decision, Event, EventKind, WatchState
from bot.core.status import EffectiveStatus, State
from bot.store.models import NotificationEventRow, WatchStateRow
from bot.store.outbox import record_event

if TYPE_CHECKING:
    from bot.store.repo import Store

_WATCH_LOCK_KEY = 0x4A412  # PostgreSQL advisory lock: one watcher tick at a time across processes


class WatchStates:
    """A part of the store (`WatchStates(store)`): the watcher's told and pending states per service."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def watch(
        self, statuses: Iterable[EffectiveStatus],
        decide: Callable[[WatchState | None, EffectiveStatus], Decision],
        settled_news: Callable[[set[str]], Sequence[Event]] | None = None,
    ) -> list[int]:
        """Apply the watcher's rule to every service in one transaction; returns the new event ids.

        `settled_news` is given the services whose state has settled (told, nothing pending) and
        returns more events to record in the same transaction (dependency news); one whose `key`
        was already recorded for its kind and service is skipped.

        The transaction first takes a lock (an advisory lock on PostgreSQL; the write lock on SQLite,
        taken by the first UPDATE), so two watchers never both announce the same change.
        """
        now = self.store.clock()
        created: list[int] = []
        async with self.store.sessions.begin() as session:
            if self.store.engine.dialect.name == "postgresql":
                await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _WATCH_LOCK_KEY})
            else:
                await session.execute(update(WatchStateRow).values(checked_at=now)
                                      .execution_options(synchronize_session=False))
            rows = {r.service_id: r for r in (await session.scalars(select(WatchStateRow))).all()}
            settled: set[str] = set()
            for status in statuses:
                row = rows.get(status.service_id)
                previous = _watch_state(row) if row is not None else None
                decision = decide(previous, status)
                if decision.state != previous:
                    if row is None:
                        row = WatchStateRow(service_id=status.service_id)
                        session.add(row)
                    _write_watch(row, decision.state, now)
                if decision.event is not None:
                    event_id = await record_event(session, decision.event)
                    created.append(event_id)
                    event = decision.event
                    if event.kind is EventKind.CHANGED and event.state is State.OPERATIONAL:
                        for hook in self.store.on_return:
                            await hook(session, event.service_id, now, event_id)
                told = decision.state
                if told.pending_state is None and not told.unstable and told.told_state == status.state:
                    settled.add(status.service_id)
            for event in settled_news(settled) if settled_news is not None else ():
                if event.key is not None and await _already_told(session, event):
                    continue
                created.append(await record_event(session, event))
        return created



async def _already_told(session: AsyncSession, event: Event) -> bool:
    """Whether an event with this kind, service and key exists (payloads compared in Python: portable)."""
    payloads = (await session.scalars(select(NotificationEventRow.payload).where(
        NotificationEventRow.kind == event.kind.value, NotificationEventRow.service_id == event.service_id,
        NotificationEventRow.created_at >= event.created_at - timedelta(days=30)))).all()
    return any(isinstance(p, dict) and p.get("key") == event.key for p in payloads)


def _watch_state(row: WatchStateRow) -> WatchState:
    return WatchState(
        row.service_id, State(row.told_state), row.told_at,
        State(row.pending_state) if row.pending_state else None, row.window_start, row.last_change,
        row.changes, row.unstable,
    )


def _write_watch(row: WatchStateRow, state: WatchState, now: datetime) -> None:
    row.told_state, row.told_at = state.told_state.value, state.told_at
    row.pending_state = state.pending_state.value if state.pending_state else None
    row.window_start, row.last_change = state.window_start, state.last_change
    row.changes, row.unstable, row.checked_at = state.changes, state.unstable, now



__all__ = ["WatchStates"]
