"""Background jobs that run every so often inside the bot's event loop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


RETRY_FIRST = 5.0


async def every(seconds: float, job: Callable[[], Awaitable[object]], *, name: str, first_delay: float = 0.0,
                retry_first: float = RETRY_FIRST) -> None:
    """Run `job` now (after `first_delay`) and then every `seconds`, until cancelled.

    A failing run is logged and tried again after `retry_first` seconds, then twice as long each time
    it fails again, never longer than `seconds`: a store that is down for a minute must neither stop
    retention for good nor put it off for an hour.
    """
    await asyncio.sleep(first_delay)
    retry = retry_first
    while True:
        try:
            result = await job()
            log.info("%s done: %s", name, result)
            pause, retry = seconds, retry_first
        except asyncio.CancelledError:
            raise
        except Exception:
            pause, retry = min(retry, seconds), min(retry * 2, seconds)
            log.exception("%s failed; trying again in %.0f s", name, pause)
        await asyncio.sleep(pause)
