"""Planned maintenance windows, once or repeated, and the signals they give while they run.

Repetition follows the wall clock in East Africa Time: a window every month from Sunday 18:00 EAT
stays at 18:00 EAT on the same day of the month (the last day when a month is shorter).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.catalog.model import Text
from bot.core.status import Signal, Source, State

EAT = ZoneInfo("Africa/Nairobi")
# How far ahead the card mentions a planned window.
PLANNED_HORIZON = timedelta(days=14)
MAX_WINDOW = timedelta(days=7)


class Every(StrEnum):
    WEEKLY = "weekly"
    MONTHLY = "monthly"


@dataclass(frozen=True)
class MaintenanceWindow:
    id: int
    service_id: str
    starts_at: datetime
    ends_at: datetime
    title: Text
    every: Every | None = None
    until: datetime | None = None  # no occurrence starts after this; None: repeats for ever

    @property
    def duration(self) -> timedelta:
        return self.ends_at - self.starts_at


@dataclass(frozen=True)
class Occurrence:
    window: MaintenanceWindow
    start: datetime
    end: datetime

    def active(self, now: datetime) -> bool:
        return self.start <= now < self.end


def occurrence(window: MaintenanceWindow, k: int) -> Occurrence:
    """The k-th occurrence (0 is the first)."""
    local = window.starts_at.astimezone(EAT)
    if window.every is Every.WEEKLY:
        local = local + timedelta(weeks=k)
    elif window.every is Every.MONTHLY:
        month = local.month - 1 + k
        year, month = local.year + month // 12, month % 12 + 1
        day = min(local.day, calendar.monthrange(year, month)[1])
        local = local.replace(year=year, month=month, day=day)
    elif k:
        raise ValueError("a one-off window has one occurrence")
    start = local.astimezone(window.starts_at.tzinfo)
    return Occurrence(window, start, start + window.duration)


def occurrences_from(window: MaintenanceWindow, now: datetime) -> Iterator[Occurrence]:
    """Occurrences that have not ended by `now`, in order."""
    if window.every is None:
        if window.ends_at > now:
            yield occurrence(window, 0)
        return
    if window.every is Every.WEEKLY:
        k = max(0, (now - window.starts_at) // timedelta(weeks=1) - 1)
    else:
        start = window.starts_at.astimezone(EAT)
        local_now = now.astimezone(EAT)
        k = max(0, (local_now.year - start.year) * 12 + local_now.month - start.month - 1)
    while True:
        occ = occurrence(window, k)
        if window.until is not None and occ.start > window.until:
            return
        if occ.end > now:
            yield occ
        k += 1


def next_occurrence(window: MaintenanceWindow, now: datetime) -> Occurrence | None:
    """The occurrence running now, or else the next one; None when none is left."""
    return next(occurrences_from(window, now), None)


def active_signals(windows: Iterable[MaintenanceWindow], now: datetime) -> dict[str, list[Signal]]:
    """A MAINTENANCE signal for each service with a window running now; the title is the detail."""
    signals: dict[str, list[Signal]] = {}
    for window in windows:
        occ = next_occurrence(window, now)
        if occ is not None and occ.active(now):
            signals.setdefault(window.service_id, []).append(
                Signal(Source.MAINTENANCE, State.MAINTENANCE, occ.start, detail=window.title)
            )
    return signals


def planned(
    windows: Iterable[MaintenanceWindow], now: datetime, horizon: timedelta = PLANNED_HORIZON
) -> dict[str, tuple[Occurrence, ...]]:
    """Per service, the running or next occurrence of each window that starts within the horizon."""
    found: dict[str, list[Occurrence]] = {}
    for window in windows:
        occ = next_occurrence(window, now)
        if occ is not None and occ.start <= now + horizon:
            found.setdefault(window.service_id, []).append(occ)
    return {k: tuple(sorted(v, key=lambda o: o.start)) for k, v in found.items()}
