"""The process's Prometheus metrics (`GET /metrics`), in a registry of its own.

Most numbers already exist where the work is done (the send budget's lane stats, the engine's answer
counts, the inbox and the outbox in the store): a collector reads them when Prometheus scrapes, and the
store is read once per scrape, bounded in time. Only what nothing else counts is counted here: webhook
requests by outcome, answer latency, check results and latency, store errors.

Labels are intents, languages, lanes, priorities, outcomes, reasons and service ids: never a chat id, a
phone number or anything a citizen wrote.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.catalog.model import Check
from bot.core.board import StatusBoard
from bot.core.budget import Priority, SendBudget
from bot.core.checks import Outcome as CheckOutcome
from bot.core.checks import ProbeResult
from bot.core.crowd import CrowdSignal
from bot.services.answers import Engine
from bot.services.probe import Prober
from bot.store.inbox import Inbox
from bot.store.repo import Store
from bot.store.reports import ReportStore

log = logging.getLogger(__name__)

# An answer waits for its turn in the send budget: from tens of milliseconds to HALI_REPLY_MAX_WAIT.
ANSWER_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 600.0)
CHECK_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
WEBHOOK_OUTCOMES = ("accepted", "duplicate", "no_secret", "wrong_secret", "malformed", "store_error",
                    "from_memory")
REPORT_WINDOW = timedelta(hours=1)
SCRAPE_STORE_TIMEOUT = 3.0


@dataclass
class _FromStore:
    """What the last scrape read from the store and the board."""

    ok: bool = False
    deliveries: dict[str, int] = field(default_factory=dict)
    inbox: dict[str, int] = field(default_factory=dict)
    crowd: dict[str, int] = field(default_factory=dict)  # service id -> 1 while the crowd signal fires
    reports: dict[str, int] = field(default_factory=dict)  # service id -> counted reports in the last hour


class Metrics:
    """One registry per process (tests build several); `watch` points it at what to read when scraped."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.webhook_requests = Counter("hali_webhook_requests", "Webhook requests from Telegram, by outcome",
                                        ["outcome"], registry=r)
        for outcome in WEBHOOK_OUTCOMES:
            self.webhook_requests.labels(outcome)
        self.answer_latency = Histogram(
            "hali_answer_latency_seconds",
            "From an update's arrival to the last message it asked for being sent", buckets=ANSWER_BUCKETS,
            registry=r)
        self.check_results = Counter("hali_check_results", "Automatic check results, by reason", ["reason"],
                                     registry=r)
        for reason in CheckOutcome:
            self.check_results.labels(reason.value)
        self.check_latency = Histogram("hali_check_latency_seconds", "How long a check's probe took",
                                       buckets=CHECK_BUCKETS, registry=r)
        self.store_errors = Counter("hali_store_errors", "Database statements that failed, by error type",
                                    ["error"], registry=r)
        self._scraped = _Scraped()
        r.register(self._scraped)

    def watch(self, *, store: Store | None = None, engine: Engine | None = None, budget: SendBudget | None = None,
              inbox: Inbox | None = None, board: StatusBoard | None = None, reports: ReportStore | None = None,
              bot_api_age: Callable[[], float | None] | None = None) -> None:
        """What the scrape reads; anything left out is not reported."""
        scraped = self._scraped
        scraped.store, scraped.engine, scraped.budget = store, engine, budget
        scraped.inbox, scraped.board, scraped.reports, scraped.bot_api_age = inbox, board, reports, bot_api_age
        if store is not None:
            store.on_error(self._store_error)

    def _store_error(self, error: BaseException) -> None:
        # The exception's type only: its text may carry the statement's parameters.
        self.store_errors.labels(type(error).__name__).inc()

    def count_webhook(self, outcome: str) -> None:
        self.webhook_requests.labels(str(outcome)).inc()

    def check_result(self, result: ProbeResult) -> None:
        self.check_results.labels(result.outcome.value).inc()
        if result.latency_ms is not None:
            self.check_latency.observe(result.latency_ms / 1000)

    async def refresh(self, within: float = SCRAPE_STORE_TIMEOUT) -> None:
        """Read the store-backed numbers; on failure or time-out the last ones stand, marked stale."""
        try:
            async with asyncio.timeout(within):
                await self._scraped.read()
            self._scraped.last.ok = True
        except Exception as exc:
            log.warning("metrics: could not read the store (%s)", type(exc).__name__)
            self._scraped.last.ok = False

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _Scraped(Collector):
    """The numbers that exist elsewhere, read at scrape time."""

    def __init__(self) -> None:
        self.store: Store | None = None
        self.engine: Engine | None = None
        self.budget: SendBudget | None = None
        self.inbox: Inbox | None = None
        self.board: StatusBoard | None = None
        self.reports: ReportStore | None = None
        self.bot_api_age: Callable[[], float | None] | None = None
        self.last = _FromStore()

    async def read(self) -> None:
        last = _FromStore(ok=self.last.ok)
        if self.store is not None:
            last.deliveries = await self.store.outbox.totals()
        if self.inbox is not None:
            counts = await self.inbox.counts()
            last.inbox = {"waiting": counts.pending - counts.claimed, "in_hand": counts.claimed,
                          "set_aside": counts.invalid}
        if self.board is not None:
            snapshot = await self.board.snapshot()
            last.crowd = {sid: int(any(isinstance(s, CrowdSignal) for s in status.signals))
                          for sid, status in snapshot.statuses.items()}
        if self.reports is not None:
            counted = await self.reports.counted_since(self.reports.clock() - REPORT_WINDOW)
            last.reports = {sid: len(items) for sid, items in counted.items()}
        self.last = last

    def collect(self) -> Iterable[Metric]:
        yield from self._answers()
        yield from self._budget()
        yield from self._from_store()
        if self.bot_api_age is not None:
            age = self.bot_api_age()
            gauge = GaugeMetricFamily("hali_bot_api_last_answer_age_seconds",
                                      "Seconds since the Bot API last answered (NaN: not yet)")
            gauge.add_metric([], float("nan") if age is None else age)
            yield gauge

    def _answers(self) -> Iterable[Metric]:
        answers = CounterMetricFamily("hali_answers", "Answers given, by intent and language",
                                      labels=["intent", "language"])
        if self.engine is not None:
            for (intent, language), count in sorted(self.engine.answered.items()):
                answers.add_metric([intent, language], count)
        yield answers

    def _budget(self) -> Iterable[Metric]:
        depth = GaugeMetricFamily("hali_send_queue_depth", "Messages waiting in the send budget",
                                  labels=["lane", "priority"])
        sends = CounterMetricFamily("hali_sends", "Messages the Bot API accepted", labels=["lane"])
        throttled = CounterMetricFamily("hali_send_throttled", "Sends answered 429 (Too Many Requests)",
                                        labels=["lane"])
        dropped = CounterMetricFamily("hali_send_dropped", "Answers dropped after waiting past HALI_REPLY_MAX_WAIT",
                                      labels=["lane"])
        failed = CounterMetricFamily("hali_send_failed", "Sends that failed for good", labels=["lane"])
        rate = GaugeMetricFamily("hali_send_rate", "Messages sent per second over the last 10 s", labels=["lane"])
        lanes = self.budget.lanes if self.budget is not None else []
        for lane in lanes:
            queued = lane.depth()
            for priority in Priority:
                depth.add_metric([lane.name, priority.name.lower()], queued.get(priority, 0))
            sends.add_metric([lane.name], lane.stats.sent)
            throttled.add_metric([lane.name], lane.stats.throttled)
            dropped.add_metric([lane.name], lane.stats.dropped)
            failed.add_metric([lane.name], lane.stats.failed)
            rate.add_metric([lane.name], lane.rate_now())
        yield from (depth, sends, throttled, dropped, failed, rate)

    def _from_store(self) -> Iterable[Metric]:
        last = self.last
        ok = GaugeMetricFamily("hali_metrics_store_read", "1: the numbers below were read from the store by "
                               "this scrape; 0: they are the last ones read")
        ok.add_metric([], 1 if last.ok else 0)
        yield ok
        yield _gauges("hali_outbox_deliveries", "Notification deliveries in the outbox, by state", "state",
                      last.deliveries)
        yield _gauges("hali_inbox_updates", "Updates kept in the inbox, not yet done, by state", "state", last.inbox)
        yield _gauges("hali_crowd_signal", "1 while citizens' reports about a service are far above the usual",
                      "service", last.crowd)
        yield _gauges("hali_reports_last_hour", "Citizens' reports counted in the last hour", "service",
                      last.reports)


def _gauges(name: str, documentation: str, label: str, values: Mapping[str, float]) -> GaugeMetricFamily:
    """One gauge per label value, in a stable order."""
    family = GaugeMetricFamily(name, documentation, labels=[label])
    for value, number in sorted(values.items()):
        family.add_metric([value], number)
    return family


class MeasuredProber(Prober):
    """A Prober whose every result is counted by reason and timed."""

    def __init__(self, metrics: Metrics, **options: Any) -> None:
        super().__init__(**options)
        self.metrics = metrics

    async def probe(self, service_id: str, check: Check) -> ProbeResult:
        result = await super().probe(service_id, check)
        self.metrics.check_result(result)
        return result


def monotonic_age(answered_at: Callable[[], float | None],
                  monotonic: Callable[[], float] = time.monotonic) -> Callable[[], float | None]:
    """Seconds since a monotonic moment (None while there was none)."""
    def age() -> float | None:
        at = answered_at()
        return None if at is None else max(0.0, monotonic() - at)
    return age
