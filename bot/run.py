"""`hali run`: prepare the store, then poll Telegram until stopped."""

from __future__ import annotations

import asyncio
import logging

from telegram import Update

from bot.config import Settings
from bot.core.board import StatusBoard
from bot.engine import Engine
from bot.i18n import load_translators
from bot.store.repo import Store
from bot.telegram import notifier
from bot.telegram.app import build_application
from bot.telegram.context import Hali, HaliApplication

log = logging.getLogger(__name__)


def run_bot(settings: Settings) -> int:
    load_translators()  # fail now, not at the first message, if a catalog is missing
    store = Store.from_url(settings.database_url)

    async def prepare() -> None:
        from bot.cli import ensure_ready

        await ensure_ready(store)
        await store.close()

    asyncio.run(prepare())
    # A fresh engine pool for the polling loop: the one above belonged to a loop that has ended.
    store = Store.from_url(settings.database_url)
    engine = Engine(StatusBoard(store, max_age=settings.status_cache_seconds))
    application = build_application(Hali(settings, store, engine))

    async def _close(app: HaliApplication) -> None:
        await notifier.stop(app)
        await store.close()

    application.post_shutdown = _close
    log.info("starting long polling against %s", settings.api_base_url)
    application.run_polling(
        allowed_updates=[Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY],
        timeout=settings.poll_timeout_seconds,
        drop_pending_updates=False,
    )
    return 0
