"""The precedence of status sources: one place, no store and no Telegram."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.catalog.model import Text
from bot.core.status import Incident, Signal, Source, State, effective_status, incident_signals

T0 = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)


def _incident(state: State, minutes: int = 0, *, resolved: bool = False, iid: int = 1) -> Incident:
    return Incident(iid, "ecitizen", state, Text(f"incident {iid}"), T0 + timedelta(minutes=minutes),
                    resolved_at=T0 + timedelta(hours=5) if resolved else None)


def test_nothing_known_means_no_known_problem() -> None:
    status = effective_status("kra", [])
    assert status.source is None and not status.known_problem and status.since is None


def test_an_operators_incident_wins_over_a_check() -> None:
    signals = [
        Signal(Source.CHECK, State.OPERATIONAL, T0),
        *incident_signals([_incident(State.PARTIAL_OUTAGE, 5)]),
    ]
    status = effective_status("ecitizen", signals)
    assert status.source is Source.INCIDENT and status.state is State.PARTIAL_OUTAGE
    assert status.since == T0 + timedelta(minutes=5)


def test_a_check_wins_over_citizens_reports() -> None:
    signals = [Signal(Source.REPORTS, State.MAJOR_OUTAGE, T0), Signal(Source.CHECK, State.DEGRADED, T0)]
    assert effective_status("kra", signals).state is State.DEGRADED


def test_the_worst_of_several_open_incidents_leads() -> None:
    incidents = [_incident(State.DEGRADED, 0, iid=1), _incident(State.MAJOR_OUTAGE, 10, iid=2)]
    status = effective_status("ecitizen", incident_signals(incidents))
    assert status.state is State.MAJOR_OUTAGE
    assert status.incident is not None and status.incident.id == 2


def test_a_resolved_incident_counts_for_nothing() -> None:
    status = effective_status("ecitizen", incident_signals([_incident(State.MAJOR_OUTAGE, resolved=True)]))
    assert status.source is None


def test_maintenance_is_its_own_source_below_an_incident() -> None:
    signals = incident_signals([_incident(State.MAINTENANCE, 0, iid=1), _incident(State.DEGRADED, 3, iid=2)])
    status = effective_status("ecitizen", signals)
    assert status.source is Source.INCIDENT and status.state is State.DEGRADED
    only_maintenance = effective_status("ecitizen", incident_signals([_incident(State.MAINTENANCE)]))
    assert only_maintenance.source is Source.MAINTENANCE and only_maintenance.state is State.MAINTENANCE
