"""The status store, run on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from bot.catalog.loader import load_catalog
from bot.catalog.model import Text
from bot.core.board import StatusBoard
from bot.core.clock import FrozenClock
from bot.core.status import Source, State
from bot.store.repo import Conflict, NotFound, Store


async def test_the_bundled_catalogue_is_loaded_in_order(store: Store) -> None:
    services = await store.services()
    assert [s.id for s in services] == list(load_catalog().ids)


async def test_reloading_the_catalogue_changes_nothing(store: Store) -> None:
    result = await store.load_catalog(load_catalog())
    assert result.added == () and result.updated == ()


async def test_reloading_the_catalogue_keeps_an_operators_edit(store: Store) -> None:
    kra = (await store.catalog())["kra"]
    edited = replace(kra, name=Text("KRA iTax (edited)", kra.name.sw))
    await store.edit_service(edited, actor="op:1")

    result = await store.load_catalog(load_catalog())

    assert result.kept == ("kra",)
    assert (await store.catalog())["kra"].name.en == "KRA iTax (edited)"


async def test_it_opens_updates_and_resolves_an_incident(store: Store, clock: FrozenClock) -> None:
    incident_id = await store.open_incident(
        "ecitizen", State.MAJOR_OUTAGE, Text("Payments failing", "Malipo yanakataa"),
        actor="cli", message=Text("We are looking into it"), workaround=Text("Pay at a bank"),
    )
    clock.advance(minutes=10)
    await store.update_incident(incident_id, Text("Partly back", "Imerudi kwa sehemu"), actor="cli",
                                state=State.PARTIAL_OUTAGE)
    incident = await store.incident(incident_id)
    assert incident.is_open and incident.state is State.PARTIAL_OUTAGE
    assert incident.latest_message is not None and incident.latest_message.message == Text(
        "Partly back", "Imerudi kwa sehemu")
    assert incident.title.sw == "Malipo yanakataa" and incident.workaround == Text("Pay at a bank")

    clock.advance(minutes=5)
    await store.resolve_incident(incident_id, actor="cli", message=Text("All good"))
    resolved = await store.incident(incident_id)
    assert resolved.resolved_at == clock.now
    assert await store.incidents(open_only=True) == []
    actions = [row.action for row in await store.audit_log()]
    assert actions[:3] == ["incident.resolve", "incident.update", "incident.open"]


async def test_it_refuses_an_incident_for_an_unknown_service(store: Store) -> None:
    with pytest.raises(NotFound):
        await store.open_incident("nope", State.DEGRADED, Text("x"), actor="cli")
    assert await store.incidents() == []


async def test_it_refuses_to_resolve_twice_or_an_unknown_incident(store: Store) -> None:
    incident_id = await store.open_incident("kra", State.DEGRADED, Text("Slow"), actor="cli")
    await store.resolve_incident(incident_id, actor="cli")
    with pytest.raises(Conflict):
        await store.resolve_incident(incident_id, actor="cli")
    with pytest.raises(Conflict):
        await store.update_incident(incident_id, Text("more"), actor="cli")
    with pytest.raises(NotFound):
        await store.resolve_incident(999_999, actor="cli")


async def test_an_open_incident_decides_the_effective_status(store: Store, clock: FrozenClock) -> None:
    opened = clock.now
    await store.open_incident("ntsa", State.MAJOR_OUTAGE, Text("TIMS down"), actor="cli")
    snapshot = await StatusBoard(store, max_age=0).snapshot()
    status = snapshot.status("ntsa")
    assert status.state is State.MAJOR_OUTAGE and status.source is Source.INCIDENT
    assert status.since == opened
    assert snapshot.status("kra").source is None


async def test_it_remembers_a_chat_its_language_and_forgets_it(store: Store, clock: FrozenClock) -> None:
    assert await store.touch_user(42) is None
    await store.set_language(42, "sw")
    clock.advance(minutes=2)
    assert await store.touch_user(42) == "sw"
    data = await store.user_data(42)
    assert data is not None and data.language == "sw" and data.last_seen == clock.now

    assert await store.forget_user(42) is True
    assert await store.user_data(42) is None
    assert await store.forget_user(42) is False


async def test_a_big_telegram_chat_id_fits(store: Store) -> None:
    await store.touch_user(-1001234567890)
    assert await store.user_data(-1001234567890) is not None


async def test_updates_arriving_at_once_from_a_new_chat_do_not_collide(store: Store) -> None:
    # Several replicas (or concurrent handlers) may see a new chat's first messages together.
    other = Store(store.engine, clock=store.clock)
    results = await asyncio.gather(*(s.touch_user(555) for s in (store, other) for _ in range(5)))
    assert results == [None] * 10
    assert await store.count_users() == 1


async def test_a_language_chosen_elsewhere_is_seen_after_a_minute(store: Store, clock: FrozenClock) -> None:
    other = Store(store.engine, clock=store.clock)
    assert await store.touch_user(77) is None
    await other.set_language(77, "sw")
    clock.advance(seconds=61)
    assert await store.touch_user(77) == "sw"
