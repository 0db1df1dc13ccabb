"""Notifications in the domain: events, quiet hours, and the watcher's settle/coalesce/flap rule.

Nothing here touches the database or Telegram. The store persists what these functions decide
(`bot.store.outbox`), the watcher (`bot.core.watcher`) feeds them board snapshots, and the dispatcher
(`bot.core.dispatcher`) delivers what they produced.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from bot.catalog.model import Text
from bot.core.clock import EAT
from bot.core.status import EffectiveStatus, Source, State

ALL_SERVICES = "*"  # the service id a subscription to every service is stored under
BILINGUAL = "en+sw"  # the language of the public channel's deliveries: one post in both


class EventKind(StrEnum):
    OPENED = "opened"  # an operator opened an incident
    UPDATED = "updated"  # an operator posted an update (maybe with a new state)
    RESOLVED = "resolved"  # an operator resolved an incident
    CHANGED = "changed"  # the effective status changed by itself (checks, reports, maintenance windows)
    UNSTABLE = "unstable"  # the effective status keeps changing: said once
    REPORT_FOLLOW_UP = "report_follow_up"  # to one citizen who reported the service: it works again
    DEPENDENCY = "dependency"  # to a service's subscribers: something it depends on has (had) a problem

    @property
    def by_operator(self) -> bool:
        return self in (EventKind.OPENED, EventKind.UPDATED, EventKind.RESOLVED)


@dataclass(frozen=True)
class Event:
    """What subscribers of one service are told, with the texts as they were when it happened."""

    id: int
    service_id: str
    kind: EventKind
    state: State
    created_at: datetime
    previous_state: State | None = None
    since: datetime | None = None
    source: Source | None = None
    incident_id: int | None = None
    title: Text | None = None
    message: Text | None = None
    workaround: Text | None = None
    # Texts rendered when the event happened, by language (report follow-ups, dependency news).
    rendered: dict[str, str] | None = None
    key: str | None = None  # idempotency key: an event with the same kind, service and key is told once


# --- quiet hours -----------------------------------------------------------------------------------


class QuietHoursError(ValueError):
    """Quiet hours must be given as two whole hours, e.g. 22-6."""


def parse_quiet(text: str) -> tuple[int, int] | None:
    """'22-6', '22:00-06:00', '22 - 6' → (22, 6); 'off' → None. Raises QuietHoursError otherwise."""
    value = text.strip().lower().replace("–", "-").replace(" ", "")
    if value in ("off", "none", "zima", "hapana", "0"):
        return None
    start, sep, end = value.partition("-")
    if not sep:
        raise QuietHoursError(text)
    hours = []
    for part in (start, end):
        part = part.removesuffix(":00").removesuffix("h")
        if not part.isdigit() or not 0 <= int(part) <= 24:
            raise QuietHoursError(text)
        hours.append(int(part) % 24)
    if hours[0] == hours[1]:
        raise QuietHoursError(text)
    return hours[0], hours[1]


def quiet_until(now: datetime, start: int, end: int) -> datetime | None:
    """When a quiet window (hours in East Africa Time) that contains `now` ends; None outside it.

    A window may cross midnight (22-6). Holding until its end is what bounds every held message,
    including "the service is back", by the length of the quiet window.
    """
    local = now.astimezone(EAT)
    hour = local.hour
    inside = start <= hour < end if start < end else (hour >= start or hour < end)
    if not inside:
        return None
    end_local = local.replace(hour=end, minute=0, second=0, microsecond=0)
    if end_local <= local:
        end_local += timedelta(days=1)
    return end_local


# --- the status watcher's rule ---------------------------------------------------------------------

# This many changes without the state holding for the settle time make a service "unstable".
FLAP_CHANGES = 4


@dataclass(frozen=True)
class WatchState:
    """Per service: the state subscribers were last told and a change that has not settled yet."""

    service_id: str
    told_state: State
    told_at: datetime
    pending_state: State | None = None
    window_start: datetime | None = None
    last_change: datetime | None = None
    changes: int = 0
    unstable: bool = False


@dataclass(frozen=True)
class Decision:
    state: WatchState
    event: Event | None = None  # id 0: not stored yet

    @property
    def changed(self) -> bool:
        return self.event is not None


def covered_by_operator(status: EffectiveStatus) -> bool:
    """An operator's incident decides this status, so the incident's own events already told people."""
    return status.source is not None and any(
        s.incident is not None for s in status.signals if s.source == status.source
    )


def decide(previous: WatchState | None, status: EffectiveStatus, now: datetime, settle: float) -> Decision:
    """The next watch state for a service, and the event to send if subscribers should hear now.

    * First sight of a service: its state is adopted silently (a restart never announces anything).
    * Operator-decided status: adopted silently; the incident's own events (written with the incident)
      cover it, so nothing is sent twice.
    * Otherwise a change must hold for `settle` seconds. Every further change restarts that wait and
      counts; when the latest state has held, one message says the latest state (coalescing). A blip
      that returns to the told state says nothing.
    * `FLAP_CHANGES` changes without settling: one "unstable" message, then silence until the state
      holds for `settle` seconds again; that settled state is then told once.
    """
    state = status.state
    if previous is None:
        return Decision(WatchState(status.service_id, state, now))
    if covered_by_operator(status):
        if previous.told_state == state and previous.pending_state is None and not previous.unstable:
            return Decision(previous)
        return Decision(WatchState(status.service_id, state, now))
    current = previous
    observed = current.pending_state if current.pending_state is not None else current.told_state
    if state != observed:
        current = replace(
            current,
            pending_state=state,
            window_start=current.window_start or now,
            last_change=now,
            changes=current.changes + 1,
        )
    if current.pending_state is None:
        return Decision(current)
    assert current.last_change is not None and current.window_start is not None
    if (now - current.last_change).total_seconds() >= settle:
        settled = WatchState(status.service_id, state, now)
        if state == current.told_state and not current.unstable:
            return Decision(settled)
        event = Event(
            id=0, service_id=status.service_id, kind=EventKind.CHANGED, state=state, created_at=now,
            previous_state=current.told_state, since=_since(status, current.last_change),
            source=status.source,
        )
        return Decision(settled, event)
    if current.changes >= FLAP_CHANGES and not current.unstable:
        event = Event(
            id=0, service_id=status.service_id, kind=EventKind.UNSTABLE, state=state, created_at=now,
            previous_state=current.told_state, since=current.window_start, source=status.source,
        )
        return Decision(replace(current, unstable=True), event)
    return Decision(current)


def _since(status: EffectiveStatus, fallback: datetime) -> datetime:
    return status.since if status.since is not None and status.state.is_problem else fallback
