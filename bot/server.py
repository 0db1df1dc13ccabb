"""Hali's one HTTP server: every route a deployment serves, on one aiohttp application.

    root = http_app(app, metrics=…, readiness=…, webhook=…)    # the routes below
    server = HttpServer(root, host, port); await server.start()  # `hali run`, when HALI_HTTP_PORT is set

| route | what |
|---|---|
| POST the path of HALI_WEBHOOK_URL | Telegram's updates, into the inbox (`bot/telegram/webhook.py`) |
| GET /healthz | alive: a short JSON body, always 200 while the process serves |
| GET /readyz | ready to take traffic (`bot/services/health.py`); 503 with the reason otherwise |
| GET /metrics | Prometheus text format (`bot/services/metrics.py`) |
| everything else | the public status page, API and feeds (`bot/web/__init__.py`), at the root |

aiohttp cannot mount a sub-application at "/", so the public application is the root and the
operational routes are added to it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from bot.app import App
from bot.core.budget import SendBudget
from bot.services.health import Readiness
from bot.services.metrics import Metrics, monotonic_age
from bot.telegram.app import TelegramFront
from bot.telegram.transport import AiohttpRequest
from bot.telegram.webhook import WebhookReceiver
from bot.web import public_app

log = logging.getLogger(__name__)

SHUTDOWN_SECONDS = 5.0
NO_CACHE = {"Cache-Control": "no-store"}


def http_app(app: App, *, metrics: Metrics, readiness: Readiness, webhook: WebhookReceiver | None = None,
             webhook_path: str | None = None) -> web.Application:
    """The public site at the root, with the webhook, health and metrics routes beside it."""
    root = public_app(app, public_url=app.settings.public_url)

    async def healthz(request: web.Request) -> web.Response:
        """Alive: the process serves requests."""
        return web.json_response({"status": "alive"}, headers=NO_CACHE)

    async def readyz(request: web.Request) -> web.Response:
        """Ready: the store, its schema and the Bot API (503 with the reason otherwise)."""
        verdict = await readiness.check()
        return web.json_response(verdict.as_json(), status=200 if verdict.ready else 503, headers=NO_CACHE)

    async def metrics_page(request: web.Request) -> web.Response:
        """The Prometheus text format."""
        await metrics.refresh()
        return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST, **NO_CACHE})

    root.router.add_get("/healthz", healthz)
    root.router.add_get("/readyz", readyz)
    root.router.add_get("/metrics", metrics_page)
    if webhook is not None:
        if webhook_path is None:
            raise ValueError("a webhook needs its path")
        root.router.add_post(webhook_path, webhook.handle)
    return root


def bot_server(app: App, front: TelegramFront, budget: SendBudget, metrics: Metrics,
               bot_api: Sequence[AiohttpRequest], *, port: int | None = None) -> HttpServer:
    """`hali run`'s server: the webhook when HALI_WEBHOOK_URL is set, health and metrics on what runs."""
    settings = app.settings

    def answered_at() -> float | None:
        moments = [r.answered_at for r in bot_api if r.answered_at is not None]
        return max(moments) if moments else None

    bot_api_age = monotonic_age(answered_at)
    metrics.watch(store=app.store, engine=app.engine, budget=budget, inbox=front.inbox, board=app.board,
                  reports=app.reports, bot_api_age=bot_api_age)
    readiness = Readiness(app.store, bot_api_age=bot_api_age, ask_bot_api=front.application.bot.get_me)
    webhook = None
    if settings.webhook_url is not None and settings.webhook_secret is not None:
        webhook = WebhookReceiver(front.inbox, settings.webhook_secret, front.worker.wake, metrics.count_webhook,
                                  direct=front.worker.take)
    root = http_app(app, metrics=metrics, readiness=readiness, webhook=webhook, webhook_path=settings.webhook_path)
    chosen = settings.http_port if port is None else port
    if chosen is None:
        raise ValueError("the HTTP server needs HALI_HTTP_PORT")
    return HttpServer(root, settings.http_host, chosen, readiness=readiness)


class HttpServer:
    """An aiohttp application on host:port, started before the background jobs and stopped with them."""

    def __init__(self, application: web.Application, host: str, port: int, *,
                 readiness: Readiness | None = None, shutdown_timeout: float = SHUTDOWN_SECONDS) -> None:
        self.application = application
        self.host = host
        self.port = port
        self.readiness = readiness
        # No access log: it would keep every visitor's address, and the webhook's callers.
        self._runner = web.AppRunner(application, access_log=None, handle_signals=False,
                                     shutdown_timeout=shutdown_timeout)
        self._stopped = asyncio.Event()

    async def start(self) -> None:
        """Listen now (a port already taken fails start-up, not a background job)."""
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        if self.port == 0:  # an ephemeral port (tests): the one the system gave
            self.port = self._runner.addresses[0][1]
        log.info("HTTP server listening on %s:%d", self.host, self.port)

    async def serve(self) -> None:
        """The background job: serving goes on until `stop`."""
        await self._stopped.wait()

    def stopping(self) -> None:
        """The process is about to stop: /readyz says so, and the load balancer moves on."""
        if self.readiness is not None:
            self.readiness.stopping = True

    async def stop(self) -> None:
        """Stop taking connections; requests under way get `shutdown_timeout` to finish."""
        self.stopping()
        self._stopped.set()
        if self._runner.server is not None:  # set up: listening, or was
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"
