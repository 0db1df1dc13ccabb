"""Dependencies: when M-Pesa or eCitizen has a problem, what it means for the services built on them.

A dependent service is never called down because of its dependency: its card only warns that
payments may fail, and its own state stays what its own sources say.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.core.board import Snapshot
from bot.core.status import Source, State


@dataclass(frozen=True)
class DependencyNote:
    """`service_id` may be affected because `dependency_id` has a problem (`state`, from `source`)."""

    service_id: str
    dependency_id: str
    state: State
    source: Source
    since: datetime | None


def dependency_notes(snapshot: Snapshot, service_id: str) -> list[DependencyNote]:
    """The service's direct dependencies that have a known problem, in catalogue order.

    Citizens' unconfirmed reports do not count: a warning on another service's card needs an
    operator, a maintenance window or an automatic check behind it.
    """
    service = snapshot.catalog.get(service_id)
    if service is None:
        return []
    notes: list[DependencyNote] = []
    for dep in service.depends_on:
        status = snapshot.statuses.get(dep)
        if status is None or not status.known_problem or status.source is None:
            continue
        if status.source is Source.REPORTS:
            continue
        notes.append(DependencyNote(service_id, dep, status.state, status.source, status.since))
    return notes


@dataclass(frozen=True)
class DependencyEvent:
    """A dependency's problem began (`started`) or ended for a dependent service."""

    service_id: str
    dependency_id: str
    started: bool
    state: State | None  # the dependency's state when it started
    dedupe_key: str


def dependency_events(before: Snapshot, after: Snapshot) -> list[DependencyEvent]:
    """What changed between two snapshots, per dependent service and dependency.

    For the notifications feature (integration point): its status watcher, which already compares
    consecutive snapshots, calls this with the same pair and, for each event, queues ONE message to
    each subscriber of `event.service_id` (not to the dependency's subscribers: they get the
    dependency's own news). Word it as such, never as the dependent being down:
      started: "NTSA: payments may fail because M-Pesa has a problem (Major outage). NTSA itself is
                not reported down." (render.checks.dependency_notice(t, service, dependency, state))
      ended:   "NTSA: M-Pesa's problem is over; payments should work again."
    Use `dedupe_key` as the outbox's idempotency key so that a subscriber gets the news once even
    if the watcher runs on several replicas or sees the change twice; a subscriber of several
    dependents of M-Pesa gets one message per dependent they follow (each names its service).
    Apply the watcher's usual settle/coalesce rules to these events as to status changes.
    """
    events: list[DependencyEvent] = []
    for service in after.catalog.services:
        if not service.depends_on:
            continue
        old = {n.dependency_id: n for n in dependency_notes(before, service.id)}
        new = {n.dependency_id: n for n in dependency_notes(after, service.id)}
        for dep, note in new.items():
            if dep not in old:
                stamp = note.since.isoformat() if note.since else "?"
                events.append(DependencyEvent(service.id, dep, True, note.state,
                                              f"dep:{service.id}:{dep}:{stamp}:start"))
        for dep, note in old.items():
            if dep not in new:
                stamp = note.since.isoformat() if note.since else "?"
                events.append(DependencyEvent(service.id, dep, False, None,
                                              f"dep:{service.id}:{dep}:{stamp}:end"))
    return events
