"""The status watcher driven by explicit ticks over a board whose statuses the test sets."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.catalog.model import Catalog, Text
from bot.core.board import Snapshot
from bot.core.clock import FrozenClock
from bot.core.status import EffectiveStatus, Signal, Source, State, effective_status, incident_signals
from bot.core.watcher import StatusWatcher
from bot.render.checks import dependency_wording
from bot.store.repo import Store


@dataclass
class SettableBoard:
    """A StatusBoard stand-in: checks and reports as the test says, incidents from the store."""

    store: Store
    catalog: Catalog
    checks: dict[str, State] = field(default_factory=dict)

    def invalidate(self) -> None:
        pass

    async def snapshot(self) -> Snapshot:
        incidents = await self.store.incidents(open_only=True)
        statuses: dict[str, EffectiveStatus] = {}
        for service in self.catalog.services:
            signals = incident_signals(i for i in incidents if i.service_id == service.id)
            if service.id in self.checks:
                signals.append(Signal(Source.CHECK, self.checks[service.id], self.store.clock()))
            statuses[service.id] = effective_status(service.id, signals)
        return Snapshot(self.catalog, statuses)


async def kinds(store: Store) -> list[tuple[str, str, str]]:
    return [(c.service_id, c.kind, c.state) for c in reversed(await store.outbox.counts())]


async def test_an_automatic_change_is_told_once_after_settling_and_not_again_after_a_restart(
    sqlite_store: Store, clock: FrozenClock
) -> None:
    board = SettableBoard(sqlite_store, await sqlite_store.catalog())
    watcher = StatusWatcher(board, sqlite_store.watch_states, settle=120, clock=clock)  # type: ignore[arg-type]
    await watcher.tick()
    board.checks["kra"] = State.MAJOR_OUTAGE
    await watcher.tick()
    clock.advance(seconds=60)
    assert await watcher.tick() == []
    clock.advance(seconds=60)
    assert len(await watcher.tick()) == 1
    restarted = StatusWatcher(board, sqlite_store.watch_states, settle=120, clock=clock)  # type: ignore[arg-type]
    clock.advance(seconds=60)
    assert await restarted.tick() == []
    board.checks["kra"] = State.OPERATIONAL
    await restarted.tick()
    clock.advance(seconds=120)
    await restarted.tick()
    assert await kinds(sqlite_store) == [("kra", "changed", "major_outage"), ("kra", "changed", "operational")]


async def test_an_operator_incident_is_announced_once_not_again_by_the_watcher(
    sqlite_store: Store, clock: FrozenClock
) -> None:
    board = SettableBoard(sqlite_store, await sqlite_store.catalog())
    watcher = StatusWatcher(board, sqlite_store.watch_states, settle=120, clock=clock)  # type: ignore[arg-type]
    await watcher.tick()
    incident = await sqlite_store.open_incident("sha", State.MAJOR_OUTAGE, Text("Down"), actor="cli")
    for _ in range(4):
        clock.advance(seconds=60)
        await watcher.tick()
    await sqlite_store.resolve_incident(incident, actor="cli")
    for _ in range(4):
        clock.advance(seconds=60)
        await watcher.tick()
    assert await kinds(sqlite_store) == [("sha", "opened", "major_outage"), ("sha", "resolved", "operational")]


async def test_a_check_that_still_fails_after_the_incident_is_resolved_is_told(
    sqlite_store: Store, clock: FrozenClock
) -> None:
    board = SettableBoard(sqlite_store, await sqlite_store.catalog())
    watcher = StatusWatcher(board, sqlite_store.watch_states, settle=120, clock=clock)  # type: ignore[arg-type]
    board.checks["ntsa"] = State.MAJOR_OUTAGE
    await watcher.tick()
    incident = await sqlite_store.open_incident("ntsa", State.MAJOR_OUTAGE, Text("Down"), actor="cli")
    await watcher.tick()
    await sqlite_store.resolve_incident(incident, actor="cli")
    for _ in range(3):
        clock.advance(seconds=61)
        await watcher.tick()
    assert await kinds(sqlite_store) == [
        ("ntsa", "opened", "major_outage"), ("ntsa", "resolved", "operational"), ("ntsa", "changed", "major_outage"),
    ]


async def test_a_dependency_problem_is_news_for_its_dependents_only_once_it_has_settled(
    store: Store, clock: FrozenClock
) -> None:
    board = SettableBoard(store, await store.catalog())
    watcher = StatusWatcher(board, store.watch_states, settle=120, clock=clock, wording=dependency_wording)  # type: ignore[arg-type]
    await watcher.tick()
    board.checks["mpesa"] = State.MAJOR_OUTAGE  # a blip: back before it settles
    await watcher.tick()
    clock.advance(seconds=60)
    board.checks["mpesa"] = State.OPERATIONAL
    await watcher.tick()
    clock.advance(seconds=120)
    assert await watcher.tick() == []

    board.checks["mpesa"] = State.PARTIAL_OUTAGE
    assert await watcher.tick() == []
    clock.advance(seconds=60)
    assert await watcher.tick() == [], "not before the dependency's own change is told"
    clock.advance(seconds=60)
    created = await watcher.tick()
    dependents = sorted(s.id for s in board.catalog.services if "mpesa" in s.depends_on)
    told = await kinds(store)
    assert ("mpesa", "changed", "partial_outage") in told
    assert sorted(service for service, kind, _ in told if kind == "dependency") == dependents
    assert len(created) == 1 + len(dependents)
    clock.advance(seconds=60)
    assert await watcher.tick() == []

    board.checks["mpesa"] = State.OPERATIONAL
    await watcher.tick()
    clock.advance(seconds=120)
    ended = await watcher.tick()
    assert len(ended) == 1 + len(dependents)
    events = await store.outbox.events(ended)
    ntsa = [e for e in events.values() if e.service_id == "ntsa"]
    assert len(ntsa) == 1 and ntsa[0].rendered is not None
    assert "is over" in ntsa[0].rendered["en"] and "M-Pesa" in ntsa[0].rendered["sw"]
