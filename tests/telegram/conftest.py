"""The real python-telegram-bot Application, polling a strict fake Bot API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from bot.app import assemble
from bot.config import Settings
from bot.core.budget import SendBudget
from bot.core.clock import FrozenClock
from bot.store.repo import Store
from bot.telegram.app import TelegramFront, telegram_front
from bot.telegram.context import HaliApplication
from hali_dev.botapi import TOKEN, FakeBotAPI, SentRecord


@dataclass
class Harness:
    api: FakeBotAPI
    app: HaliApplication
    store: Store
    clock: FrozenClock
    db_url: str
    front: TelegramFront
    budget: SendBudget
    done: dict[int, asyncio.Event]

    async def settled(self, update: dict[str, Any]) -> None:
        """Wait (5 s at most) until the bot has finished an update: handled, and all it sent confirmed."""
        event = self.done.setdefault(update["update_id"], asyncio.Event())
        async with asyncio.timeout(5):
            await event.wait()

    async def say(self, chat_id: int, text: str, **kwargs: Any) -> SentRecord:
        """Send a private text message and return the bot's next message to that chat."""
        return await self._expect_reply(chat_id, lambda: self.api.text_message(chat_id, text, **kwargs))

    async def command(self, chat_id: int, command: str, args: str = "", **kwargs: Any) -> SentRecord:
        return await self._expect_reply(chat_id, lambda: self.api.command(chat_id, command, args, **kwargs))

    async def _expect_reply(self, chat_id: int, push: Any) -> SentRecord:
        before = len(self.api.messages_to(chat_id))
        update = push()
        records = await self.api.wait_for(
            lambda r: r.chat_id == chat_id and r.method == "sendMessage", count=before + 1
        )
        await self.settled(update)
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
        await self.settled(update)
        return self.api.sent[before:]

    async def press(self, chat_id: int, data: str, message_id: int, **kwargs: Any) -> list[SentRecord]:
        """Press a button by its raw callback data (e.g. one from before a restart)."""
        before = len(self.api.sent)
        update = self.api.callback_query(chat_id, data, message_id, **kwargs)
        query_id = update["callback_query"]["id"]
        await self.api.wait_for(
            lambda r: r.method == "answerCallbackQuery" and r.callback_query_id == query_id
        )
        await self.settled(update)
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


@asynccontextmanager
async def running(front: TelegramFront, budget: SendBudget) -> AsyncIterator[None]:
    """The front-end as `hali run` runs it: the budget's lanes, the inbox worker, the long polling."""
    async with front.application:
        budget.start()
        tasks = [asyncio.create_task(front.worker.run()), asyncio.create_task(front.poller.run())]
        try:
            yield
        finally:
            front.poller.stop()
            tasks[1].cancel()
            await front.worker.finish(grace=1)
            await budget.stop(grace=1)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


@pytest.fixture
async def hali(
    store: Store, store_url: str, clock: FrozenClock, settings_overrides: dict[str, Any]
) -> AsyncIterator[Harness]:
    """The bot on a fresh store (SQLite, then PostgreSQL), polling a fresh fake Bot API."""
    async with FakeBotAPI() as api:
        settings = Settings(token=TOKEN, api_base_url=api.base_url, **settings_overrides)
        app = assemble(settings, store, cache_seconds=0)
        # Pacing has tests of its own: here one chat may get many messages at once.
        budget = SendBudget.local(1000, burst=1000)
        done: dict[int, asyncio.Event] = {}

        def finished(update_id: int) -> None:
            done.setdefault(update_id, asyncio.Event()).set()

        # One update at a time, so a test can tell "ignored" from "not yet answered".
        front = telegram_front(app, budget, concurrency=1, poll_timeout=1, on_done=finished)
        async with running(front, budget):
            yield Harness(api, front.application, store, clock, store_url, front, budget, done)
