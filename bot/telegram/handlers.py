"""Thin handlers: read the update, ask the engine, send the reply. No SQL and no message text here."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from telegram import Chat, Message, MessageEntity, Update
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop

from bot import render
from bot.core.actions import ChooseLanguage, Forget, Refresh, ServicesList, ShowCard, decode
from bot.core.budget import SendError
from bot.core.recipient import Recipient
from bot.core.understanding import Intent
from bot.i18n import LANGUAGES, choose_language, translator
from bot.render import reports as render_reports
from bot.services.answers import Answer
from bot.store.errors import STORE_FAILURES, NotSaved
from bot.telegram import io
from bot.telegram.context import HaliContext
from bot.telegram.outbound import current_ticket

log = logging.getLogger(__name__)

IntentRoute = Callable[[Update, "HaliContext", Answer], Awaitable[bool]]
"""Takes over a free-text answer of one intent (a report starts the report flow); True when it did."""
INTENT_ROUTES = "intent_routes"  # bot_data key: dict[Intent, IntentRoute], filled by the wiring


def _addressed_to_bot(message: Message, context: HaliContext) -> bool:
    """In a group, Hali answers only messages that mention it or reply to it."""
    if message.chat.type == Chat.PRIVATE:
        return True
    reply_to = message.reply_to_message
    if reply_to is not None and reply_to.from_user is not None and reply_to.from_user.id == context.bot.id:
        return True
    username = (context.bot.username or "").lower()
    for entity, value in message.parse_entities([MessageEntity.MENTION]).items():
        if entity.type == MessageEntity.MENTION and value.lstrip("@").lower() == username:
            return True
    return False


def _without_mention(text: str, context: HaliContext) -> str:
    username = context.bot.username or ""
    return text.replace(f"@{username}", " ").strip() if username else text


# --- commands ---------------------------------------------------------------------------------


async def start(update: Update, context: HaliContext) -> None:
    """/start: welcome, what is stored, the main commands."""
    assert update.effective_message is not None
    t = await context.translator()
    user = update.effective_user
    reply = render.welcome(t, user.first_name if user else None, channel=context.hali.engine.channel_link)
    io.send(context, update.effective_message, reply, key=("start",))


async def help_command(update: Update, context: HaliContext) -> None:
    """/help: how to ask and the commands."""
    assert update.effective_message is not None
    t = await context.translator()
    io.send(context, update.effective_message, render.help_text(t), key=("help",))


async def services_command(update: Update, context: HaliContext) -> None:
    """/services: every service with its state."""
    assert update.effective_message is not None
    lang = await context.language()
    io.send(context, update.effective_message, await context.hali.engine.services_list(lang), key=("services",))


async def status_command(update: Update, context: HaliContext) -> None:
    """/status [service]: one card, or the overview of problems."""
    assert update.effective_message is not None
    lang = await context.language()
    service_id, reply = await context.hali.engine.status(" ".join(context.args or []), lang,
                                                         recipient=context.recipient())
    io.send(context, update.effective_message, reply, key=("status", service_id, lang))


async def language_command(update: Update, context: HaliContext) -> None:
    """/language: English or Kiswahili buttons."""
    assert update.effective_message is not None
    t = await context.translator()
    io.send(context, update.effective_message, render.language_menu(t), key=("language",))


async def privacy_command(update: Update, context: HaliContext) -> None:
    """/privacy: what is stored about this chat."""
    assert update.effective_message is not None and update.effective_chat is not None
    lang = await context.language()
    data = await context.hali.store.user_data(update.effective_chat.id)
    reports = context.hali.reports
    extra = render_reports.privacy_lines(translator(lang), reports.policy.retention.days,
                                         await reports.count_for_chat(update.effective_chat.id))
    alerts = await context.hali.store.subscriptions.subscriber(Recipient.telegram(update.effective_chat.id))
    reply = render.privacy(translator(lang), data.language if data else None,
                           data.first_seen if data else None, data.last_seen if data else None, extra=extra,
                           alerts=await context.hali.engine.subscriptions.alerts_names(alerts.services, lang)
                           if alerts else (), quiet=alerts.quiet if alerts else None)
    io.send(context, update.effective_message, reply, key=("privacy",))


async def forget_command(update: Update, context: HaliContext) -> None:
    """/forget: ask for confirmation before erasing."""
    assert update.effective_message is not None
    t = await context.translator()
    io.send(context, update.effective_message, render.forget_confirm(t), key=("forget",))


async def unknown_command(update: Update, context: HaliContext) -> None:
    """Any other command: say so, in private or when addressed to Hali."""
    message = update.effective_message
    assert message is not None
    command = (message.text or "").split()[0] if message.text else ""
    _, at, addressee = command.partition("@")
    if message.chat.type != Chat.PRIVATE and (
            not at or addressee.lower() != (context.bot.username or "").lower()):
        log.debug("ignoring a group command not addressed to Hali")
        return
    t = await context.translator()
    io.send(context, message, render.unknown_command(t), key=("unknown",))


# --- free text ----------------------------------------------------------------------------------


async def text_message(update: Update, context: HaliContext) -> None:
    """Free text: understand it and answer in the writer's language."""
    message = update.effective_message
    assert message is not None and message.text is not None
    if not _addressed_to_bot(message, context):
        return
    text = _without_mention(message.text, context)
    answer = await context.hali.engine.answer(
        text, stored_language=await context.stored_language(), telegram_language=context.telegram_language(),
        recipient=context.recipient(),
    )
    route: IntentRoute | None = context.bot_data.get(INTENT_ROUTES, {}).get(answer.intent)
    if route is not None and await route(update, context, answer):
        log.info("routed intent=%s service=%s lang=%s", answer.intent.value, answer.service, answer.language)
        return
    log.info("answering intent=%s service=%s lang=%s", answer.intent.value, answer.service, answer.language)
    # The same answer asked for again while the first waits its turn is sent once (in the latest language).
    io.send(context, message, answer.reply, key=("answer", answer.intent.value, answer.service))
    if answer.intent is Intent.OTHER and len(message.text) > 4000:
        io.send(context, message, render.Reply(render.e(render.too_long(translator(answer.language)))),
                key=("too-long",))


