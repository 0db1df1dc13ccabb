"""Background jobs that run every so often inside the bot's event loop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


async def every(seconds: float, job: Callable[[], Awaitable[object]], *, name: str, first_delay: float = 0.0) -> None:
    """Run `job` now (after `first_delay`) and then every `seconds`, until cancelled.

    A failing run is logged and the next one happens on schedule: a store that is down for a minute
    must not stop retention for good.
    """
    await asyncio.sleep(first_delay)
    while True:
        try:
            result = await job()
            log.info("%s done: %s", name, result)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s failed; trying again in %.0f s", name, seconds)
        await asyncio.sleep(seconds)
