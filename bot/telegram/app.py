"""Wiring: the Application, its handlers in the order they are tried, and how updates reach it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from telegram import Bot, BotCommand, Update
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.app import App
from bot.config import ConfigError, Settings
from bot.core.actions import Follow, RemoveAlert, ReportStart, ReportStep, Unfollow, matches
from bot.core.budget import SendBudget
from bot.core.understanding import Intent
from bot.i18n import translator
from bot.store.inbox import Inbox
from bot.telegram import alerts, handlers, operators, reports
from bot.telegram.context import Hali, HaliApplication, HaliContext
from bot.telegram.inbox import InboxWorker, Poller
from bot.telegram.outbound import BudgetLimiter, Outbound
from bot.telegram.transport import AiohttpRequest, bot_api_requests

log = logging.getLogger(__name__)

ALLOWED_UPDATES = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY]


def build_application(app: App, budget: SendBudget, **builder_options: Any) -> HaliApplication:
    """The bot, with every handler; `builder_options` lets tests swap the request transport.

    Updates do not come through python-telegram-bot's Updater: the inbox (`bot/telegram/inbox.py`)
    keeps them first and hands them to `process_update`.
    """
    settings = app.settings
    if settings.token is None:
        raise ValueError("a bot token is needed to build the Telegram application")
    builder = (
        ApplicationBuilder()
        .token(settings.token)
        .base_url(settings.api_base_url)
        .context_types(ContextTypes(context=HaliContext))
        .rate_limiter(BudgetLimiter(budget, max_wait=settings.reply_max_wait))
        .updater(None)
    )
    # Hali's own transport (bot/telegram/transport.py), unless the caller brings one.
    if not {"request", "get_updates_request"} & builder_options.keys():
        builder_options = {**bot_api_requests(), **builder_options}
    for name, value in builder_options.items():
        builder = getattr(builder, name)(value)
    application: HaliApplication = builder.build()
    application.bot_data["hali"] = Hali(settings, app.store, app.engine)
    application.bot_data["outbound"] = Outbound(application.bot, budget, reply_max_wait=settings.reply_max_wait)
    add_handlers(application)
    return application


@dataclass
class TelegramFront:
    """The bot on Telegram: the Application, and the inbox that feeds it (polled, or by webhook)."""

    application: HaliApplication
    inbox: Inbox
    worker: InboxWorker
    poller: Poller


def telegram_front(app: App, budget: SendBudget, *, concurrency: int = 32, poll_timeout: int | None = None,
                   on_done: Callable[[int], None] | None = None, on_answered: Callable[[float], None] | None = None,
                   **builder_options: Any) -> TelegramFront:
    application = build_application(app, budget, **builder_options)
    inbox = app.store.inbox
    worker = InboxWorker(application, inbox, concurrency=concurrency, on_done=on_done, on_answered=on_answered)
    timeout = app.settings.poll_timeout_seconds if poll_timeout is None else poll_timeout
    poller = Poller(application.bot, inbox, worker.wake, timeout=timeout, allowed_updates=ALLOWED_UPDATES,
                    direct=worker.take)
    return TelegramFront(application, inbox, worker, poller)


def add_handlers(application: HaliApplication) -> None:
    edited = filters.UpdateType.EDITED
    application.bot_data[handlers.INTENT_ROUTES] = {Intent.REPORT: reports.report_from_text}
    # A report being written takes the text it waits for before anything else sees it.
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE & ~edited,
                                           reports.flow_text), group=-1)
    application.add_handler(MessageHandler(edited, handlers.edited_message))
    # Most updates are plain questions: they should not walk past every command handler first.
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND & ~edited, handlers.text_message))
    application.add_handler(CommandHandler("start", reports.start_report,
                                           filters=filters.Regex(r"^/start(@\w+)? report(-[a-z0-9-]+)?\s*$") & ~edited))
    deep_link = filters.Regex(alerts.DEEP_LINK)
    application.add_handler(CommandHandler("start", alerts.start_link, filters=~edited & deep_link))
    application.add_handler(CommandHandler("start", handlers.start, filters=~edited))
    application.add_handler(CommandHandler("help", handlers.help_command, filters=~edited))
    application.add_handler(CommandHandler("services", handlers.services_command, filters=~edited))
    application.add_handler(CommandHandler("status", handlers.status_command, filters=~edited))
    application.add_handler(CommandHandler(["language", "lugha"], handlers.language_command, filters=~edited))
    application.add_handler(CommandHandler("privacy", handlers.privacy_command, filters=~edited))
    application.add_handler(CommandHandler("forget", handlers.forget_command, filters=~edited))
    application.add_handler(CommandHandler("report", reports.report_command, filters=~edited))
    application.add_handler(CommandHandler(["subscribe", "notify"], alerts.subscribe_command, filters=~edited))
    application.add_handler(CommandHandler(["unsubscribe", "stop"], alerts.unsubscribe_command, filters=~edited))
    application.add_handler(CommandHandler("alerts", alerts.alerts_command, filters=~edited))
    application.add_handler(CommandHandler("quiet", alerts.quiet_command, filters=~edited))
    application.add_handler(MessageHandler(filters.COMMAND & ~edited, handlers.unknown_command))
    application.add_handler(MessageHandler(~filters.TEXT & ~edited, handlers.other_message))
    application.add_handler(CallbackQueryHandler(reports.flow_button, pattern=matches(ReportStart, ReportStep)))
    application.add_handler(CallbackQueryHandler(alerts.button, pattern=matches(Follow, Unfollow, RemoveAlert)))
    application.add_handler(CallbackQueryHandler(handlers.button))
    application.add_error_handler(handlers.error_handler)
    operators.add_operator_handlers(application)  # group -2: only HALI_ADMIN_IDS reach them


async def publish_commands(application: HaliApplication) -> None:
    """Publish the command list in both languages; Telegram shows the one matching the user's app."""
    for lang in ("en", "sw"):
        t = translator(lang)
        commands = [
            BotCommand("status", t._("Is a service working?")),
            BotCommand("services", t._("All services and their state")),
            BotCommand("report", t._("Report a problem with a service")),
            BotCommand("subscribe", t._("Get an alert when a service fails or is back")),
            BotCommand("alerts", t._("Your alerts and quiet hours")),
            BotCommand("language", t._("English or Kiswahili")),
            BotCommand("privacy", t._("What Hali keeps about you")),
            BotCommand("forget", t._("Erase your data")),
            BotCommand("help", t._("How to use Hali")),
        ]
        await application.bot.set_my_commands(commands, language_code=None if lang == "en" else lang)
    log.info("Hali is running as @%s", application.bot.username)


