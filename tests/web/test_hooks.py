"""POST /hooks/…: each monitoring tool's real payload moves the board; tokens, scopes and refusals.

Run on SQLite and PostgreSQL: the hooks write through the store like the CLI does.
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.app import App
from bot.core.clock import FrozenClock
from bot.core.status import Source, State
from bot.core.watcher import StatusWatcher
from bot.store.alerts import AlertStore
from bot.store.repo import Store
from bot.store.tokens import TokenStore
from tests.fakes.monitoring import UPTIME_KUMA_TEST, alertmanager, grafana, prometheus_alert, uptime_kuma

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
        "ntsa": await t.create("ntsa-monitoring", ["ntsa"], hooks=True, incidents=False, actor="cli"),
        "all": await t.create("ops", None, hooks=True, incidents=False, actor="cli"),
        "api-only": await t.create("ops-api", None, hooks=False, incidents=True, actor="cli"),
    }


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def post(client: Client, hook: str, body: Any, token: str | None) -> tuple[int, dict[str, Any]]:
    response = await client.post(f"/hooks/{hook}", json=body, headers=auth(token) if token else {})
    return response.status, await response.json()


async def state(hali: App, service_id: str) -> tuple[State, Source | None]:
    hali.board.invalidate()
    status = (await hali.board.snapshot()).status(service_id)
    return status.state, status.source


async def hook_audit(store: Store) -> list[tuple[str, str, Any]]:
    rows = reversed(await store.audit_log())
    return [(r.actor, r.action, r.after) for r in rows if r.action.startswith("hook.")]


async def test_alertmanager_firing_puts_the_service_in_major_outage_from_its_own_monitoring(
    client: Client, hali: App, tokens: dict[str, str]
) -> None:
    status, body = await post(client, "alertmanager", alertmanager(), tokens["ntsa"])
    assert status == 200 and body["started"] == ["ntsa alertmanager:3f2b1c0d9e8a7b6c"]
    assert await state(hali, "ntsa") == (State.MAJOR_OUTAGE, Source.MONITORING)
    components = await (await client.get("/api/v2/components.json")).json()
    [ntsa] = [c for c in components["components"] if c["id"] == "ntsa"]
    assert ntsa["status"] == "major_outage" and ntsa["hali"]["source"] == "monitoring"
    page = await (await client.get("/services/ntsa?lang=sw")).text()
    assert "mfumo wa ufuatiliaji wa mtoa huduma mwenyewe" in page


async def test_a_re_sent_alertmanager_delivery_is_idempotent_and_resolved_clears_it(
    client: Client, hali: App, store: Store, clock: FrozenClock, tokens: dict[str, str]
) -> None:
    await post(client, "alertmanager", alertmanager(), tokens["ntsa"])
    since = (await hali.board.snapshot()).status("ntsa").since
    clock.advance(minutes=5)
    status, body = await post(client, "alertmanager", alertmanager(), tokens["ntsa"])
    assert status == 200 and body["kept"] == ["ntsa alertmanager:3f2b1c0d9e8a7b6c"] and body["started"] == []
    hali.board.invalidate()
    assert (await hali.board.snapshot()).status("ntsa").since == since
    assert len(await AlertStore(store).active()) == 1
    status, body = await post(client, "alertmanager", alertmanager(prometheus_alert("resolved")), tokens["ntsa"])
    assert status == 200 and body["resolved"] == ["ntsa alertmanager:3f2b1c0d9e8a7b6c"]
    assert await state(hali, "ntsa") == (State.OPERATIONAL, None)
    assert [a for _, a, _ in await hook_audit(store)] == ["hook.alertmanager"] * 3


async def test_alertmanager_warning_is_degraded_and_another_severity_a_partial_outage(
    client: Client, hali: App, tokens: dict[str, str]
) -> None:
    await post(client, "alertmanager", alertmanager(prometheus_alert(severity="warning")), tokens["ntsa"])
    assert await state(hali, "ntsa") == (State.DEGRADED, Source.MONITORING)
    status, body = await post(client, "alertmanager", alertmanager(prometheus_alert(severity="page")), tokens["ntsa"])
    assert status == 200 and body["changed"] == ["ntsa alertmanager:3f2b1c0d9e8a7b6c"]
    assert await state(hali, "ntsa") == (State.PARTIAL_OUTAGE, Source.MONITORING)


async def test_grafana_names_the_service_by_an_alias_and_resolves_it(
    client: Client, hali: App, tokens: dict[str, str]
) -> None:
    status, body = await post(client, "grafana", grafana(service="iTax"), tokens["all"])
    assert status == 200 and body["started"] == ["kra grafana:c6eadffa33fcdf37"]
    assert await state(hali, "kra") == (State.DEGRADED, Source.MONITORING)
    await post(client, "grafana", grafana("resolved", service="iTax"), tokens["all"])
    assert await state(hali, "kra") == (State.OPERATIONAL, None)


async def test_uptime_kuma_down_and_up_by_a_service_tag_or_the_monitor_name(
    client: Client, hali: App, tokens: dict[str, str]
) -> None:
    status, _ = await post(client, "uptime-kuma", uptime_kuma(0, tags=[("service", "ntsa")]), tokens["ntsa"])
    assert status == 200
    assert await state(hali, "ntsa") == (State.PARTIAL_OUTAGE, Source.MONITORING)
    await post(client, "uptime-kuma", uptime_kuma(1, tags=[("service", "ntsa")]), tokens["ntsa"])
    assert await state(hali, "ntsa") == (State.OPERATIONAL, None)
    body = uptime_kuma(0, name="KRA", tags=[("severity", "critical")], monitor_id=9)
    assert (await post(client, "uptime-kuma", body, tokens["all"]))[0] == 200
    assert await state(hali, "kra") == (State.MAJOR_OUTAGE, Source.MONITORING)


async def test_uptime_kumas_test_notification_is_accepted_and_changes_nothing(
    client: Client, hali: App, store: Store, tokens: dict[str, str]
) -> None:
    status, body = await post(client, "uptime-kuma", UPTIME_KUMA_TEST, tokens["ntsa"])
    assert status == 200 and body == {"alerts": 0, "started": [], "changed": [], "kept": [], "resolved": []}
    assert await AlertStore(store).active() == []
    assert [(actor, action) for actor, action, _ in await hook_audit(store)] == [
        ("token:ntsa-monitoring", "hook.uptime-kuma")]


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer hali_not-a-token"}, {"Authorization": "Basic dXNlcjpwYXNz"},
    {"Authorization": "Bearer "},
])
async def test_a_missing_or_wrong_token_is_401_and_changes_nothing(
    client: Client, hali: App, store: Store, tokens: dict[str, str], headers: dict[str, str]
) -> None:
    response = await client.post("/hooks/alertmanager", json=alertmanager(), headers=headers)
    assert response.status == 401 and response.headers["WWW-Authenticate"] == "Bearer"
    assert "token" in (await response.json())["error"]
    assert await state(hali, "ntsa") == (State.OPERATIONAL, None)
    [(actor, action, after)] = await hook_audit(store)
    assert (actor, action, after["status"]) == ("token:unknown", "hook.refused", 401)
    assert "hali_not-a-token" not in str(await store.audit_log())


async def test_a_revoked_token_is_401_and_the_refusal_names_it(
    client: Client, hali: App, store: Store, tokens: dict[str, str]
) -> None:
    await TokenStore(store).revoke("ntsa-monitoring", actor="cli")
    status, body = await post(client, "alertmanager", alertmanager(), tokens["ntsa"])
    assert status == 401 and "revoked" in body["error"]
    assert await state(hali, "ntsa") == (State.OPERATIONAL, None)
    [(actor, action, _)] = await hook_audit(store)
    assert (actor, action) == ("token:ntsa-monitoring", "hook.refused")


async def test_an_unknown_service_is_422_with_a_clear_message_and_the_whole_delivery_is_refused(
    client: Client, hali: App, store: Store, tokens: dict[str, str]
) -> None:
    body = alertmanager(prometheus_alert(), prometheus_alert(service="hospital", fingerprint="99"))
    status, answer = await post(client, "alertmanager", body, tokens["all"])
    assert status == 422 and answer["error"].startswith("unknown service 'hospital'")
    assert "catalogue id or alias" in answer["error"]
    status, answer = await post(client, "alertmanager", alertmanager(prometheus_alert(service=None)), tokens["all"])
    assert status == 422 and "no 'service' label" in answer["error"]
    assert await AlertStore(store).active() == []
    assert await state(hali, "ntsa") == (State.OPERATIONAL, None)
    assert [(a, r["status"]) for _, a, r in await hook_audit(store)] == [("hook.refused", 422)] * 2


async def test_a_body_that_is_not_the_hooks_payload_is_422(client: Client, tokens: dict[str, str]) -> None:
    status, body = await post(client, "alertmanager", alertmanager(version="3"), tokens["all"])
    assert status == 422 and "version" in body["error"]
    response = await client.post("/hooks/grafana", data=b"{not json", headers=auth(tokens["all"]))
    assert response.status == 422 and (await response.json())["error"] == "the body is not valid JSON"


async def test_a_token_scoped_to_ntsa_cannot_touch_kra_by_any_hook(
    client: Client, hali: App, store: Store, tokens: dict[str, str]
) -> None:
    deliveries = [
        ("alertmanager", alertmanager(prometheus_alert(service="kra"))),
        ("alertmanager", alertmanager(prometheus_alert(), prometheus_alert(service="kra", fingerprint="2"))),
        ("grafana", grafana(service="kra")),
        ("uptime-kuma", uptime_kuma(0, tags=[("service", "kra")])),
    ]
    for hook, body in deliveries:
        status, answer = await post(client, hook, body, tokens["ntsa"])
        assert status == 403 and answer["error"] == "token 'ntsa-monitoring' may not change kra"
    assert await AlertStore(store).active() == []
    assert await state(hali, "kra") == (State.OPERATIONAL, None)
    assert [(actor, a) for actor, a, _ in await hook_audit(store)] == [("token:ntsa-monitoring", "hook.refused")] * 4


async def test_a_token_without_hooks_may_not_use_them(client: Client, store: Store, tokens: dict[str, str]) -> None:
    status, body = await post(client, "alertmanager", alertmanager(), tokens["api-only"])
    assert status == 403 and "--hooks" in body["error"]
    assert await AlertStore(store).active() == []


async def test_subscribers_hear_of_a_monitoring_alert_only_once_it_has_settled(
    client: Client, hali: App, store: Store, clock: FrozenClock, tokens: dict[str, str]
) -> None:
    watcher = StatusWatcher(hali.watch_board(), store.watch_states, settle=120, clock=clock)
    await watcher.tick()
    await post(client, "alertmanager", alertmanager(), tokens["ntsa"])
    assert await watcher.tick() == []
    clock.advance(seconds=60)
    assert await watcher.tick() == []
    clock.advance(seconds=60)
    assert len(await watcher.tick()) == 1
    [event] = [c for c in await store.outbox.counts() if c.service_id == "ntsa"]
    assert (event.kind, event.state) == ("changed", "major_outage")
