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
from typing import Any

from bot.catalog.loader import load_catalog
from bot.config import Settings
from bot.core.board import StatusBoard
from bot.core.clock import Clock, system_clock
from bot.engine import Engine
from bot.report_followups import install_follow_ups
from bot.sources import make_board
from bot.store.repo import Store
from bot.store.reports import CrowdSignals, ReportStore, report_store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class App:
    settings: Settings
    store: Store
    reports: ReportStore
    board: StatusBoard  # the bot's, with its short cache
    engine: Engine

    def watch_board(self) -> StatusBoard:
        """The same sources without the cache, for the status watcher."""
        return StatusBoard(self.store, max_age=0, providers=self.board.providers, details=self.board.details)


async def open_store(settings: Settings, *, clock: Clock = system_clock, prepare: bool = True) -> Store:
    """The store, migrated and with the bundled catalogue loaded (operators' edits kept)."""
    store = Store.from_url(settings.database_url, clock=clock)
    if prepare:
        try:
            await store.upgrade()
            await store.load_catalog(load_catalog())
            settings.check_scopes(await store.service_ids())
        except BaseException:
            await store.close()
            raise
    return store


def assemble(settings: Settings, store: Store, *, channel_link: str | None = None,
             cache_seconds: float | None = None) -> App:
    """The parts every front-end answers from, wired once."""
    reports = report_store(store, settings)
    if reports.erase_chat not in store.erasers:
        store.erasers.append(reports.erase_chat)
    links = incident_links(settings)
    install_follow_ups(reports, links)
    max_age = settings.status_cache_seconds if cache_seconds is None else cache_seconds
    board = make_board(store, max_age=max_age, extra=[CrowdSignals(reports)])
    engine = Engine(board, clock=store.clock, outbox=store.outbox, channel_link=channel_link, incident_link=links)
    return App(settings, store, reports, board, engine)


def incident_links(settings: Settings) -> Callable[[int], str] | None:
    """An incident's public record by its id, once HALI_PUBLIC_URL says where the status page is."""
    public_url = settings.public_url
    if public_url is None:
        return None
    from bot.web import incident_url  # the web part imports this module

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
    error is logged, and the others go on.
    """

    jobs: list[_Job] = field(default_factory=list)

    def add(self, name: str, run: Callable[[], Coroutine[Any, Any, Any]], *,
            stop: Callable[[], Awaitable[None]] | None = None) -> None:
        self.jobs.append(_Job(name, run, stop))

    def start(self) -> None:
        for job in self.jobs:
            job.task = asyncio.create_task(self._guard(job), name=f"hali-{job.name}")

    async def _guard(self, job: _Job) -> None:
        try:
            await job.run()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background job %s stopped with an error", job.name)

    async def stop(self, grace: float = 5.0) -> None:
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
