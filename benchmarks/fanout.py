"""Fan-out benchmark: N subscribers, one event, a fake Bot API enforcing Telegram's broadcast limit.

    python -m benchmarks.fanout                      # 100,000 subscribers at 30/s (~55 minutes)
    python -m benchmarks.fanout --subscribers 3000   # a quicker run
    python -m benchmarks.fanout --rss-only           # dispatcher memory at 10,000 and 100,000 rows

Three processes: this one (seeds the store, opens the incident, reads the results), the fake Bot API
(`python -m hali_dev.botapi --global-rate R --no-keep-requests`) and the dispatcher (this file
with --dispatcher), so the dispatcher's peak RSS is its own. Prints: messages per second as a
fraction of the limit, 429s, duplicates, missing, event → first and last message, peak RSS; then
the paid-broadcast figure (a fake with a 1000/s limit, HALI_PAID_BROADCAST=1).

--rss-only streams 10,000 and then 100,000 rows through the dispatcher with the fake at 1000/s
(paid broadcast), which is the same code path as at 30/s, only shorter; it compares peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.harness import fake, start_fake  # noqa: E402
from bot.catalog.loader import load_catalog  # noqa: E402
from bot.catalog.model import Text  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.core.budget import Priority  # noqa: E402
from bot.core.recipient import TELEGRAM  # noqa: E402
from bot.core.status import State  # noqa: E402
from bot.store.models import Base, SubscriberRow, SubscriptionRow  # noqa: E402
from bot.store.repo import Store  # noqa: E402
from hali_dev.botapi import TOKEN  # noqa: E402


async def seed(database: str, n: int) -> float:
    """A fresh store with n subscribers to everything; one bulk insert per 20,000 rows."""
    store = Store.from_url(database)
    await store.upgrade()
    async with store.engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            await conn.execute(table.delete())
    await store.load_catalog(load_catalog())
    started = time.perf_counter()
    chunk = 20_000
    async with store.sessions.begin() as session:
        for first in range(1, n + 1, chunk):
            ids = range(first, min(n, first + chunk - 1) + 1)
            await session.execute(SubscriberRow.__table__.insert(),
                                  [{"medium": TELEGRAM, "address": str(c), "language": "sw" if c % 3 == 0 else "en",
                                    "active": True, "created_at": store.clock()} for c in ids])
            await session.execute(SubscriptionRow.__table__.insert(),
                                  [{"medium": TELEGRAM, "address": str(c), "service_id": "*",
                                    "created_at": store.clock()} for c in ids])
    seeded = time.perf_counter() - started
    await store.close()
    return seeded


async def open_incident(database: str) -> tuple[float, float]:
    """The event: an operator opens an incident; its fan-out happens in the same transaction."""
    store = Store.from_url(database)
    started = time.time()
    await store.open_incident("ecitizen", State.MAJOR_OUTAGE,
                              Text("Payments failing", "Malipo yanakataa"), actor="benchmark",
                              workaround=Text("Pay at a Huduma Centre", "Lipa kwenye Kituo cha Huduma"))
    done = time.time()
    await store.close()
    return started, done - started


def start_dispatcher(database: str, base_url: str, rate: float, paid: bool,
                     inflight: int | None = None) -> subprocess.Popen[str]:
    """The dispatcher in its own process, already running (idle) when the event happens."""
    extra = {"HALI_BROADCAST_INFLIGHT": str(inflight)} if inflight else {}
    env = {**os.environ, **extra, "DATABASE_URL": database, "TELEGRAM_BOT_TOKEN": TOKEN,
           "TELEGRAM_API_BASE_URL": f"{base_url}/bot", "HALI_BROADCAST_RATE": str(rate),
           "HALI_SEND_RATE": str(min(rate, 100_000)) if not paid else "30",
           "HALI_PAID_BROADCAST": "1" if paid else "0", "HALI_LOG_LEVEL": "WARNING"}
    process = subprocess.Popen([sys.executable, "-m", "benchmarks.fanout", "--dispatcher"], cwd=ROOT,
                               env=env, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "ready"
    return process


def dispatcher_result(process: subprocess.Popen[str]) -> dict[str, Any]:
    out, _ = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"the dispatcher process failed ({process.returncode})")
    return dict(json.loads(out.strip().splitlines()[-1]))


async def dispatcher_main() -> None:
    """The dispatcher process: run until nothing is pending, then print its numbers as JSON."""
    from bot.app import Jobs
    from bot.run import budget_jobs
    from bot.services.sending import shared_budget
    from bot.telegram.notifier import build_dispatcher

    settings = Settings.from_env()
    store = Store.from_url(settings.database_url)
    shared = shared_budget(settings, store, role="dispatch")
    dispatcher, sender = build_dispatcher(settings, store, shared.budget, channel=None)
    jobs = Jobs()
    budget_jobs(jobs, shared)
    await sender.start()
    base_rss = _rss_mb()
    jobs.start()
    task = asyncio.create_task(dispatcher.run())
    print("ready", flush=True)
    while not await store.outbox.counts(limit=1):  # the event has not happened yet  # noqa: ASYNC110
        await asyncio.sleep(0.2)
    while await store.outbox.next_due() is not None:  # an indexed MIN(), cheap  # noqa: ASYNC110
        await asyncio.sleep(1.0)
    dispatcher.stop()
    await task
    await jobs.stop()
    await sender.close()
    await store.close()
    print(json.dumps({"sent": dispatcher.stats.sent, "throttled": dispatcher.throttled,
                      "failed": dispatcher.stats.failed, "rss_start_mb": base_rss, "rss_peak_mb": _rss_mb(),
                      "concurrency": shared.budget.lane(Priority.NOTICE).inflight}))


def _rss_mb() -> float:
    """This process's peak RSS (VmHWM). Not getrusage's ru_maxrss: on Linux that survives exec, so a
    child would report the parent's peak (the seeding) as its own."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fanout(database: str, n: int, limit: int, *, paid: bool, label: str,
           inflight: int | None = None) -> dict[str, Any]:
    fake_process, url = start_fake(limit, paid=paid)
    try:
        seeded = asyncio.run(seed(database, n))
        dispatcher = start_dispatcher(database, url, float(limit), paid, inflight)
        event_at, fanned = asyncio.run(open_incident(database))
        stats = dispatcher_result(dispatcher)
        sent = [r for r in fake(url, "sent") if r["method"] == "sendMessage"]
        api = fake(url, "stats")
    finally:
        fake_process.terminate()
        fake_process.wait()
    counts = Counter(r["chat_id"] for r in sent)
    stamps = sorted(r["timestamp"] for r in sent)
    span = stamps[-1] - stamps[0] if len(stamps) > 1 else 0.0
    achieved = (len(stamps) - 1) / span if span else 0.0
    result = {
        "label": label, "subscribers": n, "limit": limit, "seed_s": seeded, "fanout_s": fanned,
        "messages": len(sent), "per_second": achieved, "fraction": achieved / limit,
        "429s": api["too_many_requests"], "duplicates": sum(c - 1 for c in counts.values() if c > 1),
        "missing": n - len(counts), "first_s": stamps[0] - event_at if stamps else None,
        "last_s": stamps[-1] - event_at if stamps else None, **stats,
    }
    print_result(result)
    return result


