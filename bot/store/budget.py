"""The send budget shared by the processes of one deployment: slots reserved in the store, senders' queues.

Telegram's limits are per bot, so every process that sends for the bot (each `hali run` replica, each
`hali dispatch`) takes its permits from one row per lane (`send_slots`): a reservation moves the row's
next free moment on by a few evenly spaced permits, in one UPDATE, so two processes never get the same
moment and together they never exceed the lane's rate. A process books at most `horizon` seconds
ahead, so an answer that arrives somewhere never waits behind a long booking elsewhere. A 429 moves
the row's pause on, and every process sees it at its next reservation (within `horizon`).

Times in the row are seconds since the epoch (the processes' clocks must agree, as NTP keeps them);
each process turns them into its own monotonic time.

`SenderBoard` is each process's heartbeat: what waits in its queues (so the deployment can share a lane
by priority, `bot.core.budget.allocate`), its totals, and a row per minute for `hali sending`.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Float, case, delete, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from bot.core.budget import Demand, LocalSlots, Monotonic, Sleep
from bot.core.clock import Clock
from bot.store.db import insert_ignore
from bot.store.models import SenderMinuteRow, SenderRow, SendSlotsRow

Wall = Callable[[], float]

STALE_AFTER = timedelta(seconds=15)  # a sender not heard from for this long is gone


def _greatest(dialect: str, *values: Any) -> ColumnElement[float]:
    if dialect == "postgresql":
        return func.greatest(*values, type_=Float)
    return func.max(*values, type_=Float)  # SQLite's scalar max() of several arguments


class SharedSlots:
    """A lane's permits, reserved from the store a few at a time (see the module docstring)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], dialect: str, name: str, rate: float, *,
                 wall: Wall = time.time, monotonic: Monotonic = time.monotonic, sleep: Sleep = asyncio.sleep,
                 horizon: float = 0.25, chunk: float = 0.1, headroom: float = 0.97,
                 coordinated: bool = False) -> None:
        self.sessions = sessions
        self.dialect = dialect
        self.name = name
        self.rate = rate
        self.wall = wall
        self.monotonic = monotonic
        self.sleep = sleep
        self.horizon = horizon
        self.chunk = chunk
        # Telegram's limit is strict; pacing a little under it keeps arrival jitter from costing a 429.
        self.headroom = headroom
        self._slots: deque[float] = deque()  # reserved moments, in this process's monotonic time
        self._paused_until = 0.0  # monotonic
        self._lock = asyncio.Lock()
        self._ready = False
        self._pending_pause: float | None = None  # wall time to write, if the last write failed
        self.reservations = 0
        self.discarded = 0
        self._booking: asyncio.Task[float] | None = None  # the next few moments, being booked
        # Alone: no other live process sends for the bot (the heartbeat says so), and the permits are
        # spaced here, without the store. See `set_alone`.
        self._alone = False
        self._rejoin = False
        self._local = LocalSlots(rate * headroom, monotonic=monotonic, sleep=sleep)
        # Coordinated by a heartbeat: no permit until its first beat says whether others are there;
        # just joined others: none until they have seen this process.
        self._hold_until = math.inf if coordinated else 0.0
        self._told = False

    def set_alone(self, alone: bool, *, others_must_see_me_by: float = 0.0) -> None:
        """What the heartbeat learnt: whether any other process sends for the bot.

        Alone, permits cost no round trip to the store. When others appear the lane goes back to the
        shared row, first moving it past what was sent alone; and a process that finds others already
        there waits `others_must_see_me_by` (monotonic) for them to learn of it, so that a process
        still spacing its permits alone never overlaps its shared ones.
        """
        first, self._told = not self._told, True
        if first and self._hold_until == math.inf:
            self._hold_until = 0.0 if alone else others_must_see_me_by
        if alone == self._alone:
            return
        self._alone = alone
        if alone:
            self._slots.clear()
        else:
            self._hold_until = max(self._hold_until, others_must_see_me_by)
            self._rejoin = True

    @property
    def alone(self) -> bool:
        return self._alone

    @property
    def interval(self) -> float:
        return 1.0 / (self.rate * self.headroom)

    @property
    def late(self) -> float:
        """How late a reserved moment may still be used: longer than a reservation's round trip, short
        enough (with the headroom) that no second ever holds more than the rate."""
        return max(self.interval, 0.025)

    async def _ensure_row(self) -> None:
        if self._ready:
            return
        async with self.sessions.begin() as session:
            await session.execute(insert_ignore(self.dialect, SendSlotsRow).values(
                name=self.name, next_at=0.0, paused_until=0.0, granted_from=0.0, granted=0))
        self._ready = True

    async def take(self, want: int = 1) -> float:
        """Wait for a permit; returns the moment (monotonic) it was due, or was taken if later."""
        async with self._lock:
            while True:
                now = self.monotonic()
                if self._paused_until > now:
                    self._slots.clear()
                    await self.sleep(self._paused_until - now)
                    continue
                if self._hold_until > now:
                    await self.sleep(self._hold_until - now)
                    continue
                if self._alone:
                    return await self._local.take(want)
                if self._rejoin:
                    await self._move_past_local()
                while self._slots and self._slots[0] < now - self.late:
                    self._slots.popleft()  # a moment left unused too long ago is not safe to use late
                    self.discarded += 1
                if self._slots:
                    at = self._slots.popleft()
                    self._book_ahead(want - 1)
                    if at > now:
                        await self.sleep(at - now)
                    return max(at, now)
                booking, self._booking = self._booking, None
                wait = await booking if booking is not None else await self._reserve(self._chunk(want))
                if wait > 0 and not self._slots:
                    await self.sleep(wait)

    def _chunk(self, want: int) -> int:
        return max(1, min(want, math.ceil(self.rate * self.chunk)))

    def _book_ahead(self, more: int) -> None:
        """More is waiting than is booked: book the next few now, so they follow on without a gap."""
        if more > len(self._slots) and len(self._slots) <= 1 and self._booking is None:
            self._booking = asyncio.get_running_loop().create_task(self._reserve(self._chunk(more)),
                                                                  name="hali-budget-booking")

    async def _move_past_local(self) -> None:
        """Back among others: the shared row's next moment is no earlier than this process's own next."""
        await self._ensure_row()
        until = self.wall() + max(0.0, self._local.next_free - self.monotonic())
        row = SendSlotsRow
        async with self.sessions.begin() as session:
            await session.execute(update(row).where(row.name == self.name).values(
                next_at=_greatest(self.dialect, row.next_at, literal(until, Float))))
        self._rejoin = False

    async def _reserve(self, n: int) -> float:
        """Book `n` moments; returns 0 when booked, else how long to wait before asking again."""
        await self._ensure_row()
        if self._pending_pause is not None:
            await self._write_pause(self._pending_pause)
        wall, mono = self.wall(), self.monotonic()
        row = SendSlotsRow
        base = _greatest(self.dialect, row.next_at, literal(wall, Float), row.paused_until)
        fits = base <= wall + self.horizon
        statement = (
            update(row).where(row.name == self.name)
            .values(next_at=case((fits, base + n * self.interval), else_=row.next_at),
                    granted_from=case((fits, base), else_=literal(-1.0, Float)),
                    granted=case((fits, n), else_=0))
            .returning(row.next_at, row.granted_from, row.granted, row.paused_until)
        )
        async with self.sessions.begin() as session:
            next_at, granted_from, granted, paused_until = (await session.execute(statement)).one()
        self.reservations += 1
        if granted:
            start = mono + (granted_from - wall)
            self._slots.extend(start + i * self.interval for i in range(granted))
            return 0.0
        if paused_until > wall:
            self._paused_until = max(self._paused_until, mono + (paused_until - wall))
        return max(0.005, next_at - wall - self.horizon)

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, self.monotonic() + seconds)
        self._local.pause(seconds)
        self._slots.clear()
        until = self.wall() + seconds
        self._pending_pause = max(self._pending_pause or 0.0, until)
        asyncio.get_running_loop().create_task(self._write_pause(until), name="hali-budget-pause")

    async def _write_pause(self, until: float) -> None:
        """Tell every process: nothing before `until`. Kept and tried again if the store is away."""
        row = SendSlotsRow
        try:
            await self._ensure_row()
            async with self.sessions.begin() as session:
                await session.execute(update(row).where(row.name == self.name).values(
                    paused_until=_greatest(self.dialect, row.paused_until, literal(until, Float)),
                    next_at=_greatest(self.dialect, row.next_at, literal(until, Float))))
        except Exception:  # the local pause holds meanwhile; the next reservation writes it
            return
        if self._pending_pause is not None and self._pending_pause <= until:
            self._pending_pause = None

    def throttled(self) -> None:
        """A 429 despite the pacing: pace a little further under the limit from now on."""
        self.headroom = max(0.8, self.headroom - 0.01)

    def succeeded(self) -> None:
        self.headroom = min(0.97, self.headroom + 0.0001)


