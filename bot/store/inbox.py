"""The inbox: every update from Telegram is kept here before Telegram is told it arrived.

With long polling, the next `getUpdates` offset confirms the updates before it; with a webhook, the
200 answer does. Either happens only after `add` committed, so an update Telegram considers delivered
is in the store, and a process that dies while answering it leaves it for another (or itself after a
restart) to finish:

* a process claims updates under a lease (`claimed_by`, `claimed_until`), renewed while it works, and
  marks them done once every reply they called for is sent (or given up by rule);
* updates of one chat are claimed in order: an update is claimable only when no earlier update of its
  chat is waiting elsewhere (a process may take a chat's next update while it still holds the earlier
  one, and handles them in order itself);
* `done` drops the payload (it holds the citizen's words) and the chat id, and keeps only the update's
  id and time for a day,
  so a second delivery of the same update (webhooks are at least once) is recognised and not answered
  again; `purge` forgets them after that;
* an update that cannot be read is set aside with its reason, once, and never retried.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, delete, func, null, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from bot.store.db import insert_ignore, rowcount
from bot.store.models import InboxRow

if TYPE_CHECKING:
    from bot.store.repo import Store

PENDING, DONE, INVALID = "pending", "done", "invalid"
KEPT_AFTER_DONE = timedelta(days=1)

# The kinds of update and where each keeps its chat (for the order within a chat).
_CHAT_PATHS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("message", ("message", "chat", "id")),
    ("edited_message", ("edited_message", "chat", "id")),
    ("callback_query", ("callback_query", "message", "chat", "id")),
    ("my_chat_member", ("my_chat_member", "chat", "id")),
    ("channel_post", ("channel_post", "chat", "id")),
)


def describe(update: dict[str, Any]) -> tuple[str, int | None]:
    """An update's kind and chat id as far as they can be read, without trusting its shape."""
    for kind, path in _CHAT_PATHS:
        if kind not in update:
            continue
        value: Any = update
        for step in path:
            value = value.get(step) if isinstance(value, dict) else None
        if kind == "callback_query" and not isinstance(value, int):
            sender = update.get("callback_query")
            sender = sender.get("from") if isinstance(sender, dict) else None
            value = sender.get("id") if isinstance(sender, dict) else None
        chat = value if isinstance(value, int) and not isinstance(value, bool) else None
        return kind, chat
    kinds = [k for k in update if k != "update_id"]
    return (kinds[0][:32] if kinds else "empty"), None


@dataclass(frozen=True)
class InboxItem:
    update_id: int
    chat_id: int | None
    payload: dict[str, Any]
    received_at: datetime


@dataclass(frozen=True)
class InboxCounts:
    pending: int
    claimed: int
    invalid: int
    oldest_pending: datetime | None


