"""`hali dispatch` (an extra dispatcher process) and `hali outbox` (delivery counts per event)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
from typing import Any

from bot.config import Settings
from bot.store.repo import Store

log = logging.getLogger(__name__)


def add_parsers(sub: argparse._SubParsersAction[Any]) -> None:
    sub.add_parser("dispatch", help="run one more notification dispatcher (scaling out on PostgreSQL)")
    outbox = sub.add_parser("outbox", help="pending, sent, failed and deactivated deliveries per event")
    outbox.add_argument("--json", action="store_true")
    outbox.add_argument("--limit", type=int, default=20)


async def outbox(store: Store, args: argparse.Namespace) -> int:
    counts = await store.outbox.counts(limit=max(1, args.limit))
    if args.json:
        print(json.dumps([c.as_json() for c in counts], ensure_ascii=False, indent=2))
        return 0
    if not counts:
        print("no notification events")
        return 0
    print(f"{'event':>6}  {'service':<14} {'kind':<16} {'state':<15} {'created (UTC)':<16} "
          f"{'pending':>8} {'sent':>8} {'failed':>7} {'deact.':>7}")
    for c in counts:
        print(f"{c.event_id:>6}  {c.service_id:<14} {c.kind:<16} {c.state:<15} "
              f"{c.created_at.isoformat()[:16]:<16} {c.pending:>8} {c.sent:>8} {c.failed:>7} {c.deactivated:>7}")
    return 0


async def dispatch(settings: Settings) -> int:
    """Dispatch until SIGINT/SIGTERM; then finish the sends under way and give the rest back."""
    from bot.cli import ensure_ready
    from bot.telegram.notifier import build_dispatcher

    store = Store.from_url(settings.database_url)
    try:
        await ensure_ready(store)
        dispatcher, sender = build_dispatcher(settings, store)
        await sender.start()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, dispatcher.stop)
        log.info("dispatcher %s running at up to %g messages/s", dispatcher.worker, dispatcher.settings.rate)
        try:
            await dispatcher.run()
        finally:
            await sender.close()
        print(f"dispatcher stopped: {dispatcher.stats.sent} sent, {dispatcher.stats.throttled} throttled, "
              f"{dispatcher.stats.failed} failed, {dispatcher.stats.deactivated} chats deactivated")
        return 0
    finally:
        await store.close()
