"""What every public response is made from: one status-board snapshot and the history read with it.

The page, the API, the feeds and the badges read the same `Published`, built from the snapshot the bot
answers from, so none of them can disagree with another or with the bot. A new one is built when the
board's snapshot has aged; while it is being built, other requests are answered from the previous one
rather than waiting for the database.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import cached_property

from bot.catalog.model import GROUPS, Service
from bot.core.board import Snapshot, StatusBoard
from bot.core.maintenance import EAT, PLANNED_HORIZON, MaintenanceWindow, occurrence
from bot.core.status import EffectiveStatus, Incident, State
from bot.store.history import DayCount, PastWindow
from bot.store.repo import Store

BAR_DAYS = 90
# How many incidents the history (the API's incidents.json, the feeds, the page's list) goes back.
INCIDENT_HISTORY = 200
# The oldest maintenance occurrences listed; upcoming ones are listed up to PLANNED_HORIZON ahead.
MAINTENANCE_HISTORY = timedelta(days=BAR_DAYS)
# The history beside the snapshot (resolved incidents, windows, the days' counts) is read again at least
# this often, and at once when the open incidents or the planned windows change.
HISTORY_MAX_AGE = timedelta(seconds=60)


class MaintenanceStatus(StrEnum):
    """The Statuspage names; Hali has no 'verifying' step."""

    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


@dataclass(frozen=True)
class Planned:
    """One occurrence of a maintenance window, past, running or to come."""

    window: MaintenanceWindow
    index: int  # 0 is the window's first occurrence
    start: datetime
    end: datetime
    status: MaintenanceStatus
    created_at: datetime

    @property
    def id(self) -> str:
        return f"m{self.window.id}-{self.index}"

    @property
    def service_id(self) -> str:
        return self.window.service_id


class DayLevel(StrEnum):
    NONE = "none"  # no check ran and no incident: nothing is known, so it is not shown as up
    UP = "up"
    MINOR = "minor"
    MAJOR = "major"
    MAINTENANCE = "maintenance"


# A day is up when at least this share of its probes answered; below MAJOR_BELOW it is an outage.
UP_FROM = 0.99
MAJOR_BELOW = 0.9


@dataclass(frozen=True)
class Day:
    """One day of a service's 90-day bar (East Africa Time)."""

    day: date
    count: DayCount | None
    worst: State | None  # the worst state of an operator's incident that day
    incidents: tuple[int, ...] = ()

    @property
    def share(self) -> float | None:
        return self.count.share if self.count is not None else None

    @property
    def level(self) -> DayLevel:
        share = self.share
        if self.worst is State.MAJOR_OUTAGE or (share is not None and share < MAJOR_BELOW):
            return DayLevel.MAJOR
        if self.worst in (State.DEGRADED, State.PARTIAL_OUTAGE) or (share is not None and share < UP_FROM):
            return DayLevel.MINOR
        if self.worst is State.MAINTENANCE:
            return DayLevel.MAINTENANCE
        return DayLevel.UP if share is not None else DayLevel.NONE


@dataclass(frozen=True)
class Segment:
    """Consecutive days of one level: the bar on the overview is drawn and read out in these."""

    first: date
    last: date
    level: DayLevel
    good: int
    counted: int

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def share(self) -> float | None:
        return self.good / self.counted if self.counted else None


