"""Background work that fails: logged, and tried again soon, with a growing pause."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace

import pytest

from bot.app import Jobs
from bot.core import periodic


async def test_a_failing_periodic_job_is_logged_and_retried_with_backoff_not_an_hour_later(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    pauses: list[float] = []
    outcomes = [RuntimeError("store down")] * 4 + [None, RuntimeError("store down"), None]

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)
        if len(pauses) > len(outcomes):
            raise asyncio.CancelledError

    async def job() -> str:
        outcome = outcomes[len(pauses) - 1]
        if outcome is not None:
            raise outcome
        return "ok"

    monkeypatch.setattr(periodic, "asyncio", SimpleNamespace(sleep=sleep, CancelledError=asyncio.CancelledError))
    with caplog.at_level(logging.INFO, logger="bot.core.periodic"), pytest.raises(asyncio.CancelledError):
        await periodic.every(3600, job, name="report retention", first_delay=60)
    assert pauses == [60, 5, 10, 20, 40, 3600, 5, 3600]
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(failures) == 5 and all(r.exc_info for r in failures)
    assert "trying again in 5 s" in failures[0].getMessage()


async def test_a_background_job_that_fails_is_logged_and_started_again(caplog: pytest.LogCaptureFixture) -> None:
    runs: list[int] = []
    running = asyncio.Event()

    async def flaky() -> None:
        runs.append(len(runs))
        if len(runs) < 3:
            raise ConnectionResetError("store went away")
        running.set()
        await asyncio.Event().wait()

    jobs = Jobs()
    jobs.restart_first = 0.01
    jobs.add("dispatcher", flaky)
    jobs.start()
    try:
        async with asyncio.timeout(5):
            await running.wait()
    finally:
        await jobs.stop(grace=0.1)
    assert len(runs) == 3
    errors = [r for r in caplog.records if r.levelno == logging.ERROR and "dispatcher" in r.getMessage()]
    assert len(errors) == 2 and all(r.exc_info for r in errors)


async def test_a_job_that_fails_while_stopping_is_not_started_again() -> None:
    runs: list[int] = []
    stopped = asyncio.Event()

    async def run() -> None:
        runs.append(1)
        await stopped.wait()
        raise RuntimeError("closing")

    async def stop() -> None:
        stopped.set()

    jobs = Jobs()
    jobs.restart_first = 0.0
    jobs.add("inbox", run, stop=stop)
    jobs.start()
    await asyncio.sleep(0)
    await jobs.stop(grace=1)
    assert runs == [1]
