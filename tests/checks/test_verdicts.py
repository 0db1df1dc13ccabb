"""Gatus-style thresholds, the offline rule and a service's verdict, without any I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.catalog.model import Check
from bot.core.checks import (
    CheckVerdict,
    Level,
    Outcome,
    ProbeResult,
    TrackState,
    offline_batch,
    service_signal,
    step,
)
from bot.core.clock import FrozenClock
from bot.core.status import Source, State

CHECK = Check(url="https://itax.kra.go.ke")
T0 = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)


def feed(outcomes: str, check: Check = CHECK, state: TrackState | None = None) -> list[TrackState]:
    """Feed results one a minute: '.' ok, 's' slow, 'x' down. Returns the state after each."""
    clock = FrozenClock(T0)
    kinds = {".": Outcome.OK, "s": Outcome.SLOW, "x": Outcome.TIMEOUT}
    state = state or TrackState()
    seen = []
    for ch in outcomes:
        clock.advance(minutes=1)
        state = step(state, ProbeResult(check.key("kra"), "kra", clock(), kinds[ch]), check)
        seen.append(state)
    return seen


def levels(outcomes: str, check: Check = CHECK) -> str:
    short = {None: "?", Level.UP: "U", Level.DEGRADED: "D", Level.DOWN: "X"}
    return "".join(short[s.level] for s in feed(outcomes, check))


def test_a_new_check_needs_two_successes_before_it_says_up() -> None:
    assert levels("..") == "?U"


def test_it_takes_three_failures_in_a_row_to_go_down() -> None:
    assert levels("..xx.xxx") == "?UUUUUUX"


def test_it_takes_two_successes_in_a_row_to_come_back() -> None:
    assert levels("..xxx.x..") == "?UUUXXXXU"


def test_the_thresholds_come_from_the_check() -> None:
    strict = Check(url="https://a.go.ke", failure_threshold=1, success_threshold=4)
    assert levels(".x...." , strict) == "?XXXXU"


def test_slow_answers_make_it_degraded_and_a_mixed_streak_settles_on_the_milder_level() -> None:
    assert levels("..sss") == "?UUUD"
    assert levels("..sxx") == "?UUUD"
    assert levels("..xxxss") == "?UUUXXD"


def test_since_is_when_the_threshold_was_reached() -> None:
    states = feed("..xxx")
    assert states[1].since == T0 + timedelta(minutes=2)
    assert states[4].since == T0 + timedelta(minutes=5)


def result(url: str, outcome: Outcome) -> ProbeResult:
    return ProbeResult(f"svc GET {url}", "svc", T0, outcome)


def test_a_batch_failing_on_the_network_across_hosts_means_hali_is_offline() -> None:
    batch = [result("https://a.go.ke", Outcome.DNS), result("https://b.go.ke", Outcome.TIMEOUT),
             result("https://c.go.ke/x", Outcome.CONNECT)]
    assert offline_batch(batch)


def test_one_answer_or_one_host_is_enough_to_blame_the_service_instead() -> None:
    assert not offline_batch([result("https://a.go.ke", Outcome.DNS), result("https://b.go.ke", Outcome.OK)])
    assert not offline_batch([result("https://a.go.ke", Outcome.DNS), result("https://b.go.ke", Outcome.HTTP_STATUS)])
    assert not offline_batch([result("https://a.go.ke", Outcome.DNS), result("https://a.go.ke/2", Outcome.DNS)])
    assert not offline_batch([result("https://a.go.ke", Outcome.TLS), result("https://b.go.ke", Outcome.TLS)])


def verdict(level: Level, minute: int) -> CheckVerdict:
    return CheckVerdict(f"k{minute}", level, T0 + timedelta(minutes=minute))


def test_a_service_is_down_only_as_far_as_its_checks_are() -> None:
    all_down = service_signal([verdict(Level.DOWN, 1), verdict(Level.DOWN, 2)], 2)
    some_down = service_signal([verdict(Level.DOWN, 1), verdict(Level.UP, 2)], 2)
    slow = service_signal([verdict(Level.DEGRADED, 3), verdict(Level.UP, 2)], 2)
    fine = service_signal([verdict(Level.UP, 3), verdict(Level.UP, 2)], 2)
    assert all_down is not None and all_down.state is State.MAJOR_OUTAGE and all_down.source is Source.CHECK
    assert some_down is not None and some_down.state is State.PARTIAL_OUTAGE
    assert slow is not None and slow.state is State.DEGRADED and slow.since == T0 + timedelta(minutes=3)
    assert fine is not None and fine.state is State.OPERATIONAL
    assert service_signal([], 2) is None
