"""Benchmark the check runner: 200 endpoints on a local server, some hanging, at a 30-second interval.

    python benchmarks/checks.py [--endpoints 200] [--hanging 10] [--interval 30] [--cycles 3]

The fake sites run in a separate process, so the CPU time printed is the runner's own (probing,
classifying, recording to a SQLite store). Printed: the achieved interval per endpoint (p50/p99),
CPU per check cycle, and how long the answering endpoints waited and took while the hanging ones
held their slots until their timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import multiprocessing
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiohttp import web

from bot.catalog.loader import parse_catalog
from bot.catalog.model import Check
from bot.core.checks import ProbeResult
from bot.services.check_runner import CheckRunner
from bot.services.probe import Prober
from bot.store.checks import CheckStore
from bot.store.repo import Store

PER_SERVICE = 10


def serve(port: int, hanging: set[int]) -> None:
    import logging

    logging.getLogger("aiohttp").setLevel(logging.CRITICAL)  # hanging handlers cancelled at exit
    async def endpoint(request: web.Request) -> web.Response:
        number = int(request.match_info["n"])
        if number in hanging:
            await asyncio.sleep(3600)
        await asyncio.sleep(random.uniform(0.005, 0.05))
        return web.Response(text=f"endpoint {number} is fine")

    app = web.Application()
    app.add_routes([web.get("/ep/{n}", endpoint)])
    web.run_app(app, host="127.0.0.1", port=port, print=None, handle_signals=True)


def catalogue(base: str, endpoints: int, interval: float, timeout: float) -> dict[str, Any]:
    services = []
    for s in range(0, endpoints, PER_SERVICE):
        services.append({
            "id": f"svc{s // PER_SERVICE}", "name": {"en": f"Service {s // PER_SERVICE}"}, "agency": "bench",
            "group": "payments", "used_for": {"en": "benchmark"},
            "checks": [{"url": f"{base}/ep/{n}", "interval_s": interval, "timeout_s": timeout,
                        "slow_ms": 2000, "body_contains": "fine", "allow_private": True}
                       for n in range(s, min(s + PER_SERVICE, endpoints))],
        })
    return {"services": services}


class TimedProber(Prober):
    """Notes when each probe got its slot and when it finished (monotonic seconds)."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.starts: dict[str, list[float]] = defaultdict(list)
        self.waits: list[tuple[str, float]] = []
        self.batch_started = 0.0

    async def probe(self, service_id: str, check: Check) -> ProbeResult:
        queued = time.perf_counter()
        result = await super().probe(service_id, check)
        started = time.perf_counter() - (result.latency_ms or 0) / 1000
        self.starts[result.key].append(started)
        self.waits.append((result.key, started - queued))
        return result


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def bench(args: argparse.Namespace, base: str, hanging: set[int]) -> None:
    folder = Path(tempfile.mkdtemp())
    store = Store.from_url(f"sqlite+aiosqlite:///{folder / 'bench.db'}")
    await store.upgrade()
    catalog = parse_catalog(catalogue(base, args.endpoints, args.interval, args.timeout), source="bench")
    await store.load_catalog(catalog)
    prober = TimedProber(concurrency=args.concurrency)
    runner = CheckRunner(store, prober, holder="bench")

    recorded_at: dict[str, list[float]] = defaultdict(list)
    original = runner.checks.record_many

    async def record_many(items: list[tuple[ProbeResult, Check]]) -> Any:
        written = await original(items)
        for result, _ in items:
            recorded_at[result.key].append(time.perf_counter())
        return written

    runner.checks.record_many = record_many  # type: ignore[method-assign]

    hanging_keys = {f"svc{n // PER_SERVICE} GET {base}/ep/{n}" for n in hanging}
    cpu0, wall0 = time.process_time(), time.perf_counter()
    runner.start(every=0.5)
    duration = args.interval * (args.cycles - 1) + args.timeout + 2
    await asyncio.sleep(duration)
    await runner.stop()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    await prober.close()

    intervals = {k: [b - a for a, b in itertools.pairwise(v)] for k, v in prober.starts.items()}
    fast_iv = [x for k, v in intervals.items() if k not in hanging_keys for x in v]
    hang_iv = [x for k, v in intervals.items() if k in hanging_keys for x in v]
    first_start = min(min(v) for v in prober.starts.values())
    cycles = max(len(v) for v in prober.starts.values())
    results = await CheckStore(store).states()
    fast_latency = [r.last_latency_ms or 0 for r in results if r.key not in hanging_keys]
    fast_waits = [w for k, w in prober.waits if k not in hanging_keys]
    # How long after its batch began was each answering endpoint recorded?
    batch_lag = []
    for key, stamps in recorded_at.items():
        if key in hanging_keys:
            continue
        for i, stamp in enumerate(stamps):
            batch_lag.append(stamp - (first_start + i * args.interval))
    await store.close()

    print(f"endpoints: {args.endpoints} ({len(hanging)} hanging, timeout {args.timeout:g} s), "
          f"interval {args.interval:g} s, concurrency {args.concurrency}, store: SQLite")
    print(f"ran {wall:.1f} s wall, {cycles} check cycles")
    print(f"achieved interval, answering endpoints: p50 {pct(fast_iv, .5):.3f} s  p99 {pct(fast_iv, .99):.3f} s  "
          f"max {max(fast_iv):.3f} s  (n={len(fast_iv)})")
    print(f"achieved interval, hanging endpoints:   p50 {pct(hang_iv, .5):.3f} s  p99 {pct(hang_iv, .99):.3f} s  "
          f"(n={len(hang_iv)})")
    print(f"CPU: {cpu:.2f} s in total, {cpu / cycles:.3f} s per check cycle "
          f"({cpu / cycles / args.endpoints * 1000:.2f} ms per check, recording included)")
    print(f"answering endpoints: latency p50 {pct(fast_latency, .5):.0f} ms  p99 {pct(fast_latency, .99):.0f} ms; "
          f"wait for a slot p50 {pct(fast_waits, .5) * 1000:.1f} ms  p99 {pct(fast_waits, .99) * 1000:.1f} ms")
    print(f"answering endpoints recorded after their cycle began: p50 {pct(batch_lag, .5):.2f} s  "
          f"p99 {pct(batch_lag, .99):.2f} s  max {max(batch_lag):.2f} s; every hanging one is cut at "
          f"{args.timeout:g} s and holds only its own slot meanwhile")
    print(f"mean of answering intervals: {statistics.mean(fast_iv):.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=200)
    parser.add_argument("--hanging", type=int, default=10)
    parser.add_argument("--interval", type=float, default=30.0)
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--port", type=int, default=18765)
    args = parser.parse_args()
    hanging = set(random.Random(5).sample(range(args.endpoints), args.hanging))
    server = multiprocessing.Process(target=serve, args=(args.port, hanging), daemon=True)
    server.start()
    time.sleep(1.0)
    try:
        asyncio.run(bench(args, f"http://127.0.0.1:{args.port}", hanging))
    finally:
        server.terminate()
        server.join(5)


if __name__ == "__main__":
    main()
