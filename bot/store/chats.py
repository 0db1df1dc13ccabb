"""What the bot needs to know about a chat on every update, read in batches and kept in memory.

Every message asks the same three things about its chat: the language it chose, the services it follows
(the card's 🔔/🔕 button) and whether a report is being written (the report flow takes the next text).
Read one query per question per message, they cost more than the answer itself. So:

* the chats of updates that arrive together are read together: one transaction for the whole batch,
  which also records them as seen (insert the new ones; "last seen" is coarse, to the minute);
* the result is kept for a minute, and dropped at once when this process changes the chat (a language
  choice, a subscription, a report flow, /forget), so the chat's own actions always show;
* a change made by another process (an operator's command, a second dispatcher deactivating a chat that
  blocked the bot) shows here within that minute. Telegram lets only one process long-poll a bot, so
  the changes a chat makes itself all go through this one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, cast, literal, null, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.clock import Clock, system_clock
from bot.store.db import insert_ignore
from bot.store.models import ReportFlowRow, SubscriptionRow, UserRow, UTCDateTime

SEEN_TTL = timedelta(seconds=60)
MAX_CHATS = 100_000  # kept in memory at once; past it the cache starts afresh
MAX_BATCH = 500  # chats read in one transaction (and one IN list)


@dataclass(frozen=True)
class ChatState:
    language: str | None = None  # the /language choice; None: never chosen
    follows: frozenset[str] = frozenset()  # service ids, "*" for every service
    reporting: bool = False  # a report flow row exists (it may have timed out: ask the report store)


Loader = Callable[[Sequence[int]], Awaitable[dict[int, ChatState]]]


class ChatCache:
    """Chat states for a minute, loaded in batches; `drop` after every change this process makes."""

    def __init__(self, load: Loader, *, clock: Clock = system_clock, ttl: timedelta = SEEN_TTL,
                 max_chats: int = MAX_CHATS, max_batch: int = MAX_BATCH) -> None:
        self._load = load
        self.clock = clock
        self.ttl = ttl
        self.max_chats = max_chats
        self.max_batch = max_batch
        self._entries: dict[int, tuple[ChatState, datetime]] = {}
        self._waiting: dict[int, list[asyncio.Future[ChatState]]] = {}
        self._loader: asyncio.Task[None] | None = None
        # A load that started before a chat changed must not put the old state back: every drop is
        # numbered, and a load keeps only the chats not dropped since it began.
        self._drops = 0
        self._dropped_at: dict[int, int] = {}
        self._loads_running = 0

    def cached(self, chat_id: int) -> ChatState | None:
        """The state if read less than `ttl` ago, else None (no database access)."""
        entry = self._entries.get(chat_id)
        if entry is None or self.clock() - entry[1] >= self.ttl:
            return None
        return entry[0]

    async def get(self, chat_id: int) -> ChatState:
        """The chat's state, read (and the chat recorded as seen) unless read less than `ttl` ago."""
        state = self.cached(chat_id)
        if state is not None:
            return state
        future: asyncio.Future[ChatState] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(chat_id, []).append(future)
        loader = self._loader
        if loader is None or loader.done() or loader.get_loop() is not asyncio.get_running_loop():
            self._loader = asyncio.create_task(self._load_waiting(), name="hali-chat-loader")
        return await future

    def drop(self, chat_id: int) -> None:
        """This process changed the chat: forget what is known, read it afresh next time."""
        self._entries.pop(chat_id, None)
        self._drops += 1
        if self._loads_running:
            self._dropped_at[chat_id] = self._drops

    async def _load_waiting(self) -> None:
        # One turn of the event loop lets the updates that arrived together ask too; while a batch is
        # read, the next one gathers.
        try:
            await asyncio.sleep(0)
            while self._waiting:
                chat_ids = list(self._waiting)[: self.max_batch]
                batch = {chat_id: self._waiting.pop(chat_id) for chat_id in chat_ids}
                started, now = self._drops, self.clock()
                self._loads_running += 1
                try:
                    states = await self._load(chat_ids)
                except Exception as exc:
                    _settle(batch, exc)
                    continue
                except BaseException as exc:  # cancelled: nobody may be left waiting
                    _settle(batch, exc)
                    raise
                finally:
                    self._loads_running -= 1
                self._keep(states, started, now)
                _settle(batch, states)
                if not self._loads_running:
                    self._dropped_at.clear()
        except BaseException as exc:
            waiting, self._waiting = self._waiting, {}
            _settle(waiting, exc)
            raise

    def _keep(self, states: dict[int, ChatState], started: int, now: datetime) -> None:
        if len(self._entries) + len(states) > self.max_chats:
            self._entries.clear()  # bounded memory; the next messages simply read again
        for chat_id, state in states.items():
            if self._dropped_at.get(chat_id, 0) <= started:
                self._entries[chat_id] = (state, now)


