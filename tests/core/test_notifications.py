"""The watcher's rule (settle, coalesce, flap), quiet hours, with a clock that moves only when told."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.catalog.model import Text
from bot.core.notifications import (
    FLAP_CHANGES,
    Decision,
    EventKind,
    QuietHoursError,
    WatchState,
    decide,
    parse_quiet,
    quiet_until,
)
from bot.core.status import EffectiveStatus, Incident, Signal, Source, State, effective_status

T0 = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)  # 09:00 EAT
SETTLE = 120.0


def check(state: State, at: datetime = T0) -> EffectiveStatus:
    if state is State.OPERATIONAL:
        return effective_status("ecitizen", [Signal(Source.CHECK, state, at)])
    return effective_status("ecitizen", [Signal(Source.CHECK, state, at)])


def incident(state: State) -> EffectiveStatus:
    i = Incident(1, "ecitizen", state, Text("Payments failing"), T0)
    return effective_status("ecitizen", [Signal(Source.INCIDENT, state, T0, incident=i)])


class Watch:
    """Feeds statuses to `decide` at explicit moments, keeping the state like the store does."""

    def __init__(self) -> None:
        self.state: WatchState | None = None
        self.events: list[Decision] = []

    def tick(self, status: EffectiveStatus, seconds: float) -> Decision:
        decision = decide(self.state, status, T0 + timedelta(seconds=seconds), SETTLE)
        self.state = decision.state
        if decision.event is not None:
            self.events.append(decision)
        return decision


def test_first_sight_is_adopted_silently_so_a_restart_announces_nothing() -> None:
    w = Watch()
    assert w.tick(check(State.MAJOR_OUTAGE), 0).event is None
    assert w.state is not None and w.state.told_state is State.MAJOR_OUTAGE


def test_a_change_is_told_only_after_it_held_for_the_settle_time() -> None:
    w = Watch()
    w.tick(check(State.OPERATIONAL), 0)
    assert w.tick(check(State.MAJOR_OUTAGE), 10).event is None
    assert w.tick(check(State.MAJOR_OUTAGE), 10 + SETTLE - 1).event is None
    event = w.tick(check(State.MAJOR_OUTAGE), 10 + SETTLE).event
    assert event is not None and event.kind is EventKind.CHANGED
    assert event.state is State.MAJOR_OUTAGE and event.previous_state is State.OPERATIONAL
    assert w.tick(check(State.MAJOR_OUTAGE), 10 + 2 * SETTLE).event is None


def test_a_blip_that_returns_within_the_settle_time_says_nothing() -> None:
    w = Watch()
    w.tick(check(State.OPERATIONAL), 0)
    w.tick(check(State.MAJOR_OUTAGE), 10)
    w.tick(check(State.OPERATIONAL), 40)
    w.tick(check(State.OPERATIONAL), 40 + SETTLE)
    assert w.events == []


def test_several_changes_inside_the_window_become_one_message_with_the_latest_state() -> None:
    w = Watch()
    w.tick(check(State.OPERATIONAL), 0)
    w.tick(check(State.DEGRADED), 10)
    w.tick(check(State.PARTIAL_OUTAGE), 40)
    w.tick(check(State.MAJOR_OUTAGE), 70)
    w.tick(check(State.MAJOR_OUTAGE), 70 + SETTLE)
    assert [d.event.state for d in w.events if d.event] == [State.MAJOR_OUTAGE]


def test_a_flapping_service_is_reported_once_as_unstable_then_once_when_it_settles() -> None:
    w = Watch()
    w.tick(check(State.OPERATIONAL), 0)
    states = [State.MAJOR_OUTAGE, State.OPERATIONAL] * 6
    for n, state in enumerate(states):
        w.tick(check(state), 30 * (n + 1))
    kinds = [d.event.kind for d in w.events if d.event]
    assert kinds == [EventKind.UNSTABLE]
    assert len(states) > FLAP_CHANGES
    w.tick(check(State.OPERATIONAL), 30 * len(states) + SETTLE)
    kinds = [d.event.kind for d in w.events if d.event]
    assert kinds == [EventKind.UNSTABLE, EventKind.CHANGED]
    assert w.events[-1].event is not None and w.events[-1].event.state is State.OPERATIONAL


def test_an_operator_incident_is_adopted_silently_because_its_own_events_told_people() -> None:
    w = Watch()
    w.tick(check(State.OPERATIONAL), 0)
    w.tick(incident(State.MAJOR_OUTAGE), 10)
    w.tick(incident(State.MAJOR_OUTAGE), 10 + SETTLE)
    assert w.events == []
    assert w.state is not None and w.state.told_state is State.MAJOR_OUTAGE


def test_when_the_incident_ends_and_the_check_agrees_nothing_more_is_said() -> None:
    w = Watch()
    w.tick(incident(State.MAJOR_OUTAGE), 0)
    w.tick(check(State.MAJOR_OUTAGE), 10)
    w.tick(check(State.MAJOR_OUTAGE), 10 + SETTLE)
    assert w.events == []


@pytest.mark.parametrize(
    ("text", "hours"),
    [("22-6", (22, 6)), ("22:00-06:00", (22, 6)), (" 23 - 7 ", (23, 7)), ("1-5", (1, 5)), ("off", None)],
)
def test_quiet_hours_are_read_in_the_usual_shapes(text: str, hours: tuple[int, int] | None) -> None:
    assert parse_quiet(text) == hours


@pytest.mark.parametrize("text", ["22", "25-6", "6-6", "night", "-", "22-x"])
def test_bad_quiet_hours_are_refused(text: str) -> None:
    with pytest.raises(QuietHoursError):
        parse_quiet(text)


def test_quiet_hours_across_midnight_end_in_the_morning_in_east_africa_time() -> None:
    eleven_pm_eat = datetime(2026, 11, 28, 20, 0, tzinfo=UTC)
    until = quiet_until(eleven_pm_eat, 22, 6)
    assert until is not None
    assert until.astimezone(UTC) == datetime(2026, 11, 29, 3, 0, tzinfo=UTC)  # 06:00 EAT
    assert quiet_until(datetime(2026, 11, 28, 8, 0, tzinfo=UTC), 22, 6) is None  # 11:00 EAT
    two_am_eat = datetime(2026, 11, 28, 23, 0, tzinfo=UTC)
    assert quiet_until(two_am_eat, 22, 6) == datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
