"""The composition root: the one place that builds Hali's parts, in order, for every command.

    store = await open_store(settings)           # migrated, the catalogue loaded, scopes checked
    app = assemble(settings, store)              # the report store, the board, the engine
    jobs = Jobs(); jobs.add("checks", …)          # what runs in the background, started and stopped in order

`hali run` adds the Telegram front-end (`bot/run.py`), `hali dispatch` a dispatcher, the other commands
use the parts they need; the tests and benchmarks build through here too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any

from bot.config import Settings
from bot.core.board import StatusBoard
from bot.core.clock import Clock, system_clock
from bot.core.reports import ReportPolicy
from bot.services.answers import Engine
from bot.services.follow_ups import follow_up_hook
from bot.services.links import incident_url
from bot.services.sources import make_board
from bot.store.repo import Store
from bot.store.reports import CrowdSignals, ReportStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class App:
    settings: Settings
    store: Store
    board: StatusBoard  # the bot's, with its short cache
    engine: Engine

    @property
    def reports(self) -> ReportStore:
        """Citizens' reports: a part of the store."""
        return self.store.reports

    def watch_board(self) -> StatusBoard:
        """The same sources without the cache, for the status watcher."""
        return StatusBoard(self.store, max_age=0, providers=self.board.providers, details=self.board.details)


def make_store(settings: Settings, *, clock: Clock = system_clock) -> Store:
    """The store on the configured database, with every part it keeps built in (not yet migrated)."""
    return Store.from_url(settings.database_url, clock=clock, timeouts=settings.store_timeouts(),
                          report_key_secret=settings.report_key_secret, report_policy=report_policy(settings),
                          on_return=(partial(follow_up_hook, incident_link=incident_links(settings)),))


async def open_store(settings: Settings, *, clock: Clock = system_clock, prepare: bool = True) -> Store:
    """The store, migrated and with the bundled catalogue loaded (operators' edits and files kept)."""
    store = make_store(settings, clock=clock)
    if prepare:
        try:
            await ensure_ready(store)
            settings.check_scopes(await store.service_ids())
        except BaseException:
            await store.close()
            raise
    return store


async def ensure_ready(store: Store) -> None:
    """Create or migrate the schema and load the bundled catalogue (operators' edits are kept)."""
    await store.upgrade()
    await store.load_bundled_catalog()


def report_policy(settings: Settings) -> ReportPolicy:
    """The limits on citizens' reports the settings choose."""
    return ReportPolicy(daily_cap=settings.report_daily_cap,
                        retention=timedelta(days=settings.report_retention_days),
                        flow_timeout=timedelta(minutes=settings.report_flow_timeout_minutes))


def assemble(settings: Settings, store: Store, *, channel_link: str | None = None,
             cache_seconds: float | None = None) -> App:
    """The parts every front-end answers from, wired once."""
    reports = store.reports
    links = incident_links(settings)
    max_age = settings.status_cache_seconds if cache_seconds is None else cache_seconds
    board = make_board(store, max_age=max_age, extra=[CrowdSignals(reports)])
    engine = Engine(board, clock=store.clock, following=store.subscriptions, channel_link=channel_link,
                    incident_link=links)
    return App(settings, store, board, engine)


def incident_links(settings: Settings) -> Callable[[int], str] | None:
    """An incident's public record by its id, once HALI_PUBLIC_URL says where the status page is."""
    public_url = settings.public_url
    if public_url is None:
        return None
    return lambda incident_id: incident_url(public_url, incident_id)


def channel_link(settings: Settings, stored: str | None = None) -> str | None:
    """The public channel's link: t.me/<name> for "@name", else what Telegram gave at start-up."""
    if settings.channel is None:
        return None
    if settings.channel.startswith("@"):
        return f"https://t.me/{settings.channel[1:]}"
    return stored


@dataclass
class _Job:
    name: str
    run: Callable[[], Coroutine[Any, Any, Any]]
    stop: Callable[[], Awaitable[None]] | None
    task: asyncio.Task[Any] | None = None


@dataclass
class Jobs:
    """What runs in the background, in one list: started in order, stopped in the reverse order.

    A job is a coroutine function; `stop`, when given, asks it to finish on its own (it is awaited,
    then the task is given `grace` seconds before it is cancelled). A job that ends by itself with an
    error is logged and started again after `restart_first` seconds, twice as long each time it fails
    again soon after (at most `restart_max`); the others go on.
    """

    jobs: list[_Job] = field(default_factory=list)
    restart_first: float = 1.0
    restart_max: float = 60.0
    stopping: bool = False

    def add(self, name: str, run: Callable[[], Coroutine[Any, Any, Any]], *,
            stop: Callable[[], Awaitable[None]] | None = None) -> None:
        self.jobs.append(_Job(name, run, stop))

    def start(self) -> None:
        for job in self.jobs:
            job.task = asyncio.create_task(self._guard(job), name=f"hali-{job.name}")

    async def _guard(self, job: _Job) -> None:
        loop = asyncio.get_running_loop()
        delay = self.restart_first
        while True:
            started = loop.time()
            try:
                await job.run()
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                if self.stopping:
                    log.exception("background job %s stopped with an error", job.name)
                    return
                if loop.time() - started > self.restart_max:
                    delay = self.restart_first  # it ran well for a while: a new failure, not the same one
                log.exception("background job %s stopped with an error; starting it again in %.0f s",
                              job.name, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.restart_max)
            if self.stopping:
                return

    async def stop(self, grace: float = 5.0) -> None:
        self.stopping = True
        for job in reversed(self.jobs):
            if job.stop is not None:
                try:
                    await job.stop()
                except Exception:
                    log.exception("stopping %s failed", job.name)
            task = job.task
            if task is None:
                continue
            if job.stop is not None:
                with contextlib.suppress(TimeoutError, asyncio.CancelledError, Exception):
                    await asyncio.wait_for(asyncio.shield(task), grace)
            if not task.done():
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    @property
    def names(self) -> list[str]:
        return [job.name for job in self.jobs]
