"""The crowd signal: are citizens reporting a service's failure significantly more than usual?

A pure function of counts, shared by the status board and `benchmarks/crowd_signal.py`.

What is counted
    Only *counted* reports: one per citizen per service per hour (further reports add detail, not
    weight) and none that look coordinated. Within a window of at most an hour every counted report
    therefore comes from a different citizen, so "reports" below also means "distinct reporters".

Baseline
    Reports arrive even when nothing is broken (a citizen's own mistake, a slow phone). The expected
    volume follows the week: busy weekday mornings, quiet nights. The baseline is one rate per hour of
    the week (168 values, UTC; Kenya has no daylight saving, so the rhythm does not shift), from the last
    `history_weeks` weeks of counted reports:
      - each observed hour is capped at `hour_cap` × the median of the same hour of the week over the
        history (at least `hour_cap_min`), so one past outage does not teach the detector that outages
        are normal, while a peak that recurs every week is kept;
      - each hour is averaged with its neighbours (weights 1-2-1): four weeks give four samples per hour
        of the week, too few on their own;
      - it is never below the same hour of the day pooled over all weekdays (or both weekend days),
        in East Africa Time: twenty samples instead of four, so a slot that happened to be quiet in the
        history does not make an ordinary busy hour look like a surge;
      - it is raised by one standard error of that estimate (`confidence_sds`): an upper bound, not a
        mean, because a rate guessed too low is exactly what turns noise into alarms (two standard
        errors cost a minute or two of detection on the busiest service for no fewer false alarms);
      - the result is never below `floor_per_hour`. Services with little or no history (most of them, at
        first) get the floor, so a handful of reports cannot look astronomically unlikely only because
        the expected count is near zero.

Test
    For each window in `windows_minutes` (15 and 30 minutes, ending now), with n counted reports and an
    expected count mu = baseline(hour) × minutes / 60, the signal fires when
        n >= min_reporters  and  P(X >= n | X ~ Poisson(mu)) < alpha.
    The 15-minute window reacts quickly to a sharp outage; the 30-minute window catches a slower trickle
    and keeps the signal on while reports keep coming, so it clears about half an hour after they stop
    ("clears when reports fall back"). The watcher's settle rules smooth any flicker for subscribers.

The numbers, and why
    alpha = 1e-5. The test runs every minute on two overlapping windows for every service: roughly
    10,000 looks a week per service, of which a few hundred are independent. At 1e-3 (the textbook
    choice) that is a false alarm per service every week or two whenever the baseline is slightly low;
    at 1e-5 the benchmark sees about one false alarm in ten simulated weeks of 16 services, while
    every outage with 20 reporters in its first 15 minutes, even on the busiest service at its busiest
    hour, is seen within 10 minutes (median 2). A 10-minute window was tried too: no faster for
    those outages, and more false alarms.
    min_reporters = 6. On a quiet service the floor makes mu tiny, so significance alone would fire
    on three or four reports: one family or office. Six different people within half an hour on one
    service is unusual for friends and ordinary for a real outage (a 20-in-15-minutes outage reaches
    six in about four minutes).
    floor_per_hour = 1.0: the busiest services see a few background reports an hour in the simulation;
    below one an hour the estimate is noise.
    Onset ("since") is the first minute of the current uninterrupted run of firing minutes, found by
    evaluating the same test backwards, so every replica and every restart agree on it.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.core.status import Signal
from bot.core.understanding import Symptom

__all__ = [
    "HOURS_PER_WEEK",
    "Assessment",
    "CrowdParams",
    "CrowdSignal",
    "assess",
    "baseline_from_history",
    "onset",
    "poisson_sf",
]

HOURS_PER_WEEK = 168


@dataclass(frozen=True)
class CrowdParams:
    windows_minutes: tuple[int, ...] = (15, 30)
    alpha: float = 1e-5
    min_reporters: int = 6
    floor_per_hour: float = 1.0
    history_weeks: int = 4
    hour_cap: float = 3.0
    hour_cap_min: float = 4.0
    local_offset_hours: int = 3  # East Africa Time: where the day's rhythm starts
    confidence_sds: float = 1.0

    @property
    def longest_window(self) -> int:
        return max(self.windows_minutes)


@dataclass(frozen=True)
class Assessment:
    """The test's verdict for the window that decided it (the longest firing one, else the longest)."""

    active: bool
    window_minutes: int
    count: int
    expected: float
    p_value: float


@dataclass(frozen=True)
class CrowdSignal(Signal):
    """The crowd signal on the status board: a Signal from Source.REPORTS with what the card shows."""

    reports: int = 0
    window_minutes: int = 0
    symptom: Symptom | None = None
    expected: float = 0.0
    p_value: float = 1.0