@dataclass(frozen=True)
class Published:
    snapshot: Snapshot
    now: datetime
    incidents: tuple[Incident, ...]  # newest first: every open one the snapshot has, then resolved ones
    windows: tuple[PastWindow, ...]
    days: Mapping[str, Mapping[date, DayCount]]
    service_times: Mapping[str, datetime]
    serial: int
    _by_id: dict[int, Incident] = field(default_factory=dict, init=False, repr=False, compare=False)
    _bars: dict[str, list[Day]] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._by_id.update({i.id: i for i in self.incidents})

    @property
    def services(self) -> Sequence[Service]:
        return self.snapshot.services

    def status(self, service_id: str) -> EffectiveStatus:
        return self.snapshot.status(service_id)

    def incident(self, incident_id: int) -> Incident | None:
        return self._by_id.get(incident_id)

    def service_incidents(self, service_id: str) -> list[Incident]:
        return list(self._incidents_by_service.get(service_id, ()))

    @cached_property
    def _incidents_by_service(self) -> dict[str, list[Incident]]:
        found: dict[str, list[Incident]] = {}
        for incident in self.incidents:
            found.setdefault(incident.service_id, []).append(incident)
        return found

    @property
    def open_incidents(self) -> list[Incident]:
        return [i for i in self.incidents if i.is_open]

    def groups(self) -> list[tuple[str, list[Service]]]:
        """The catalogue's groups in their order, each with its services (empty groups left out)."""
        found = []
        for group in GROUPS:
            members = [s for s in self.services if s.group == group]
            if members:
                found.append((group, members))
        return found

    def worst_state(self) -> State | None:
        """The worst known problem of any service (None: no problem known anywhere)."""
        problems = [s.state for s in self.snapshot.statuses.values() if s.known_problem]
        return max(problems, key=lambda st: st.severity) if problems else None

    def updated_at(self) -> datetime:
        """The last change anything published here shows: an incident, a state, a window, the catalogue."""
        moments = list(self.service_times.values())
        for incident in self.incidents:
            moments.append(incident_changed(incident))
        moments += [s.since for s in self.snapshot.statuses.values() if s.since is not None]
        for past in self.windows:
            moments.append(past.cancelled_at or past.created_at)
        moments += [p.start for p in self.maintenance() if p.start <= self.now]
        moments += [p.end for p in self.maintenance() if p.end <= self.now]
        return max(moments, default=self.now)

    # --- maintenance ----------------------------------------------------------------------------

    def maintenance(self) -> list[Planned]:
        """Every occurrence from MAINTENANCE_HISTORY ago to PLANNED_HORIZON ahead, newest first."""
        return list(self._maintenance)

    @cached_property
    def _maintenance(self) -> tuple[Planned, ...]:
        return tuple(sorted(self._occurrences(), key=lambda p: (p.start, p.window.id), reverse=True))

    def _occurrences(self) -> Iterator[Planned]:
        oldest, horizon = self.now - MAINTENANCE_HISTORY, self.now + PLANNED_HORIZON
        for past in self.windows:
            window = past.window
            for k in itertools.count():
                if k and window.every is None:
                    break
                occ = occurrence(window, k)
                if occ.start > horizon or (window.until is not None and occ.start > window.until):
                    break
                end = occ.end
                if past.cancelled_at is not None:
                    if occ.start >= past.cancelled_at:
                        break
                    end = min(end, past.cancelled_at)
                if end < oldest:
                    continue
                yield Planned(window, k, occ.start, end, _maintenance_status(occ.start, end, self.now),
                              past.created_at)

    def upcoming(self, service_id: str | None = None) -> list[Planned]:
        """Running and scheduled occurrences, soonest first."""
        found = [p for p in self.maintenance() if p.status is not MaintenanceStatus.COMPLETED]
        if service_id is not None:
            found = [p for p in found if p.service_id == service_id]
        return sorted(found, key=lambda p: p.start)

    # --- the 90-day bars ------------------------------------------------------------------------

    def bar(self, service_id: str) -> list[Day]:
        """The last BAR_DAYS days of a service, oldest first, today included."""
        if service_id not in self._bars:
            self._bars[service_id] = self._bar(service_id)
        return self._bars[service_id]

    def _bar(self, service_id: str) -> list[Day]:
        today = self.now.astimezone(EAT).date()
        first = today - timedelta(days=BAR_DAYS - 1)
        worst: dict[date, State] = {}
        ids: dict[date, list[int]] = {}
        for incident in reversed(self.service_incidents(service_id)):  # oldest first
            day = max(incident.opened_at.astimezone(EAT).date(), first)
            last = min((incident.resolved_at or self.now).astimezone(EAT).date(), today)
            state = _worst_state(incident)
            while day <= last:
                if day not in worst or state.severity > worst[day].severity:
                    worst[day] = state
                ids.setdefault(day, []).append(incident.id)
                day += timedelta(days=1)
        counts = self.days.get(service_id, {})
        return [Day(day, counts.get(day), worst.get(day), tuple(ids.get(day, ())))
                for day in (first + timedelta(days=n) for n in range(BAR_DAYS))]

    def segments(self, service_id: str) -> list[Segment]:
        segments: list[Segment] = []
        for day in self.bar(service_id):
            good, counted = (day.count.good, day.count.counted) if day.count else (0, 0)
            last = segments[-1] if segments else None
            if last is not None and last.level is day.level:
                segments[-1] = Segment(last.first, day.day, last.level, last.good + good, last.counted + counted)
            else:
                segments.append(Segment(day.day, day.day, day.level, good, counted))
        return segments


def incident_changed(incident: Incident) -> datetime:
    """The last moment an incident changed: its last update, or its resolution."""
    moments = [incident.opened_at, *(u.at for u in incident.updates)]
    if incident.resolved_at is not None:
        moments.append(incident.resolved_at)
    return max(moments)


