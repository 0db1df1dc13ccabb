"""How fast the crowd signal sees an outage, and how often it cries wolf.

Simulates citizens' counted reports minute by minute for 16 services: four weeks of history (with one
past outage in it) to learn the baseline from, then test weeks with background reports following a
daily and weekly rhythm (East Africa Time) and injected outages of different sizes, on busy and quiet
services, by day and by night. The detector is `bot.core.crowd`, exactly as the status board runs it.

Prints, per outage: its size, the detection delay (minutes from the outage's start to the first
firing minute) or "missed"; then false alarms per simulated week and missed outages.

    python benchmarks/crowd_signal.py [--weeks 5] [--seed 7]

Targets (issue 4): an outage with 20+ reporters in 15 minutes detected within 10 minutes; under one
false alarm per simulated week.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.core.crowd import CrowdParams, assess, baseline_from_history

MINUTES_PER_WEEK = 7 * 24 * 60
EAT_OFFSET_HOURS = 3
# Background counted reports per hour at the weekday peak (a citizen's own mistake, a slow phone…).
PEAK_PER_HOUR = {
    "ecitizen": 12.0, "kra": 6.0, "ntsa": 4.0, "sha": 5.0, "mpesa": 4.0, "kplc": 5.0,
    "nssf": 1.0, "helb": 1.5, "kuccps": 1.5, "brs": 1.0, "ardhisasa": 0.5, "immigration": 2.0,
    "good-conduct": 1.0, "maisha-namba": 1.0, "huduma": 0.5, "iebc": 0.2,
}
# Epoch hour 0 is Thursday 00:00 UTC; weeks in the simulation start on a Monday 00:00 UTC.
MONDAY_HOUR = 96


def rhythm(minute: int) -> float:
    """Share of the peak rate at this minute of the week: quiet nights, busy weekday working hours."""
    hour_eat = (minute // 60 + EAT_OFFSET_HOURS) % 24
    day = ((minute // 60 + EAT_OFFSET_HOURS) // 24) % 7
    by_hour = [0.03, 0.02, 0.02, 0.02, 0.03, 0.08, 0.2, 0.45, 0.8, 1.0, 1.0, 0.95, 0.85, 0.9, 1.0, 0.95,
               0.85, 0.7, 0.55, 0.45, 0.35, 0.25, 0.12, 0.06]
    return by_hour[hour_eat] * (0.5 if day >= 5 else 1.0)


@dataclass(frozen=True)
class Outage:
    service: str
    start: int  # minute of the test week
    per_15_minutes: float  # reporters per 15 minutes while it lasts
    minutes: int

    @property
    def label(self) -> str:
        day = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][((self.start // 60 + 3) // 24) % 7]
        clock = f"{(self.start // 60 + 3) % 24:02d}:{self.start % 60:02d}"
        return f"{self.service:<13} {day} {clock} EAT  {self.per_15_minutes:>5.0f}/15min for {self.minutes:>3} min"


def day_minute(day: int, hour_eat: int, minute: int = 0) -> int:
    return day * 1440 + (hour_eat - EAT_OFFSET_HOURS) * 60 + minute


OUTAGES = [
    Outage("ecitizen", day_minute(1, 10, 5), 20, 60),   # busiest service at its busiest hour
    Outage("ecitizen", day_minute(3, 15, 40), 50, 90),
    Outage("kra", day_minute(0, 9, 30), 20, 45),
    Outage("kra", day_minute(4, 23, 10), 20, 60),      # at night
    Outage("sha", day_minute(2, 11, 0), 30, 120),
    Outage("mpesa", day_minute(5, 14, 0), 300, 180),   # a national M-Pesa outage on a Saturday
    Outage("kplc", day_minute(2, 19, 20), 100, 60),
    Outage("ntsa", day_minute(1, 13, 15), 12, 90),     # small: may be missed, that is acceptable
    Outage("helb", day_minute(3, 8, 45), 8, 60),       # small on a quiet service
    Outage("kuccps", day_minute(6, 20, 0), 25, 30),
    Outage("iebc", day_minute(4, 12, 0), 6, 30),       # tiny
]
HISTORY_OUTAGE = Outage("ecitizen", day_minute(1, 10, 0), 60, 120)  # one week before the test week


def background(rng: random.Random, service: str, minutes: int) -> list[int]:
    peak = PEAK_PER_HOUR[service]
    return [_poisson(rng, peak * rhythm(m) / 60) for m in range(minutes)]


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def inject(rng: random.Random, counts: list[int], outage: Outage, offset: int = 0) -> int:
    """Add the outage's reporters; return how many came in its first 15 minutes."""
    first = 0
    for m in range(outage.start, outage.start + outage.minutes):
        n = _poisson(rng, outage.per_15_minutes / 15)
        counts[offset + m] += n
        if m < outage.start + 15:
            first += n
    return first


