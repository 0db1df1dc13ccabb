"""Alerts from an agency's own monitoring: the hooks' payloads read into one shape, and their meaning.

Three senders are understood, each in its documented webhook format: Prometheus Alertmanager (payload
version 4), Grafana unified alerting (the same alert list, with Grafana's extra fields) and Uptime Kuma
(`{heartbeat, monitor, msg}`; its "test" notification has both null). The service is named by the
alert's `service` label (for Uptime Kuma: a `service` tag, the monitor's name or another tag), as a
catalogue id or an alias; the `severity` label gives the state.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.catalog.model import Catalog, normalise_alias
from bot.core.status import State


class Hook(StrEnum):
    ALERTMANAGER = "alertmanager"
    GRAFANA = "grafana"
    UPTIME_KUMA = "uptime-kuma"


@dataclass(frozen=True)
class Alert:
    """One alert of a delivery: firing (with the state it means) or resolved."""

    key: str  # stable for the same alert across deliveries: "alertmanager:<fingerprint>"
    references: tuple[str, ...]  # what may name the service, the most explicit first
    firing: bool
    state: State
    name: str = ""
    starts_at: datetime | None = None


class PayloadError(ValueError):
    """The body is not the hook's payload format; the message says where."""


def severity_state(severity: str | None) -> State:
    """critical is a major outage, warning a degradation, anything else (or nothing) a partial outage."""
    value = (severity or "").strip().lower()
    if value == "critical":
        return State.MAJOR_OUTAGE
    if value == "warning":
        return State.DEGRADED
    return State.PARTIAL_OUTAGE


def resolve_service(catalog: Catalog, references: Sequence[str]) -> str | None:
    """The catalogue id the first matching reference names (an id or an alias, in any case)."""
    for reference in references:
        wanted = normalise_alias(reference)
        for service in catalog.services:
            if wanted == service.id or wanted in service.aliases:
                return service.id
    return None


def parse(hook: Hook, body: Any) -> list[Alert]:
    """The alerts of one delivery; a PayloadError names the first field that is not as documented."""
    readers: dict[Hook, Callable[[Any], list[Alert]]] = {
        Hook.ALERTMANAGER: _alertmanager, Hook.GRAFANA: _grafana, Hook.UPTIME_KUMA: _uptime_kuma}
    try:
        return readers[hook](body)
    except ValidationError as exc:
        raise PayloadError(describe(exc)) from None


def describe(exc: ValidationError) -> str:
    """A validation error in one line: `alerts.0.labels: Input should be a valid dictionary`."""
    parts = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(p) for p in error["loc"]) or "body"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


# --- Alertmanager and Grafana -----------------------------------------------------------------------


class _Alert(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: datetime | None = None  # the payload's own name
    fingerprint: str = ""


class _AlertmanagerPayload(BaseModel):
    model_config = ConfigDict(extra="ignore")

    version: Literal["4"]
    status: Literal["firing", "resolved"]
    alerts: list[_Alert]


class _GrafanaPayload(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: Literal["firing", "resolved"]
    alerts: list[_Alert]


def _alertmanager(body: Any) -> list[Alert]:
    return [_labelled(Hook.ALERTMANAGER, a) for a in _AlertmanagerPayload.model_validate(body).alerts]


def _grafana(body: Any) -> list[Alert]:
    return [_labelled(Hook.GRAFANA, a) for a in _GrafanaPayload.model_validate(body).alerts]


def _labelled(hook: Hook, alert: _Alert) -> Alert:
    fingerprint = alert.fingerprint or hashlib.sha256(
        json.dumps(alert.labels, sort_keys=True).encode()).hexdigest()[:16]
    starts = alert.startsAt
    if starts is not None and (starts.tzinfo is None or starts.year < 2000):
        starts = None  # Alertmanager writes "0001-01-01T00:00:00Z" for a time it does not know
    service = alert.labels.get("service")
    return Alert(
        key=f"{hook.value}:{fingerprint}", references=(service,) if service else (),
        firing=alert.status == "firing", state=severity_state(alert.labels.get("severity")),
        name=alert.labels.get("alertname", "")[:255], starts_at=starts,
    )


# --- Uptime Kuma ------------------------------------------------------------------------------------

# A heartbeat's status: 0 down, 1 up, 2 pending (retrying before it calls the monitor down), 3 maintenance.
_KUMA_DOWN, _KUMA_UP = 0, 1


class _Tag(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str
    value: str | None = None


class _Monitor(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: int | None = None
    name: str
    tags: list[_Tag] = Field(default_factory=list)


class _Heartbeat(BaseModel):
    model_config = ConfigDict(extra="ignore")

    status: int
    monitorID: int | None = None


class _KumaPayload(BaseModel):
    model_config = ConfigDict(extra="ignore")

    heartbeat: _Heartbeat | None
    monitor: _Monitor | None
    msg: str = ""


def _uptime_kuma(body: Any) -> list[Alert]:
    payload = _KumaPayload.model_validate(body)
    beat, monitor = payload.heartbeat, payload.monitor
    if beat is None or monitor is None or beat.status not in (_KUMA_DOWN, _KUMA_UP):
        return []  # the test notification, a pending retry or a maintenance beat: nothing to change
    tags = {t.name.strip().lower(): (t.value or "").strip() for t in monitor.tags}
    references = [tags["service"]] if tags.get("service") else []
    references.append(monitor.name)
    references.extend(t.name for t in monitor.tags if t.name.strip().lower() not in ("service", "severity"))
    identity = monitor.id if monitor.id is not None else beat.monitorID
    key = f"{Hook.UPTIME_KUMA.value}:{identity if identity is not None else normalise_alias(monitor.name)}"
    return [Alert(key=key, references=tuple(references), firing=beat.status == _KUMA_DOWN,
                  state=severity_state(tags.get("severity")), name=monitor.name[:255])]


__all__ = ["Alert", "Hook", "PayloadError", "describe", "parse", "resolve_service", "severity_state"]
