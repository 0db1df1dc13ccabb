"""The real python-telegram-bot Application, polling a strict fake Bot API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from bot.config import Settings
from bot.core.clock import FrozenClock
from bot.engine import Engine
from bot.sources import make_board
from bot.store.repo import Store
from bot.store.reports import CrowdSignals, report_store
from bot.telegram.app import build_application
from bot.telegram.context import Hali, HaliApplication
from tests.fakes.botapi import TOKEN, FakeBotAPI, SentRecord


@dataclass
class Harness:
    api: FakeBotAPI
    app: HaliApplication
    store: Store
    clock: FrozenClock
    db_url: str

    async def say(self, chat_id: int, text: str, **kwargs: Any) -> SentRecord:
        """Send a private text message and return the bot's next message to that chat."""
        return await self._expect_reply(chat_id, lambda: self.api.text_message(chat_id, text, **kwargs))

    async def command(self, chat_id: int, command: str, args: str = "", **kwargs: Any) -> SentRecord:
        return await self._expect_reply(chat_id, lambda: self.api.command(chat_id, command, args, **kwargs))

    async def _expect_reply(self, chat_id: int, push: Any) -> SentRecord:
        before = len(self.api.messages_to(chat_id))
        push()
        records = await self.api.wait_for(
            lambda r: r.chat_id == chat_id and r.method == "sendMessage", count=before + 1
        )
        return records[before]

    async def tap(self, chat_id: int, message: SentRecord, label: str, **kwargs: Any) -> list[SentRecord]:
        """Press the button whose text contains `label`; return the records that follow the press."""
        data = button_data(message, label)
        assert message.message_id is not None
        before = len(self.api.sent)
        update = self.api.callback_query(chat_id, data, message.message_id, **kwargs)
        query_id = update["callback_query"]["id"]
        await self.api.wait_for(
            lambda r: r.method == "answerCallbackQuery" and r.callback_query_id == query_id
        )
        return self.api.sent[before:]

    async def press(self, chat_id: int, data: str, message_id: int, **kwargs: Any) -> list[SentRecord]:
        """Press a button by its raw callback data (e.g. one from before a restart)."""
        before = len(self.api.sent)
        update = self.api.callback_query(chat_id, data, message_id, **kwargs)
        query_id = update["callback_query"]["id"]
        await self.api.wait_for(
            lambda r: r.method == "answerCallbackQuery" and r.callback_query_id == query_id
        )
        return self.api.sent[before:]


def buttons(record: SentRecord) -> list[dict[str, Any]]:
    markup = record.reply_markup or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


def button_data(record: SentRecord, label: str) -> str:
    for b in buttons(record):
        if label in b["text"]:
            return str(b["callback_data"])
    raise AssertionError(f"no button {label!r} in {[b['text'] for b in buttons(record)]}")


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Extra Settings for the bot under test; a test module overrides this (e.g. admin_ids)."""
    return {}


@pytest.fixture
async def hali(
    store: Store, store_url: str, clock: FrozenClock, settings_overrides: dict[str, Any]
) -> AsyncIterator[Harness]:
    """The bot on a fresh store (SQLite, then PostgreSQL), polling a fresh fake Bot API."""
    async with FakeBotAPI() as api:
        settings = Settings(token=TOKEN, api_base_url=api.base_url, **settings_overrides)
        reports = report_store(store, settings)
        engine = Engine(make_board(store, max_age=0, extra=[CrowdSignals(reports)]), clock=clock)
        # One update at a time, so a test can tell "ignored" from "not yet answered".
        app = build_application(Hali(settings, store, engine, reports), concurrent_updates=1)
        async with app:
            await app.start()
            assert app.updater is not None
            await app.updater.start_polling(poll_interval=0, timeout=1)
            try:
                yield Harness(api, app, store, clock, store_url)
            finally:
                await app.updater.stop()
                await app.stop()
