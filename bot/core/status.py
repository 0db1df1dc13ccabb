"""A service's effective status: the one place that combines operators, checks and citizens' reports."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum, StrEnum

from bot.catalog.model import Text


class State(StrEnum):
    OPERATIONAL = "operational"
    DEGRADED = "degraded"
    PARTIAL_OUTAGE = "partial_outage"
    MAJOR_OUTAGE = "major_outage"
    MAINTENANCE = "maintenance"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]

    @property
    def is_problem(self) -> bool:
        return self is not State.OPERATIONAL


_SEVERITY = {
    State.OPERATIONAL: 0,
    State.MAINTENANCE: 1,
    State.DEGRADED: 2,
    State.PARTIAL_OUTAGE: 3,
    State.MAJOR_OUTAGE: 4,
}

# States an operator may give an incident (operational is what resolving means).
INCIDENT_STATES = (State.DEGRADED, State.PARTIAL_OUTAGE, State.MAJOR_OUTAGE, State.MAINTENANCE)


class Source(IntEnum):
    """Where a status comes from. Lower value wins: an operator knows better than a probe or a crowd.

    MONITORING is the agency's own monitoring (its Alertmanager, Grafana or Uptime Kuma alerts, sent to
    Hali's hooks): it sees from inside what Hali's checks see from outside, but an operator's word wins.
    """

    INCIDENT = 1
    MAINTENANCE = 2
    MONITORING = 3
    CHECK = 4
    REPORTS = 5


@dataclass(frozen=True)
class IncidentUpdate:
    at: datetime
    kind: str  # opened, update, resolved
    message: Text | None
    status: State | None = None


@dataclass(frozen=True)
class Incident:
    id: int
    service_id: str
    state: State
    title: Text
    opened_at: datetime
    workaround: Text | None = None
    resolved_at: datetime | None = None
    updates: tuple[IncidentUpdate, ...] = ()

    @property
    def latest_message(self) -> IncidentUpdate | None:
        for update in reversed(self.updates):
            if update.message is not None:
                return update
        return None

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None


@dataclass(frozen=True)
class Signal:
    """One source's opinion of a service's state, e.g. an open incident or a failing check."""

    source: Source
    state: State
    since: datetime
    incident: Incident | None = None
    detail: Text | None = None


@dataclass(frozen=True)
class EffectiveStatus:
    service_id: str
    state: State
    source: Source | None  # None: nothing is known about a problem
    since: datetime | None
    incidents: tuple[Incident, ...] = ()
    signals: tuple[Signal, ...] = field(default=(), repr=False)
    automatically_checked: bool = False

    @property
    def known_problem(self) -> bool:
        return self.source is not None and self.state.is_problem

    @property
    def incident(self) -> Incident | None:
        """The incident the card leads with: the most severe open one, the newest on a tie."""
        if not self.incidents:
            return None
        return max(self.incidents, key=lambda i: (i.state.severity, i.opened_at))


def effective_status(
    service_id: str, signals: Iterable[Signal], *, automatically_checked: bool = False
) -> EffectiveStatus:
    """Combine the sources by precedence: incident or maintenance, the agency's monitoring, checks, reports.

    The most trusted source that reports anything decides; within it the most severe state wins,
    and "since" is when that state began. An operational signal from a check is kept as the source
    so the card can say the service was checked and found working.
    """
    signals = tuple(signals)
    incidents = tuple(s.incident for s in signals if s.incident is not None and s.incident.is_open)
    if not signals:
        return EffectiveStatus(
            service_id, State.OPERATIONAL, None, None, incidents, (), automatically_checked
        )
    top = min(s.source for s in signals)
    deciding = [s for s in signals if s.source == top]
    worst = max(deciding, key=lambda s: (s.state.severity, -s.since.timestamp()))
    since = min(s.since for s in deciding if s.state == worst.state)
    return EffectiveStatus(
        service_id, worst.state, top, since, incidents, signals, automatically_checked
    )


def incident_signals(incidents: Iterable[Incident]) -> list[Signal]:
    """Open incidents as signals; a maintenance incident counts as the maintenance source."""
    return [
        Signal(
            Source.MAINTENANCE if i.state is State.MAINTENANCE else Source.INCIDENT,
            i.state,
            i.opened_at if not i.updates else _state_since(i),
            incident=i,
        )
        for i in incidents
        if i.is_open
    ]


def _state_since(incident: Incident) -> datetime:
    """When the incident's current state was set (an update may have changed it)."""
    since = incident.opened_at
    current = None
    for update in incident.updates:
        if update.status is not None and update.status != current:
            current = update.status
            since = update.at
    return since
