"""Once-per-deployment jobs between replicas sharing one store: one runs, the others take over."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import pytest

from bot.app import Jobs
from bot.core.clock import FrozenClock
from bot.core.exclusive import Exclusive
from bot.run import once_per_deployment
from bot.store.checks import Lease
from bot.store.repo import Store
from tests.waiting import until

TTL = timedelta(seconds=30)


class Job:
    """Records which replica runs it; runs until cancelled."""

    def __init__(self) -> None:
        self.running: list[str] = []
        self.started: list[str] = []

    def of(self, replica: str) -> Callable[[], object]:
        async def run() -> None:
            self.started.append(replica)
            self.running.append(replica)
            try:
                await asyncio.Event().wait()
            finally:
                self.running.remove(replica)
        return run


@pytest.fixture
async def other(store_url: str, store: Store, clock: FrozenClock) -> AsyncIterator[Store]:
    """A second replica: its own engine and connections on the same database."""
    replica = Store.from_url(store_url, clock=clock)
    yield replica
    await replica.close()


def exclusive(store: Store, holder: str, job: Job, *, renew_every: float = 0.02) -> Exclusive:
    return Exclusive("status watcher", Lease(store, "job:status watcher", holder, ttl=TTL), job.of(holder),
                     renew_every=renew_every)


async def test_only_one_of_two_replicas_runs_a_once_per_deployment_job(store: Store, other: Store) -> None:
    job = Job()
    a, b = exclusive(store, "a", job), exclusive(other, "b", job)
    tasks = [asyncio.create_task(e.run()) for e in (a, b)]
    await until(lambda: len(job.running) == 1, "one replica runs the job")
    asked = [0]
    acquire = b.lease.acquire

    async def counted() -> bool:
        asked[0] += 1
        return await acquire()

    b.lease.acquire = counted  # type: ignore[method-assign]
    await until(lambda: asked[0] >= 5, "the other asks, renewals go on")
    assert job.started == job.running and len(job.started) == 1
    assert a.holding != b.holding
    await asyncio.gather(a.stop(), b.stop())
    await asyncio.gather(*tasks)


async def test_a_dead_holders_job_is_taken_over_once_its_lease_expires(
        store: Store, other: Store, clock: FrozenClock) -> None:
    assert await Lease(store, "job:status watcher", "dead", ttl=TTL).acquire()  # then killed: never renewed
    job = Job()
    b = exclusive(other, "b", job)
    task = asyncio.create_task(b.run())
    await asyncio.sleep(0.1)  # several tries while the dead holder's lease is still valid
    assert job.started == []
    clock.advance(seconds=31)
    await until(lambda: job.running == ["b"], "b takes the job over")
    assert await Lease(store, "job:status watcher", "x").holder_now() == "b"
    await b.stop()
    await task


async def test_a_replica_stopped_gracefully_hands_its_job_over_at_once(store: Store, other: Store) -> None:
    job = Job()
    a = exclusive(store, "a", job)
    a_task = asyncio.create_task(a.run())
    await until(lambda: job.running == ["a"], "a runs the job")
    b = exclusive(other, "b", job)
    b_task = asyncio.create_task(b.run())
    await asyncio.sleep(0.1)
    assert job.running == ["a"]
    await a.stop()  # SIGTERM: the lease is given back, the clock does not move
    assert a_task.done() and await Lease(store, "job:status watcher", "x").holder_now() in (None, "b")
    await until(lambda: job.running == ["b"], "b takes over without waiting for the lease to expire")
    await b.stop()
    await b_task


async def test_jobs_stopped_in_order_release_every_lease(store: Store, other: Store) -> None:
    jobs, job = Jobs(), Job()
    for name in ("status watcher", "report retention"):
        once_per_deployment(jobs, store, "a", name, job.of(name))
    jobs.start()
    await until(lambda: sorted(job.running) == ["report retention", "status watcher"], "both run")
    await jobs.stop()
    assert job.running == []
    for name in ("status watcher", "report retention"):
        assert await Lease(other, f"job:{name}", "b").holder_now() is None