async def other_message(update: Update, context: HaliContext) -> None:
    """Stickers, photos, voice notes, locations…: explain in private chats, ignore in groups."""
    message = update.effective_message
    if message is None:
        return
    log.info("non-text message in %s chat ignored or explained", message.chat.type)
    if message.chat.type != Chat.PRIVATE:
        return
    t = await context.translator()
    io.send(context, message, render.unsupported_message(t), key=("unsupported",))


async def edited_message(update: Update, context: HaliContext) -> None:
    """Edits are not answered again: the first answer stands, and a second would confuse."""
    log.info("edited message ignored")


# --- buttons ------------------------------------------------------------------------------------


async def button(update: Update, context: HaliContext) -> None:
    """Inline buttons: refresh a card, pick a service, choose a language, confirm erasure."""
    query = update.callback_query
    assert query is not None
    lang = await context.language()
    engine = context.hali.engine
    chat_id = query.message.chat.id if query.message is not None else None
    action = decode(query.data)
    match action:
        case Refresh(service_id):
            reply = await engine.card(service_id, lang, recipient=context.recipient())
            if reply is None:
                return await io.expired(context, query, lang)
            return await io.edit(context, query, reply, lang, note_unchanged=True)
        case ShowCard(service_id):
            reply = await engine.card(service_id, lang, recipient=context.recipient())
            return await io.edit(context, query, reply, lang) if reply else await io.expired(context, query, lang)
        case ServicesList():
            return await io.edit(context, query, await engine.services_list(lang), lang)
    if chat_id is None or not isinstance(action, ChooseLanguage | Forget):
        return await io.expired(context, query, lang)
    if not await io.may_change_chat(context, query, lang):
        return None
    match action:
        case ChooseLanguage(chosen) if chosen in LANGUAGES:
            await context.hali.store.set_language(chat_id, chosen)
            context.chose_language(chosen)
            return await io.edit(context, query, render.language_set(translator(chosen)), chosen)
        case Forget(confirmed=True):
            await context.hali.store.forget_user(chat_id)
            log.info("a chat erased its data")
            return await io.edit(context, query, render.forgotten(translator(lang)), lang)
        case Forget(confirmed=False):
            return await io.edit(context, query, render.forget_cancelled(translator(lang)), lang)
    await io.expired(context, query, lang)


# --- errors -------------------------------------------------------------------------------------


async def error_handler(update: object, context: HaliContext) -> None:
    """Log first; then, in a private chat, say once that something went wrong, and stop there.

    When the store failed, say so plainly instead: a change (subscription, language, quiet hours,
    erasure, a report's step) was not saved and should be tried again, or the records cannot be reached
    just now; a button pressed in a group gets it too, as an alert only its presser sees.
    No apology when the trouble was sending itself (the budget already retried, or dropped the reply
    by rule): it would only add to a queue that could not be served. One answer per update: the other
    handlers do not run after an error.
    """
    error = context.error
    store_failed = isinstance(error, STORE_FAILURES)
    if store_failed:
        log.warning("the store failed while handling an update: %s", type(error).__name__)
    else:
        log.error("error while handling an update: %s", type(error).__name__, exc_info=error)
    if isinstance(error, SendError | TelegramError):
        raise ApplicationHandlerStop
    if not isinstance(update, Update) or update.effective_chat is None:
        raise ApplicationHandlerStop
    query = update.callback_query
    if update.effective_chat.type != Chat.PRIVATE and not (store_failed and query is not None):
        raise ApplicationHandlerStop
    ticket = current_ticket.get()
    if ticket is not None and ticket.sent:
        raise ApplicationHandlerStop  # the update was answered before the error
    t = translator(choose_language(stored=None, detected=None, telegram_code=context.telegram_language()))
    if isinstance(error, NotSaved):
        reply = render.change_not_saved(t)
    elif store_failed:
        reply = render.store_away(t)
    else:
        reply = render.error_message(t)
    if query is not None:
        await io.answer(context, query, reply.plain[:190], alert=store_failed)
    else:
        io.send_to(context, update.effective_chat.id, reply, key=("apology",))
    raise ApplicationHandlerStop
