"""Maintenance windows (once, weekly, monthly) and dependency warnings, on the board and the card."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.catalog.model import Text
from bot.core.clock import FrozenClock
from bot.core.dependencies import dependency_events, dependency_notes
from bot.core.maintenance import EAT, Every, MaintenanceWindow, next_occurrence, occurrence
from bot.core.status import Source, State
from bot.i18n import translator
from bot.render.checks import dependency_notice
from bot.services.answers import Engine
from bot.services.sources import make_board
from bot.store.repo import Store


def eat(*args: int) -> datetime:
    return datetime(*args, tzinfo=EAT)  # type: ignore[misc]


def window(
    start: datetime, hours: float, every: Every | None = None, until: datetime | None = None
) -> MaintenanceWindow:
    return MaintenanceWindow(1, "kra", start, start + timedelta(hours=hours), Text("Upgrade"), every, until)


def test_a_monthly_window_keeps_its_day_and_east_africa_time() -> None:
    w = window(eat(2026, 1, 31, 22, 0), 4, Every.MONTHLY)
    assert occurrence(w, 1).start == eat(2026, 2, 28, 22, 0)  # a shorter month: its last day
    assert occurrence(w, 2).start == eat(2026, 3, 31, 22, 0)
    assert occurrence(w, 12).end == eat(2027, 2, 1, 2, 0)


def test_the_next_occurrence_is_the_running_one_or_the_following_one() -> None:
    w = window(eat(2026, 11, 1, 18, 0), 4, Every.WEEKLY)
    running = next_occurrence(w, eat(2026, 11, 29, 19, 0))
    assert running is not None and running.start == eat(2026, 11, 29, 18, 0) and running.active(eat(2026, 11, 29, 19))
    following = next_occurrence(w, eat(2026, 11, 29, 22, 0))
    assert following is not None and following.start == eat(2026, 12, 6, 18, 0)
    ended = window(eat(2026, 11, 1, 18, 0), 4, Every.WEEKLY, until=eat(2026, 11, 20, 0, 0))
    assert next_occurrence(ended, eat(2026, 11, 29, 19, 0)) is None
    assert next_occurrence(window(eat(2026, 11, 1, 18, 0), 4), eat(2026, 11, 2)) is None


async def test_a_monthly_kra_window_shows_as_planned_then_under_maintenance_then_gone(
    store: Store, clock: FrozenClock
) -> None:
    # KRA-style: a 4-hour window every month, from Sunday 4 October 2026 18:00 EAT.
    await store.schedule_maintenance("kra", eat(2026, 10, 4, 18, 0), eat(2026, 10, 4, 22, 0),
                                     Text("iTax maintenance", "Matengenezo ya iTax"), actor="cli",
                                     every=Every.MONTHLY)
    engine = Engine(make_board(store, max_age=0), clock=clock)
    clock.now = eat(2026, 11, 28, 9, 40).astimezone(UTC)  # Saturday; next: Friday 4 December
    card = await engine.card("kra", "en")
    assert card is not None
    assert "Planned maintenance on Friday 4 December, 18:00–22:00 EAT: iTax maintenance" in card.plain
    assert "No problems known" in card.plain
    sw = await engine.card("kra", "sw")
    assert sw is not None and "Ijumaa 4 Desemba, saa 18:00 hadi saa 22:00 EAT: Matengenezo ya iTax" in sw.plain

    clock.now = eat(2026, 12, 4, 19, 0).astimezone(UTC)
    status = (await engine.board.snapshot()).status("kra")
    assert (status.state, status.source) == (State.MAINTENANCE, Source.MAINTENANCE)
    assert status.since == eat(2026, 12, 4, 18, 0)
    card = await engine.card("kra", "en")
    assert card is not None and "Under maintenance" in card.plain and "until 22:00 EAT" in card.plain

    clock.now = eat(2026, 12, 4, 22, 0).astimezone(UTC)
    assert (await engine.board.snapshot()).status("kra").source is None


async def test_a_cancelled_window_is_gone_from_the_card(store: Store, clock: FrozenClock) -> None:
    number = await store.schedule_maintenance("sha", clock() + timedelta(days=1), clock() + timedelta(days=1, hours=2),
                                              Text("Upgrade"), actor="cli")
    engine = Engine(make_board(store, max_age=0), clock=clock)
    card = await engine.card("sha", "en")
    assert card is not None and "Planned maintenance" in card.plain
    await store.cancel_maintenance(number, actor="cli")
    card = await engine.card("sha", "en")
    assert card is not None and "Planned maintenance" not in card.plain


async def test_a_dependent_card_warns_about_payments_without_calling_it_down(store: Store, clock: FrozenClock) -> None:
    board = make_board(store, max_age=0)
    before = await board.snapshot()
    await store.open_incident("mpesa", State.MAJOR_OUTAGE, Text("M-Pesa down"), actor="cli")
    after = await board.snapshot()
    [note] = dependency_notes(after, "ntsa")
    assert (note.dependency_id, note.state, note.source) == ("mpesa", State.MAJOR_OUTAGE, Source.INCIDENT)
    assert after.status("ntsa").source is None  # NTSA itself: nothing known
    assert dependency_notes(after, "sha") == []  # SHA does not depend on M-Pesa

    card = await Engine(board, clock=clock).card("ntsa", "en")
    assert card is not None
    assert "Payments may fail because M-Pesa (Safaricom) has a problem (Major outage)." in card.plain
    assert "No problems known" in card.plain

    events = dependency_events(before, after)
    assert {(e.service_id, e.dependency_id, e.started) for e in events} >= {("ntsa", "mpesa", True),
                                                                          ("kra", "mpesa", True)}
    assert all(e.dependency_id == "mpesa" for e in events)
    assert len({e.dedupe_key for e in events}) == len(events)
    assert dependency_events(after, after) == []
    notice = dependency_notice(translator("en"), after.catalog["ntsa"], after.catalog["mpesa"], State.MAJOR_OUTAGE)
    assert "itself is not reported down" in notice.plain


async def test_a_dependency_under_maintenance_is_worded_as_such(store: Store, clock: FrozenClock) -> None:
    await store.schedule_maintenance("ecitizen", clock() - timedelta(hours=1), clock() + timedelta(hours=1),
                                     Text("Pesaflow upgrade"), actor="cli")
    card = await Engine(make_board(store, max_age=0), clock=clock).card("kra", "sw")
    assert card is not None and "kwa sababu ya matengenezo ya eCitizen" in card.plain
