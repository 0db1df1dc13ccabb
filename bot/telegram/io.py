"""What handlers send: a reply to a message, an edit of a button's message, the button's own answer.

Every message goes through `Outbound` (the send budget); these helpers only decide which message, and
answer a button press at once so its spinner stops even while the edit waits its turn.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable

from telegram import CallbackQuery, Chat, ChatMember, Message
from telegram.error import TelegramError

from bot.core.reply import Reply
from bot.i18n import translator
from bot.render import button_expired, not_yours
from bot.telegram.context import HaliContext
from bot.telegram.outbound import keyboard

log = logging.getLogger(__name__)


def send(context: HaliContext, message: Message, reply: Reply, *, key: Hashable | None = None) -> None:
    """Answer a message; in a group, as a reply to it so the asker sees it is theirs."""
    reply_to = message.message_id if message.chat.type != Chat.PRIVATE else None
    context.outbound.send(message.chat.id, reply, reply_to=reply_to, key=key)


def send_to(context: HaliContext, chat_id: int, reply: Reply, *, key: Hashable | None = None) -> None:
    context.outbound.send(chat_id, reply, key=key)


def send_new(context: HaliContext, query: CallbackQuery, reply: Reply) -> None:
    """A new message in the chat of a button (its own message may be too old to edit)."""
    chat_id = query.message.chat.id if query.message is not None else query.from_user.id
    context.outbound.send(chat_id, reply)


async def edit(context: HaliContext, query: CallbackQuery, reply: Reply, lang: str, *,
               note_unchanged: bool = False) -> None:
    """Edit the button's message in place; the press is answered first, at once.

    An identical edit is never sent (Telegram rejects it with "message is not modified"); with
    `note_unchanged` the press is answered "Already up to date." instead.
    """
    message = query.message
    if not isinstance(message, Message):
        await context.outbound.answer(query.id)
        send_new(context, query, reply)
        return
    if message.text == reply.plain and message.reply_markup == keyboard(reply):
        await context.outbound.answer(query.id, translator(lang)._("Already up to date.") if note_unchanged else None)
        return
    await context.outbound.answer(query.id)
    context.outbound.edit(message.chat.id, message.message_id, reply)


async def answer(context: HaliContext, query: CallbackQuery, text: str | None = None, *, alert: bool = False,
                 url: str | None = None) -> None:
    await context.outbound.answer(query.id, text, alert=alert, url=url)


async def expired(context: HaliContext, query: CallbackQuery, lang: str) -> None:
    log.info("stale or unknown button %r", (query.data or "")[:64])
    await context.outbound.answer(query.id, button_expired(translator(lang)), alert=True)


async def may_change_chat(context: HaliContext, query: CallbackQuery, lang: str) -> bool:
    """In a group, a button that changes the group's settings acts only for whoever asked or an admin.

    Whoever asked is the sender of the message the bot's message replies to. Anyone else is told so
    in a short alert, and False tells the handler to do nothing.
    """
    message = query.message
    if not isinstance(message, Message) or message.chat.type == Chat.PRIVATE:
        return True
    asked = message.reply_to_message
    if asked is not None and asked.from_user is not None and asked.from_user.id == query.from_user.id:
        return True
    try:
        member = await context.bot.get_chat_member(message.chat.id, query.from_user.id)
        allowed = member.status in (ChatMember.ADMINISTRATOR, ChatMember.OWNER)
    except TelegramError:
        log.warning("could not ask Telegram whether a group member is an admin", exc_info=True)
        allowed = False
    if not allowed:
        log.info("a group's settings button pressed by another member: refused")
        await context.outbound.answer(query.id, not_yours(translator(lang)), alert=True)
    return allowed
