"""The runner on a real store (SQLite and PostgreSQL): verdicts, offline batches, uptime, the lease,
and checks taking their place below incidents and maintenance on the status board."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from bot.catalog.model import Check, Text
from bot.core.checks import Outcome, ProbeResult
from bot.core.clock import FrozenClock
from bot.core.status import Source, State
from bot.services.answers import Engine
from bot.services.check_runner import CheckRunner
from bot.services.sources import make_board
from bot.store.checks import CheckStore, Lease
from bot.store.repo import Store


class ScriptedProber:
    """Answers every probe with the outcome `script` gives for (service, url); no network."""

    def __init__(self, clock: FrozenClock, script: Callable[[str, str], Outcome]) -> None:
        self.clock = clock
        self.script = script
        self.calls: list[str] = []

    async def probe(self, service_id: str, check: Check) -> ProbeResult:
        self.calls.append(check.key(service_id))
        outcome = self.script(service_id, check.url)
        return ProbeResult(check.key(service_id), service_id, self.clock(), outcome, 120, 200)

    async def close(self) -> None:
        pass


def runner(store: Store, clock: FrozenClock, script: Callable[[str, str], Outcome], holder: str = "a") -> CheckRunner:
    return CheckRunner(store, ScriptedProber(clock, script), holder=holder)  # type: ignore[arg-type]


def only(service: str, bad: Outcome) -> Callable[[str, str], Outcome]:
    return lambda sid, url: bad if sid == service else Outcome.OK


async def minutes(r: CheckRunner, clock: FrozenClock, n: int) -> None:
    for _ in range(n):
        await r.tick()
        clock.advance(minutes=1)


async def test_three_failed_minutes_make_a_service_down_on_the_board(store: Store, clock: FrozenClock) -> None:
    r = runner(store, clock, only("kra", Outcome.HTTP_STATUS))
    board = make_board(store, max_age=0)
    await minutes(r, clock, 2)
    assert (await board.snapshot()).status("kra").source is None  # two failures: no verdict yet
    await minutes(r, clock, 1)
    kra = (await board.snapshot()).status("kra")
    assert kra.state is State.MAJOR_OUTAGE and kra.source is Source.CHECK
    sha = (await board.snapshot()).status("sha")
    assert sha.state is State.OPERATIONAL and sha.source is Source.CHECK


async def test_one_of_two_checks_failing_is_a_partial_outage(store: Store, clock: FrozenClock) -> None:
    r = runner(store, clock, lambda sid, url: Outcome.TIMEOUT if "accounts." in url else Outcome.OK)
    await minutes(r, clock, 3)
    status = (await make_board(store, max_age=0).snapshot()).status("ecitizen")
    assert status.state is State.PARTIAL_OUTAGE


async def test_an_operators_incident_and_a_maintenance_window_outrank_the_checks(
    store: Store, clock: FrozenClock
) -> None:
    r = runner(store, clock, only("kra", Outcome.TIMEOUT))
    board = make_board(store, max_age=0)
    await minutes(r, clock, 3)
    incident = await store.open_incident("kra", State.DEGRADED, Text("iTax slow"), actor="cli")
    status = (await board.snapshot()).status("kra")
    assert (status.state, status.source) == (State.DEGRADED, Source.INCIDENT)
    await store.resolve_incident(incident, actor="cli")

    await store.schedule_maintenance("kra", clock() - timedelta(minutes=1), clock() + timedelta(hours=4),
                                     Text("Planned upgrade"), actor="cli")
    await minutes(r, clock, 2)
    status = (await board.snapshot()).status("kra")
    assert (status.state, status.source) == (State.MAINTENANCE, Source.MAINTENANCE)

    clock.advance(hours=4)
    await minutes(r, clock, 1)
    status = (await board.snapshot()).status("kra")
    assert (status.state, status.source) == (State.MAJOR_OUTAGE, Source.CHECK)


async def test_a_batch_where_everything_fails_on_the_network_blames_nobody(store: Store, clock: FrozenClock) -> None:
    r = runner(store, clock, lambda sid, url: Outcome.DNS)
    await minutes(r, clock, 5)
    snapshot = await make_board(store, max_age=0).snapshot()
    assert all(snapshot.status(s).source is None for s in ("ecitizen", "kra", "sha", "iebc"))
    assert r.offline
    view = snapshot.checks["kra"]
    assert view.offline and view.last_outcome is Outcome.DNS
    assert view.uptime.day is None  # offline probes are not counted
    card = (await Engine(make_board(store, max_age=0), clock=clock).card("kra", "en"))
    assert card is not None and "Hali could not reach the internet" in card.plain


async def test_a_verdict_goes_stale_when_the_checks_stop(store: Store, clock: FrozenClock) -> None:
    r = runner(store, clock, only("kra", Outcome.TIMEOUT))
    await minutes(r, clock, 3)
    clock.advance(minutes=6)
    assert (await make_board(store, max_age=0).snapshot()).status("kra").source is None


async def test_uptime_counts_good_answers_over_each_period(store: Store, clock: FrozenClock) -> None:
    checks = CheckStore(store)
    check = Check(url="https://sha.go.ke")
    key = check.key("sha")
    start = clock()
    # 30 days ago: 10 failures; 3 days ago: 10 good; in the last hours: 3 good and 1 bad.
    for days, outcome, n in ((29, Outcome.TIMEOUT, 10), (3, Outcome.OK, 10)):
        clock.now = start - timedelta(days=days)
        for _ in range(n):
            await checks.record(ProbeResult(key, "sha", clock(), outcome), check)
            clock.advance(minutes=1)
    clock.now = start - timedelta(hours=2)
    for outcome in (Outcome.OK, Outcome.SLOW, Outcome.OK, Outcome.HTTP_STATUS):
        await checks.record(ProbeResult(key, "sha", clock(), outcome), check)
        clock.advance(minutes=1)
    clock.now = start
    uptime = (await checks.uptime())["sha"]
    assert uptime.day == 3 / 4
    assert uptime.week == 13 / 14
    assert uptime.month == 13 / 24


async def test_the_retention_job_drops_old_rows_but_keeps_the_hours(store: Store, clock: FrozenClock) -> None:
    checks = CheckStore(store)
    check = Check(url="https://sha.go.ke")
    start = clock()
    clock.now = start - timedelta(days=3)
    await checks.record(ProbeResult(check.key("sha"), "sha", clock(), Outcome.OK), check)
    clock.now = start
    await checks.record(ProbeResult(check.key("sha"), "sha", clock(), Outcome.OK), check)
    assert await checks.prune() == (1, 0)
    assert len(await checks.results(check.key("sha"))) == 1
    assert (await checks.uptime())["sha"].week == 1.0


async def test_each_check_runs_on_its_own_interval(store: Store, clock: FrozenClock) -> None:
    r = runner(store, clock, lambda sid, url: Outcome.OK)
    prober = r.prober
    assert len(await r.tick()) == 7
    clock.advance(seconds=30)
    assert await r.tick() == []
    clock.advance(seconds=30)
    assert len(await r.tick()) == 7
    assert len(prober.calls) == 14  # type: ignore[attr-defined]


async def test_only_one_runner_holds_the_lease_and_another_takes_over_within_a_minute(
    store: Store, clock: FrozenClock
) -> None:
    a = runner(store, clock, lambda sid, url: Outcome.OK, holder="replica-a")
    b = runner(store, clock, lambda sid, url: Outcome.OK, holder="replica-b")
    assert await a.tick() != []
    assert await b.tick() == [] and not b.holding
    died_at = clock()
    # Replica A dies without releasing; B keeps asking every 15 seconds.
    taken_after = None
    for _ in range(8):
        clock.advance(seconds=15)
        if await b.tick() != []:
            taken_after = clock() - died_at
            break
    assert taken_after is not None and taken_after <= timedelta(minutes=1)
    assert await Lease(store, "checks", "someone").holder_now() == "replica-b"
    # A comes back: it finds the lease taken and stays idle.
    assert await a.tick() == [] and not a.holding


async def test_a_stopping_runner_hands_over_at_once(store: Store, clock: FrozenClock) -> None:
    a = runner(store, clock, lambda sid, url: Outcome.OK, holder="replica-a")
    b = runner(store, clock, lambda sid, url: Outcome.OK, holder="replica-b")
    await a.tick()
    await a.stop()
    assert await b.tick() != []


async def test_the_card_says_when_the_last_check_ran_what_it_saw_and_the_uptime(
    store: Store, clock: FrozenClock
) -> None:
    answers = iter([Outcome.HTTP_STATUS, Outcome.OK])
    r = runner(store, clock, lambda sid, url: next(answers) if sid == "kra" else Outcome.OK)
    await minutes(r, clock, 1)
    clock.advance(minutes=1)
    await r.tick()
    clock.advance(minutes=5)
    engine = Engine(make_board(store, max_age=0), clock=clock)
    card = await engine.card("kra", "en")
    assert card is not None
    assert "Last automatic check at 09:42 EAT (5 minutes ago): it answered normally in 0.1 seconds." in card.plain
    assert "Uptime: 50.0% (24 hours) · 50.0% (7 days) · 50.0% (30 days)" in card.plain
    listing = await engine.services_list("en")
    assert "KRA iTax: No problems known · 50.0% / 50.0% / 50.0%" in listing.plain
    assert "NTSA services (formerly TIMS): No problems known\n" in listing.plain  # not checked: no figures
    assert "uptime measured by Hali's checks" in listing.plain
    sw = await engine.card("kra", "sw")
    assert sw is not None and "ilijibu kama kawaida (sekunde 0.1)" in sw.plain


async def test_before_the_first_check_the_card_does_not_say_the_service_is_checked_and_fine(
    store: Store, clock: FrozenClock
) -> None:
    engine = Engine(make_board(store, max_age=0), clock=clock)
    card = await engine.card("kra", "en")
    assert card is not None
    assert "Hali's automatic checks of this service have not run yet." in card.plain
    assert "Hali checks this service automatically" not in card.plain
    assert "Neither the service provider nor any citizen has reported a problem.\n" in card.plain
    r = runner(store, clock, lambda sid, url: Outcome.OK)
    await r.tick()
    card = await engine.card("kra", "en")
    assert card is not None and "Hali checks this service automatically and no problem is known." in card.plain


async def test_a_batch_whose_results_cannot_be_written_at_first_is_written_on_a_retry(
    store: Store, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    r = runner(store, clock, only("kra", Outcome.HTTP_STATUS))
    r.retry_delays = (0.0, 0.0, 0.0)
    record_many = CheckStore.record_many
    failures = [ConnectionResetError("store went away")] * 2

    async def flaky(self: CheckStore, items: Any) -> Any:
        if failures:
            raise failures.pop()
        return await record_many(self, items)

    monkeypatch.setattr(CheckStore, "record_many", flaky)
    await r.tick(wait=False)
    await asyncio.gather(*list(r._batches), return_exceptions=True)
    assert not failures
    assert {s.key for s in await CheckStore(store).states()} >= {c.key(sid) for sid, c in
                                                                  _checks(await store.catalog())}
    assert any("trying again" in rec.getMessage() for rec in caplog.records)


async def test_a_batch_that_cannot_be_written_at_all_is_logged_not_lost_silently(
    store: Store, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    r = runner(store, clock, only("kra", Outcome.HTTP_STATUS))
    r.retry_delays = (0.0,)

    async def gone(self: CheckStore, items: Any) -> Any:
        raise ConnectionResetError("store went away")

    monkeypatch.setattr(CheckStore, "record_many", gone)
    with caplog.at_level(logging.ERROR, logger="bot.services.check_runner"):
        await r.tick(wait=False)
        batches = list(r._batches)
        await asyncio.gather(*batches, return_exceptions=True)
        await asyncio.sleep(0)  # the done callbacks
    assert [rec for rec in caplog.records if rec.levelno == logging.ERROR and rec.exc_info]
    assert not r._batches


def _checks(catalog: Any) -> list[tuple[str, Check]]:
    return [(s.id, c) for s in catalog.services for c in s.checks]
