"""The outbox on SQLite and PostgreSQL: fan-out, claims under a lease, quiet hours, forgetting."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from bot.catalog.model import Text
from bot.core.clock import FrozenClock
from bot.core.notifications import ALL_SERVICES, decide
from bot.core.recipient import TELEGRAM, Recipient
from bot.core.status import Signal, Source, State, effective_status
from bot.store.models import DeliveryRow, NotificationEventRow
from bot.store.outbox import DEACTIVATED, PENDING
from bot.store.repo import Store
from bot.store.watch import WatchStates


async def deliveries(store: Store) -> list[tuple[int, int, str, str]]:
    async with store.sessions() as session:
        rows = (await session.execute(
            select(DeliveryRow.event_id, DeliveryRow.medium, DeliveryRow.address, DeliveryRow.status,
                   DeliveryRow.language))).all()
    assert {medium for _, medium, *_ in rows} <= {TELEGRAM}
    return sorted((event, int(address), status, language) for event, _, address, status, language in rows)


async def test_an_incident_and_its_deliveries_are_written_together_one_per_chat(store: Store) -> None:
    outbox = store.outbox
    subscriptions = store.subscriptions
    await subscriptions.subscribe(Recipient.telegram(1), "ecitizen", "en")
    await subscriptions.subscribe(Recipient.telegram(1), ALL_SERVICES, "en")  # both: still one message
    await subscriptions.subscribe(Recipient.telegram(2), ALL_SERVICES, "sw")
    await subscriptions.subscribe(Recipient.telegram(3), "kra", "en")  # another service: none
    await store.set_language(2, "en")  # a stored /language choice wins over the subscribing language
    await store.open_incident("ecitizen", State.MAJOR_OUTAGE, Text("Payments failing"), actor="cli")

    rows = await deliveries(store)
    assert [(chat, status, lang) for _, chat, status, lang in rows] == [(1, PENDING, "en"), (2, PENDING, "en")]
    [counts] = await outbox.counts()
    assert (counts.kind, counts.state, counts.pending) == ("opened", "major_outage", 2)


async def test_a_failed_incident_change_leaves_no_event(store: Store) -> None:
    await store.subscriptions.subscribe(Recipient.telegram(1), ALL_SERVICES, "en")
    try:
        await store.open_incident("nosuch", State.MAJOR_OUTAGE, Text("x"), actor="cli")
    except LookupError:
        pass
    async with store.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(NotificationEventRow)) == 0


async def test_update_and_resolve_each_make_an_event(store: Store) -> None:
    await store.subscriptions.subscribe(Recipient.telegram(1), "kra", "en")
    incident = await store.open_incident("kra", State.DEGRADED, Text("Slow"), actor="cli")
    await store.update_incident(incident, Text("Still slow"), actor="cli", state=State.MAJOR_OUTAGE)
    await store.resolve_incident(incident, actor="cli", message=Text("Fixed", "Imerekebishwa"))
    kinds = [(c.kind, c.state) for c in reversed(await store.outbox.counts())]
    assert kinds == [("opened", "degraded"), ("updated", "major_outage"), ("resolved", "operational")]
    events = await store.outbox.events([c.event_id for c in await store.outbox.counts()])
    resolved = max(events.values(), key=lambda e: e.id)
    assert resolved.message == Text("Fixed", "Imerekebishwa") and resolved.title == Text("Slow")


async def test_claims_do_not_overlap_and_a_dead_dispatchers_rows_return_after_the_lease(
    store: Store, clock: FrozenClock
) -> None:
    outbox = store.outbox
    subscriptions = store.subscriptions
    for chat in range(1, 6):
        await subscriptions.subscribe(Recipient.telegram(chat), ALL_SERVICES, "en")
    await store.open_incident("sha", State.MAJOR_OUTAGE, Text("Down"), actor="cli")
    first = await outbox.claim("a", 3, lease=60)
    second = await outbox.claim("b", 10, lease=60)
    assert len(first) == 3 and len(second) == 2
    assert not {r.id for r in first} & {r.id for r in second}
    assert await outbox.claim("c", 10, lease=60) == []
    await outbox.mark_sent([first[0].id])
    clock.advance(seconds=61)  # "a" died without finishing
    again = await outbox.claim("c", 10, lease=60)
    assert {r.id for r in again} == {r.id for r in first[1:]} | {r.id for r in second}
    assert await outbox.renew("a", [r.id for r in first], lease=60) == set()


async def test_quiet_hours_hold_a_delivery_until_the_window_ends(store: Store, clock: FrozenClock) -> None:
    clock.now = datetime(2026, 11, 28, 20, 0, tzinfo=UTC)  # 23:00 EAT
    outbox = store.outbox
    subscriptions = store.subscriptions
    await subscriptions.subscribe(Recipient.telegram(1), "ntsa", "en")
    await subscriptions.subscribe(Recipient.telegram(2), "ntsa", "en")
    await subscriptions.set_quiet(Recipient.telegram(1), (22, 6), "en")
    await store.open_incident("ntsa", State.MAJOR_OUTAGE, Text("Down"), actor="cli")
    [awake] = await outbox.claim("a", 10, lease=60)
    assert awake.chat_id == 2
    await outbox.mark_sent([awake.id])
    clock.now = datetime(2026, 11, 29, 2, 59, tzinfo=UTC)  # 05:59 EAT
    assert await outbox.claim("a", 10, lease=60) == []
    clock.now = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)  # 06:00 EAT: the window is over
    assert [r.chat_id for r in await outbox.claim("a", 10, lease=60)] == [1]


async def test_turning_quiet_hours_off_releases_what_they_held(store: Store, clock: FrozenClock) -> None:
    clock.now = datetime(2026, 11, 28, 20, 0, tzinfo=UTC)
    await store.subscriptions.subscribe(Recipient.telegram(1), "ntsa", "en")
    await store.subscriptions.set_quiet(Recipient.telegram(1), (22, 6), "en")
    await store.open_incident("ntsa", State.MAJOR_OUTAGE, Text("Down"), actor="cli")
    assert await store.outbox.claim("a", 10, lease=60) == []
    await store.subscriptions.set_quiet(Recipient.telegram(1), None, "en")
    assert len(await store.outbox.claim("a", 10, lease=60)) == 1


async def test_a_gone_chat_is_deactivated_and_its_queue_dropped(store: Store) -> None:
    outbox = store.outbox
    subscriptions = store.subscriptions
    await subscriptions.subscribe(Recipient.telegram(7), ALL_SERVICES, "en")
    await subscriptions.subscribe(Recipient.telegram(8), ALL_SERVICES, "en")
    await store.open_incident("sha", State.MAJOR_OUTAGE, Text("Down"), actor="cli")
    await store.open_incident("kra", State.DEGRADED, Text("Slow"), actor="cli")
    assert await outbox.deactivate(Recipient.telegram(7), "Forbidden: bot was blocked by the user") == 2
    assert await subscriptions.following(Recipient.telegram(7)) == []
    data = await subscriptions.subscriber(Recipient.telegram(7))
    assert data is not None and not data.active and data.quiet is None
    statuses = {(chat, status) for _, chat, status, _ in await deliveries(store)}
    assert statuses == {(7, DEACTIVATED), (8, PENDING)}
    await store.open_incident("kplc", State.DEGRADED, Text("Tokens late"), actor="cli")
    assert {chat for _, chat, _, _ in await deliveries(store)} == {7, 8}
    assert len([1 for _, chat, _, _ in await deliveries(store) if chat == 8]) == 3


async def test_forget_erases_subscriptions_quiet_hours_and_queued_deliveries(store: Store) -> None:
    subscriptions = store.subscriptions
    await store.touch_user(5)
    await subscriptions.subscribe(Recipient.telegram(5), "ecitizen", "sw")
    await subscriptions.set_quiet(Recipient.telegram(5), (22, 6), "sw")
    await subscriptions.subscribe(Recipient.telegram(6), "ecitizen", "en")
    await store.open_incident("ecitizen", State.MAJOR_OUTAGE, Text("Down"), actor="cli")
    assert await store.forget_user(5)
    assert await subscriptions.subscriber(Recipient.telegram(5)) is None
    assert await subscriptions.following(Recipient.telegram(5)) == []
    assert [chat for _, chat, _, _ in await deliveries(store)] == [6]


async def test_the_watcher_tells_a_settled_change_once_even_across_a_restart(
    store: Store, clock: FrozenClock
) -> None:
    watch_states = store.watch_states
    subscriptions = store.subscriptions
    await subscriptions.subscribe(Recipient.telegram(1), "kra", "en")

    def statuses(state: State) -> list:  # type: ignore[type-arg]
        return [effective_status("kra", [Signal(Source.CHECK, state, clock())])]

    def rule(previous, status):  # type: ignore[no-untyped-def]
        return decide(previous, status, clock(), 120)

    assert await watch_states.watch(statuses(State.OPERATIONAL), rule) == []
    clock.advance(seconds=10)
    assert await watch_states.watch(statuses(State.MAJOR_OUTAGE), rule) == []
    clock.advance(seconds=120)
    # A "restart": a new WatchStates object on the same database reads the persisted watch state.
    created = await WatchStates(store).watch(statuses(State.MAJOR_OUTAGE), rule)
    assert len(created) == 1
    clock.advance(seconds=30)
    assert await WatchStates(store).watch(statuses(State.MAJOR_OUTAGE), rule) == []
    [counts] = await store.outbox.counts()
    assert (counts.kind, counts.state, counts.pending) == ("changed", "major_outage", 1)


async def test_an_operator_resolve_is_not_repeated_by_the_watcher(store: Store, clock: FrozenClock) -> None:
    def rule(previous, status):  # type: ignore[no-untyped-def]
        return decide(previous, status, clock(), 120)

    await store.subscriptions.subscribe(Recipient.telegram(1), "kra", "en")
    incident = await store.open_incident("kra", State.MAJOR_OUTAGE, Text("Down"), actor="cli")
    await store.resolve_incident(incident, actor="cli")
    nothing = [effective_status("kra", [])]
    for _ in range(3):
        assert await store.watch_states.watch(nothing, rule) == []
        clock.advance(seconds=200)
    assert [c.kind for c in await store.outbox.counts()] == ["resolved", "opened"]


async def test_sent_rows_are_counted_per_event(store: Store) -> None:
    await store.subscriptions.subscribe(Recipient.telegram(1), ALL_SERVICES, "en")
    await store.subscriptions.subscribe(Recipient.telegram(2), ALL_SERVICES, "en")
    await store.open_incident("sha", State.MAJOR_OUTAGE, Text("Down"), actor="cli")
    claimed = await store.outbox.claim("a", 10, lease=60)
    await store.outbox.mark_sent([claimed[0].id])
    await store.outbox.mark_failed(claimed[1].id, 5, "Internal Server Error")
    [counts] = await store.outbox.counts()
    assert (counts.pending, counts.sent, counts.failed) == (0, 1, 1)


async def test_finished_deliveries_are_purged_after_thirty_days(store: Store, clock: FrozenClock) -> None:
    await store.subscriptions.subscribe(Recipient.telegram(1), ALL_SERVICES, "en")
    await store.subscriptions.subscribe(Recipient.telegram(2), ALL_SERVICES, "en")
    await store.open_incident("sha", State.MAJOR_OUTAGE, Text("Down"), actor="cli")
    [first, _] = await store.outbox.claim("a", 10, lease=60)
    await store.outbox.mark_sent([first.id])
    clock.advance(days=29)
    assert await store.outbox.purge(days=30) == 0
    clock.advance(days=2)
    assert await store.outbox.purge(days=30) == 1
    assert [chat for _, chat, _, _ in await deliveries(store)] == [2], "a row still queued is kept"


async def test_resolving_one_of_two_incidents_does_not_say_the_service_is_back(store: Store) -> None:
    await store.subscriptions.subscribe(Recipient.telegram(1), "kra", "en")
    first = await store.open_incident("kra", State.MAJOR_OUTAGE, Text("iTax down"), actor="cli")
    await store.open_incident("kra", State.DEGRADED, Text("PIN checker slow"), actor="cli")
    await store.resolve_incident(first, actor="cli")
    latest = (await store.outbox.counts())[0]
    assert (latest.kind, latest.state) == ("resolved", "degraded")