@dataclass(frozen=True)
class SenderSummary:
    """One live sender, for `hali sending`."""

    id: str
    role: str
    seen_at: datetime
    answers_waiting: int
    notices_waiting: int
    paid_waiting: int
    rate: float


@dataclass(frozen=True)
class SendingReport:
    senders: tuple[SenderSummary, ...]
    sent_last_hour: int
    throttled_last_hour: int
    dropped_last_hour: int
    paused_until: datetime | None


class SenderBoard:
    """This process's heartbeat in the store, and everyone's queues as the store knows them."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], dialect: str, sender_id: str, role: str, *,
                 clock: Clock) -> None:
        self.sessions = sessions
        self.dialect = dialect
        self.id = sender_id
        self.role = role
        self.clock = clock
        self._told = (0, 0, 0)  # totals already written to the minute rows

    async def beat(self, *, answers: int, notices: int, paid: int, rate: float, sent: int, throttled: int,
                   dropped: int) -> list[SenderRow]:
        """Write this process's queues and totals; return every live sender's row (this one's included)."""
        now = self.clock()
        minute = now.replace(second=0, microsecond=0)
        d_sent, d_throttled, d_dropped = sent - self._told[0], throttled - self._told[1], dropped - self._told[2]
        async with self.sessions.begin() as session:
            row = await session.get(SenderRow, self.id)
            if row is None:
                row = SenderRow(id=self.id, role=self.role)
                session.add(row)
            row.seen_at, row.answers_waiting, row.notices_waiting, row.paid_waiting = now, answers, notices, paid
            row.rate, row.sent, row.throttled, row.dropped = rate, sent, throttled, dropped
            if d_sent or d_throttled or d_dropped:
                bucket = await session.get(SenderMinuteRow, (minute, self.id))
                if bucket is None:
                    session.add(SenderMinuteRow(minute=minute, sender=self.id, role=self.role, sent=d_sent,
                                                throttled=d_throttled, dropped=d_dropped))
                else:
                    bucket.sent += d_sent
                    bucket.throttled += d_throttled
                    bucket.dropped += d_dropped
            await session.flush()
            rows = list((await session.scalars(
                select(SenderRow).where(SenderRow.seen_at >= now - STALE_AFTER))).all())
        self._told = (sent, throttled, dropped)
        return rows

    async def leave(self) -> None:
        async with self.sessions.begin() as session:
            await session.execute(delete(SenderRow).where(SenderRow.id == self.id))

    async def prune(self, *, days: float = 2) -> None:
        """Senders long gone and minute rows older than `days`."""
        now = self.clock()
        async with self.sessions.begin() as session:
            await session.execute(delete(SenderRow).where(SenderRow.seen_at < now - timedelta(hours=1)))
            await session.execute(delete(SenderMinuteRow).where(SenderMinuteRow.minute < now - timedelta(days=days)))


def demands(rows: Sequence[SenderRow], *, paid: bool = False) -> list[Demand]:
    """The rows as one lane's demand: the free lane (answers, notices) or the paid lane (notices)."""
    if paid:
        return [Demand(r.id, 0, r.paid_waiting) for r in rows]
    return [Demand(r.id, r.answers_waiting, r.notices_waiting) for r in rows]


async def sending_report(sessions: async_sessionmaker[AsyncSession], clock: Clock) -> SendingReport:
    """Live senders' queues and rates, and the last hour's sends, 429s and drops (`hali sending`)."""
    now = clock()
    async with sessions() as session:
        live = (await session.scalars(select(SenderRow).where(SenderRow.seen_at >= now - STALE_AFTER)
                                      .order_by(SenderRow.role, SenderRow.id))).all()
        sent, throttled, dropped = (await session.execute(
            select(func.coalesce(func.sum(SenderMinuteRow.sent), 0),
                   func.coalesce(func.sum(SenderMinuteRow.throttled), 0),
                   func.coalesce(func.sum(SenderMinuteRow.dropped), 0))
            .where(SenderMinuteRow.minute >= now - timedelta(hours=1)))).one()
        paused = await session.scalar(select(func.max(SendSlotsRow.paused_until)))
    pause = datetime.fromtimestamp(paused, now.tzinfo) if paused and paused > now.timestamp() else None
    return SendingReport(
        tuple(SenderSummary(r.id, r.role, r.seen_at, r.answers_waiting, r.notices_waiting, r.paid_waiting, r.rate)
              for r in live),
        int(sent), int(throttled), int(dropped), pause,
    )
