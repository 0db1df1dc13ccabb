"""Wiring: the Application, its handlers in the order they are tried, start-up and shut-down."""

from __future__ import annotations

import logging
from typing import Any

from telegram import BotCommand, Update
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.core.understanding import Intent
from bot.i18n import translator
from bot.report_followups import install_follow_ups
from bot.telegram import alerts, handlers, notifier, operators, reports
from bot.telegram.context import Hali, HaliApplication, HaliContext
from bot.telegram.transport import bot_api_requests

log = logging.getLogger(__name__)



def build_application(hali: Hali, *, concurrent_updates: int = 32, **builder_options: Any) -> HaliApplication:
    """The bot, with every handler; `builder_options` lets tests swap the request transport."""
    settings = hali.settings
    if settings.token is None:
        raise ValueError("a bot token is needed to build the Telegram application")
    builder = (
        ApplicationBuilder()
        .token(settings.token)
        .base_url(settings.api_base_url)
        .context_types(ContextTypes(context=HaliContext))
        .concurrent_updates(concurrent_updates)
        .post_init(_post_init)
    )
    # Hali's own transport (bot/telegram/transport.py), unless the caller brings one.
    if not {"request", "get_updates_request"} & builder_options.keys():
        builder_options = {**bot_api_requests(), **builder_options}
    for name, value in builder_options.items():
        builder = getattr(builder, name)(value)
    application: HaliApplication = builder.build()
    if hali.engine.outbox is None:
        hali.engine.outbox = hali.store.outbox
    application.bot_data["hali"] = hali
    hali.store.erasers.append(hali.report_store.erase_chat)
    install_follow_ups(hali.report_store)
    add_handlers(application)
    return application


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
    application.add_handler(CallbackQueryHandler(reports.flow_button, pattern=r"^r[pf]:"))
    application.add_handler(CallbackQueryHandler(alerts.button, pattern=r"^[nxu]:"))
    application.add_handler(CallbackQueryHandler(handlers.button))
    application.add_error_handler(handlers.error_handler)
    operators.add_operator_handlers(application)  # group -2: only HALI_ADMIN_IDS reach them


async def _post_init(application: HaliApplication) -> None:
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
    me = application.bot.bot
    log.info("Hali is running as @%s", me.username)
    reports.start_retention(application)
    await notifier.start(application)


ALLOWED_UPDATES = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY]
