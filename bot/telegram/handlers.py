"""Thin handlers: read the update, ask the engine, send the reply. No SQL and no message text here."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from functools import lru_cache
from typing import Any

from telegram import (
    CallbackQuery,
    Chat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    MessageEntity,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError

from bot import render
from bot.core.understanding import Intent
from bot.engine import Answer
from bot.i18n import LANGUAGES, choose_language, translator
from bot.render import Button, Reply
from bot.render import reports as render_reports
from bot.telegram.context import HaliContext

log = logging.getLogger(__name__)

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)

IntentRoute = Callable[[Update, "HaliContext", Answer], Awaitable[bool]]
"""Takes over a free-text answer of one intent (a report starts the report flow); True when it did."""
INTENT_ROUTES = "intent_routes"  # bot_data key: dict[Intent, IntentRoute], filled by the wiring


class _Keyboard(InlineKeyboardMarkup):
    """An inline keyboard that keeps its JSON form: the same few keyboards go out all day."""

    __slots__ = ("_as_dict",)

    def __init__(self, rows: Sequence[Sequence[InlineKeyboardButton]]) -> None:
        super().__init__(rows)
        with self._unfrozen():
            self._as_dict = super().to_dict()

    def to_dict(self, recursive: bool = True) -> dict[str, Any]:
        if not recursive:
            return super().to_dict(recursive=False)
        # A fresh copy each time: whoever serialises it may not change the kept one.
        return {"inline_keyboard": [[dict(button) for button in row] for row in self._as_dict["inline_keyboard"]]}


@lru_cache(maxsize=4096)
def _keyboard(rows: tuple[tuple[Button, ...], ...]) -> InlineKeyboardMarkup:
    return _Keyboard([[InlineKeyboardButton(b.text, callback_data=b.data, url=b.url) for b in row] for row in rows])


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    return _keyboard(reply.buttons) if reply.buttons else None


async def send(message: Message, reply: Reply) -> None:
    await message.reply_html(
        reply.html, reply_markup=keyboard(reply), link_preview_options=NO_PREVIEW,
        do_quote=message.chat.type != Chat.PRIVATE,
    )


async def _remember(update: Update, context: HaliContext) -> str | None:
    """Note the chat as seen and return its stored language choice."""
    chat = update.effective_chat
    if chat is None:
        return None
    return await context.hali.store.touch_user(chat.id)


def _telegram_language(update: Update) -> str | None:
    user = update.effective_user
    return user.language_code if user else None


async def _language(update: Update, context: HaliContext) -> str:
    stored = await _remember(update, context)
    return choose_language(stored=stored, detected=None, telegram_code=_telegram_language(update))


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
    t = translator(await _language(update, context))
    user = update.effective_user
    await send(update.effective_message, render.welcome(t, user.first_name if user else None))


async def help_command(update: Update, context: HaliContext) -> None:
    """/help: how to ask and the commands."""
    assert update.effective_message is not None
    t = translator(await _language(update, context))
    await send(update.effective_message, render.help_text(t))


async def services_command(update: Update, context: HaliContext) -> None:
    """/services: every service with its state."""
    assert update.effective_message is not None
    lang = await _language(update, context)
    await send(update.effective_message, await context.hali.engine.services_list(lang))


async def status_command(update: Update, context: HaliContext) -> None:
    """/status [service]: one card, or the overview of problems."""
    assert update.effective_message is not None
    lang = await _language(update, context)
    chat_id = update.effective_chat.id if update.effective_chat else None
    _, reply = await context.hali.engine.status(" ".join(context.args or []), lang, chat_id=chat_id)
    await send(update.effective_message, reply)


async def language_command(update: Update, context: HaliContext) -> None:
    """/language: English or Kiswahili buttons."""
    assert update.effective_message is not None
    t = translator(await _language(update, context))
    await send(update.effective_message, render.language_menu(t))


async def privacy_command(update: Update, context: HaliContext) -> None:
    """/privacy: what is stored about this chat."""
    assert update.effective_message is not None and update.effective_chat is not None
    lang = await _language(update, context)
    data = await context.hali.store.user_data(update.effective_chat.id)
    reports = context.hali.report_store
    extra = render_reports.privacy_lines(translator(lang), reports.policy.retention.days,
                                         await reports.count_for_chat(update.effective_chat.id))
    alerts = await context.hali.store.outbox.subscriber(update.effective_chat.id)
    reply = render.privacy(translator(lang), data.language if data else None,
                           data.first_seen if data else None, data.last_seen if data else None, extra=extra,
                           alerts=await context.hali.engine.subscriptions.alerts_names(alerts.services, lang)
                           if alerts else (), quiet=alerts.quiet if alerts else None)
    await send(update.effective_message, reply)


async def forget_command(update: Update, context: HaliContext) -> None:
    """/forget: ask for confirmation before erasing."""
    assert update.effective_message is not None
    t = translator(await _language(update, context))
    await send(update.effective_message, render.forget_confirm(t))


async def unknown_command(update: Update, context: HaliContext) -> None:
    """Any other command: say so, in private or when addressed to Hali."""
    message = update.effective_message
    assert message is not None
    command = (message.text or "").split()[0] if message.text else ""
    if message.chat.type != Chat.PRIVATE and "@" not in command:
        log.debug("ignoring group command %r not addressed to Hali", command[:40])
        return
    t = translator(await _language(update, context))
    await send(message, render.unknown_command(t))


# --- free text ----------------------------------------------------------------------------------


async def text_message(update: Update, context: HaliContext) -> None:
    """Free text: understand it and answer in the writer's language."""
    message = update.effective_message
    assert message is not None and message.text is not None
    if not _addressed_to_bot(message, context):
        return
    stored = await _remember(update, context)
    text = _without_mention(message.text, context)
    answer = await context.hali.engine.answer(
        text, stored_language=stored, telegram_language=_telegram_language(update), chat_id=message.chat.id
    )
    route: IntentRoute | None = context.bot_data.get(INTENT_ROUTES, {}).get(answer.intent)
    if route is not None and await route(update, context, answer):
        log.info("routed intent=%s service=%s lang=%s", answer.intent.value, answer.service, answer.language)
        return
    log.info("answered intent=%s service=%s lang=%s", answer.intent.value, answer.service, answer.language)
    await send(message, answer.reply)
    if answer.intent is Intent.OTHER and len(message.text) > 4000:
        await message.reply_text(render.too_long(translator(answer.language)))


