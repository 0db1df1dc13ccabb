"""Handlers for alerts: /subscribe, /unsubscribe, /alerts, /quiet, deep links and the 🔔/🔕/❌ buttons.

Thin like the others: parse, call `bot.services.subscriptions`, send. Buttons (bot/core/actions.py): Follow
(a service, or every service), Unfollow (both from a status card), RemoveAlert (in /alerts).
"""

from __future__ import annotations

import logging

from telegram import CallbackQuery, InlineKeyboardButton, Message, Update

from bot.core.actions import Action, Follow, Refresh, RemoveAlert, ShowCard, Unfollow, decode
from bot.core.notifications import ALL_SERVICES
from bot.core.recipient import Recipient
from bot.core.reply import Button, Reply
from bot.i18n import translator
from bot.render import notify as texts
from bot.services.subscriptions import DEEP_LINK_PREFIX
from bot.telegram import io
from bot.telegram.context import HaliContext
from bot.telegram.outbound import keyboard

log = logging.getLogger(__name__)

DEEP_LINK = rf"^/start(@\w+)? {DEEP_LINK_PREFIX}"


def _recipient(update: Update) -> Recipient:
    assert update.effective_chat is not None
    return Recipient.telegram(update.effective_chat.id)


async def start_link(update: Update, context: HaliContext) -> None:
    """/start sub-<service>: the link an agency prints on its page."""
    assert update.effective_message is not None
    lang = await context.language()
    payload = (context.args or [""])[0]
    reply = await context.hali.engine.subscriptions.deep_link(_recipient(update), payload, lang)
    if reply is not None:
        log.info("subscription deep link used")
        io.send(context, update.effective_message, reply)


async def subscribe_command(update: Update, context: HaliContext) -> None:
    """/subscribe [service|all]."""
    assert update.effective_message is not None
    lang = await context.language()
    reply = await context.hali.engine.subscriptions.subscribe(_recipient(update), " ".join(context.args or []), lang)
    io.send(context, update.effective_message, reply)


async def unsubscribe_command(update: Update, context: HaliContext) -> None:
    """/unsubscribe [service|all]; without one, the list to remove from."""
    assert update.effective_message is not None
    lang = await context.language()
    reply = await context.hali.engine.subscriptions.unsubscribe(
        _recipient(update), " ".join(context.args or []), lang)
    io.send(context, update.effective_message, reply)


async def alerts_command(update: Update, context: HaliContext) -> None:
    """/alerts: what this chat follows, with a remove button each."""
    assert update.effective_message is not None
    lang = await context.language()
    io.send(context, update.effective_message, await context.hali.engine.subscriptions.alerts(_recipient(update), lang))


async def quiet_command(update: Update, context: HaliContext) -> None:
    """/quiet 22-6 or /quiet off."""
    assert update.effective_message is not None
    lang = await context.language()
    reply = await context.hali.engine.subscriptions.quiet(_recipient(update), " ".join(context.args or []), lang)
    io.send(context, update.effective_message, reply)


async def button(update: Update, context: HaliContext) -> None:
    """🔔 Notify me / 🔕 Stop on a card, ❌ Remove in /alerts, a service picked to subscribe to."""
    query = update.callback_query
    assert query is not None
    lang = await context.language()
    action = decode(query.data)
    message = query.message
    if not isinstance(message, Message) or not isinstance(action, Follow | Unfollow | RemoveAlert):
        return await io.expired(context, query, lang)
    if not await io.may_change_chat(context, query, lang):
        return None
    recipient = Recipient.telegram(message.chat.id)
    engine = context.hali.engine
    subscriptions = engine.subscriptions
    service_id, on = action.service_id, isinstance(action, Follow)
    if isinstance(action, RemoveAlert):
        reply = await subscriptions.remove_from_list(recipient, service_id, lang)
        return await io.edit(context, query, reply, lang)
    if service_id != ALL_SERVICES and _is_report_answer(message):
        # Under a report's acknowledgment: keep its text (the reference), flip only the button.
        state = await subscriptions.toggle(recipient, service_id, lang, on=on)
        if state is None:
            return await io.expired(context, query, lang)
        await io.answer(context, query, texts.subscribed_toast(translator(lang), state))
        _flip_button(context, message, service_id, on, lang)
        return None
    if on and (service_id == ALL_SERVICES or _looks_like_choice(message)):
        return await io.edit(context, query, await subscriptions.subscribe_id(recipient, service_id, lang), lang)
    state = await subscriptions.toggle(recipient, service_id, lang, on=on)
    card = await engine.card(service_id, lang, recipient=recipient) if state is not None else None
    if card is None or state is None:
        return await io.expired(context, query, lang)
    await io.answer(context, query, texts.subscribed_toast(translator(lang), state))
    _edit_quietly(context, query, card)
    return None


def _looks_like_choice(message: Message) -> bool:
    """A "which service?" prompt (buttons are services) rather than a status card (has 🔄 Refresh)."""
    markup = message.reply_markup
    if markup is None:
        return True
    return not any(isinstance(_action(b), Refresh) for row in markup.inline_keyboard for b in row)


def _is_report_answer(message: Message) -> bool:
    """A report's acknowledgment: a "Status of …" button and the notify button, no 🔄 Refresh."""
    markup = message.reply_markup
    if markup is None:
        return False
    match [_action(b) for row in markup.inline_keyboard for b in row]:
        case [ShowCard(shown), Follow(followed) | Unfollow(followed)]:
            return shown == followed
    return False


def _action(button: InlineKeyboardButton) -> Action | None:
    data = button.callback_data
    return decode(data) if isinstance(data, str) else None


def _flip_button(context: HaliContext, message: Message, service_id: str, on: bool, lang: str) -> None:
    assert message.reply_markup is not None
    rows = [tuple(Button(b.text, data=str(b.callback_data) if b.callback_data else None, url=b.url) for b in row)
            for row in message.reply_markup.inline_keyboard]
    rows[-1] = (texts.notify_button(translator(lang), service_id, on),)
    context.outbound.edit_markup(message.chat.id, message.message_id, tuple(rows))


def _edit_quietly(context: HaliContext, query: CallbackQuery, card: Reply) -> None:
    """Edit the card so its button shows the new state; an identical card is left alone."""
    message = query.message
    if not isinstance(message, Message):
        return
    if message.text == card.plain and message.reply_markup == keyboard(card):
        return
    context.outbound.edit(message.chat.id, message.message_id, card)