def _worst_state(incident: Incident) -> State:
    states = [incident.state, *(u.status for u in incident.updates if u.status is not None)]
    return max((s for s in states if s is not State.OPERATIONAL), key=lambda st: st.severity,
               default=incident.state)


def worst_state(incident: Incident) -> State:
    """The worst state an incident was ever in (its impact)."""
    return _worst_state(incident)


def _maintenance_status(start: datetime, end: datetime, now: datetime) -> MaintenanceStatus:
    if now < start:
        return MaintenanceStatus.SCHEDULED
    if now < end:
        return MaintenanceStatus.IN_PROGRESS
    return MaintenanceStatus.COMPLETED


class Publisher:
    """Builds a Published from the board's snapshot when it has aged, one build at a time.

    `max_age` defaults to the board's own (at least `floor` seconds, so that a board without a cache
    cannot make every request read the database). While a build is under way, readers get the previous
    one; only the very first build is waited for.
    """

    def __init__(self, board: StatusBoard, store: Store, *, max_age: float | None = None,
                 floor: float = 1.0) -> None:
        self.board = board
        self.store = store
        self.history = store.history
        self.max_age = max(board.max_age, floor) if max_age is None else max_age
        self._published: Published | None = None
        self._taken = 0.0
        self._building: asyncio.Task[Published] | None = None
        self._serial = itertools.count(1)
        self._kept: _History | None = None

    async def current(self) -> Published:
        published = self._published
        if published is not None and time.monotonic() - self._taken < self.max_age:
            return published
        building = self._start()
        if published is not None and not building.done():
            return published
        return await asyncio.shield(building)

    async def refresh(self) -> Published:
        """Build now, history included, and wait for it (the tests' way of seeing a change at once)."""
        if self._building is not None:
            await asyncio.shield(self._building)
        self.board.invalidate()
        self._kept = None
        return await asyncio.shield(self._start())

    def _start(self) -> asyncio.Task[Published]:
        if self._building is None:
            self._building = asyncio.create_task(self._build())
            self._building.add_done_callback(self._built)
        return self._building

    def _built(self, task: asyncio.Task[Published]) -> None:
        self._building = None
        if not task.cancelled() and task.exception() is None:
            self._published = task.result()
            self._taken = time.monotonic()

    async def _build(self) -> Published:
        snapshot = await self.board.snapshot()
        now = self.store.clock()
        previous = self._published
        if previous is not None and previous.snapshot is snapshot:
            return previous
        # Open incidents as the snapshot has them, so that the lists agree with the states.
        open_now = {i.id: i for s in snapshot.statuses.values() for i in s.incidents}
        history = await self._history(now, frozenset(open_now), snapshot)
        merged = [*open_now.values(), *(i for i in history.incidents if not i.is_open and i.id not in open_now)]
        merged.sort(key=lambda i: (i.opened_at, i.id), reverse=True)
        return Published(snapshot, now, tuple(merged), history.windows, history.days, history.service_times,
                         next(self._serial))

    async def _history(self, now: datetime, open_ids: frozenset[int], snapshot: Snapshot) -> _History:
        """What the snapshot lacks, read again only when something it shows has changed, or once a
        minute: resolved incidents change only when an open one goes, windows when the planned ones
        change, and the days' counts slowly."""
        kept = self._kept
        planned = {k: tuple(o.window.id for o in v) for k, v in snapshot.planned.items()}
        if (kept is not None and kept.open_ids == open_ids and kept.planned == planned
                and now - kept.read_at < HISTORY_MAX_AGE and time.monotonic() - kept.taken < HISTORY_MAX_AGE.seconds):
            return kept
        today = now.astimezone(EAT).date()
        self._kept = _History(
            incidents=tuple(await self.store.incidents(limit=INCIDENT_HISTORY)),
            windows=tuple(await self.history.windows()),
            days=await self.history.days(today - timedelta(days=BAR_DAYS - 1)),
            service_times=await self.history.service_times(),
            open_ids=open_ids, planned=planned, read_at=now, taken=time.monotonic(),
        )
        return self._kept


@dataclass(frozen=True)
class _History:
    incidents: tuple[Incident, ...]
    windows: tuple[PastWindow, ...]
    days: Mapping[str, Mapping[date, DayCount]]
    service_times: Mapping[str, datetime]
    open_ids: frozenset[int]
    planned: Mapping[str, tuple[int, ...]]
    read_at: datetime
    taken: float


__all__ = ["BAR_DAYS", "Day", "DayLevel", "Planned", "Published", "Publisher", "Segment"]
