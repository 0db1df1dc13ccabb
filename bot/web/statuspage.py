"""Atlassian Statuspage's public v2 API, field for field, from a `Published`.

Services are components (in groups where the catalogue groups them), operators' incidents are incidents
with their updates, maintenance windows are scheduled maintenances (one per occurrence), and each
service's effective status, checks and citizens' reports included, is its component status. Hali's own
facts (where a state comes from, the workarounds, the uptime) ride in one extra `hali` object on each
component, which the clients of the format ignore.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.catalog.model import Service
from bot.core.maintenance import EAT
from bot.core.status import EffectiveStatus, Incident, Source, State
from bot.i18n import N_, Translator
from bot.render import GROUP_NAMES
from bot.web.published import MaintenanceStatus, Planned, Published, incident_changed, worst_state

PAGE_ID = "hali"

COMPONENT_STATUS = {
    State.OPERATIONAL: "operational",
    State.DEGRADED: "degraded_performance",
    State.PARTIAL_OUTAGE: "partial_outage",
    State.MAJOR_OUTAGE: "major_outage",
    State.MAINTENANCE: "under_maintenance",
}
IMPACT = {
    State.OPERATIONAL: "none",
    State.DEGRADED: "minor",
    State.PARTIAL_OUTAGE: "major",
    State.MAJOR_OUTAGE: "critical",
    State.MAINTENANCE: "maintenance",
}
INDICATOR = IMPACT  # the page's indicator follows its worst component, in the impact's words
INDICATOR_TEXT = {
    None: N_("All Systems Operational"),
    State.DEGRADED: N_("Minor Service Outage"),
    State.PARTIAL_OUTAGE: N_("Partial System Outage"),
    State.MAJOR_OUTAGE: N_("Major Service Outage"),
    State.MAINTENANCE: N_("Service Under Maintenance"),
}
SOURCE_KEYS = {Source.INCIDENT: "incident", Source.MAINTENANCE: "maintenance", Source.MONITORING: "monitoring",
               Source.CHECK: "check", Source.REPORTS: "reports"}


def timestamp(moment: datetime | None) -> str | None:
    """ISO 8601 in East Africa Time with milliseconds, as Statuspage writes its times."""
    if moment is None:
        return None
    return moment.astimezone(EAT).isoformat(timespec="milliseconds")


def group_id(group: str) -> str:
    return f"group-{group}"


class Documents:
    """The API's documents for one language, built on demand from one Published."""

    def __init__(self, published: Published, t: Translator, *, public_url: str | None,
                 incident_link: Any) -> None:
        self.p = published
        self.t = t
        self.public_url = public_url
        self.incident_link = incident_link  # (incident id) -> absolute URL or ""
        self._components: dict[str, dict[str, Any]] = {}
        # Positions count groups and services together, in the page's order.
        self._positions: dict[str, int] = {}
        for group, members in published.groups():
            self._positions[group_id(group)] = len(self._positions) + 1
            for service in members:
                self._positions[service.id] = len(self._positions) + 1

    # --- the page and its status ----------------------------------------------------------------

    def page(self) -> dict[str, Any]:
        return {
            "id": PAGE_ID,
            "name": "Hali",
            "url": self.public_url or "",
            "time_zone": "Africa/Nairobi",
            "updated_at": timestamp(self.p.updated_at()),
        }

    def status(self) -> dict[str, Any]:
        worst = self.p.worst_state()
        return {"indicator": INDICATOR[worst] if worst is not None else "none",
                "description": self.t._(INDICATOR_TEXT[worst])}

    # --- components -----------------------------------------------------------------------------

    def components(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for group, members in self.p.groups():
            statuses = [self.p.status(s.id) for s in members]
            worst = max(statuses, key=lambda s: s.state.severity).state
            found.append({
                "id": group_id(group),
                "name": self.t._(GROUP_NAMES[group]),
                "status": COMPONENT_STATUS[worst],
                "created_at": timestamp(min(self._created(s) for s in members)),
                "updated_at": timestamp(max(self._updated(s, self.p.status(s.id)) for s in members)),
                "position": self._positions[group_id(group)],
                "description": None,
                "showcase": False,
                "start_date": None,
                "group_id": None,
                "page_id": PAGE_ID,
                "group": True,
                "only_show_if_degraded": False,
                "components": [s.id for s in members],
            })
            found.extend(self.component(service) for service in members)
        return found

    def component(self, service: Service) -> dict[str, Any]:
        if service.id in self._components:
            return self._components[service.id]
        status = self.p.status(service.id)
        view = self.p.snapshot.checks.get(service.id)
        doc = {
            "id": service.id,
            "name": service.name.get(self.t.lang),
            "status": COMPONENT_STATUS[status.state],
            "created_at": timestamp(self._created(service)),
            "updated_at": timestamp(self._updated(service, status)),
            "position": self._positions[service.id],
            "description": service.used_for.get(self.t.lang),
            "showcase": False,
            "start_date": None,
            "group_id": group_id(service.group),
            "page_id": PAGE_ID,
            "group": False,
            "only_show_if_degraded": False,
            "hali": {
                "source": SOURCE_KEYS[status.source] if status.source is not None else None,
                "since": timestamp(status.since),
                "automatically_checked": status.automatically_checked,
                "workarounds": [w.text.get(self.t.lang) for w in service.shown_workarounds()],
                "uptime": None if view is None else {
                    "day": view.uptime.day, "week": view.uptime.week, "month": view.uptime.month},
            },
        }
        self._components[service.id] = doc
        return doc

    def _created(self, service: Service) -> datetime:
        return self.p.service_times.get(service.id, self.p.now)

    def _updated(self, service: Service, status: EffectiveStatus) -> datetime:
        moments = [self._created(service)]
        if status.since is not None:
            moments.append(status.since)
        moments += [incident_changed(i) for i in status.incidents]
        return max(moments)

    # --- incidents ------------------------------------------------------------------------------

    def incident(self, incident: Incident) -> dict[str, Any]:
        service = self.p.snapshot.catalog.get(incident.service_id)
        updates = []
        previous = State.OPERATIONAL
        for n, update in enumerate(incident.updates):
            new = update.status or previous
            if update.message is not None:
                body = update.message.get(self.t.lang)
            elif update.kind == "opened":
                body = incident.title.get(self.t.lang)
            elif update.kind == "resolved":
                body = self.t._("This incident has been resolved.")
            else:
                body = ""
            updates.append({
                "id": f"{incident.id}-{n}",
                "status": "resolved" if update.kind == "resolved" else "investigating",
                "body": body,
                "incident_id": str(incident.id),
                "created_at": timestamp(update.at),
                "updated_at": timestamp(update.at),
                "display_at": timestamp(update.at),
                "affected_components": None if update.status is None or service is None else [{
                    "code": service.id, "name": service.name.get(self.t.lang),
                    "old_status": COMPONENT_STATUS[previous], "new_status": COMPONENT_STATUS[new],
                }],
                "deliver_notifications": True,
                "custom_tweet": None,
                "tweet_id": None,
            })
            previous = new
        updates.reverse()  # Statuspage lists the newest update first
        return {
            "id": str(incident.id),
            "name": incident.title.get(self.t.lang),
            "status": "investigating" if incident.is_open else "resolved",
            "created_at": timestamp(incident.opened_at),
            "updated_at": timestamp(incident_changed(incident)),
            "monitoring_at": None,
            "resolved_at": timestamp(incident.resolved_at),
            "impact": IMPACT[worst_state(incident)],
            "shortlink": self.incident_link(incident.id),
            "started_at": timestamp(incident.opened_at),
            "page_id": PAGE_ID,
            "incident_updates": updates,
            "components": [self.component(service)] if service is not None else [],
        }

    def incidents(self, *, unresolved: bool = False) -> list[dict[str, Any]]:
        chosen = self.p.open_incidents if unresolved else self.p.incidents[:50]
        return [self.incident(i) for i in chosen]

    # --- scheduled maintenances -----------------------------------------------------------------

    def maintenance(self, planned: Planned) -> dict[str, Any]:
        service = self.p.snapshot.catalog.get(planned.service_id)
        title = planned.window.title.get(self.t.lang)
        steps: list[tuple[str, datetime, str]] = [("scheduled", planned.created_at, title)]
        if planned.status is not MaintenanceStatus.SCHEDULED:
            steps.append(("in_progress", planned.start, self.t._("Scheduled maintenance is currently in progress.")))
        if planned.status is MaintenanceStatus.COMPLETED:
            steps.append(("completed", planned.end, self.t._("The scheduled maintenance has been completed.")))
        updates = [{
            "id": f"{planned.id}-{n}",
            "status": status,
            "body": body,
            "incident_id": planned.id,
            "created_at": timestamp(at),
            "updated_at": timestamp(at),
            "display_at": timestamp(at),
            "affected_components": None if service is None else [{
                "code": service.id, "name": service.name.get(self.t.lang), "old_status": "operational",
                "new_status": "under_maintenance" if status == "in_progress" else "operational"}],
            "deliver_notifications": True,
            "custom_tweet": None,
            "tweet_id": None,
        } for n, (status, at, body) in enumerate(steps)]
        updates.reverse()
        return {
            "id": planned.id,
            "name": title,
            "status": planned.status.value,
            "created_at": timestamp(planned.created_at),
            "updated_at": timestamp(steps[-1][1]),
            "monitoring_at": None,
            "resolved_at": timestamp(planned.end) if planned.status is MaintenanceStatus.COMPLETED else None,
            "impact": "maintenance",
            "shortlink": "",
            "started_at": timestamp(planned.start),
            "page_id": PAGE_ID,
            "incident_updates": updates,
            "components": [self.component(service)] if service is not None else [],
            "scheduled_for": timestamp(planned.start),
            "scheduled_until": timestamp(planned.end),
        }

    def maintenances(self, which: str = "all") -> list[dict[str, Any]]:
        if which == "upcoming":
            chosen = [p for p in self.p.upcoming() if p.status is MaintenanceStatus.SCHEDULED]
        elif which == "active":
            chosen = [p for p in self.p.upcoming() if p.status is MaintenanceStatus.IN_PROGRESS]
        else:
            chosen = self.p.maintenance()[:50]
        return [self.maintenance(p) for p in chosen]

    # --- the documents --------------------------------------------------------------------------

    def document(self, name: str) -> dict[str, Any]:
        page = self.page()
        if name == "summary":
            return {"page": page, "components": self.components(), "incidents": self.incidents(unresolved=True),
                    "scheduled_maintenances": [*self.maintenances("active"), *self.maintenances("upcoming")],
                    "status": self.status()}
        if name == "status":
            return {"page": page, "status": self.status()}
        if name == "components":
            return {"page": page, "components": self.components()}
        if name == "incidents":
            return {"page": page, "incidents": self.incidents()}
        if name == "incidents/unresolved":
            return {"page": page, "incidents": self.incidents(unresolved=True)}
        if name == "scheduled-maintenances":
            return {"page": page, "scheduled_maintenances": self.maintenances()}
        if name == "scheduled-maintenances/upcoming":
            return {"page": page, "scheduled_maintenances": self.maintenances("upcoming")}
        if name == "scheduled-maintenances/active":
            return {"page": page, "scheduled_maintenances": self.maintenances("active")}
        raise KeyError(name)


DOCUMENTS = ("summary", "status", "components", "incidents", "incidents/unresolved", "scheduled-maintenances",
             "scheduled-maintenances/upcoming", "scheduled-maintenances/active")
