"""The hooks' payloads read into alerts, the severity rule, and where the agency's monitoring ranks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.catalog.loader import load_catalog
from bot.catalog.model import Text
from bot.core.alerts import Hook, PayloadError, parse, resolve_service, severity_state
from bot.core.status import Incident, Signal, Source, State, effective_status, incident_signals
from tests.fakes.monitoring import UPTIME_KUMA_TEST, alertmanager, grafana, prometheus_alert, uptime_kuma

T0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)


def test_alertmanagers_documented_payload_gives_one_firing_alert_per_entry() -> None:
    [alert] = parse(Hook.ALERTMANAGER, alertmanager())
    assert alert.key == "alertmanager:3f2b1c0d9e8a7b6c"
    assert alert.references == ("ntsa",) and alert.firing and alert.state is State.MAJOR_OUTAGE
    assert alert.name == "NTSAPortalDown" and alert.starts_at == T0


def test_a_resolved_alertmanager_alert_is_not_firing_and_keeps_its_key() -> None:
    [alert] = parse(Hook.ALERTMANAGER, alertmanager(prometheus_alert("resolved")))
    assert not alert.firing and alert.key == "alertmanager:3f2b1c0d9e8a7b6c"


def test_alertmanagers_unknown_start_is_no_start() -> None:
    body = alertmanager()
    body["alerts"][0]["startsAt"] = "0001-01-01T00:00:00Z"
    assert parse(Hook.ALERTMANAGER, body)[0].starts_at is None


def test_an_alert_without_a_fingerprint_is_keyed_by_its_labels() -> None:
    first, second = prometheus_alert(fingerprint=""), prometheus_alert(fingerprint="")
    second["annotations"] = {"summary": "worded differently"}
    [a], [b] = parse(Hook.ALERTMANAGER, alertmanager(first)), parse(Hook.ALERTMANAGER, alertmanager(second))
    assert a.key == b.key and a.key.startswith("alertmanager:")


def test_another_alertmanager_payload_version_is_refused_with_the_field_named() -> None:
    with pytest.raises(PayloadError, match="version"):
        parse(Hook.ALERTMANAGER, alertmanager(version="3"))


def test_a_body_that_is_not_a_payload_names_the_first_bad_field() -> None:
    with pytest.raises(PayloadError, match=r"alerts\.0\.status"):
        parse(Hook.ALERTMANAGER, {"version": "4", "status": "firing", "alerts": [{"status": "burning", "labels": {}}]})


def test_grafanas_payload_is_read_with_its_own_fields_ignored() -> None:
    [alert] = parse(Hook.GRAFANA, grafana())
    assert alert.key == "grafana:c6eadffa33fcdf37" and alert.references == ("itax",)
    assert alert.firing and alert.state is State.DEGRADED
    assert alert.starts_at == datetime(2026, 12, 1, 6, 51, 3, 157076, tzinfo=UTC)
    assert not parse(Hook.GRAFANA, grafana("resolved"))[0].firing


def test_uptime_kumas_down_beat_fires_and_its_up_beat_resolves() -> None:
    [down] = parse(Hook.UPTIME_KUMA, uptime_kuma(0, tags=[("service", "ntsa"), ("severity", "critical")]))
    [up] = parse(Hook.UPTIME_KUMA, uptime_kuma(1, tags=[("service", "ntsa")]))
    assert down.firing and down.state is State.MAJOR_OUTAGE and down.key == up.key == "uptime-kuma:7"
    assert down.references == ("ntsa", "NTSA portal") and not up.firing


def test_uptime_kumas_service_is_the_service_tag_then_the_monitor_name_then_other_tags() -> None:
    [alert] = parse(Hook.UPTIME_KUMA, uptime_kuma(0, name="Portal", tags=[("kra", ""), ("prod", "")]))
    assert alert.references == ("Portal", "kra", "prod")
    assert alert.state is State.PARTIAL_OUTAGE  # no severity tag


def test_uptime_kumas_test_message_pending_and_maintenance_beats_change_nothing() -> None:
    assert parse(Hook.UPTIME_KUMA, UPTIME_KUMA_TEST) == []
    assert parse(Hook.UPTIME_KUMA, uptime_kuma(2)) == []
    assert parse(Hook.UPTIME_KUMA, uptime_kuma(3)) == []


def test_uptime_kuma_without_heartbeat_or_monitor_keys_is_not_its_payload() -> None:
    with pytest.raises(PayloadError, match="heartbeat"):
        parse(Hook.UPTIME_KUMA, {"msg": "hello"})


@pytest.mark.parametrize(("severity", "state"), [
    ("critical", State.MAJOR_OUTAGE), ("CRITICAL", State.MAJOR_OUTAGE), ("warning", State.DEGRADED),
    ("info", State.PARTIAL_OUTAGE), ("page", State.PARTIAL_OUTAGE), (None, State.PARTIAL_OUTAGE),
])
def test_severity_gives_the_state(severity: str | None, state: State) -> None:
    assert severity_state(severity) is state


def test_a_service_is_named_by_its_id_or_an_alias_in_any_case() -> None:
    catalog = load_catalog()
    assert resolve_service(catalog, ["kra"]) == "kra"
    assert resolve_service(catalog, ["  iTax "]) == "kra"
    assert resolve_service(catalog, ["nothing", "Smart DL"]) == "ntsa"
    assert resolve_service(catalog, ["nothing"]) is None
    assert resolve_service(catalog, []) is None


def test_the_agencys_monitoring_ranks_below_maintenance_and_above_checks() -> None:
    assert Source.INCIDENT < Source.MAINTENANCE < Source.MONITORING < Source.CHECK < Source.REPORTS
    monitoring = Signal(Source.MONITORING, State.DEGRADED, T0)
    check = Signal(Source.CHECK, State.MAJOR_OUTAGE, T0 - timedelta(hours=1))
    status = effective_status("kra", [check, monitoring])
    assert (status.state, status.source, status.since) == (State.DEGRADED, Source.MONITORING, T0)
    incident = Incident(1, "kra", State.PARTIAL_OUTAGE, Text("iTax slow"), T0 + timedelta(minutes=5))
    status = effective_status("kra", [check, monitoring, *incident_signals([incident])])
    assert (status.state, status.source) == (State.PARTIAL_OUTAGE, Source.INCIDENT)