async def resolve_channel(settings: Settings) -> tuple[int, str | None] | None:
    """HALI_CHANNEL as Telegram knows it: its chat id and link; the bot must be allowed to post there."""
    if settings.channel is None or settings.token is None:
        return None
    target: int | str = int(settings.channel) if settings.channel.lstrip("-").isdigit() else settings.channel
    request = AiohttpRequest(connection_pool_size=2)
    async with Bot(settings.token, base_url=settings.api_base_url, request=request) as bot:
        try:
            chat = await bot.get_chat(target)
            member = await bot.get_chat_member(chat.id, bot.id)
        except (BadRequest, Forbidden) as exc:
            raise ConfigError(f"HALI_CHANNEL {settings.channel}: Telegram says {exc.message!r} "
                              "(add the bot to the channel as an administrator)") from None
        except TelegramError as exc:
            raise ConfigError(f"HALI_CHANNEL {settings.channel}: could not ask Telegram ({exc})") from None
    if chat.type != chat.CHANNEL:
        raise ConfigError(f"HALI_CHANNEL {settings.channel} is a {chat.type}, not a channel")
    if member.status not in ("administrator", "creator") or getattr(member, "can_post_messages", True) is False:
        raise ConfigError(f"HALI_CHANNEL {settings.channel}: the bot is not allowed to post there "
                          "(make it an administrator who can post messages)")
    link = f"https://t.me/{chat.username}" if chat.username else chat.invite_link
    return chat.id, link
