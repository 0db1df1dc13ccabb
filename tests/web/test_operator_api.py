"""POST /api/v1/…: incidents and maintenance windows as the CLI makes them, behind scoped tokens."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.app import App
from bot.catalog.model import Text
from bot.core.status import Source, State
from bot.store.repo import Store
from bot.store.tokens import TokenStore

Client = TestClient[web.Request, web.Application]


@pytest.fixture
def hali(app_on_each_store: App) -> App:
    return app_on_each_store


@pytest.fixture
def client(client_on_each_store: Client) -> Client:
    return client_on_each_store


@pytest.fixture
async def tokens(store: Store) -> dict[str, str]:
    t = TokenStore(store)
    return {
        "ntsa": await t.create("ntsa-ops", ["ntsa"], hooks=False, incidents=True, actor="cli"),
        "all": await t.create("duty", None, hooks=False, incidents=True, actor="cli"),
        "hooks-only": await t.create("prometheus", None, hooks=True, incidents=False, actor="cli"),
    }


async def post(client: Client, path: str, body: Any, token: str | None) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.post(path, json=body, headers=headers)
    return response.status, await response.json()


OPEN = {"service": "ntsa", "status": "major_outage", "title": "Portal down", "title_sw": "Tovuti haipatikani",
        "message": "We are looking into it", "workaround": "Visit a Huduma Centre"}


async def test_an_incident_is_opened_updated_and_resolved_as_the_cli_does_it(
    client: Client, hali: App, store: Store, tokens: dict[str, str]
) -> None:
    status, body = await post(client, "/api/v1/incidents", OPEN, tokens["ntsa"])
    assert status == 201
    number = body["id"]
    incident = await store.incident(number)
    assert (incident.service_id, incident.state, incident.title) == (
        "ntsa", State.MAJOR_OUTAGE, Text("Portal down", "Tovuti haipatikani"))
    assert incident.workaround == Text("Visit a Huduma Centre")
    hali.board.invalidate()
    assert (await hali.board.snapshot()).status("ntsa").source is Source.INCIDENT

    status, body = await post(client, f"/api/v1/incidents/{number}/updates",
                              {"message": " Partly back ", "message_sw": "Imerejea kwa sehemu",
                               "status": "partial_outage"}, tokens["ntsa"])
    assert status == 200 and body == {"id": number, "updated": True}
    incident = await store.incident(number)
    assert incident.state is State.PARTIAL_OUTAGE and incident.updates[-1].message == Text(
        "Partly back", "Imerejea kwa sehemu")

    status, _ = await post(client, f"/api/v1/incidents/{number}/resolve", None, tokens["ntsa"])
    assert status == 200 and not (await store.incident(number)).is_open
    status, body = await post(client, f"/api/v1/incidents/{number}/resolve", {}, tokens["ntsa"])
    assert status == 409 and "already resolved" in body["error"]

    audit = [(r.actor, r.action) for r in reversed(await store.audit_log()) if r.action.startswith(("incident", "api"))]
    assert audit == [("token:ntsa-ops", "incident.open"), ("token:ntsa-ops", "incident.update"),
                     ("token:ntsa-ops", "incident.resolve"), ("token:ntsa-ops", "api.refused")]
    kinds = [(c.kind, c.state) for c in reversed(await store.outbox.counts())]
    assert kinds == [("opened", "major_outage"), ("updated", "partial_outage"), ("resolved", "operational")]


@pytest.mark.parametrize(("body", "field", "words"), [
    ({**OPEN, "status": "broken"}, "status", "'degraded'"),
    ({**OPEN, "status": "operational"}, "status", "'major_outage'"),
    ({k: v for k, v in OPEN.items() if k != "title"}, "title", "Field required"),
    ({**OPEN, "title": "   "}, "title", "at least 1 character"),
    ({**OPEN, "colour": "red"}, "colour", "Extra inputs are not permitted"),
    ({**{k: v for k, v in OPEN.items() if k != "message"}, "message_sw": "Tunachunguza"}, "body",
     "message_sw needs message"),
    ([1, 2], "body", "valid dictionary"),
])
async def test_a_bad_incident_body_is_422_naming_the_field_and_opens_nothing(
    client: Client, store: Store, tokens: dict[str, str], body: Any, field: str, words: str
) -> None:
    status, answer = await post(client, "/api/v1/incidents", body, tokens["all"])
    assert status == 422 and answer["error"].startswith("invalid body: ")
    assert any(e["field"] == field and words in e["message"] for e in answer["errors"]), answer
    assert await store.incidents() == []


async def test_an_unknown_service_is_422_and_an_unknown_incident_404(client: Client, tokens: dict[str, str]) -> None:
    status, body = await post(client, "/api/v1/incidents", {**OPEN, "service": "hospital"}, tokens["all"])
    assert status == 422 and body["error"].startswith("unknown service 'hospital'")
    status, body = await post(client, "/api/v1/incidents/4242/updates", {"message": "x"}, tokens["all"])
    assert status == 404 and body["error"] == "unknown incident 4242"
    response = await client.post("/api/v1/incidents", data=b"{", headers={"Authorization": f"Bearer {tokens['all']}"})
    assert response.status == 422 and (await response.json())["error"] == "the body is not valid JSON"


async def test_a_token_scoped_to_ntsa_cannot_touch_kra_by_any_route(
    client: Client, store: Store, tokens: dict[str, str]
) -> None:
    kra = await store.open_incident("kra", State.DEGRADED, Text("iTax slow"), actor="cli")
    status, body = await post(client, "/api/v1/maintenance", {"service": "kra", "start": "2030-01-06 18:00",
                                                             "end": "4h", "title": "iTax upgrade"}, tokens["all"])
    assert status == 201
    window = body["id"]
    attempts = [
        ("/api/v1/incidents", {**OPEN, "service": "kra"}),
        (f"/api/v1/incidents/{kra}/updates", {"message": "Fixed?"}),
        (f"/api/v1/incidents/{kra}/resolve", {}),
        ("/api/v1/maintenance", {"service": "kra", "start": "2030-01-07 18:00", "end": "4h", "title": "More"}),
        (f"/api/v1/maintenance/{window}/cancel", None),
    ]
    for path, attempt in attempts:
        status, answer = await post(client, path, attempt, tokens["ntsa"])
        assert status == 403 and answer["error"] == "token 'ntsa-ops' may not change kra", path
    assert (await store.incident(kra)).is_open and len((await store.incident(kra)).updates) == 1
    assert [w.id for w in await store.maintenance_windows()] == [window]
    refused = [r for r in await store.audit_log() if r.action == "api.refused"]
    assert len(refused) == 5 and {r.actor for r in refused} == {"token:ntsa-ops"}


async def test_the_api_needs_a_token_with_incidents(client: Client, store: Store, tokens: dict[str, str]) -> None:
    assert (await post(client, "/api/v1/incidents", OPEN, None))[0] == 401
    assert (await post(client, "/api/v1/incidents", OPEN, "hali_wrong"))[0] == 401
    status, body = await post(client, "/api/v1/incidents", OPEN, tokens["hooks-only"])
    assert status == 403 and "--incidents" in body["error"]
    assert await store.incidents() == []
    assert [(r.actor, r.after["status"] if r.after else None) for r in reversed(await store.audit_log())
            if r.action == "api.refused"] == [("token:unknown", 401), ("token:unknown", 401), ("token:prometheus", 403)]


async def test_a_maintenance_window_is_planned_in_east_africa_time_and_cancelled(
    client: Client, store: Store, tokens: dict[str, str]
) -> None:
    status, body = await post(client, "/api/v1/maintenance", {
        "service": "kra", "start": "2030-01-06 18:00", "end": "4h", "title": "iTax upgrade",
        "title_sw": "Matengenezo ya iTax", "every": "monthly"}, tokens["all"])
    assert status == 201
    [window] = await store.maintenance_windows()
    assert window.id == body["id"] and window.every is not None and window.every.value == "monthly"
    assert window.starts_at.isoformat() == "2030-01-06T15:00:00+00:00"
    assert window.ends_at.isoformat() == "2030-01-06T19:00:00+00:00"
    status, _ = await post(client, f"/api/v1/maintenance/{window.id}/cancel", None, tokens["all"])
    assert status == 200 and await store.maintenance_windows() == []
    status, body = await post(client, f"/api/v1/maintenance/{window.id}/cancel", None, tokens["all"])
    assert status == 409 and "already cancelled" in body["error"]
    assert (await post(client, "/api/v1/maintenance/999/cancel", None, tokens["all"]))[0] == 404
    actions = [(r.actor, r.action) for r in reversed(await store.audit_log()) if r.action.startswith("maintenance")]
    assert actions == [("token:duty", "maintenance.schedule"), ("token:duty", "maintenance.cancel")]


@pytest.mark.parametrize(("change", "words"), [
    ({"start": "next tuesday"}, "is not a date and time"),
    ({"end": "25:00"}, "is not a time of day"),
    ({"end": "2030-01-06 17:00"}, "must end after it starts"),
    ({"every": "daily"}, "'weekly' or 'monthly'"),
])
async def test_a_bad_maintenance_window_is_422_and_plans_nothing(
    client: Client, store: Store, tokens: dict[str, str], change: dict[str, str], words: str
) -> None:
    body = {"service": "kra", "start": "2030-01-06 18:00", "end": "4h", "title": "iTax upgrade", **change}
    status, answer = await post(client, "/api/v1/maintenance", body, tokens["all"])
    assert status == 422 and words in answer["error"], answer
    assert await store.maintenance_windows(current_only=False) == []
