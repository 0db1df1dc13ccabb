"""Benchmark the public status page against its ceiling: a bare aiohttp handler serving the same bytes.

    python -m benchmarks.status_page [--rounds 5] [--seconds 5] [--connections 100]

One server process serves Hali's public app (on a store with a month of checks, incidents and a
maintenance window, the board refreshing every 2 s as in production) on one port, and on another a
bare aiohttp handler that returns the very bytes Hali rendered, with no lookup, validators or
negotiation. wrk (Debian's package `wrk`) loads one of them at a time, the two alternating within each
round so that both see the same machine. Printed: requests per second and p99 latency per round, the
medians, and Hali's share of the ceiling. Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiohttp import ClientSession, web

from bot.app import assemble
from bot.catalog.loader import load_catalog
from bot.catalog.model import Text
from bot.config import Settings
from bot.core.checks import Outcome, ProbeResult
from bot.core.status import State
from bot.store.checks import CheckStore
from bot.store.repo import Store
from bot.web import public_app

PATHS = ("/", "/api/v2/summary.json")


async def seed(store: Store) -> None:
    """A month of hourly results for every check, an outage, incidents open and resolved, a window."""
    now = store.clock()
    catalog = await store.catalog()
    checks = CheckStore(store)
    results = []
    for service in catalog.services:
        for check in service.checks:
            moment = now - timedelta(days=30)
            while moment < now:
                down = service.id == "kra" and now - timedelta(days=3) <= moment < now - timedelta(days=3, hours=-3)
                results.append((ProbeResult(check.key(service.id), service.id, moment,
                                            Outcome.TIMEOUT if down else Outcome.OK, 300), check))
                moment += timedelta(hours=1)
    await checks.record_many(results)
    for i in range(30):
        incident = await store.open_incident("ecitizen" if i % 2 else "kra", State.MAJOR_OUTAGE,
                                             Text(f"Outage number {i}", f"Hitilafu nambari {i}"), actor="bench",
                                             message=Text("Looking into it"))
        await store.resolve_incident(incident, actor="bench", message=Text("Back"))
    await store.open_incident("ecitizen", State.PARTIAL_OUTAGE, Text("Payments delayed"), actor="bench",
                              message=Text("Payments to 222222 are not reflecting"),
                              workaround=Text("Wait for validation; do not pay twice"))
    await store.schedule_maintenance("kra", now + timedelta(days=2), now + timedelta(days=2, hours=4),
                                     Text("iTax upgrade"), actor="bench")


async def serve(db: str, hali_port: int, bare_port: int) -> None:
    store = Store.from_url(f"sqlite+aiosqlite:///{db}")
    await store.upgrade()
    await store.load_catalog(load_catalog())
    if not await store.incidents(limit=1):
        await seed(store)
    app = assemble(Settings(), store)  # the bot's board: a 2-second cache
    hali = web.AppRunner(public_app(app, public_url="https://hali.example/"), access_log=None)
    await hali.setup()
    await web.TCPSite(hali, "127.0.0.1", hali_port, backlog=1024).start()

    bodies: dict[str, tuple[bytes, str]] = {}
    async with ClientSession() as session:
        for path in PATHS:
            async with session.get(f"http://127.0.0.1:{hali_port}{path}",
                                   headers={"Accept-Encoding": "identity"}) as response:
                bodies[path] = (await response.read(), response.headers["Content-Type"])

    async def bare_handler(request: web.Request) -> web.Response:
        body, content_type = bodies[request.path]
        return web.Response(body=body, headers={"Content-Type": content_type})

    bare_app = web.Application()
    for path in PATHS:
        bare_app.router.add_get(path, bare_handler)
    bare = web.AppRunner(bare_app, access_log=None)
    await bare.setup()
    await web.TCPSite(bare, "127.0.0.1", bare_port, backlog=1024).start()
    print("ready", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await bare.cleanup()
    await hali.cleanup()
    await store.close()


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def wrk(url: str, seconds: int, connections: int) -> tuple[float, float]:
    """Requests per second and p99 latency (ms) of one wrk run."""
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s", url],
                         capture_output=True, text=True, check=True, timeout=seconds + 30).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    value, unit = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()  # type: ignore[union-attr]
    return rate, float(value) * _UNITS[unit]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--serve", nargs=3, metavar=("DB", "HALI_PORT", "BARE_PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve[0], int(args.serve[1]), int(args.serve[2])))
        return
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install -y wrk")
    hali_port, bare_port = 18_431, 18_432
    with tempfile.TemporaryDirectory() as tmp:
        server = subprocess.Popen([sys.executable, "-m", "benchmarks.status_page", "--serve", f"{tmp}/bench.db",
                                   str(hali_port), str(bare_port)], stdout=subprocess.PIPE, text=True,
                                  cwd=Path(__file__).resolve().parent.parent)
        try:
            assert server.stdout is not None
            started = time.monotonic()
            if server.stdout.readline().strip() != "ready":
                sys.exit("the server did not start")
            print(f"server ready in {time.monotonic() - started:.1f} s (seeding included); "
                  f"{args.rounds} rounds of {args.seconds} s, {args.connections} connections, wrk -t1\n")
            results: dict[tuple[str, str], list[tuple[float, float]]] = {}
            for n in range(1, args.rounds + 1):
                for path in PATHS:
                    for name, port in (("hali", hali_port), ("bare", bare_port)):
                        rate, p99 = wrk(f"http://127.0.0.1:{port}{path}", args.seconds, args.connections)
                        results.setdefault((path, name), []).append((rate, p99))
                        print(f"round {n} {path:<22} {name}: {rate:9.0f} req/s  p99 {p99:7.2f} ms", flush=True)
            print("\nmedians")
            for path in PATHS:
                hali_rate = statistics.median(r for r, _ in results[(path, "hali")])
                bare_rate = statistics.median(r for r, _ in results[(path, "bare")])
                hali_p99 = statistics.median(p for _, p in results[(path, "hali")])
                bare_p99 = statistics.median(p for _, p in results[(path, "bare")])
                print(f"{path:<22} hali {hali_rate:9.0f} req/s p99 {hali_p99:6.2f} ms | "
                      f"bare {bare_rate:9.0f} req/s p99 {bare_p99:6.2f} ms | ratio {hali_rate / bare_rate:.2f}")
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()


if __name__ == "__main__":
    main()
