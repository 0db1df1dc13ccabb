"""Webhook bodies as the monitoring tools send them, from their documentation's examples.

Alertmanager: https://prometheus.io/docs/alerting/latest/configuration/#webhook_config (version 4);
Grafana: https://grafana.com/docs/grafana/latest/alerting/configure-notifications/manage-contact-points/integrations/webhook-notifier/;
Uptime Kuma: server/notification-providers/webhook.js (`{heartbeat, monitor, msg}`; the test has both null).
"""

from __future__ import annotations

from typing import Any


def prometheus_alert(status: str = "firing", *, service: str | None = "ntsa", severity: str | None = "critical",
                     name: str = "NTSAPortalDown", fingerprint: str = "3f2b1c0d9e8a7b6c") -> dict[str, Any]:
    labels = {"alertname": name, "instance": "portal.ntsa.go.ke:443", "job": "blackbox"}
    if service is not None:
        labels["service"] = service
    if severity is not None:
        labels["severity"] = severity
    return {
        "status": status,
        "labels": labels,
        "annotations": {"summary": "The NTSA portal answers 503", "description": "probe_success == 0 for 5m"},
        "startsAt": "2026-12-01T06:00:00.000Z",
        "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-12-01T07:10:00.000Z",
        "generatorURL": "http://prometheus.ntsa.example:9090/graph?g0.expr=probe_success+%3D%3D+0",
        "fingerprint": fingerprint,
    }


def alertmanager(*alerts: dict[str, Any], status: str | None = None, version: str = "4") -> dict[str, Any]:
    alerts = alerts or (prometheus_alert(),)
    common = alerts[0]["labels"]
    return {
        "version": version,
        "groupKey": "{}:{alertname=\"" + common["alertname"] + "\"}",
        "truncatedAlerts": 0,
        "status": status or ("firing" if any(a["status"] == "firing" for a in alerts) else "resolved"),
        "receiver": "hali",
        "groupLabels": {"alertname": common["alertname"]},
        "commonLabels": common,
        "commonAnnotations": alerts[0]["annotations"],
        "externalURL": "http://alertmanager.ntsa.example:9093",
        "alerts": list(alerts),
    }


def grafana(status: str = "firing", *, service: str = "itax", severity: str | None = "warning") -> dict[str, Any]:
    labels = {"alertname": "iTax latency high", "grafana_folder": "KRA", "service": service}
    if severity is not None:
        labels["severity"] = severity
    return {
        "receiver": "Hali",
        "status": status,
        "orgId": 1,
        "alerts": [{
            "status": status,
            "labels": labels,
            "annotations": {"summary": "p95 latency above 5 s", "runbook_url": "https://wiki.kra.example/itax"},
            "startsAt": "2026-12-01T09:51:03.157076+03:00",
            "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-12-01T10:20:03.157076+03:00",
            "generatorURL": "https://grafana.kra.example/alerting/grafana/1afz29v7z/view",
            "fingerprint": "c6eadffa33fcdf37",
            "silenceURL": "https://grafana.kra.example/alerting/silence/new?alertmanager=grafana",
            "dashboardURL": "", "panelURL": "",
            "values": {"B": 5.8, "C": 1},
            "valueString": "[ var='B' labels={service=itax} value=5.8 ], [ var='C' labels={service=itax} value=1 ]",
        }],
        "groupLabels": {"alertname": "iTax latency high"},
        "commonLabels": labels,
        "commonAnnotations": {},
        "externalURL": "https://grafana.kra.example/",
        "version": "1",
        "groupKey": '{}/{}:{alertname="iTax latency high"}',
        "truncatedAlerts": 0,
        "title": f"[{status.upper()}:1]  (iTax latency high KRA)",
        "state": "alerting" if status == "firing" else "ok",
        "message": "**Firing**\n\nValue: B=5.8, C=1\nLabels:\n - alertname = iTax latency high\n",
    }


def uptime_kuma(status: int = 0, *, name: str = "NTSA portal", tags: list[tuple[str, str]] | None = None,
                monitor_id: int = 7) -> dict[str, Any]:
    """status 0 down, 1 up, 2 pending, 3 maintenance."""
    tag_rows = [{"id": i + 1, "monitor_id": monitor_id, "tag_id": i + 1, "name": tag, "value": value,
                 "color": "#2563EB"} for i, (tag, value) in enumerate(tags or [])]
    word = {0: "🔴 Down", 1: "✅ Up", 2: "Pending", 3: "Maintenance"}[status]
    return {
        "heartbeat": {
            "monitorID": monitor_id, "status": status, "time": "2026-12-01 06:00:00.123",
            "msg": "Request failed with status code 503" if status == 0 else "200 - OK", "ping": None,
            "important": True, "duration": 60, "retries": 0, "down_count": 0,
            "timezone": "Africa/Nairobi", "timezoneOffset": "+03:00", "localDateTime": "2026-12-01 09:00:00",
        },
        "monitor": {
            "id": monitor_id, "name": name, "description": None, "pathName": name, "parent": None,
            "childrenIDs": [], "url": "https://portal.ntsa.go.ke", "method": "GET", "hostname": None, "port": None,
            "maxretries": 0, "weight": 2000, "active": True, "forceInactive": False, "type": "http",
            "interval": 60, "retryInterval": 60, "resendInterval": 0, "keyword": None, "expiryNotification": False,
            "ignoreTls": False, "upsideDown": False, "maxredirects": 10, "accepted_statuscodes": ["200-299"],
            "tags": tag_rows, "maintenance": False, "notificationIDList": {"1": True}, "includeSensitiveData": False,
        },
        "msg": f"[{name}] [{word}] " + ("Request failed with status code 503" if status == 0 else "200 - OK"),
    }


# What Uptime Kuma sends when an operator presses "Test" on the notification's settings.
UPTIME_KUMA_TEST = {"heartbeat": None, "monitor": None, "msg": "Hali Testing"}