def run(weeks: int, seed: int, params: CrowdParams) -> int:
    rng = random.Random(seed)
    history_minutes = params.history_weeks * MINUTES_PER_WEEK
    baselines = {}
    for service in PEAK_PER_HOUR:
        history = background(rng, service, history_minutes)
        if service == HISTORY_OUTAGE.service:
            inject(rng, history, HISTORY_OUTAGE, offset=(params.history_weeks - 1) * MINUTES_PER_WEEK)
        hourly: dict[int, int] = {}
        for m, c in enumerate(history):
            if c:
                hourly[MONDAY_HOUR + m // 60] = hourly.get(MONDAY_HOUR + m // 60, 0) + c
        baselines[service] = baseline_from_history(
            hourly, first_hour=MONDAY_HOUR, end_hour=MONDAY_HOUR + history_minutes // 60, params=params
        )

    delays: dict[int, list[int | None]] = {i: [] for i in range(len(OUTAGES))}
    realised: dict[int, list[int]] = {i: [] for i in range(len(OUTAGES))}  # reporters in the first 15 min
    false_alarms = 0  # the signal switching on outside any outage
    episodes = 0  # the same, counting a re-fire within half an hour of the last firing minute once
    false_alarm_notes: list[str] = []
    window = params.longest_window
    started = time.perf_counter()
    for week in range(weeks):
        for service, baseline in baselines.items():
            counts = background(rng, service, MINUTES_PER_WEEK)
            mine = [(i, o) for i, o in enumerate(OUTAGES) if o.service == service]
            for i, outage in mine:
                realised[i].append(inject(rng, counts, outage))
            active_before = False
            last_active = -10**9
            first_fire: dict[int, int] = {}
            for minute in range(window, MINUTES_PER_WEEK):
                recent = counts[minute - window + 1: minute + 1]
                rate = baseline[(minute // 60) % 168]
                active = assess(recent, rate, params).active
                if active:
                    hit = [i for i, o in mine if o.start <= minute < o.start + o.minutes + window]
                    for i in hit:
                        first_fire.setdefault(i, minute)
                    if not active_before and not hit:
                        false_alarms += 1
                        if minute - last_active > window:
                            episodes += 1
                        false_alarm_notes.append(f"week {week + 1} {service} minute {minute}")
                    last_active = minute
                active_before = active
            for i, outage in mine:
                fired = first_fire.get(i)
                delays[i].append(None if fired is None else fired - outage.start)
    elapsed = time.perf_counter() - started

    print(f"crowd signal: alpha={params.alpha:g}, at least {params.min_reporters} reporters, "
          f"windows {params.windows_minutes} min, floor {params.floor_per_hour:g}/h, "
          f"{params.history_weeks} weeks of history")
    print(f"{weeks} simulated week(s), {len(PEAK_PER_HOUR)} services, seed {seed}, "
          f"{elapsed:.1f} s ({weeks * len(PEAK_PER_HOUR) * MINUTES_PER_WEEK / elapsed / 1000:.0f}k tests/s)")
    print()
    print(f"{'outage':<56} {'detection delay (min), per week':<34} missed")
    missed_total = 0
    target_delays: list[int | None] = []
    for i, outage in enumerate(OUTAGES):
        found = [d for d in delays[i] if d is not None]
        missed = len(delays[i]) - len(found)
        missed_total += missed
        text = ", ".join("—" if d is None else str(d) for d in delays[i])
        print(f"{outage.label:<56} {text:<34} {missed}/{len(delays[i])}")
        target_delays += [d for d, n in zip(delays[i], realised[i], strict=True) if n >= 20]
    print()
    print(f"false alarms: {false_alarms} in {weeks} week(s) = {false_alarms / weeks:.2f} per simulated week "
          f"(all {len(PEAK_PER_HOUR)} services together); {episodes} episode(s) counting re-fires "
          f"within {window} min once")
    for note in false_alarm_notes[:10]:
        print(f"  {note}")
    print(f"missed outages: {missed_total} of {sum(len(d) for d in delays.values())}")
    big = sorted(d for d in target_delays if d is not None)
    late = [d for d in target_delays if d is None or d > 10]
    if target_delays:
        print(f"outages where 20+ reporters came in the first 15 min: {len(target_delays)}; "
              f"detected within 10 min: {len(target_delays) - len(late)}; "
              f"median delay {big[len(big) // 2] if big else '—'} min, worst {big[-1] if big else '—'} min")
    ok = not late and false_alarms / weeks < 1
    print("targets met" if ok else "TARGETS NOT MET")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weeks", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--alpha", type=float, default=CrowdParams().alpha)
    parser.add_argument("--min-reporters", type=int, default=CrowdParams().min_reporters)
    args = parser.parse_args()
    params = CrowdParams(alpha=args.alpha, min_reporters=args.min_reporters)
    return run(args.weeks, args.seed, params)


if __name__ == "__main__":
    raise SystemExit(main())
