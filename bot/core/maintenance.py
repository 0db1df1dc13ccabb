"""Planned maintenance windows, once or repeated, and the signals they give while they run.

Repetition follows the wall clock in East Africa Time: a window every month from Sunday 18:00 EAT
stays at 18:00 EAT on the same day of the month (the last day when a month is shorter).
"""

from __future__ import annotations

import calendar
import re
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


class BadTime(ValueError):
    """A time an operator typed could not be read; the message says what is expected."""


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(h|hours?|m|min|minutes?|saa|dakika)\s*$", re.IGNORECASE)


def parse_start(text: str, now: datetime) -> datetime:
    """'2026-12-06 18:00' (East Africa Time unless an offset is given) or an ISO time."""
    text = text.strip().replace("T", " ")
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M%z", "%Y-%m-%d %H:%M:%S%z", "%d.%m.%Y %H:%M"):
        try:
            moment = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return moment if moment.tzinfo else moment.replace(tzinfo=EAT)
    raise BadTime(f"{text!r} is not a date and time like 2026-12-06 18:00 (East Africa Time)")


def parse_end(text: str, start: datetime) -> datetime:
    """'22:00' (the same day, or the next if earlier), '4h', '90 min', or a full date and time."""
    match = _DURATION.match(text)
    if match:
        amount = float(match.group(1))
        unit = match.group(2).lower()
        delta = timedelta(hours=amount) if unit[0] in "hs" else timedelta(minutes=amount)
        return start + delta
    clock = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", text)
    if clock:
        hour, minute = int(clock.group(1)), int(clock.group(2))
        if hour > 23 or minute > 59:
            raise BadTime(f"{text.strip()!r} is not a time of day")
        local = start.astimezone(EAT)
        end = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
        return end if end > local else end + timedelta(days=1)
    try:
        return parse_start(text, start)
    except BadTime:
        raise BadTime(f"{text.strip()!r} is not an end like 22:00, 4h or 2026-12-06 22:00") from None