@asynccontextmanager
async def changing(sessions: async_sessionmaker[AsyncSession], cache: ChatCache | None,
                   chat_id: int) -> AsyncIterator[AsyncSession]:
    """A transaction that changes a chat; once it is over (committed or not) the cache forgets the chat."""
    try:
        async with sessions.begin() as session:
            yield session
    finally:
        if cache is not None:
            cache.drop(chat_id)


def _settle(batch: dict[int, list[asyncio.Future[ChatState]]], outcome: dict[int, ChatState] | BaseException) -> None:
    for chat_id, futures in batch.items():
        for future in futures:
            if future.done():
                continue
            if isinstance(outcome, asyncio.CancelledError):
                future.cancel()
            elif isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome.get(chat_id, ChatState()))


async def load_chats(
    session: AsyncSession, dialect: str, chat_ids: Sequence[int], now: datetime
) -> dict[int, ChatState]:
    """Read the chats and record them as seen, in the session's transaction.

    One read for users, subscriptions and report flows together (a UNION), then an insert for the
    chats never seen and an update for those not seen for a minute, when there are any.
    """
    ids = list(dict.fromkeys(chat_ids))
    text, at = String(), UTCDateTime()
    rows: Sequence[Any] = (await session.execute(union_all(
        select(UserRow.chat_id, literal("u", text).label("kind"), UserRow.language.label("value"),
               UserRow.last_seen.label("at")).where(UserRow.chat_id.in_(ids)),
        select(SubscriptionRow.chat_id, literal("s", text), SubscriptionRow.service_id,
               cast(null(), at)).where(SubscriptionRow.chat_id.in_(ids)),
        select(ReportFlowRow.chat_id, literal("f", text), cast(null(), text),
               cast(null(), at)).where(ReportFlowRow.chat_id.in_(ids)),
    ))).all()
    users: dict[int, tuple[str | None, datetime]] = {}
    follows: dict[int, set[str]] = {}
    reporting: set[int] = set()
    for chat_id, kind, value, seen in rows:
        if kind == "u":
            users[chat_id] = (value, seen)
        elif kind == "s":
            follows.setdefault(chat_id, set()).add(value)
        else:
            reporting.add(chat_id)
    new = sorted(chat_id for chat_id in ids if chat_id not in users)  # one lock order for every replica
    if new:
        # Another replica may insert the same chat meanwhile: the row that exists wins (and a language
        # chosen there in that instant shows here a minute later, like any change made elsewhere).
        await session.execute(insert_ignore(dialect, UserRow),
                              [{"chat_id": c, "first_seen": now, "last_seen": now, "language": None} for c in new])
        users.update((chat_id, (None, now)) for chat_id in new)
    stale = [chat_id for chat_id, (_, last_seen) in users.items() if now - last_seen >= SEEN_TTL]
    if stale:
        await session.execute(update(UserRow).where(UserRow.chat_id.in_(stale)).values(last_seen=now)
                              .execution_options(synchronize_session=False))
    return {chat_id: ChatState(users[chat_id][0], frozenset(follows.get(chat_id, ())), chat_id in reporting)
            for chat_id in ids}