class Inbox:
    """A part of the store (`Inbox(store)`): the updates kept before they are confirmed."""

    def __init__(self, store: Store) -> None:
        self.sessions: async_sessionmaker[AsyncSession] = store.sessions
        self.dialect = store.engine.dialect.name
        self.clock: Callable[[], datetime] = store.clock

    async def add(self, updates: Sequence[dict[str, Any]]) -> list[int]:
        """Keep updates (each once, whatever is delivered twice); returns the ids that were new.

        Entries without a whole-number `update_id` cannot be kept and are left out.
        """
        now = self.clock()
        rows: list[dict[str, Any]] = []
        for raw in updates:
            update_id = raw.get("update_id") if isinstance(raw, dict) else None
            if not isinstance(update_id, int) or isinstance(update_id, bool):
                continue
            kind, chat_id = describe(raw)
            rows.append({"update_id": update_id, "chat_id": chat_id, "kind": kind, "payload": raw,
                         "status": PENDING, "received_at": now})
        if not rows:
            return []
        ids = [r["update_id"] for r in rows]
        async with self.sessions.begin() as session:
            known = set((await session.scalars(select(InboxRow.update_id).where(InboxRow.update_id.in_(ids)))).all())
            fresh = [r for r in rows if r["update_id"] not in known]
            if fresh:
                await session.execute(insert_ignore(self.dialect, InboxRow), fresh)
        return [r["update_id"] for r in fresh]

    async def claim(self, worker: str, limit: int, lease: float) -> list[InboxItem]:
        """Take up to `limit` updates, oldest first, keeping each chat's updates in order (see above)."""
        now = self.clock()
        earlier = aliased(InboxRow)
        free = or_(InboxRow.claimed_by.is_(None), InboxRow.claimed_until < now)
        blocked = (
            select(earlier.update_id)
            .where(earlier.chat_id == InboxRow.chat_id, earlier.update_id < InboxRow.update_id,
                   earlier.status == PENDING,
                   # unless held by this worker, alive: it handles them in order itself
                   or_(earlier.claimed_by.is_(None), earlier.claimed_by != worker, earlier.claimed_until < now))
            .exists()
        )
        due = (
            select(InboxRow.update_id)
            .where(InboxRow.status == PENDING, free, or_(InboxRow.chat_id.is_(None), ~blocked))
            .order_by(InboxRow.update_id)
            .limit(limit)
        )
        if self.dialect == "postgresql":
            due = due.with_for_update(skip_locked=True)
        statement = (
            update(InboxRow)
            .where(InboxRow.update_id.in_(due.scalar_subquery()))
            .values(claimed_by=worker, claimed_until=now + timedelta(seconds=lease))
            .returning(InboxRow.update_id, InboxRow.chat_id, InboxRow.payload, InboxRow.received_at)
            .execution_options(synchronize_session=False)
        )
        async with self.sessions.begin() as session:
            rows = (await session.execute(statement)).all()
        items = [InboxItem(int(r[0]), r[1], r[2] or {}, r[3]) for r in rows]
        return sorted(items, key=lambda i: i.update_id)

    async def renew(self, worker: str, lease: float) -> int:
        """Extend every lease this worker holds; returns how many it still holds."""
        now = self.clock()
        async with self.sessions.begin() as session:
            result = await session.execute(
                update(InboxRow).where(InboxRow.claimed_by == worker, InboxRow.status == PENDING)
                .values(claimed_until=now + timedelta(seconds=lease)).execution_options(synchronize_session=False))
        return rowcount(result)

    async def held(self, worker: str, ids: Sequence[int]) -> set[int]:
        """Which of these updates this worker still holds (a lease lost to a long pause is not)."""
        if not ids:
            return set()
        now = self.clock()
        async with self.sessions() as session:
            return set((await session.scalars(select(InboxRow.update_id).where(
                InboxRow.update_id.in_(list(ids)), InboxRow.claimed_by == worker,
                InboxRow.claimed_until >= now, InboxRow.status == PENDING))).all())

    async def done(self, ids: Sequence[int]) -> None:
        """Answered: forget what the update said, keep its id a day (a second delivery is ignored)."""
        if not ids:
            return
        async with self.sessions.begin() as session:
            await session.execute(
                update(InboxRow).where(InboxRow.update_id.in_(list(ids)))
                .values(status=DONE, payload=null(), chat_id=None, claimed_by=None, claimed_until=None,
                        done_at=self.clock())
                .execution_options(synchronize_session=False))

    async def release(self, worker: str, ids: Sequence[int] | None = None) -> None:
        """Give updates back unfinished (stopping): another process may take them at once."""
        query = update(InboxRow).where(InboxRow.claimed_by == worker, InboxRow.status == PENDING)
        if ids is not None:
            if not ids:
                return
            query = query.where(InboxRow.update_id.in_(list(ids)))
        async with self.sessions.begin() as session:
            await session.execute(query.values(claimed_by=None, claimed_until=None)
                                  .execution_options(synchronize_session=False))

    async def set_aside(self, update_id: int, reason: str) -> None:
        """An update that cannot be read: keep the reason, drop what it said, never try it again."""
        async with self.sessions.begin() as session:
            await session.execute(
                update(InboxRow).where(InboxRow.update_id == update_id)
                .values(status=INVALID, payload=null(), chat_id=None, claimed_by=None, claimed_until=None,
                        done_at=self.clock(), reason=reason[:200])
                .execution_options(synchronize_session=False))

    async def purge(self) -> int:
        """Forget updates done (or set aside) more than a day ago."""
        async with self.sessions.begin() as session:
            result = await session.execute(delete(InboxRow).where(
                InboxRow.status != PENDING, InboxRow.done_at < self.clock() - KEPT_AFTER_DONE))
        return rowcount(result)

    async def counts(self) -> InboxCounts:
        now = self.clock()
        async with self.sessions() as session:
            held_now = case((InboxRow.claimed_until >= now, 1), else_=0)
            rows = (await session.execute(
                select(InboxRow.status, held_now, func.count(), func.min(InboxRow.received_at))
                .where(InboxRow.status != DONE)
                .group_by(InboxRow.status, held_now))).all()
        pending = claimed = invalid = 0
        oldest: datetime | None = None
        for status, held, count, first in rows:
            if status == INVALID:
                invalid += int(count)
                continue
            pending += int(count)
            if held:
                claimed += int(count)
            oldest = first if oldest is None or (first is not None and first < oldest) else oldest
        return InboxCounts(pending, claimed, invalid, oldest)

    async def next_offset(self) -> int | None:
        """The getUpdates offset that confirms every update kept so far (None: nothing kept yet)."""
        async with self.sessions() as session:
            top = await session.scalar(select(func.max(InboxRow.update_id)))
        return int(top) + 1 if top is not None else None
