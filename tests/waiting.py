"""Waiting in tests for what another task or connection delivers, without sleeping longer than it takes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def until(condition: Callable[[], bool], what: str, *, within: float = 5.0, every: float = 0.001) -> None:
    """Return as soon as `condition()` holds (asked every `every` seconds); fail naming `what` if it does not
    within `within` seconds."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(every)
