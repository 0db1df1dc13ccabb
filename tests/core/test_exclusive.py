"""A once-per-deployment job: run while the lease is held, stopped when it is not, handed back on stop."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.core.exclusive import Exclusive
from tests.waiting import until


class ScriptedLease:
    """A lease whose answers the test decides: True, False, or an exception to raise."""

    def __init__(self, answer: bool | Exception = True, ttl: float = 1.0) -> None:
        self.holder = "me"
        self.ttl = timedelta(seconds=ttl)
        self.answer = answer
        self.asked = 0
        self.released = 0

    async def acquire(self) -> bool:
        self.asked += 1
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer

    async def release(self) -> None:
        self.released += 1


class Job:
    def __init__(self, fail: bool = False) -> None:
        self.running = 0
        self.runs = 0
        self.fail = fail

    async def __call__(self) -> None:
        self.runs += 1
        self.running += 1
        try:
            if self.fail:
                raise RuntimeError("the job broke")
            await asyncio.Event().wait()
        finally:
            self.running -= 1


async def test_the_job_runs_while_the_lease_is_held_and_stops_when_it_is_lost() -> None:
    lease, job = ScriptedLease(), Job()
    exclusive = Exclusive("watcher", lease, job, renew_every=0.01)
    runner = asyncio.create_task(exclusive.run())
    await until(lambda: job.running == 1, "the job starts")
    lease.answer = False  # another replica holds it now
    await until(lambda: job.running == 0, "the job stops")
    await exclusive.stop()
    await runner
    assert job.runs == 1
    assert lease.released == 0, "not ours to give back"


async def test_a_replica_without_the_lease_never_runs_the_job() -> None:
    lease, job = ScriptedLease(False), Job()
    exclusive = Exclusive("watcher", lease, job, renew_every=0.01)
    runner = asyncio.create_task(exclusive.run())
    await until(lambda: lease.asked >= 3, "it keeps asking")
    await exclusive.stop()
    await runner
    assert job.runs == 0


async def test_stopping_stops_the_job_and_gives_the_lease_back() -> None:
    lease, job = ScriptedLease(), Job()
    stopped: list[bool] = []

    async def stop_job() -> None:
        stopped.append(True)

    exclusive = Exclusive("watcher", lease, job, stop_job=stop_job, renew_every=0.01, grace=0.01)
    runner = asyncio.create_task(exclusive.run())
    await until(lambda: job.running == 1, "the job starts")
    await exclusive.stop()
    assert runner.done()
    assert (job.running, stopped, lease.released) == (0, [True], 1)


async def test_while_the_store_is_away_the_job_goes_on_only_as_long_as_the_lease_surely_holds() -> None:
    lease, job = ScriptedLease(ttl=0.3), Job()
    now = [0.0]
    exclusive = Exclusive("watcher", lease, job, renew_every=0.1, monotonic=lambda: now[0])
    runner = asyncio.create_task(exclusive.run())
    await until(lambda: job.running == 1, "the job starts")
    lease.answer = ConnectionError("store away")
    asked = lease.asked
    await until(lambda: lease.asked > asked, "a renewal fails")
    now[0] = 0.15  # the last renewal still holds for a while
    await asyncio.sleep(0.02)
    assert job.running == 1
    now[0] = 0.25  # past what the last renewal is sure of: another replica may have taken it
    await until(lambda: job.running == 0, "the job stops")
    await exclusive.stop()
    await runner


async def test_a_job_that_breaks_is_started_again_at_the_next_renewal() -> None:
    lease, job = ScriptedLease(), Job(fail=True)
    exclusive = Exclusive("retention", lease, job, renew_every=0.01)
    runner = asyncio.create_task(exclusive.run())
    await until(lambda: job.runs >= 2, "the job is started again")
    await exclusive.stop()
    await runner


def test_a_lease_shorter_than_two_renewals_is_refused() -> None:
    with pytest.raises(ValueError):
        Exclusive("watcher", ScriptedLease(ttl=1.0), Job(), renew_every=0.5)