def poisson_sf(n: int, mu: float) -> float:
    """P(X >= n) for X ~ Poisson(mu), accurate in the far tail (no 1 − almost-1 cancellation)."""
    if n <= 0:
        return 1.0
    if mu <= 0:
        return 0.0

    def log_pmf(k: int) -> float:
        return k * math.log(mu) - mu - math.lgamma(k + 1)

    if n <= mu:
        below = sum(math.exp(log_pmf(k)) for k in range(n))
        return max(0.0, 1.0 - below)
    total = 0.0
    k = n
    term = math.exp(log_pmf(k))
    while term > 0.0:
        total += term
        k += 1
        term *= mu / k
        if term < total * 1e-17:
            break
    return min(1.0, total)


def assess(recent: Sequence[int], per_hour: float, params: CrowdParams = CrowdParams()) -> Assessment:
    """Test the minutes ending now; `recent[-1]` is the current minute's count, oldest first.

    `per_hour` is the baseline rate for the current hour of the week (the floor is applied here).
    """
    rate = max(per_hour, params.floor_per_hour)
    verdicts = []
    for minutes in params.windows_minutes:
        count = sum(recent[-minutes:])
        expected = rate * minutes / 60
        p = poisson_sf(count, expected)
        verdicts.append(Assessment(count >= params.min_reporters and p < params.alpha, minutes, count, expected, p))
    firing = [v for v in verdicts if v.active]
    if firing:
        return max(firing, key=lambda v: v.window_minutes)
    return max(verdicts, key=lambda v: v.window_minutes)


def onset(recent: Sequence[int], per_hour: Sequence[float], params: CrowdParams = CrowdParams()) -> int | None:
    """How many minutes ago the current run of firing minutes began (0: this minute), or None.

    `per_hour[i]` is the baseline for minute i of `recent` (so a run that crosses an hour boundary
    uses each hour's own rate). The scan stops at the start of `recent`.
    """
    if len(per_hour) != len(recent):
        raise ValueError("one baseline rate per minute is needed")
    end = len(recent)
    if not assess(recent, per_hour[-1], params).active:
        return None
    start = end - 1
    while start > 0 and assess(recent[:start], per_hour[start - 1], params).active:
        start -= 1
    return end - 1 - start


def baseline_from_history(
    hourly: Mapping[int, int], *, first_hour: int, end_hour: int, params: CrowdParams = CrowdParams()
) -> tuple[float, ...]:
    """168 expected rates (reports per hour), one per hour of the week.

    `hourly` maps an hour number (hours since the Unix epoch, UTC) to the counted reports in that hour;
    `first_hour`..`end_hour` (end excluded) is the stretch of history to learn from. Hours missing
    from `hourly` had no reports. Hour 0 of the week is Monday 00:00 UTC.
    """
    span = max(0, end_hour - first_hour)
    if span == 0:
        return (params.floor_per_hour,) * HOURS_PER_WEEK
    observed: list[list[int]] = [[] for _ in range(HOURS_PER_WEEK)]
    for hour in range(first_hour, end_hour):
        observed[hour_of_week(hour)].append(hourly.get(hour, 0))
    sums = [0.0] * HOURS_PER_WEEK
    samples = [0] * HOURS_PER_WEEK
    for slot, counts in enumerate(observed):
        if not counts:
            continue
        cap = max(params.hour_cap_min, params.hour_cap * statistics.median(counts))
        sums[slot] = sum(min(c, cap) for c in counts)
        samples[slot] = len(counts)
    means = [s / n if n else 0.0 for s, n in zip(sums, samples, strict=True)]
    smoothed = [
        (means[i - 1] + 2 * means[i] + means[(i + 1) % HOURS_PER_WEEK]) / 4 for i in range(HOURS_PER_WEEK)
    ]
    # The same hour of the day on every weekday (or weekend day), in local time: five times the samples.
    pool_sums: dict[tuple[bool, int], float] = {}
    pool_samples: dict[tuple[bool, int], int] = {}
    for slot in range(HOURS_PER_WEEK):
        key = _day_kind(slot, params.local_offset_hours)
        pool_sums[key] = pool_sums.get(key, 0.0) + sums[slot]
        pool_samples[key] = pool_samples.get(key, 0) + samples[slot]
    rates = []
    for slot in range(HOURS_PER_WEEK):
        key = _day_kind(slot, params.local_offset_hours)
        n = pool_samples[key]
        pooled = pool_sums[key] / n if n else 0.0
        estimate = max(smoothed[slot], pooled)
        # An upper bound, not the mean: a rate guessed too low is what turns noise into alarms.
        upper = estimate + params.confidence_sds * math.sqrt(estimate / n) if n else estimate
        rates.append(max(params.floor_per_hour, upper))
    return tuple(rates)


def _day_kind(slot: int, offset_hours: int) -> tuple[bool, int]:
    local = (slot + offset_hours) % HOURS_PER_WEEK
    return local // 24 >= 5, local % 24


def hour_of_week(hour: int) -> int:
    """The hour of the week (Monday 00:00 UTC is 0) of an hour number since the Unix epoch."""
    # 1 January 1970 was a Thursday: Monday 00:00 is 3 days before the epoch.
    return (hour + 72) % HOURS_PER_WEEK
