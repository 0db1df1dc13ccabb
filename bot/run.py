"""`hali run`: prepare the store, then poll Telegram until stopped."""

from __future__ import annotations

import asyncio
import gc
import logging
import sys

from bot.config import ConfigError, Settings
from bot.core.probe import Prober
from bot.engine import Engine
from bot.i18n import load_translators
from bot.runner import CheckRunner
from bot.sources import make_board
from bot.store.repo import Store
from bot.store.reports import CrowdSignals, report_store
from bot.telegram import notifier
from bot.telegram.app import ALLOWED_UPDATES, build_application
from bot.telegram.context import Hali, HaliApplication
from bot.telegram.reports import stop_retention

log = logging.getLogger(__name__)


def run_bot(settings: Settings, *, checks: bool = True, concurrent_updates: int | None = None) -> int:
    """Poll until stopped. `checks=False` leaves out the automatic checks (they probe the real sites)."""
    load_translators()  # fail now, not at the first message, if a catalog is missing
    store = Store.from_url(settings.database_url)

    async def prepare() -> None:
        from bot.cli import ensure_ready

        try:
            await ensure_ready(store)
            settings.check_scopes(await store.service_ids())
        finally:
            await store.close()

    try:
        asyncio.run(prepare())
    except ConfigError as exc:
        print(f"hali: configuration error: {exc}", file=sys.stderr)
        return 2
    # A fresh engine pool for the polling loop: the one above belonged to a loop that has ended.
    store = Store.from_url(settings.database_url)
    reports = report_store(store, settings)
    board = make_board(store, max_age=settings.status_cache_seconds, extra=[CrowdSignals(reports)])
    engine = Engine(board)
    hali = Hali(settings, store, engine, reports)
    application = (build_application(hali) if concurrent_updates is None
                   else build_application(hali, concurrent_updates=concurrent_updates))
    runner_slot: list[CheckRunner] = []
    wired_init = application.post_init

    async def _init(app: HaliApplication) -> None:
        if wired_init is not None:
            await wired_init(app)
        if checks:
            # Created here, on the polling loop, so its client and tasks live on the right loop.
            runner = CheckRunner(store, Prober(concurrency=settings.check_concurrency))
            runner.start()
            runner_slot.append(runner)
            log.info("automatic checks started (one runner per deployment, elected by a lease)")
        # What is loaded by now (modules, catalogs, the schema, the application) lives as long as the
        # process: out of the collector's sight, every full collection walks only what updates create.
        gc.collect()
        gc.freeze()

    async def _close(app: HaliApplication) -> None:
        await notifier.stop(app)
        await stop_retention(app)
        for runner in runner_slot:
            await runner.stop()
            await runner.prober.close()
        await store.close()

    application.post_init = _init
    application.post_shutdown = _close
    log.info("starting long polling against %s", settings.api_base_url)
    application.run_polling(
        allowed_updates=ALLOWED_UPDATES,
        timeout=settings.poll_timeout_seconds,
        drop_pending_updates=False,
    )
    return 0
