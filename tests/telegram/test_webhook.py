"""Webhook mode end to end: the strict fake Bot API posts updates to Hali's HTTP server, which keeps them
in the inbox before answering 200; health, readiness and the metrics on the same server."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from bot.app import assemble
from bot.config import Settings
from bot.core.budget import SendBudget
from bot.core.clock import FrozenClock
from bot.server import HttpServer, bot_server, http_app
from bot.services.health import Readiness
from bot.services.metrics import Metrics
from bot.store.inbox import Inbox
from bot.store.repo import Store
from bot.telegram.app import ALLOWED_UPDATES, TelegramFront, telegram_front
from bot.telegram.transport import bot_api_requests
from bot.telegram.webhook import SECRET_HEADER, WebhookReceiver, register_webhook
from hali_dev.botapi import TOKEN, FakeBotAPI

SECRET = "hook_Secret-0123456789"
CHAT = 424242


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Hooked:
    api: FakeBotAPI
    store: Store
    front: TelegramFront
    server: HttpServer
    metrics: Metrics
    settings: Settings
    done: dict[int, asyncio.Event]

    @property
    def hook_url(self) -> str:
        assert self.settings.webhook_url is not None
        return self.settings.webhook_url

    async def settled(self, update_id: int) -> None:
        async with asyncio.timeout(5):
            await self.done.setdefault(update_id, asyncio.Event()).wait()

    async def post(self, body: bytes | dict[str, Any], secret: str | None = SECRET) -> aiohttp.ClientResponse:
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers[SECRET_HEADER] = secret
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        async with aiohttp.ClientSession() as session, session.post(self.hook_url, data=data,
                                                                    headers=headers) as response:
            await response.read()
            return response

    async def get(self, path: str) -> tuple[int, str]:
        async with aiohttp.ClientSession() as session, session.get(self.server.url + path) as response:
            return response.status, await response.text()


@pytest.fixture
async def hooked(store: Store, clock: FrozenClock) -> AsyncIterator[Hooked]:
    """The bot in webhook mode on a fresh store, its webhook registered with a fresh fake Bot API."""
    async with FakeBotAPI(webhook_retry_delay=0.05) as api:
        port = free_port()
        settings = Settings(token=TOKEN, api_base_url=api.base_url, http_port=port,
                            webhook_url=f"http://127.0.0.1:{port}/telegram/hook", webhook_secret=SECRET)
        app = assemble(settings, store, cache_seconds=0)
        budget = SendBudget.local(1000, burst=1000)
        metrics = Metrics()
        done: dict[int, asyncio.Event] = {}
        requests = bot_api_requests()
        front = telegram_front(app, budget, concurrency=1, on_answered=metrics.answer_latency.observe,
                               on_done=lambda update_id: done.setdefault(update_id, asyncio.Event()).set(),
                               **requests)
        server = bot_server(app, front, budget, metrics, list(requests.values()))
        async with front.application:
            budget.start()
            worker = asyncio.create_task(front.worker.run())
            await server.start()
            await register_webhook(front.application.bot, settings, ALLOWED_UPDATES)
            try:
                yield Hooked(api, store, front, server, metrics, settings, done)
            finally:
                await server.stop()
                await front.worker.finish(grace=1)
                await budget.stop(grace=1)
                worker.cancel()
                await asyncio.gather(worker, return_exceptions=True)


async def test_an_update_posted_with_the_secret_is_kept_and_answered(hooked: Hooked) -> None:
    info = hooked.api._get_webhook_info({})
    assert (info["url"], info["max_connections"]) == (hooked.hook_url, 40)
    assert set(info["allowed_updates"]) == set(ALLOWED_UPDATES)
    update = hooked.api.text_message(CHAT, "is ecitizen down?")
    await hooked.settled(update["update_id"])
    [reply] = hooked.api.messages_to(CHAT)
    assert "eCitizen" in (reply.plain_text or "")
    assert [(d.update_id, d.status) for d in hooked.api.webhook_deliveries] == [(update["update_id"], 200)]


@pytest.mark.parametrize(("secret", "status", "outcome"), [
    (None, 401, "no_secret"),
    ("wrong", 403, "wrong_secret"),
    (SECRET + "x", 403, "wrong_secret"),
])
async def test_a_request_without_the_right_secret_is_refused_and_not_kept(
        hooked: Hooked, secret: str | None, status: int, outcome: str) -> None:
    update = {"update_id": 900, "message": {"message_id": 1, "date": 1, "chat": {"id": CHAT, "type": "private"},
                                            "text": "hello"}}
    response = await hooked.post(update, secret=secret)
    assert response.status == status
    assert (await hooked.front.inbox.counts()).pending == 0
    assert await hooked.front.inbox.add([update]) == [900]  # it was never kept
    assert _sample(hooked.metrics, "hali_webhook_requests_total", outcome=outcome) == 1


@pytest.mark.parametrize("body", [
    b"not json", b"[1, 2]", b'"update"', b'{"message": {"text": "hi"}}', b'{"update_id": "7", "message": {}}',
    b'{"update_id": true, "message": {}}', b'{"update_id": 7}', b'{"update_id": 7, "message": "hi"}',
    b'{"update_id": -1, "message": {}}', "{\"update_id\": 7, \"message\": {\"text\": \"\xff\"}}".encode("latin-1"),
])
async def test_a_body_that_is_not_an_update_is_a_bad_request(hooked: Hooked, body: bytes) -> None:
    response = await hooked.post(body)
    assert response.status == 400
    assert (await hooked.front.inbox.counts()).pending == 0
    assert _sample(hooked.metrics, "hali_webhook_requests_total", outcome="malformed") == 1


async def test_an_update_delivered_twice_to_two_replicas_is_answered_once(hooked: Hooked) -> None:
    update = hooked.api._incoming(CHAT)
    update["text"] = "is kra down?"
    body = {"update_id": 777, "message": update}
    # Another replica: its own inbox and receiver on the same store.
    other_inbox = Inbox(hooked.store)
    other = WebhookReceiver(other_inbox, SECRET, lambda: None)
    first = await hooked.post(body)
    async with TestClient(TestServer(_receiver_app(other))) as client:
        second = await client.post("/telegram/hook", data=json.dumps(body), headers={SECRET_HEADER: SECRET})
        assert second.status == 200
    await hooked.settled(777)
    third = await hooked.post(body)
    assert (first.status, third.status) == (200, 200)
    assert len(hooked.api.messages_to(CHAT)) == 1
    assert _sample(hooked.metrics, "hali_webhook_requests_total", outcome="duplicate") == 1


async def test_getupdates_is_refused_while_the_webhook_is_set(hooked: Hooked) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{hooked.api.base_url}{TOKEN}/getUpdates") as response:
            assert response.status == 409
            assert "webhook is active" in (await response.json())["description"]


async def test_health_readiness_and_metrics_are_served(hooked: Hooked) -> None:
    status, body = await hooked.get("/healthz")
    assert (status, json.loads(body)) == (200, {"status": "alive"})
    status, body = await hooked.get("/readyz")
    assert status == 200, body
    assert json.loads(body)["checks"] == {"store": "ok", "migrations": "ok", "bot_api": "ok"}
    update = hooked.api.text_message(CHAT, "is ecitizen down?")
    await hooked.settled(update["update_id"])
    status, text = await hooked.get("/metrics")
    assert status == 200
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert {
        "hali_answers", "hali_answer_latency_seconds", "hali_send_queue_depth", "hali_sends", "hali_send_throttled",
        "hali_send_dropped", "hali_send_failed", "hali_outbox_deliveries", "hali_inbox_updates",
        "hali_check_results", "hali_check_latency_seconds", "hali_crowd_signal", "hali_reports_last_hour",
        "hali_store_errors", "hali_webhook_requests", "hali_bot_api_last_answer_age_seconds",
    } <= families.keys()
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families.values() for s in f.samples}
    assert samples["hali_answers_total", (("intent", "status"), ("language", "en"))] == 1
    assert samples["hali_answer_latency_seconds_count", ()] == 1
    assert samples["hali_webhook_requests_total", (("outcome", "accepted"),)] == 1
    assert samples["hali_sends_total", (("lane", "free"),)] == 1
    assert samples["hali_outbox_deliveries", (("state", "pending"),)] == 0
    assert samples["hali_metrics_store_read", ()] == 1
    assert samples["hali_crowd_signal", (("service", "ecitizen"),)] == 0
    # No chat id, and nothing the citizen wrote, in any label.
    values = " ".join(v for (_, labels) in samples for _, v in labels)
    assert str(CHAT) not in values and "down" not in values


async def test_readiness_names_what_is_wrong(tmp_path: Any) -> None:
    fresh = Store.from_url(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")  # never migrated
    app = assemble(Settings(), fresh, cache_seconds=0)

    async def unreachable() -> None:
        raise OSError("no route")

    readiness = Readiness(fresh, bot_api_age=lambda: None, ask_bot_api=unreachable)
    try:
        async with TestClient(TestServer(http_app(app, metrics=Metrics(), readiness=readiness))) as client:
            response = await client.get("/readyz")
            body = await response.json()
            assert response.status == 503
            assert body["checks"]["store"] == "ok"
            assert body["checks"]["migrations"].startswith("schema at nothing")
            assert body["checks"]["bot_api"] == "unreachable (OSError)"
            assert body["reason"].startswith("migrations: ")
            await fresh.upgrade()
            readiness._probed = None
            readiness.ask_bot_api = _answers
            assert (await client.get("/readyz")).status == 200
            readiness.stopping = True
            response = await client.get("/readyz")
            assert (response.status, (await response.json())["reason"]) == (503, "this process is stopping")
    finally:
        await fresh.close()


async def test_an_unreachable_store_is_not_ready() -> None:
    gone = Store.from_url("postgresql+asyncpg://hali@127.0.0.1:1/hali")
    try:
        verdict = await Readiness(gone, timeout=2).check()
        assert not verdict.ready
        assert verdict.checks["store"].startswith("unreachable (") or verdict.checks["store"].startswith("no answer")
        assert verdict.checks["migrations"] == "unknown: the store did not answer"
    finally:
        await gone.close()


async def _answers() -> None:
    return None


def _receiver_app(receiver: WebhookReceiver) -> Any:
    from aiohttp import web

    application = web.Application()
    application.router.add_post("/telegram/hook", receiver.handle)
    return application


def _sample(metrics: Metrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


async def test_while_the_store_is_away_a_webhook_update_is_answered_from_memory_and_confirmed(
        hooked: Hooked) -> None:
    from tests.telegram.test_store_away import StoreSwitch

    first = hooked.api.text_message(CHAT, "is ecitizen down?")
    await hooked.settled(first["update_id"])
    switch = StoreSwitch(hooked.store)
    switch.away = True
    try:
        update = hooked.api.text_message(CHAT, "is ecitizen down?")
        await hooked.settled(update["update_id"])
    finally:
        switch.away = False
        switch.close()
    reply = hooked.api.messages_to(CHAT)[-1]
    assert "Hali cannot reach its records just now: this is the state as of" in (reply.plain_text or "")
    assert [d.status for d in hooked.api.webhook_deliveries] == [200, 200]  # not delivered again
    assert hooked.metrics.webhook_requests.labels("from_memory")._value.get() == 1
