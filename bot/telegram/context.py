"""What every handler can reach: the engine, the store and the settings, via a typed context.

The context is made once per update (python-telegram-bot builds it in `from_update` and hands the
same one to every handler group), so what an update asks about its chat is read here once and kept:
the chat's stored language choice (reading it also notes the chat as seen) and the reply language.
Handlers ask `await context.language()` and never the store directly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from telegram import Update
from telegram.ext import Application, CallbackContext, ExtBot

from bot.config import Settings
from bot.core.recipient import Recipient
from bot.i18n import Translator, choose_language, translator
from bot.services.answers import Engine
from bot.store.errors import STORE_FAILURES
from bot.store.repo import Store
from bot.store.reports import ReportStore

if TYPE_CHECKING:
    from bot.telegram.outbound import Outbound


@dataclass
class Hali:
    settings: Settings
    store: Store
    engine: Engine

    @property
    def reports(self) -> ReportStore:
        """Citizens' reports: a part of the store."""
        return self.store.reports


log = logging.getLogger(__name__)

_UNREAD: Any = object()  # the stored language before it is read (None is a stored "no choice")


class HaliContext(CallbackContext[ExtBot[dict[str, Any]], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """The callback context, with the Hali services attached to the application and the update's chat."""

    def __init__(self, application: HaliApplication, chat_id: int | None = None,
                 user_id: int | None = None) -> None:
        super().__init__(application, chat_id=chat_id, user_id=user_id)
        self._update: Update | None = None
        self._stored: str | None = _UNREAD
        self._language: str | None = None

    @classmethod
    def from_update(cls, update: object, application: HaliApplication) -> HaliContext:
        context = super().from_update(update, application)
        context._update = update if isinstance(update, Update) else None
        return context

    def recipient(self) -> Recipient | None:
        """The update's chat as notifications address it (None: an update without a chat)."""
        chat = self._update.effective_chat if self._update is not None else None
        return Recipient.telegram(chat.id) if chat is not None else None

    def telegram_language(self) -> str | None:
        """The language code Telegram gives for the update's user (their app's language)."""
        user = self._update.effective_user if self._update is not None else None
        return user.language_code if user is not None else None

    async def stored_language(self) -> str | None:
        """The chat's stored language choice, read once per update; reading it notes the chat as seen.

        None when there is no choice, no chat, or the store is away: a question needs no stored choice,
        so the update is answered all the same, in the language Telegram gives.
        """
        if self._stored is _UNREAD:
            self._stored = None
            chat = self._update.effective_chat if self._update is not None else None
            if chat is not None:
                try:
                    self._stored = await self.hali.store.touch_user(chat.id)
                except STORE_FAILURES:
                    log.debug("chat not read: the store is away")
        return self._stored

    async def language(self) -> str:
        """The reply language for this update: the stored choice, else Telegram's; resolved once."""
        if self._language is None:
            stored = await self.stored_language()
            self._language = choose_language(stored=stored, detected=None, telegram_code=self.telegram_language())
        return self._language

    async def translator(self) -> Translator:
        return translator(await self.language())

    def chose_language(self, language: str) -> None:
        """The chat has just chosen `language` (saved): the rest of this update speaks it."""
        self._stored = self._language = language

    @property
    def hali(self) -> Hali:
        hali: Hali = self.application.bot_data["hali"]
        return hali

    @property
    def outbound(self) -> Outbound:
        """Where every message goes: the send budget (see bot/telegram/outbound.py)."""
        outbound: Outbound = self.application.bot_data["outbound"]
        return outbound


HaliApplication = Application[
    ExtBot[dict[str, Any]], HaliContext, dict[Any, Any], dict[Any, Any], dict[Any, Any], Any
]