async def other_message(update: Update, context: HaliContext) -> None:
    """Stickers, photos, voice notes, locations…: explain in private chats, ignore in groups."""
    message = update.effective_message
    if message is None:
        return
    log.info("non-text message in %s chat ignored or explained", message.chat.type)
    if message.chat.type != Chat.PRIVATE:
        return
    t = translator(await _language(update, context))
    await send(message, render.unsupported_message(t))


async def edited_message(update: Update, context: HaliContext) -> None:
    """Edits are not answered again: the first answer stands, and a second would confuse."""
    log.info("edited message ignored")


# --- buttons ------------------------------------------------------------------------------------


async def button(update: Update, context: HaliContext) -> None:
    """Inline buttons: refresh a card, pick a service, choose a language, confirm erasure."""
    query = update.callback_query
    assert query is not None
    data = query.data or ""
    stored = await _remember(update, context)
    lang = choose_language(stored=stored, detected=None, telegram_code=_telegram_language(update))
    action, _, arg = data.partition(":")
    engine = context.hali.engine
    chat_id = query.message.chat.id if query.message is not None else None
    if action == "r":
        reply = await engine.card(arg, lang, chat_id=chat_id)
        if reply is None:
            return await _expired(query, lang)
        return await _edit(query, reply, lang, note_unchanged=True)
    if action == "s":
        reply = await engine.card(arg, lang, chat_id=chat_id)
        return await _edit(query, reply, lang) if reply else await _expired(query, lang)
    if action == "w":
        reply = await engine.workarounds(arg, lang)
        if reply is None:
            return await _expired(query, lang)
        await _send_new(query, reply)
        await query.answer()
        return None
    if action == "sv" and not arg:
        return await _edit(query, await engine.services_list(lang), lang)
    if action == "l" and arg in LANGUAGES and query.message is not None:
        await context.hali.store.set_language(query.message.chat.id, arg)
        return await _edit(query, render.language_set(translator(arg)), arg)
    if action == "f" and arg in ("yes", "no") and query.message is not None:
        t = translator(lang)
        if arg == "yes":
            await context.hali.store.forget_user(query.message.chat.id)
            log.info("a chat erased its data")
            return await _edit(query, render.forgotten(t), lang)
        return await _edit(query, render.forget_cancelled(t), lang)
    await _expired(query, lang)


async def _expired(query: CallbackQuery, lang: str) -> None:
    log.info("stale or unknown button %r", (query.data or "")[:64])
    await query.answer(render.button_expired(translator(lang)), show_alert=True)


async def _edit(query: CallbackQuery, reply: Reply, lang: str, *, note_unchanged: bool = False) -> None:
    """Edit the button's message in place, then stop the button's spinner.

    An identical edit is never sent: Telegram rejects it with "message is not modified".
    """
    message = query.message
    if not isinstance(message, Message):
        await _send_new(query, reply)
        await query.answer()
        return
    markup = keyboard(reply)
    if message.text == reply.plain and message.reply_markup == markup:
        await query.answer(translator(lang)._("Already up to date.") if note_unchanged else None)
        return
    try:
        await message.edit_text(reply.html, parse_mode=ParseMode.HTML, reply_markup=markup,
                                link_preview_options=NO_PREVIEW)
    except BadRequest as exc:
        text = exc.message.lower()
        if "not modified" in text:
            pass
        elif "can't be edited" in text or "not found" in text:
            await _send_new(query, reply)
        else:
            raise
    await query.answer()


async def _send_new(query: CallbackQuery, reply: Reply) -> None:
    chat_id = query.message.chat.id if query.message is not None else query.from_user.id
    await query.get_bot().send_message(chat_id, reply.html, parse_mode=ParseMode.HTML,
                                       reply_markup=keyboard(reply), link_preview_options=NO_PREVIEW)


# --- errors -------------------------------------------------------------------------------------


async def error_handler(update: object, context: HaliContext) -> None:
    """Log first; then, in a private chat, say that something went wrong."""
    log.error("error while handling an update", exc_info=context.error)
    if isinstance(context.error, Forbidden):
        return
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    if update.effective_chat.type != Chat.PRIVATE:
        return
    lang = choose_language(stored=None, detected=None, telegram_code=_telegram_language(update))
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(render.error_message(translator(lang)).plain[:190])
        else:
            reply = render.error_message(translator(lang))
            await context.bot.send_message(update.effective_chat.id, reply.html, parse_mode=ParseMode.HTML)
    except TelegramError:
        log.warning("could not tell the chat about the error", exc_info=True)