def print_result(r: dict[str, Any]) -> None:
    print(f"\n== {r['label']}: {r['subscribers']:,} subscribers, limit {r['limit']}/s ==")
    print(f"seeded in {r['seed_s']:.2f} s; event + fan-out rows written in {r['fanout_s']:.2f} s")
    print(f"messages sent:          {r['messages']:,}")
    print(f"achieved:               {r['per_second']:.2f} msg/s = {r['fraction']:.3f} of the limit")
    print(f"429s received:          {r['429s']} (dispatcher paused {r['throttled']} times)")
    print(f"duplicates:             {r['duplicates']}")
    print(f"missing:                {r['missing']}")
    print(f"event → first message:  {r['first_s']:.2f} s")
    print(f"event → last message:   {r['last_s']:.1f} s")
    print(f"dispatcher RSS:         {r['rss_start_mb']:.1f} MB at start, {r['rss_peak_mb']:.1f} MB peak "
          f"({r['concurrency']} sends in flight)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--rate", type=int, default=30, help="the fake's global limit (messages/s)")
    parser.add_argument("--paid-rate", type=int, default=1000)
    parser.add_argument("--paid-subscribers", type=int, default=None, help="default: as --subscribers")
    parser.add_argument("--database", help="default: a SQLite file in a temporary folder")
    parser.add_argument("--skip-paid", action="store_true")
    parser.add_argument("--inflight", type=int, help="HALI_BROADCAST_INFLIGHT for the paid run")
    parser.add_argument("--rss-only", action="store_true")
    parser.add_argument("--dispatcher", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.dispatcher:
        asyncio.run(dispatcher_main())
        return
    with tempfile.TemporaryDirectory() as folder:
        database = args.database or f"sqlite+aiosqlite:///{folder}/fanout.db"
        if args.rss_only:
            # Four sends in flight: the fastest setting against a fake on the same machine.
            small = fanout(database, 10_000, args.paid_rate, paid=True, label="RSS, 10,000 rows", inflight=4)
            large = fanout(database, 100_000, args.paid_rate, paid=True, label="RSS, 100,000 rows", inflight=4)
            growth = large["rss_peak_mb"] - small["rss_peak_mb"]
            print(f"\ndispatcher peak RSS: {small['rss_peak_mb']:.1f} MB at 10,000, "
                  f"{large['rss_peak_mb']:.1f} MB at 100,000: growth {growth:+.1f} MB (target < 50 MB)")
            return
        fanout(database, args.subscribers, args.rate, paid=False, label="free broadcast")
        if not args.skip_paid:
            fanout(database, args.paid_subscribers or args.subscribers, args.paid_rate, paid=True,
                   label="paid broadcast (allow_paid_broadcast)", inflight=args.inflight)


if __name__ == "__main__":
    main()
