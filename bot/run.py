"""`hali run` and `hali dispatch`: the long-running processes, put together from `bot.app`.

`hali run` is, in start order (stopped in the reverse order, on SIGTERM or SIGINT):

1. the send budget's lanes and its heartbeat (every message waits its turn there);
2. the inbox worker, then what feeds it (updates are kept before they are confirmed): long polling, or,
   with HALI_WEBHOOK_URL, the webhook on the HTTP server; the HTTP server (HALI_HTTP_PORT) also serves
   /healthz, /readyz, /metrics and the public status page (`bot/server.py`);
3. a notification dispatcher and the status watcher;
4. the automatic checks (one runner per deployment, elected by a lease);
5. housekeeping: report retention, the inbox's and the budget's old rows, every hour.

Several `hali run` on one PostgreSQL behave as one bot. What each update needs runs in every process:
the chat listener that keeps their chat caches coherent, the budget, the inbox worker, polling and a
dispatcher (which claims its rows). What must happen once per deployment — the status watcher, the
checks, retention and housekeeping — runs only in the process holding that job's lease (see
`bot.core.exclusive`); the others take over within a minute if it dies, at once if it stops.
The public channel's posts are deliveries like any other, claimed by one dispatcher each.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Coroutine
from datetime import timedelta
from typing import Any

from bot.app import Jobs, assemble, channel_link, open_store
from bot.config import ConfigError, Settings
from bot.core.exclusive import Exclusive
from bot.core.periodic import every
from bot.core.recipient import Recipient
from bot.i18n import load_translators
from bot.server import HttpServer, bot_server
from bot.services.check_runner import CheckRunner, default_holder
from bot.services.metrics import MeasuredProber, Metrics
from bot.services.probe import Prober
from bot.services.sending import Budgeted, shared_budget
from bot.store.checks import Lease
from bot.store.inbox import Inbox
from bot.store.repo import Store
from bot.telegram.app import ALLOWED_UPDATES, publish_commands, resolve_channel, telegram_front
from bot.telegram.notifier import build_dispatcher, build_watcher
from bot.telegram.transport import bot_api_requests
from bot.telegram.webhook import drop_webhook, register_webhook

log = logging.getLogger(__name__)

HOUSEKEEPING_SECONDS = 3600
JOB_LEASE = timedelta(seconds=30)  # a dead holder's jobs move within this and one renewal
JOB_RENEW_SECONDS = 10.0
JOB_TRY_SECONDS = 2.0  # how soon a replica without the lease takes over one given back


def run_bot(settings: Settings, *, checks: bool = True, concurrent_updates: int = 32) -> int:
    """Run the bot until stopped. `checks=False` leaves out the automatic checks (they probe the real sites)."""
    load_translators()  # fail now, not at the first message, if a catalog is missing
    try:
        asyncio.run(serve(settings, checks=checks, concurrency=concurrent_updates))
    except ConfigError as exc:
        print(f"hali: configuration error: {exc}", file=sys.stderr)
        return 2
    return 0


def budget_jobs(jobs: Jobs, shared: Budgeted) -> None:
    """The lanes first, so that anything started after them can send."""
    for lane in shared.budget.lanes:
        jobs.add(f"send budget ({lane.name} lane)", lane.run, stop=lane.stop)
    jobs.add("send budget heartbeat", shared.coordinator.run, stop=shared.coordinator.stop)


def once_per_deployment(jobs: Jobs, store: Store, holder: str, name: str,
                        run: Callable[[], Coroutine[Any, Any, Any]], *,
                        stop: Callable[[], Awaitable[None]] | None = None) -> Exclusive:
    """Add a job that runs only in the process holding its lease (named after the job)."""
    job = Exclusive(name, Lease(store, f"job:{name}", holder, ttl=JOB_LEASE), run, stop_job=stop,
                    renew_every=JOB_RENEW_SECONDS, try_every=JOB_TRY_SECONDS)
    jobs.add(name, job.run, stop=job.stop)
    return job


def housekeeping(inbox: Inbox | None, shared: Budgeted) -> Callable[[], Awaitable[dict[str, int]]]:
    """The hourly clean-up of rows nobody needs any more: done updates, senders long gone."""
    async def once() -> dict[str, int]:
        done = {"inbox": await inbox.purge()} if inbox is not None else {}
        await shared.coordinator.board.prune()
        return done
    return once


async def serve(settings: Settings, *, checks: bool = True, concurrency: int = 32) -> None:
    store = await open_store(settings)
    try:
        channel = await resolve_channel(settings)
        await store.subscriptions.set_channel(Recipient.telegram(channel[0]) if channel else None,
                                             channel[1] if channel else None)
        app = assemble(settings, store, channel_link=channel_link(settings, channel[1] if channel else None))
        shared = shared_budget(settings, store, role="bot")
        metrics = Metrics()  # one registry per process
        requests = bot_api_requests()
        front = telegram_front(app, shared.budget, concurrency=concurrency,
                               on_answered=metrics.answer_latency.observe, request=requests["request"],
                               get_updates_request=requests["get_updates_request"])
        application, inbox = front.application, front.inbox
        public = (Recipient.telegram(channel[0]), channel[1]) if channel is not None else None
        dispatcher, sender = build_dispatcher(settings, store, shared.budget, channel=public)
        holder = default_holder()
        server: HttpServer | None = None
        if settings.http_port is not None:
            server = bot_server(app, front, shared.budget, metrics, list(requests.values()))
        jobs = Jobs()
        listener = store.chat_listener()
        if listener is not None:
            jobs.add("chat listener", listener.run, stop=listener.stop)
        budget_jobs(jobs, shared)
        jobs.add("inbox", front.worker.run, stop=front.worker.finish)
        if settings.webhook_url is None:
            jobs.add("long polling", front.poller.run)
        if server is not None:
            jobs.add("HTTP server", server.serve, stop=server.stop)
        jobs.add("dispatcher", dispatcher.run, stop=_stopper(dispatcher.stop))
        # A fresh watcher at each takeover: it adopts the board as it finds it, like at start-up.
        once_per_deployment(jobs, store, holder, "status watcher", lambda: build_watcher(app).run())
        prober: Prober | None = None
        if checks:
            prober = MeasuredProber(metrics, concurrency=settings.check_concurrency)
            runner = CheckRunner(store, prober, holder=holder)  # elected by a lease of its own
            jobs.add("automatic checks", runner.loop, stop=runner.stop)
        once_per_deployment(jobs, store, holder, "report retention", lambda: every(
            HOUSEKEEPING_SECONDS, app.reports.purge, name="report retention", first_delay=60))
        once_per_deployment(jobs, store, holder, "housekeeping", lambda: every(
            HOUSEKEEPING_SECONDS, housekeeping(inbox, shared), name="housekeeping", first_delay=120))
        async with application:
            await sender.start()
            try:
                if server is not None:
                    await server.start()  # before setWebhook: Telegram's first post finds it listening
                if settings.webhook_url is not None:
                    await register_webhook(application.bot, settings, ALLOWED_UPDATES)
                else:
                    await drop_webhook(application.bot)
                await publish_commands(application)
                jobs.start()
                log.info("Hali is answering (%s, Bot API %s); background jobs: %s",
                         "webhook" if settings.webhook_url else "long polling", settings.api_base_url,
                         ", ".join(jobs.names))
                # What is loaded by now lives as long as the process: out of the collector's sight,
                # every full collection walks only what updates create.
                gc.collect()
                gc.freeze()
                await _until_stopped()
                log.info("stopping: no more updates are taken; what is under way finishes or is handed back")
                if server is not None:
                    server.stopping()
            finally:
                await jobs.stop()
                await sender.close()
                if prober is not None:
                    await prober.close()
                log.info("stopped")
    finally:
        await store.close()


async def dispatch(settings: Settings) -> int:
    """`hali dispatch`: one more dispatcher, until SIGINT or SIGTERM."""
    store = await open_store(settings)
    try:
        channel = await store.subscriptions.channel()
        shared = shared_budget(settings, store, role="dispatch")
        dispatcher, sender = build_dispatcher(settings, store, shared.budget, channel=channel)
        jobs = Jobs()
        budget_jobs(jobs, shared)
        jobs.add("dispatcher", dispatcher.run, stop=_stopper(dispatcher.stop))
        await sender.start()
        try:
            jobs.start()
            log.info("dispatcher %s running", dispatcher.worker)
            await _until_stopped()
        finally:
            await jobs.stop()
            await sender.close()
        stats = dispatcher.stats
        print(f"dispatcher stopped: {stats.sent} sent, {dispatcher.throttled} throttled, "
              f"{stats.failed} failed, {stats.deactivated} chats deactivated")
        return 0
    finally:
        await store.close()


def _stopper(stop: Callable[[], None]) -> Callable[[], Awaitable[None]]:
    async def call() -> None:
        stop()
    return call


async def _until_stopped() -> None:
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stopped.set)
    try:
        await stopped.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signum)
