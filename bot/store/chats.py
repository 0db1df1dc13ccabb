"""What the bot needs to know about a chat on every update, read in batches and kept in memory.

Every message asks the same three things about its chat: the language it chose, the services it follows
(the card's 🔔/🔕 button) and whether a report is being written (the report flow takes the next text).
Read one query per question per message, they cost more than the answer itself. So:

* the chats of updates that arrive together are read together: one transaction for the whole batch,
  which also records them as seen (insert the new ones; "last seen" is coarse, to the minute);
* the result is kept for a minute, and dropped at once when this process changes the chat (a language
  choice, a subscription, a report flow, /forget), so the chat's own actions always show;
* on PostgreSQL several processes share the chats (replicas behind a load balancer, `hali dispatch`, the
  operators' commands): every change also sends a NOTIFY on `CHANNEL` in its transaction, and each bot
  process LISTENs on a connection of its own (`ChatListener`) and drops the chats it is told of. Memory
  is trusted only while that connection is known to be up; without it every update reads afresh, and
  when it is back everything read before is forgotten (the notices sent meanwhile are lost);
* on SQLite one bot process owns the file: a change made by another process (an operator's command)
  shows here within that minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import BigInteger, String, cast, func, literal, null, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.clock import Clock, system_clock
from bot.core.recipient import TELEGRAM
from bot.store.db import insert_ignore
from bot.store.errors import saving
from bot.store.models import ReportFlowRow, SubscriptionRow, UserRow, UTCDateTime

log = logging.getLogger(__name__)

CHANNEL = "hali_chats"  # the NOTIFY channel; the payload is the chat id, seen only by the database's sessions
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
    """Chat states for a minute, loaded in batches; `drop` after every change this process makes.

    `shared`: other processes change the chats too and announce it (PostgreSQL); memory is then used
    only while `listening` is true, which a `ChatListener` keeps up to date.
    """

    def __init__(self, load: Loader, *, clock: Clock = system_clock, ttl: timedelta = SEEN_TTL,
                 max_chats: int = MAX_CHATS, max_batch: int = MAX_BATCH, shared: bool = False) -> None:
        self._load = load
        self.clock = clock
        self.shared = shared
        self.listening = False
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
        self._all_dropped = 0  # the drop number of the last `drop_all`
        self._loads_running = 0

    @property
    def trusted(self) -> bool:
        """Whether what is in memory may answer: always alone on the database, else while listening."""
        return self.listening or not self.shared

    def cached(self, chat_id: int) -> ChatState | None:
        """The state if read less than `ttl` ago and memory is trusted, else None (no database access)."""
        if not self.trusted:
            return None
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

    def drop_all(self) -> None:
        """Changes may have gone unannounced: forget every chat, and what the reads under way bring."""
        self._entries.clear()
        self._drops += 1
        self._all_dropped = self._drops

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
        if started < self._all_dropped:
            return
        if len(self._entries) + len(states) > self.max_chats:
            self._entries.clear()  # bounded memory; the next messages simply read again
        for chat_id, state in states.items():
            if self._dropped_at.get(chat_id, 0) <= started:
                self._entries[chat_id] = (state, now)


class ListenConnection(Protocol):
    """What `ChatListener` uses of an asyncpg connection."""

    async def add_listener(self, channel: str, callback: Callable[..., None]) -> None: ...
    def add_termination_listener(self, callback: Callable[[Any], None]) -> None: ...
    async def fetchval(self, query: str) -> Any: ...
    def terminate(self) -> None: ...


Connect = Callable[[], Awaitable[ListenConnection]]


class ChatListener:
    """Keeps a shared `ChatCache` coherent: LISTEN on a connection of its own, drop each chat announced.

    The connection is pinged every `ping_every` seconds; a ping that fails or takes longer than
    `ping_timeout`, or the connection closing, stops the cache's trust at once. It connects again with
    a growing delay, and trusts memory again only once it listens and everything read before is gone.
    """

    def __init__(self, cache: ChatCache, connect: Connect, *, ping_every: float = 5.0, ping_timeout: float = 2.0,
                 retry_every: float = 1.0, retry_most: float = 15.0) -> None:
        self.cache = cache
        self._connect = connect
        self.ping_every = ping_every
        self.ping_timeout = ping_timeout
        self.retry_every = retry_every
        self.retry_most = retry_most
        self.connections = 0  # how many times it has started listening
        self.notices = 0
        self._stopping = False
        self._wake = asyncio.Event()

    async def run(self) -> None:
        """Listen until stopped, connecting again whenever the connection is lost."""
        delay = self.retry_every
        while not self._stopping:
            try:
                await self._listen()
                delay = self.retry_every
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the class only: the text may name the server
                log.warning("chat listener: %s; every update reads its chat until it listens again",
                            type(exc).__name__)
            finally:
                self.cache.listening = False
            if self._stopping:
                break
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)
            delay = min(delay * 2, self.retry_most)

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def _listen(self) -> None:
        connection = await asyncio.wait_for(self._connect(), self.ping_timeout * 3)
        lost = False

        def closed(_connection: Any) -> None:
            nonlocal lost
            lost = True
            self.cache.listening = False  # at once, not at the next ping
            self._wake.set()

        try:
            connection.add_termination_listener(closed)
            await asyncio.wait_for(connection.add_listener(CHANNEL, self._notice), self.ping_timeout)
            # From here on every change is announced; what was read before may have missed one.
            self.cache.drop_all()
            self.cache.listening = True
            self.connections += 1
            log.info("chat listener: listening; chats are kept in memory")
            while not self._stopping:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.ping_every)
                if lost:
                    raise ConnectionError("the listening connection closed")
                if self._stopping:
                    break
                await asyncio.wait_for(connection.fetchval("SELECT 1"), self.ping_timeout)
        finally:
            self.cache.listening = False
            with contextlib.suppress(Exception):
                connection.terminate()

    def _notice(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        self.notices += 1
        try:
            chat_id = int(payload)
        except ValueError:
            self.cache.drop_all()  # not a chat id: whatever changed, nothing in memory is sure
            return
        self.cache.drop(chat_id)


@asynccontextmanager
async def changing(sessions: async_sessionmaker[AsyncSession], cache: ChatCache | None,
                   chat_id: int | None) -> AsyncIterator[AsyncSession]:
    """A transaction that changes a chat; once it is over (committed or not) the cache forgets the chat.

    With a shared cache the change is announced to the other processes, delivered when it commits.
    `chat_id` None (a recipient that is no Telegram chat): nothing cached, only the transaction.
    """
    if chat_id is None:
        cache = None
    try:
        with saving():
            async with sessions.begin() as session:
                yield session
                if cache is not None and cache.shared:
                    await session.execute(select(func.pg_notify(CHANNEL, str(chat_id))))
    finally:
        if cache is not None and chat_id is not None:
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
        select(cast(SubscriptionRow.address, BigInteger), literal("s", text), SubscriptionRow.service_id,
               cast(null(), at)).where(SubscriptionRow.medium == TELEGRAM,
                                       SubscriptionRow.address.in_([str(i) for i in ids])),
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
