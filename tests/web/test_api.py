"""The API against Atlassian Statuspage's public v2 shapes: every field, its type, the enumerations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.app import App
from bot.core.status import State
from bot.web.statuspage import DOCUMENTS
from tests.web.conftest import PUBLIC_URL, refresh

Client = TestClient[web.Request, web.Application]

COMPONENT_STATUSES = {"operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance"}
INCIDENT_STATUSES = {"investigating", "identified", "monitoring", "resolved", "postmortem"}
MAINTENANCE_STATUSES = {"scheduled", "in_progress", "verifying", "completed"}
IMPACTS = {"none", "minor", "major", "critical", "maintenance"}
INDICATORS = {"none", "minor", "major", "critical", "maintenance"}
STR, OPT_STR, BOOL, INT = (str,), (str, type(None)), (bool,), (int,)
TIME, OPT_TIME = "time", "time?"

PAGE = {"id": STR, "name": STR, "url": STR, "time_zone": STR, "updated_at": TIME}
STATUS = {"indicator": INDICATORS, "description": STR}
COMPONENT = {
    "id": STR, "name": STR, "status": COMPONENT_STATUSES, "created_at": TIME, "updated_at": TIME, "position": INT,
    "description": OPT_STR, "showcase": BOOL, "start_date": OPT_STR, "group_id": OPT_STR, "page_id": STR,
    "group": BOOL, "only_show_if_degraded": BOOL,
}
AFFECTED = {"code": STR, "name": STR, "old_status": COMPONENT_STATUSES, "new_status": COMPONENT_STATUSES}
UPDATE = {
    "id": STR, "status": INCIDENT_STATUSES | MAINTENANCE_STATUSES, "body": STR, "incident_id": STR,
    "created_at": TIME, "updated_at": TIME, "display_at": TIME, "affected_components": "affected",
    "deliver_notifications": BOOL, "custom_tweet": OPT_STR, "tweet_id": OPT_STR,
}
INCIDENT = {
    "id": STR, "name": STR, "status": INCIDENT_STATUSES, "created_at": TIME, "updated_at": OPT_TIME,
    "monitoring_at": OPT_TIME, "resolved_at": OPT_TIME, "impact": IMPACTS, "shortlink": STR, "started_at": TIME,
    "page_id": STR, "incident_updates": "updates", "components": "components",
}
MAINTENANCE = {**INCIDENT, "status": MAINTENANCE_STATUSES, "scheduled_for": TIME, "scheduled_until": TIME}


def check(value: Any, shape: dict[str, Any], where: str) -> None:
    """Every field of the shape is there with its type; extra fields are allowed (clients ignore them)."""
    assert isinstance(value, dict), where
    for name, kind in shape.items():
        assert name in value, f"{where}: {name} missing"
        field = value[name]
        at = f"{where}.{name}"
        if kind in (TIME, OPT_TIME):
            if field is None:
                assert kind == OPT_TIME, at
            else:
                assert datetime.fromisoformat(field).utcoffset() is not None, at
        elif kind == "updates":
            assert isinstance(field, list), at
            for i, update in enumerate(field):
                check(update, UPDATE, f"{at}[{i}]")
        elif kind == "components":
            assert isinstance(field, list), at
            for i, component in enumerate(field):
                check(component, COMPONENT, f"{at}[{i}]")
        elif kind == "affected":
            assert field is None or isinstance(field, list), at
            for i, affected in enumerate(field or []):
                check(affected, AFFECTED, f"{at}[{i}]")
        elif isinstance(kind, set):
            assert field in kind, f"{at}: {field!r} not in {sorted(kind)}"
        else:
            assert isinstance(field, kind) and not (kind == INT and isinstance(field, bool)), f"{at}: {field!r}"


async def get(client: Client, path: str) -> Any:
    response = await client.get(path)
    assert response.status == 200, path
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    return await response.json()


async def test_the_summary_has_every_statuspage_field(client: Client, seeded: dict[str, int]) -> None:
    summary = await get(client, "/api/v2/summary.json")
    assert set(summary) >= {"page", "components", "incidents", "scheduled_maintenances", "status"}
    check(summary["page"], PAGE, "page")
    check(summary["status"], STATUS, "status")
    for i, component in enumerate(summary["components"]):
        check(component, COMPONENT, f"components[{i}]")
    for i, incident in enumerate(summary["incidents"]):
        check(incident, INCIDENT, f"incidents[{i}]")
    for i, maintenance in enumerate(summary["scheduled_maintenances"]):
        check(maintenance, MAINTENANCE, f"scheduled_maintenances[{i}]")
    assert summary["page"]["url"] == PUBLIC_URL and summary["page"]["time_zone"] == "Africa/Nairobi"


async def test_services_are_components_in_the_catalogues_groups(
    client: Client, hali: App, seeded: dict[str, int]
) -> None:
    components = (await get(client, "/api/v2/components.json"))["components"]
    by_id = {c["id"]: c for c in components}
    catalog = await hali.store.catalog()
    assert {s.id for s in catalog.services} <= set(by_id)
    groups = [c for c in components if c["group"]]
    assert groups and all(c["group_id"] is None for c in groups)
    for group in groups:
        for member in group["components"]:
            assert by_id[member]["group_id"] == group["id"]
    assert sorted(c["position"] for c in components) == list(range(1, len(components) + 1))
    # The effective state is the component status, with where it comes from in Hali's own field.
    ecitizen = by_id["ecitizen"]
    assert ecitizen["status"] == "partial_outage"
    assert ecitizen["hali"]["source"] == "incident"
    assert ecitizen["hali"]["workarounds"]
    payments = by_id["group-payments"]
    assert payments["status"] == "partial_outage"  # a group is as bad as its worst member
    assert by_id["kplc"]["status"] == "operational" and by_id["kplc"]["hali"]["source"] is None


async def test_incidents_carry_their_updates_newest_first_and_the_affected_component(
    client: Client, seeded: dict[str, int]
) -> None:
    incidents = (await get(client, "/api/v2/incidents.json"))["incidents"]
    for i, incident in enumerate(incidents):
        check(incident, INCIDENT, f"incidents[{i}]")
    by_id = {i["id"]: i for i in incidents}
    resolved = by_id[str(seeded["resolved"])]
    assert resolved["status"] == "resolved" and resolved["impact"] == "critical"
    assert [u["status"] for u in resolved["incident_updates"]] == ["resolved", "investigating"]
    assert resolved["incident_updates"][0]["body"] == "iTax is back"
    assert resolved["incident_updates"][0]["affected_components"] == [
        {"code": "kra", "name": "KRA iTax", "old_status": "major_outage", "new_status": "operational"}]
    assert resolved["shortlink"] == f"{PUBLIC_URL}incidents/{seeded['resolved']}"
    opened = by_id[str(seeded["open"])]
    assert opened["status"] == "investigating" and opened["impact"] == "major" and opened["resolved_at"] is None
    assert len(opened["incident_updates"]) == 2
    assert opened["components"][0]["id"] == "ecitizen"

    unresolved = (await get(client, "/api/v2/incidents/unresolved.json"))["incidents"]
    assert [i["id"] for i in unresolved] == [str(seeded["open"])]


async def test_maintenance_windows_are_scheduled_maintenances(
    client: Client, hali: App, web_app: web.Application, seeded: dict[str, int], clock: Any
) -> None:
    upcoming = (await get(client, "/api/v2/scheduled-maintenances/upcoming.json"))["scheduled_maintenances"]
    assert [m["status"] for m in upcoming] == ["scheduled"]
    check(upcoming[0], MAINTENANCE, "upcoming[0]")
    assert upcoming[0]["impact"] == "maintenance" and upcoming[0]["name"] == "iTax upgrade"
    assert (await get(client, "/api/v2/scheduled-maintenances/active.json"))["scheduled_maintenances"] == []

    from datetime import timedelta

    clock.advance(days=2, hours=1)
    await refresh(web_app)
    active = (await get(client, "/api/v2/scheduled-maintenances/active.json"))["scheduled_maintenances"]
    assert [m["status"] for m in active] == ["in_progress"]
    components = {c["id"]: c for c in (await get(client, "/api/v2/components.json"))["components"]}
    assert components["kra"]["status"] == "under_maintenance"
    status = (await get(client, "/api/v2/status.json"))["status"]
    assert status["indicator"] == "major"  # eCitizen's partial outage outweighs KRA's maintenance

    clock.advance(hours=4)
    await refresh(web_app)
    every = (await get(client, "/api/v2/scheduled-maintenances.json"))["scheduled_maintenances"]
    assert [m["status"] for m in every] == ["completed"]
    assert [u["status"] for u in every[0]["incident_updates"]] == ["completed", "in_progress", "scheduled"]
    assert datetime.fromisoformat(every[0]["scheduled_until"]) - datetime.fromisoformat(every[0]["scheduled_for"]) \
        == timedelta(hours=4)


async def test_the_page_status_follows_the_worst_component(client: Client, hali: App, web_app: web.Application) -> None:
    status = await get(client, "/api/v2/status.json")
    assert status["status"] == {"indicator": "none", "description": "All Systems Operational"}
    from bot.catalog.model import Text

    await hali.store.open_incident("mpesa", State.MAJOR_OUTAGE, Text("M-Pesa down"), actor="cli")
    await refresh(web_app)
    status = await get(client, "/api/v2/status.json")
    assert status["status"] == {"indicator": "critical", "description": "Major Service Outage"}
    swahili = await get(client, "/api/v2/status.json?lang=sw")
    assert swahili["status"]["indicator"] == "critical"
    assert swahili["status"]["description"] != "Major Service Outage"


async def test_swahili_names_and_texts_with_lang_sw(client: Client, seeded: dict[str, int]) -> None:
    summary = await get(client, "/api/v2/summary.json?lang=sw")
    incident = summary["incidents"][0]
    assert incident["name"] == "Malipo ya 222222 yanachelewa"
    groups = {c["id"]: c["name"] for c in summary["components"] if c["group"]}
    english = {c["id"]: c["name"] for c in (await get(client, "/api/v2/summary.json"))["components"] if c["group"]}
    assert groups.keys() == english.keys() and groups != english


@pytest.mark.parametrize("path", ["/api/v2/nothing.json", "/api/v2/summary.xml"])
async def test_unknown_documents_are_404(client: Client, path: str) -> None:
    assert (await client.get(path)).status == 404


async def test_cors_preflight_is_answered(client: Client) -> None:
    response = await client.options("/api/v2/summary.json", headers={
        "Origin": "https://example.org", "Access-Control-Request-Method": "GET"})
    assert response.status == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in response.headers["Access-Control-Allow-Methods"]


@pytest.mark.parametrize("document", [*DOCUMENTS, "nothing"])
async def test_every_document_answers_the_same_methods(client: Client, document: str) -> None:
    path = f"/api/v2/{document}.json"
    assert (await client.options(path)).status == 204
    assert (await client.head(path)).status == (404 if document == "nothing" else 200)
    refused = await client.post(path)
    assert refused.status == 405 and set(refused.headers["Allow"].split(",")) == {"GET", "HEAD", "OPTIONS"}


async def test_no_personal_data_reaches_the_api(client: Client, hali: App, web_app: web.Application,
                                                seeded: dict[str, int]) -> None:
    from bot.core.reports import ReportDraft
    from bot.core.understanding import Symptom

    await hali.reports.submit(ReportDraft("kra", Symptom.SITE_DOWN, "my secret words", 987654321, "en", True))
    await refresh(web_app)
    for path in ("/api/v2/summary.json", "/api/v2/incidents.json", f"/incidents/{seeded['resolved']}.json",
                 f"/incidents/{seeded['resolved']}", "/", "/services/kra"):
        body = await (await client.get(path)).text()
        assert "987654321" not in body and "my secret words" not in body, path
