"""The process's send budget, built on the store's shared slots, and its heartbeat.

`shared_budget` makes the lanes a deployment shares (see `bot/core/budget.py` and
`bot/store/budget.py`); `Coordinator` tells the store what waits here every half second and takes
this process's part of each lane (`bot.core.budget.allocate`). When the store cannot be reached the
last parts stand, and the slots themselves still keep every process under the limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass

from bot.config import Settings
from bot.core.budget import ChatPacer, Lane, Monotonic, Priority, SendBudget, Sleep, allocate
from bot.store.budget import SenderBoard, SharedSlots, demands
from bot.store.repo import Store

log = logging.getLogger(__name__)

NOTICE_SHARE = 0.2  # while citizens wait, notifications still get a fifth of the budget


def sender_id(role: str) -> str:
    return f"{role}:{socket.gethostname()[:24]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class Budgeted:
    budget: SendBudget
    coordinator: Coordinator


def shared_budget(settings: Settings, store: Store, *, role: str, monotonic: Monotonic = time.monotonic,
                  sleep: Sleep = asyncio.sleep, inflight: int = 32) -> Budgeted:
    """This process's lanes on the deployment's shared slots, and the heartbeat that shares them."""
    dialect = store.engine.dialect.name
    pacer = ChatPacer()
    free = Lane("free", SharedSlots(store.sessions, dialect, "free", settings.send_rate, monotonic=monotonic,
                                    sleep=sleep, coordinated=True),
                share=NOTICE_SHARE, inflight=inflight, pacer=pacer, monotonic=monotonic, sleep=sleep)
    lanes = {Priority.ANSWER: free, Priority.NOTICE: free}
    if settings.paid_broadcast:
        paid_inflight = settings.broadcast_inflight or min(32, max(1, int(settings.broadcast_rate / 10)))
        lanes[Priority.NOTICE] = Lane(
            "paid", SharedSlots(store.sessions, dialect, "paid", settings.broadcast_rate, monotonic=monotonic,
                                sleep=sleep, coordinated=True),
            share=0.0, inflight=paid_inflight, pacer=pacer, monotonic=monotonic, sleep=sleep)
    budget = SendBudget(lanes)
    board = SenderBoard(store.sessions, dialect, sender_id(role), role, clock=store.clock)
    return Budgeted(budget, Coordinator(budget, board, share=NOTICE_SHARE, sleep=sleep, monotonic=monotonic))


class Coordinator:
    """The heartbeat: this process's queues to the store, its part of each lane back."""

    def __init__(self, budget: SendBudget, board: SenderBoard, *, share: float, interval: float = 0.5,
                 sleep: Sleep = asyncio.sleep, monotonic: Monotonic = time.monotonic) -> None:
        self.budget = budget
        self.board = board
        self.share = share
        self.interval = interval
        self.sleep = sleep
        self._failing = False
        self._stopping = asyncio.Event()
        self.monotonic = monotonic

    async def run(self) -> None:
        """Beat until stopped; then leave the store's list of senders."""
        try:
            await self._beat_until_stopped()
        finally:
            await self.leave()

    async def stop(self) -> None:
        self._stopping.set()

    async def _beat_until_stopped(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.beat()
                if self._failing:
                    log.info("the send budget reaches the store again")
                self._failing = False
            except asyncio.CancelledError:
                raise
            except Exception:
                if not self._failing:
                    log.warning("the send budget could not reach the store; keeping its last share",
                                exc_info=True)
                self._failing = True
                for lane in self.budget.lanes:
                    if isinstance(lane.slots, SharedSlots):
                        # Unseen by others now: spacing alone could overlap a newcomer's permits.
                        lane.slots.set_alone(False)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.interval)

    async def beat(self) -> None:
        free = self.budget.lane(Priority.ANSWER)
        paid = self.budget.lane(Priority.NOTICE)
        free_depth = free.depth()
        paid_waiting = paid.depth()[Priority.NOTICE] if paid is not free else 0
        lanes = self.budget.lanes
        rows = await self.board.beat(
            answers=free_depth[Priority.ANSWER], notices=free_depth[Priority.NOTICE], paid=paid_waiting,
            rate=sum(lane.rate_now() for lane in lanes), sent=sum(lane.stats.sent for lane in lanes),
            throttled=sum(lane.stats.throttled for lane in lanes), dropped=sum(lane.stats.dropped for lane in lanes))
        me = self.board.id
        alone = not any(r.id != me for r in rows)
        for lane in lanes:
            if isinstance(lane.slots, SharedSlots):
                # Found others: they learn of this process within two beats; until then it waits.
                lane.slots.set_alone(alone, others_must_see_me_by=self.monotonic() + 2 * self.interval)
        free.caps = allocate(demands(rows), me, free.slots.rate, self.share)
        log.debug("budget %s: depth %s caps %s rate %.1f discarded %s reservations %s", me[:12], free_depth,
                  free.caps, free.rate_now(), getattr(free.slots, "discarded", None),
                  getattr(free.slots, "reservations", None))
        if paid is not free:
            paid.caps = allocate(demands(rows, paid=True), me, paid.slots.rate, 0.0)

    async def leave(self) -> None:
        try:
            await self.board.leave()
        except Exception:
            log.warning("could not remove this sender from the store", exc_info=True)
