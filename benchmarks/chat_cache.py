"""What keeping the chat cache coherent between replicas costs, per update and per change.

Two replicas (two Stores, each with its own engine and its chat listener) on one fresh PostgreSQL
database, `--chats` chats that chose a language and follow a service. Prints, per update (one
`Store.chat`, what every message asks first), alone and in bursts of `--burst` updates arriving together:

* memory, listening: the cache as `hali run` uses it while its listening connection is up;
* no memory: every update reads its chat (what a replica does while its listener is down, and what
  "no cache" would cost all the time);
* a version check's floor: the cheapest read one could check a version with (one indexed column,
  one round trip), what a version column checked per update would cost at least;

then, per change (a /language choice): with and without its NOTIFY, and the delay from the change's
commit to the other replica dropping the chat (both replicas in this one process).

    python benchmarks/chat_cache.py [--chats 200] [--updates 2000] [--burst 32]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select

from benchmarks.harness import database, machine, percentile
from bot.catalog.loader import load_catalog
from bot.core.recipient import Recipient
from bot.store.chats import ChatCache, ChatState
from bot.store.models import UserRow
from bot.store.repo import Store


async def timed(label: str, updates: int, burst: int, one: Callable[[int], Awaitable[object]], chats: int) -> None:
    """Per-update cost of `one`, called for `updates` chats, `burst` at a time."""
    started = time.perf_counter()
    for first in range(0, updates, burst):
        await asyncio.gather(*(one(chat % chats) for chat in range(first, first + burst)))
    per = (time.perf_counter() - started) / updates
    print(f"  {label:<44} burst {burst:>3}: {per * 1e6:9.1f} µs per update")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--burst", type=int, default=32)
    parser.add_argument("--changes", type=int, default=300)
    args = parser.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory() as workdir:
        async with database("postgres", Path(workdir)) as url:
            await run(url, args)


async def run(url: str, args: argparse.Namespace) -> None:
    a, b = Store.from_url(url), Store.from_url(url)
    await a.upgrade()
    await a.load_catalog(load_catalog())
    listeners = [s.chat_listener() for s in (a, b)]
    tasks = [asyncio.create_task(listener.run()) for listener in listeners if listener is not None]
    try:
        for _ in range(1000):
            if a.chats.listening and b.chats.listening:
                break
            await asyncio.sleep(0.01)
        chats = list(range(1, args.chats + 1))
        for chat in chats:
            await a.set_language(chat, "sw" if chat % 2 else "en")
            await a.subscriptions.subscribe(Recipient.telegram(chat), "kra", "en")
        await asyncio.gather(*(b.chat(chat) for chat in chats))

        print(f"\nper update, PostgreSQL, {args.chats} chats, {args.updates} updates")
        for burst in (1, args.burst):
            await timed("memory, listening (coherent)", args.updates, burst, lambda c: b.chat(c + 1), args.chats)
        b.chats.listening = False  # as while its listening connection is down
        for burst in (1, args.burst):
            await timed("no memory: every update reads its chat", args.updates, burst,
                        lambda c: b.chat(c + 1), args.chats)

        async def versions(chat_ids: Sequence[int]) -> dict[int, ChatState]:
            async with b.sessions() as session:
                await session.execute(select(UserRow.chat_id, UserRow.last_seen).where(UserRow.chat_id.in_(chat_ids)))
            return {}

        checks = ChatCache(versions, shared=True)  # never trusted: batched like the chats' reads, every time
        for burst in (1, args.burst):
            await timed("a version check's floor (one indexed read)", args.updates, burst,
                        lambda c: checks.get(c + 1), args.chats)
        b.chats.drop_all()
        b.chats.listening = True

        print(f"\nper change (/language), {args.changes} changes")
        spent = {False: 0.0, True: 0.0}
        for i in range(args.changes * 2):  # alternated, so that both meet the same load on the machine
            a.chats.shared = shared = bool(i % 2)
            started = time.perf_counter()
            await a.set_language(chats[i % len(chats)], "sw" if i % 4 < 2 else "en")
            spent[shared] += time.perf_counter() - started
        for shared in (False, True):
            print(f"  {'with its NOTIFY' if shared else 'without NOTIFY (incoherent)':<44}"
                  f"          {spent[shared] / args.changes * 1e6:9.1f} µs per change")
        a.chats.shared = True

        delays: list[float] = []
        dropped: dict[int, float] = {}
        heard = asyncio.Event()
        drop = b.chats.drop

        def recorded(chat_id: int) -> None:
            dropped[chat_id] = time.perf_counter()
            heard.set()
            drop(chat_id)

        b.chats.drop = recorded  # type: ignore[method-assign]
        for i in range(args.changes):
            chat = chats[i % len(chats)]
            dropped.pop(chat, None)
            heard.clear()
            await a.set_language(chat, "sw" if i % 2 else "en")
            committed = time.perf_counter()
            if chat not in dropped:
                await asyncio.wait_for(heard.wait(), 10)
            delays.append(max(0.0, dropped[chat] - committed))
        delays.sort()
        print(f"  commit → the other replica drops the chat: p50 {percentile(delays, 50) * 1e3:.2f} ms, "
              f"p99 {percentile(delays, 99) * 1e3:.2f} ms, max {delays[-1] * 1e3:.2f} ms "
              f"({sum(1 for d in delays if d == 0)} of {len(delays)} already there when the commit returned)")
    finally:
        for listener in listeners:
            if listener is not None:
                await listener.stop()
        await asyncio.gather(*tasks)
        await a.close()
        await b.close()


if __name__ == "__main__":
    asyncio.run(main())
