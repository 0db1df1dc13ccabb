"""Running notifications beside the bot: the status watcher and a dispatcher as background tasks.

`hali run` starts both in the Application's post_init and stops them in post_shutdown; `hali dispatch`
runs an extra dispatcher on its own (scaling out on PostgreSQL). Only one watcher is needed, but more
are harmless: each tick takes a lock, so a change is announced once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from bot.config import Settings
from bot.core.board import StatusBoard
from bot.core.clock import Clock, system_clock
from bot.core.dispatcher import Dispatcher, DispatchSettings
from bot.core.watcher import StatusWatcher
from bot.render.notify import composer
from bot.store.repo import Store
from bot.telegram.context import HaliApplication
from bot.telegram.sender import TelegramSender, pool_size

log = logging.getLogger(__name__)


def dispatch_settings(settings: Settings) -> DispatchSettings:
    return DispatchSettings(rate=settings.broadcast_rate, inflight=settings.broadcast_inflight)


def build_dispatcher(settings: Settings, store: Store, *, clock: Clock = system_clock) -> tuple[Dispatcher,
                                                                                               TelegramSender]:
    """A dispatcher with its own Bot, its connection pool sized for the broadcast rate."""
    if settings.token is None:
        raise ValueError("a bot token is needed to send notifications")
    options = dispatch_settings(settings)
    sender = TelegramSender.create(
        settings.token, settings.api_base_url,
        connections=pool_size(options.rate, options.concurrency()), paid_broadcast=settings.paid_broadcast,
    )
    dispatcher = Dispatcher(store.outbox, sender, store.catalog, composer(clock), settings=options)
    return dispatcher, sender


@dataclass
class Notifier:
    watcher: StatusWatcher
    dispatcher: Dispatcher
    sender: TelegramSender
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self) -> None:
        await self.sender.start()
        self.tasks = [
            asyncio.create_task(self.watcher.run(), name="hali-status-watcher"),
            asyncio.create_task(self.dispatcher.run(), name="hali-dispatcher"),
        ]
        log.info("notifications: watcher (settle %ss) and dispatcher (%g msg/s) started",
                 self.watcher.settle, self.dispatcher.settings.rate)

    async def stop(self, grace: float = 5.0) -> None:
        """Let the sends under way finish (so none is left unconfirmed), then stop."""
        watcher, dispatcher = self.tasks or (None, None)
        if watcher is not None:
            watcher.cancel()
        if dispatcher is not None:
            self.dispatcher.stop()
            try:
                await asyncio.wait_for(asyncio.shield(dispatcher), grace)
            except TimeoutError:
                dispatcher.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.sender.close()


async def start(application: HaliApplication) -> None:
    """post_init: build and start the notifier for the application's store and settings."""
    hali = application.bot_data["hali"]
    settings: Settings = hali.settings
    dispatcher, sender = build_dispatcher(settings, hali.store)
    # The watcher sees every source the bot answers from (checks, maintenance, citizens' reports),
    # without the bot's short cache.
    board = StatusBoard(hali.store, max_age=0, providers=hali.engine.board.providers)
    watcher = StatusWatcher(
        board, hali.store.outbox, settle=settings.settle_seconds,
        interval=min(10.0, max(1.0, settings.settle_seconds / 4)),
    )
    notifier = Notifier(watcher, dispatcher, sender)
    application.bot_data["notifier"] = notifier
    await notifier.start()


async def stop(application: HaliApplication) -> None:
    """post_shutdown: stop the notifier if it was started."""
    notifier = application.bot_data.pop("notifier", None)
    if isinstance(notifier, Notifier):
        await notifier.stop()
