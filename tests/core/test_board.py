"""The status board when the store stops answering: the last good snapshot, marked stale, or the failure."""

from __future__ import annotations

import pytest

from bot.catalog.loader import load_catalog
from bot.catalog.model import Catalog
from bot.core.board import StatusBoard
from bot.core.clock import FrozenClock
from bot.core.status import Incident


class FlakySource:
    """A status source that answers until told to fail, counting what it was asked."""

    def __init__(self) -> None:
        self.failing = False
        self.asked = 0

    async def catalog(self) -> Catalog:
        self.asked += 1
        if self.failing:
            raise ConnectionRefusedError(111, "Connection refused")
        return load_catalog()

    async def incidents(self, *, open_only: bool = False, limit: int = 200) -> list[Incident]:
        return []


async def test_a_failed_refresh_serves_the_last_good_snapshot_marked_stale_with_its_time() -> None:
    source, clock = FlakySource(), FrozenClock()
    board = StatusBoard(source, max_age=0, keep_last=True, retry_after=60, clock=clock)
    good = await board.snapshot()
    assert not good.stale and good.taken_at == clock.now
    taken = clock.now
    clock.advance(minutes=5)
    source.failing = True
    stale = await board.snapshot()
    assert stale.stale and stale.taken_at == taken and stale.catalog is good.catalog
    asked = source.asked
    assert (await board.snapshot()) is stale and source.asked == asked, "not asked again before retry_after"
    source.failing = False
    board.invalidate()
    fresh = await board.snapshot()
    assert not fresh.stale and fresh.taken_at == clock.now


async def test_without_a_good_snapshot_or_keep_last_the_failure_is_raised() -> None:
    source = FlakySource()
    source.failing = True
    with pytest.raises(ConnectionRefusedError):
        await StatusBoard(source, max_age=0, keep_last=True).snapshot()
    source.failing = False
    board = StatusBoard(source, max_age=0)
    await board.snapshot()
    source.failing = True
    with pytest.raises(ConnectionRefusedError):
        await board.snapshot()
