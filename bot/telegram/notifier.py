"""Notifications on Telegram: the dispatcher with a Bot of its own, and the status watcher.

`hali run` runs both beside the bot; `hali dispatch` runs an extra dispatcher on its own (scaling out on
PostgreSQL). Only one watcher is needed, but more are harmless: each tick takes a lock, so a change is
announced once. Every message the dispatcher sends is an item of the process's send budget.
"""

from __future__ import annotations

from bot.app import App, incident_links
from bot.config import Settings
from bot.core.budget import Priority, SendBudget
from bot.core.clock import Clock, system_clock
from bot.core.dispatcher import Dispatcher, DispatchSettings
from bot.core.recipient import Recipient
from bot.core.watcher import StatusWatcher
from bot.render.checks import dependency_wording
from bot.render.notify import composer
from bot.store.repo import Store
from bot.telegram.outbound import TelegramSender, pool_size


def dispatch_settings(settings: Settings, budget: SendBudget) -> DispatchSettings:
    rate = budget.lane(Priority.NOTICE).slots.rate
    return DispatchSettings(rate=rate, max_age=settings.notify_max_age)


def build_dispatcher(
    settings: Settings, store: Store, budget: SendBudget, *, channel: tuple[Recipient, str | None] | None,
    clock: Clock = system_clock,
) -> tuple[Dispatcher, TelegramSender]:
    """A dispatcher with its own Bot, its connection pool sized for the notifications' lane."""
    if settings.token is None:
        raise ValueError("a bot token is needed to send notifications")
    options = dispatch_settings(settings, budget)
    lane = budget.lane(Priority.NOTICE)
    sender = TelegramSender.create(
        settings.token, settings.api_base_url,
        connections=pool_size(options.rate, lane.inflight), paid_broadcast=settings.paid_broadcast,
    )
    channel_id, link = (channel[0].chat_id, channel[1]) if channel is not None else (None, None)
    compose = composer(clock, channel=link, incident_link=incident_links(settings))
    dispatcher = Dispatcher(store.outbox, sender, store.catalog, compose, budget=budget,
                            settings=options, channel_id=channel_id, clock=clock)
    return dispatcher, sender


def build_watcher(app: App) -> StatusWatcher:
    """The watcher sees every source the bot answers from (checks, maintenance, citizens' reports),
    without the bot's short cache."""
    settle = app.settings.settle_seconds
    return StatusWatcher(app.watch_board(), app.store.watch_states, settle=settle,
                         interval=min(10.0, max(1.0, settle / 4)), clock=app.store.clock,
                         wording=dependency_wording, outbox=app.store.outbox)
