"""Automatic checks as data: what a probe saw, Gatus-style thresholds, and a service's verdict.

Nothing here does I/O: the prober (bot/services/probe.py) produces ProbeResults, the runner feeds them
through `step`, and the store keeps the TrackStates.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit

from bot.catalog.model import Check
from bot.core.status import Signal, Source, State


class Outcome(StrEnum):
    """What one probe saw. Every failure has its own reason, so the card can say what went wrong."""

    OK = "ok"
    SLOW = "slow"  # answered as expected, but slower than the check's slow_ms
    TIMEOUT = "timeout"
    DNS = "dns"  # the name did not resolve
    REFUSED = "refused"  # nothing listens on the port
    CONNECT = "connect"  # another network error before an answer (unreachable, reset)
    TLS = "tls"  # certificate or TLS handshake failure
    REDIRECTS = "redirects"  # a redirect loop, or too many redirects
    HTTP_STATUS = "http_status"  # an unexpected status code
    BODY = "body"  # the page lacks the expected text, or shows the unwanted one
    ERROR = "error"  # anything else (a malformed answer)

    @property
    def level(self) -> Level:
        if self is Outcome.OK:
            return Level.UP
        if self is Outcome.SLOW:
            return Level.DEGRADED
        return Level.DOWN

    @property
    def is_network(self) -> bool:
        """Failures that happen before any server answers: they may be Hali's own connection."""
        return self in _NETWORK


_NETWORK = frozenset({Outcome.TIMEOUT, Outcome.DNS, Outcome.REFUSED, Outcome.CONNECT})


class Level(StrEnum):
    UP = "up"
    DEGRADED = "degraded"
    DOWN = "down"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Level.UP: 0, Level.DEGRADED: 1, Level.DOWN: 2}


@dataclass(frozen=True)
class ProbeResult:
    key: str
    service_id: str
    at: datetime
    outcome: Outcome
    latency_ms: int | None = None
    status_code: int | None = None
    detail: str | None = None  # for operators and logs: the exception or the status line, short
    offline: bool = False  # set when the whole batch showed that Hali itself was cut off


@dataclass(frozen=True)
class TrackState:
    """A check's verdict (None until the thresholds allow one) and the streak that may change it."""

    level: Level | None = None
    since: datetime | None = None
    streak: int = 0  # consecutive results better (or worse) than `level`
    streak_level: Level | None = None  # the level the streak would settle on


def step(state: TrackState, result: ProbeResult, check: Check) -> TrackState:
    """Feed one result: the verdict changes only after failure_threshold bad results in a row
    (success_threshold good ones to recover). A streak settles on the mildest level it saw when
    worsening (slow, down, down → degraded) and on the poorest when recovering."""
    observed = result.outcome.level
    if state.level is not None and observed is state.level:
        return replace(state, streak=0, streak_level=None)
    worse = observed is not Level.UP if state.level is None else observed.rank > state.level.rank
    previous = state.streak_level
    same_direction = previous is not None and (
        (previous is not Level.UP) == worse if state.level is None
        else (previous.rank > state.level.rank) == worse
    )
    if not same_direction or previous is None:
        streak, settled = 1, observed
    elif worse:
        streak, settled = state.streak + 1, min(previous, observed, key=lambda lv: lv.rank)
    else:
        streak, settled = state.streak + 1, max(previous, observed, key=lambda lv: lv.rank)
    needed = check.failure_threshold if worse else check.success_threshold
    if streak >= needed:
        return TrackState(settled, result.at, 0, None)
    return TrackState(state.level, state.since, streak, settled)


def offline_batch(results: Sequence[ProbeResult]) -> bool:
    """Did Hali lose its own connection? Every probe of a batch failing before any server answered,
    across at least two different hosts, is far likelier to be our network than all sites at once.

    Such a batch is recorded but not counted: it feeds no thresholds and no uptime, and the card says
    Hali could not reach the internet instead of blaming the services.
    """
    hosts = {urlsplit(r.key.rsplit(" ", 1)[-1]).hostname for r in results}
    return len(hosts) >= 2 and all(r.outcome.is_network for r in results)


@dataclass(frozen=True)
class CheckView:
    """What the card says about a service's checks: the last one and the uptime."""

    service_id: str
    last_at: datetime | None
    last_outcome: Outcome | None
    last_latency_ms: int | None
    last_status_code: int | None
    offline: bool  # the last batch could not reach the internet
    uptime: Uptime
    checks: int = 1


@dataclass(frozen=True)
class Uptime:
    """Share of counted probes answered as expected, 0–1, or None with no data in the period."""

    day: float | None = None
    week: float | None = None
    month: float | None = None


UPTIME_PERIODS = {"day": timedelta(hours=24), "week": timedelta(days=7), "month": timedelta(days=30)}


def stale_after(check: Check) -> timedelta:
    """A verdict older than this says nothing about now (the runner stopped, or Hali is offline)."""
    return max(timedelta(seconds=3 * check.interval_s), timedelta(minutes=5))


@dataclass(frozen=True)
class CheckVerdict:
    key: str
    level: Level
    since: datetime


def service_signal(verdicts: Iterable[CheckVerdict], total_checks: int) -> Signal | None:
    """All of a service's fresh verdicts as one CHECK signal: every check down is a major outage,
    some down a partial one, any slow is degraded, and all up is operational (shown as checked)."""
    verdicts = list(verdicts)
    if not verdicts:
        return None
    down = [v for v in verdicts if v.level is Level.DOWN]
    slow = [v for v in verdicts if v.level is Level.DEGRADED]
    if down:
        state = State.MAJOR_OUTAGE if len(down) == total_checks else State.PARTIAL_OUTAGE
        deciding = down
    elif slow:
        state, deciding = State.DEGRADED, slow
    else:
        state, deciding = State.OPERATIONAL, verdicts
    return Signal(Source.CHECK, state, max(v.since for v in deciding))
