"""Updates from Telegram through the inbox (`bot/store/inbox.py`): kept first, then handled, then done.

`Poller` long-polls `getUpdates` and keeps each batch in the store before asking for the next one (the
next offset is what confirms a batch to Telegram). The webhook endpoint does the same before it
answers 200. `InboxWorker` claims kept updates, oldest first and in order within a chat, hands each to
the Application, and marks it done once every message it asked for is sent (or given up by rule:
dropped after HALI_REPLY_MAX_WAIT, or the chat is gone). An update whose sends were abandoned because
the process is stopping is given back instead, and answered by whoever takes it next.

An update that python-telegram-bot cannot read (a message without a date, a chat without a type…) is
set aside with the reason, logged once, and never tried again: it must not stop the updates after it.

When the store cannot keep a batch (away, refusing, too slow), the Poller hands it to the worker in
memory instead (`InboxWorker.take`), then confirms it as usual: citizens are answered while the store
is away, once each, and an update so taken is lost if the process dies before answering it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
import warnings
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from telegram import Bot, Update
from telegram.error import Conflict, InvalidToken, NetworkError, TelegramError
from telegram.warnings import PTBUserWarning

from bot.core.budget import Abandoned, Monotonic
from bot.store.errors import STORE_FAILURES
from bot.store.inbox import Inbox, InboxItem, describe
from bot.telegram.context import HaliApplication
from bot.telegram.outbound import Ticket, current_ticket

log = logging.getLogger(__name__)

# getUpdates is asked for through do_api_request on purpose: the raw JSON is kept in the inbox before
# python-telegram-bot reads it, so one update it cannot read never stops the updates after it.
warnings.filterwarnings("ignore", message=r".*do_api_request\(\"getUpdates\"", category=PTBUserWarning)


class Poller:
    """Long polling into the inbox: a batch is confirmed to Telegram only after the store kept it."""

    def __init__(self, bot: Bot, inbox: Inbox, on_new: Callable[[], None], *, timeout: int = 30,
                 allowed_updates: Sequence[str] = (), backoff_max: float = 30.0,
                 direct: Callable[[Sequence[dict[str, Any]]], None] | None = None) -> None:
        """`direct` takes a batch the store could not keep (see the module docstring); without it the
        Poller waits for the store, confirming nothing meanwhile."""
        self.bot = bot
        self.inbox = inbox
        self.on_new = on_new
        self.direct = direct
        self.degraded = False  # the last batch went to `direct`
        self.timeout = timeout
        self.allowed_updates = list(allowed_updates)
        self.backoff_max = backoff_max
        self._stopping = False
        self.fetched = 0

    def stop(self) -> None:
        self._stopping = True

    async def run(self) -> None:
        offset = await self._start_offset()
        delay = 0.0
        while not self._stopping:
            if delay:
                await asyncio.sleep(delay)
            try:
                batch = await self._fetch(offset)
            except InvalidToken:
                log.critical("Telegram refused the bot token; no more updates will be fetched")
                return
            except Conflict:
                delay = self._next_delay(delay)
                log.warning("another process is polling this bot (409); trying again in %.0f s", delay)
                continue
            except (NetworkError, TelegramError) as exc:
                delay = self._next_delay(delay)
                log.warning("getUpdates failed (%s); trying again in %.0f s", type(exc).__name__, delay)
                continue
            if not isinstance(batch, list) or not batch:
                delay = 0.0
                continue
            kept = await self._keep(batch)
            ids = [u["update_id"] for u in batch if isinstance(u, dict) and type(u.get("update_id")) is int]
            if ids:
                offset = max(ids) + 1
            self.fetched += len(batch)
            delay = 0.0
            if kept:
                self.on_new()

    async def _start_offset(self) -> int | None:
        # Telegram returns every update not yet confirmed; the inbox ignores the ones it already has.
        return None

    async def _fetch(self, offset: int | None) -> Any:
        kwargs: dict[str, Any] = {"timeout": self.timeout, "allowed_updates": self.allowed_updates}
        if offset is not None:
            kwargs["offset"] = offset
        return await self.bot.do_api_request("getUpdates", api_kwargs=kwargs, read_timeout=self.timeout + 10)

    async def _keep(self, batch: list[Any]) -> bool:
        """Keep the batch, however long the store takes to come back: it is not confirmed until then.

        A store failure with `direct` hands the batch over instead. Returns whether the inbox has it.
        """
        updates = [u for u in batch if isinstance(u, dict)]
        delay = 0.5
        while True:
            try:
                await self.inbox.add(updates)
            except Exception as exc:
                if self.direct is not None and isinstance(exc, STORE_FAILURES):
                    if not self.degraded:
                        self.degraded = True
                        log.warning("the store did not keep %d updates (%s); answering updates from memory "
                                    "until it does", len(updates), type(exc).__name__)
                    self.direct(updates)
                    return False
                log.exception("could not keep %d updates in the store; trying again in %.0f s", len(batch), delay)
                await asyncio.sleep(delay)
                delay = min(self.backoff_max, delay * 2)
                if self._stopping:
                    return False
                continue
            if self.degraded:
                self.degraded = False
                log.info("the store keeps updates again")
            return True

    def _next_delay(self, delay: float) -> float:
        return min(self.backoff_max, max(1.0, delay * 2))


class InboxWorker:
    """Claims kept updates and sees each through the Application; see the module docstring."""

    def __init__(self, application: HaliApplication, inbox: Inbox, *, worker_id: str | None = None,
                 concurrency: int = 32, in_hand: int = 512, lease: float = 30.0,
                 monotonic: Monotonic = time.monotonic, wall: Callable[[], datetime] | None = None,
                 recovery_poll: float = 1.0, on_done: Callable[[int], None] | None = None,
                 on_answered: Callable[[float], None] | None = None) -> None:
        self.application = application
        self.inbox = inbox
        self.worker = worker_id or f"w-{uuid.uuid4().hex[:12]}"
        self.concurrency = concurrency
        self.in_hand = in_hand
        self.lease = lease
        self.monotonic = monotonic
        self.wall = wall or inbox.clock
        self.recovery_poll = recovery_poll
        self.on_done = on_done  # told the id of every update this worker finished (answered or set aside)
        self.on_answered = on_answered  # told the seconds from an update's arrival to its last send
        self._handling = asyncio.Semaphore(concurrency)
        self._held: dict[int, asyncio.Task[None]] = {}
        self._chains: dict[int, asyncio.Future[None]] = {}
        self._done: list[int] = []  # answered, to be marked done in the store
        self._marking: set[int] = set()  # being marked now
        self._wake = asyncio.Event()
        self._stopping = False
        self._flusher: asyncio.Task[None] | None = None
        self.handled = 0
        self.set_aside = 0

    def wake(self) -> None:
        """New updates were kept: look for them now rather than at the next recovery poll."""
        self._wake.set()

    def take(self, updates: Sequence[dict[str, Any]]) -> None:
        """Updates the store could not keep: handled from memory, in order within a chat, never marked done."""
        now = self.wall()
        for raw in updates:
            update_id = raw.get("update_id")
            if not isinstance(update_id, int) or isinstance(update_id, bool) or update_id in self._held:
                continue
            item = InboxItem(update_id, describe(raw)[1], raw, now)
            self._held[update_id] = asyncio.create_task(self._see_through(item, kept=False), name="hali-update")

    async def run(self) -> None:
        renewed = self.monotonic()
        self._flusher = asyncio.create_task(self._flush_loop(), name="hali-inbox-done")
        try:
            while not self._stopping:
                self._wake.clear()
                room = self.in_hand - len(self._held)
                items: list[InboxItem] = []
                if room > 0:
                    try:
                        items = await self.inbox.claim(self.worker, room, self.lease)
                    except Exception:
                        log.exception("could not claim updates; trying again shortly")
                for item in items:
                    if item.update_id in self._held:
                        continue  # in hand already (its lease ran out while it waited): still ours
                    if item.update_id in self._done or item.update_id in self._marking:
                        continue  # answered here; only its mark is waiting for the store
                    self._held[item.update_id] = asyncio.create_task(self._see_through(item),
                                                                     name="hali-update")
                if self.monotonic() - renewed >= self.lease / 3:
                    renewed = self.monotonic()
                    with contextlib.suppress(Exception):
                        await self.inbox.renew(self.worker, self.lease)
                if items:
                    continue  # more may be claimable now: a chat's next update, the rest of a batch
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.recovery_poll)
        finally:
            if self._flusher is not None:
                self._flusher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._flusher

    def stop(self) -> None:
        """Stop claiming; what is in hand is finished (or given back) by `finish`."""
        self._stopping = True
        self._wake.set()

    async def finish(self, grace: float = 5.0) -> None:
        """Let the updates in hand finish for up to `grace` seconds, then give back the rest."""
        self.stop()
        held = list(self._held.values())
        if held:
            _, late = await asyncio.wait(held, timeout=grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        await self._flush()
        with contextlib.suppress(Exception):
            await self.inbox.release(self.worker)

    async def _see_through(self, item: InboxItem, *, kept: bool = True) -> None:
        chat = item.chat_id
        previous = self._chains.get(chat) if chat is not None else None
        mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if chat is not None:
            self._chains[chat] = mine
        sent: list[asyncio.Future[Any]] | None = []
        arrived = self.monotonic() - max(0.0, (self.wall() - item.received_at).total_seconds())
        try:
            if previous is not None:
                await asyncio.shield(previous)
            async with self._handling:
                sent = await self._handle(item, kept=kept)
        finally:
            mine.set_result(None)
            if chat is not None and self._chains.get(chat) is mine:
                del self._chains[chat]
        try:
            if sent is None:  # set aside: finished, and not to be marked done
                if self.on_done is not None:
                    self.on_done(item.update_id)
                return
            outcomes = await asyncio.gather(*sent, return_exceptions=True) if sent else []
            if any(isinstance(o, Abandoned) for o in outcomes):
                return  # not answered: whoever takes it next answers it (none, when it was not kept)
            if sent and self.on_answered is not None:
                self.on_answered(self.monotonic() - arrived)
            if kept:
                self._done.append(item.update_id)
                if len(self._done) >= 64:
                    await self._flush()
            if self.on_done is not None:
                self.on_done(item.update_id)
        finally:
            self._held.pop(item.update_id, None)

    async def _handle(self, item: InboxItem, *, kept: bool = True) -> list[asyncio.Future[Any]] | None:
        """Run the Application's handlers for one update; returns the messages it queued (None: set aside)."""
        try:
            update = Update.de_json(item.payload, self.application.bot)
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"
            log.warning("update %d set aside: python-telegram-bot cannot read it (%s)", item.update_id,
                        reason[:120])
            self.set_aside += 1
            if kept:
                await self.inbox.set_aside(item.update_id, reason)
            return None
        age = max(0.0, (self.wall() - item.received_at).total_seconds())
        ticket = Ticket(received=self.monotonic() - age, update_id=item.update_id)
        token = current_ticket.set(ticket)
        try:
            await self.application.process_update(update)
        finally:
            current_ticket.reset(token)
        self.handled += 1
        return ticket.sent

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(0.1)
            await self._flush()

    async def _flush(self) -> None:
        ids, self._done = self._done, []
        if not ids:
            return
        self._marking = set(ids)
        try:
            await self.inbox.done(ids)
        except Exception:
            log.warning("could not mark %d updates done; trying again", len(ids), exc_info=True)
            self._done[:0] = ids
        finally:
            self._marking = set()
