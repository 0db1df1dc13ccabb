"""Everyone asking at once, through the strict fake Bot API that answers 429 above Telegram's limits.

These drive the bot as `hali run` builds it (the send budget shared through the store, the inbox, the
long polling), with real time: a lane at a rate the fake enforces, so the numbers are small and fast.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import Jobs, assemble
from bot.catalog.model import Text
from bot.config import Settings
from bot.core.actions import Refresh, encode
from bot.core.status import State
from bot.run import budget_jobs
from bot.services.sending import shared_budget
from bot.store.inbox import DONE, INVALID
from bot.store.models import InboxRow
from bot.store.repo import Store
from bot.telegram.app import TelegramFront, telegram_front
from hali_dev.botapi import TOKEN, FakeBotAPI

ROOT = Path(__file__).resolve().parents[2]


@asynccontextmanager
async def running_bot(store: Store, api: FakeBotAPI, **overrides: Any) -> AsyncIterator[TelegramFront]:
    """The bot as `hali run` wires it, without the notifier and the checks."""
    settings = Settings(token=TOKEN, api_base_url=api.base_url, **overrides)
    app = assemble(settings, store)  # the status snapshot kept two seconds, as in production
    shared = shared_budget(settings, store, role="bot")
    front = telegram_front(app, shared.budget, poll_timeout=1)
    jobs = Jobs()
    budget_jobs(jobs, shared)
    jobs.add("inbox", front.worker.run, stop=front.worker.finish)
    jobs.add("long polling", front.poller.run)
    async with front.application:
        jobs.start()
        try:
            yield front
        finally:
            await jobs.stop(grace=1)


def answers(api: FakeBotAPI) -> Counter[int]:
    return Counter(r.chat_id for r in api.sent if r.method == "sendMessage" and r.chat_id is not None)


async def until(condition: Any, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(0.05)


QUESTIONS = ("ecitizen iko down?", "Is KRA iTax working?", "ntsa iko sawa?", "sha haifanyi kazi?")


async def test_everyone_asking_at_once_is_answered_under_the_limit(sqlite_store: Store) -> None:
    async with FakeBotAPI(global_rate=40, per_chat_rate=1, per_chat_burst=3) as api:
        async with running_bot(sqlite_store, api, send_rate=40):
            for chat in range(1, 201):
                api.text_message(chat, QUESTIONS[chat % len(QUESTIONS)], language_code="sw" if chat % 2 else "en")
            await until(lambda: len(answers(api)) == 200)
        assert answers(api) == Counter(range(1, 201)), "every citizen answered once"
        assert api.stats.too_many_requests <= 1, "the bot paced itself under the limit"
        stamps = sorted(r.timestamp for r in api.sent if r.method == "sendMessage")
        assert stamps[-1] - stamps[0] >= 199 / 40 * 0.95, "and never faster than it"


async def test_answers_are_sent_first_come_first_served(sqlite_store: Store) -> None:
    async with FakeBotAPI(global_rate=30) as api:
        async with running_bot(sqlite_store, api, send_rate=30):
            for chat in range(1, 61):
                api.text_message(chat, "kra?")
            await until(lambda: len(answers(api)) == 60)
    order = [r.chat_id for r in api.sent if r.method == "sendMessage"]
    assert order == list(range(1, 61))


async def test_three_questions_while_the_first_answer_waits_make_one_card(sqlite_store: Store) -> None:
    async with FakeBotAPI(global_rate=5) as api:
        async with running_bot(sqlite_store, api, send_rate=5):
            for chat in range(100, 120):
                api.text_message(chat, "kra?")  # a queue of four seconds ahead
            for text in ("ecitizen iko down?", "ecitizen haifanyi kazi?", "Is eCitizen down?"):
                api.text_message(7, text, language_code="sw")
            api.text_message(7, "help")
            await until(lambda: len(answers(api)) == 21 and answers(api)[7] >= 2, within=30)
            await asyncio.sleep(0.5)
    to_seven = [r.plain_text or "" for r in api.messages_to(7)]
    assert len(to_seven) == 2, to_seven
    assert "eCitizen" in to_seven[0] and "/status" in to_seven[1], "one card, then the help it also asked for"


async def test_a_button_is_answered_at_once_however_long_the_queue(sqlite_store: Store) -> None:
    async with FakeBotAPI(global_rate=30) as api:
        async with running_bot(sqlite_store, api, send_rate=30):
            api.text_message(7, "kra?")
            await until(lambda: answers(api)[7] == 1)
            [card] = api.messages_to(7)
            for chat in range(100, 250):
                api.text_message(chat, "ecitizen iko down?")  # five seconds of answers queued
            await until(lambda: len(answers(api)) > 10)
            before = len(answers(api))
            update = api.callback_query(7, encode(Refresh("kra")), card.message_id or 0)
            query = update["callback_query"]["id"]
            await until(lambda: any(r.callback_query_id == query for r in api.sent), within=30)
            # Counted in messages, not seconds: a busy machine slows both alike. The queue ahead held
            # about 140 answers, five seconds of them; the press waited for none of them but those
            # already handed to Telegram (a second's worth at most).
            overtaken = len(answers(api)) - before
            assert len(answers(api)) < 150, "the queue was still long"
        assert overtaken <= 30, f"the button waited behind {overtaken} answers"


async def test_several_refresh_presses_make_one_edit(sqlite_store: Store) -> None:
    async with FakeBotAPI(global_rate=5) as api:
        async with running_bot(sqlite_store, api, send_rate=5):
            api.text_message(7, "kra?")
            await until(lambda: answers(api)[7] == 1)
            [card] = api.messages_to(7)
            await sqlite_store.open_incident("kra", State.MAJOR_OUTAGE, Text("iTax is down"), actor="cli")
            await asyncio.sleep(2.1)  # the bot's snapshot is two seconds old at most
            for chat in range(100, 115):
                api.text_message(chat, "ecitizen?")  # three seconds of answers ahead of the edit
            await until(lambda: len(answers(api)) > 1)
            for _ in range(4):
                api.callback_query(7, "r:kra", card.message_id or 0)
            await until(lambda: len(answers(api)) == 16, within=30)
            await asyncio.sleep(0.5)
    edits = [r for r in api.sent if r.method == "editMessageText" and r.chat_id == 7]
    assert len(edits) == 1 and "Major outage" in (edits[0].plain_text or "")
    assert sum(r.method == "answerCallbackQuery" for r in api.sent) == 4, "every press was answered"


async def test_answers_fetched_before_a_bot_api_outage_are_sent_once_it_is_back(sqlite_store: Store) -> None:
    async with FakeBotAPI() as api:
        async with running_bot(sqlite_store, api):
            api.fail_next("sendMessage", 502, times=10_000)
            for chat in range(1, 21):
                api.text_message(chat, "kra?")
            await until(lambda: api.stats.by_error_code[502] >= 20)
            await asyncio.sleep(3)
            assert answers(api) == Counter()
            api.clear_failures()
            await until(lambda: len(answers(api)) == 20, within=40)
    assert answers(api) == Counter(range(1, 21))


async def test_an_answer_that_waits_past_its_deadline_is_dropped_counted_and_not_apologised_for(
    sqlite_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    async with FakeBotAPI() as api:
        async with running_bot(sqlite_store, api, reply_max_wait=5) as front:
            api.fail_next("sendMessage", 502, times=10_000)
            api.text_message(7, "kra?")
            await until(lambda: front.worker.handled == 1)
            lane = front.application.bot_data["outbound"].budget.lanes[0]
            await until(lambda: lane.stats.dropped == 1, within=15)
            api.clear_failures()
            await asyncio.sleep(1.5)
            async with sqlite_store.sessions() as session:
                row = await session.scalar(select(InboxRow))
    assert answers(api) == Counter(), "no apology was added to what could not be sent"
    assert row is not None and row.status == DONE, "the update is done with: nobody waits for it any more"
    assert any("dropped" in r.getMessage() for r in caplog.records)


async def test_an_update_python_telegram_bot_cannot_read_is_set_aside_and_the_rest_answered(
    sqlite_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    async with FakeBotAPI() as api:
        async with running_bot(sqlite_store, api) as front:
            api.push_update({"message": {"message_id": 1, "chat": {"id": 5}, "text": "no date, no type"}})
            api.push_update({"message": {"message_id": 2, "date": "yesterday", "text": "x",
                                         "chat": {"id": 6, "type": "private"}}})
            api.text_message(7, "kra?")
            await until(lambda: answers(api)[7] == 1)
            await until(lambda: front.worker.set_aside == 2)
            await asyncio.sleep(0.3)
            async with sqlite_store.sessions() as session:
                kept = (await session.scalars(select(InboxRow).order_by(InboxRow.update_id))).all()
    assert [r.status for r in kept] == [INVALID, INVALID, DONE]
    assert all(r.reason and r.payload is None for r in kept[:2])
    assert not [r for r in caplog.records if r.levelno >= logging.CRITICAL]
    assert sum("set aside" in r.getMessage() for r in caplog.records) == 2, "one line each"


async def test_a_failing_handler_apologises_once_per_message(
    sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(chat_id: int) -> Any:
        raise RuntimeError("a bug")  # a store that is away is answered otherwise: tests/telegram/test_store_away.py

    async with FakeBotAPI() as api:
        async with running_bot(sqlite_store, api):
            monkeypatch.setattr(sqlite_store, "chat", broken)
            api.text_message(7, "kra?")
            await until(lambda: answers(api)[7] == 1)
            await asyncio.sleep(1)
    [apology] = api.messages_to(7)
    assert "something went wrong" in (apology.plain_text or "")


# --- a real process, killed -------------------------------------------------------------------------


def _hali_run(db_url: str, api: FakeBotAPI) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": api.base_url,
           "DATABASE_URL": db_url, "HALI_SEND_RATE": "30", "HALI_POLL_TIMEOUT": "1", "HALI_LOG_LEVEL": "WARNING"}
    return subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def test_a_bot_killed_while_answering_answers_everyone_after_restart(tmp_path: Path) -> None:
    db_url = f"sqlite+aiosqlite:///{tmp_path / 'hali.db'}"
    async with FakeBotAPI(global_rate=30) as api:
        first = _hali_run(db_url, api)
        try:
            await until(lambda: api.stats.by_method["setMyCommands"] >= 2, within=30)
            for chat in range(1, 151):
                api.text_message(chat, "ecitizen iko down?")
            await until(lambda: len(answers(api)) >= 40, within=30)
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        before = len(answers(api))
        assert before < 150, "killed in the middle"
        assert api.pending_updates == 0, "Telegram was told every update had arrived"
        second = _hali_run(db_url, api)
        try:
            # The dead process's updates come back when its lease (30 s) ends.
            await until(lambda: len(answers(api)) == 150, within=90)
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(20)
    counts = answers(api)
    assert set(counts) == set(range(1, 151)), "nobody left unanswered"
    assert sum(n - 1 for n in counts.values()) <= 32, "at most the sends under way were repeated"
    assert second.returncode == 0, "a graceful stop on SIGTERM"
