"""Two real `hali run` processes on one PostgreSQL: the once-per-deployment jobs run in one of them,
and a SIGTERM hands them to the other at once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.catalog.loader import load_catalog
from bot.catalog.model import Text
from bot.core.recipient import Recipient
from bot.core.status import State
from bot.run import JOB_TRY_SECONDS
from bot.store.models import LeaseRow
from bot.store.repo import Store
from hali_dev.botapi import TOKEN, FakeBotAPI
from tests.conftest import _reset
from tests.waiting import until

ROOT = Path(__file__).resolve().parents[2]
ONCE = {"job:status watcher", "job:report retention", "job:housekeeping", "checks"}


def hali_run(db_url: str, api: FakeBotAPI) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": api.base_url,
           "DATABASE_URL": db_url, "HALI_POLL_TIMEOUT": "1", "HALI_LOG_LEVEL": "WARNING"}
    return subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def holders(store: Store) -> dict[str, int]:
    """Each unexpired lease's name and the pid of its holder (holders are host:pid:nonce)."""
    async with store.sessions() as session:
        rows = (await session.scalars(select(LeaseRow))).all()
    now = store.clock()
    return {r.name: int(r.holder.split(":")[1]) for r in rows if r.expires_at > now}


async def until_held(store: Store, pids: set[int], within: float) -> dict[str, int]:
    """Wait until every once-per-deployment lease is held by one of `pids`."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        held = await holders(store)
        if all(held.get(name) in pids for name in ONCE):
            return held
        await asyncio.sleep(0.1)
    raise AssertionError(f"not every once-per-deployment lease is held by {pids}: {await holders(store)}")


@pytest.fixture
async def pg(postgres_url: str) -> AsyncIterator[Store]:
    store = Store.from_url(postgres_url)
    await store.upgrade()
    await _reset(store)
    await store.load_catalog(load_catalog())
    yield store
    await store.close()


async def test_a_replica_stopped_with_sigterm_hands_its_background_jobs_to_the_other(
        pg: Store, postgres_url: str) -> None:
    async with FakeBotAPI() as api:
        replicas = {p.pid: p for p in (hali_run(postgres_url, api), hali_run(postgres_url, api))}
        try:
            held = await until_held(pg, set(replicas), within=60)
            stopped = replicas[held["job:status watcher"]]
            (survivor,) = set(replicas) - {stopped.pid}
            stopped.send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(stopped.wait, 20) == 0
            assert stopped.pid not in (await holders(pg)).values(), "every lease given back on SIGTERM"
            # At the survivor's next try, not once the leases expire (30 s and more):
            await until_held(pg, {survivor}, within=JOB_TRY_SECONDS + 3)
        finally:
            for process in replicas.values():
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
                    await asyncio.to_thread(process.wait, 20)


async def test_a_replica_killed_mid_fan_out_loses_no_notification(pg: Store, postgres_url: str) -> None:
    followers = range(1000, 1200)
    for chat in followers:
        await pg.touch_user(chat)
        await pg.subscriptions.subscribe(Recipient.telegram(chat), "kra", "en")
    async with FakeBotAPI(global_rate=30) as api:
        replicas = [hali_run(postgres_url, api), hali_run(postgres_url, api)]
        try:
            await until_held(pg, {p.pid for p in replicas}, within=60)
            await pg.open_incident("kra", State.MAJOR_OUTAGE, Text("iTax is down"), actor="cli")

            def told() -> dict[int, int]:
                return {chat: n for chat in followers if (n := len(api.messages_to(chat)))}

            await until(lambda: len(told()) >= 40, "the fan-out under way", within=60, every=0.05)
            replicas[0].send_signal(signal.SIGKILL)  # mid fan-out, rows claimed and sends under way
            await asyncio.to_thread(replicas[0].wait, 10)
            assert len(told()) < len(followers), "killed in the middle of the fan-out"
            # The dead replica's claimed rows return to the queue when their lease (60 s) ends.
            await until(lambda: len(told()) == len(followers), "every follower told", within=120, every=0.2)
        finally:
            for process in replicas:
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
                    await asyncio.to_thread(process.wait, 20)
        counts = told()
    assert set(counts) == set(followers), "every follower told, by the replica that survived"
    assert sum(n - 1 for n in counts.values()) <= 32, "at most the sends under way were repeated"
