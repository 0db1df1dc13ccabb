"""`hali outbox` (delivery counts per event) and `hali sending` (what the send budget is doing: queues, rate,
429s, drops, and the inbox)."""

from __future__ import annotations

import argparse
import json
import logging
from typing import Any

from bot.cli.base import Command, Context
from bot.store.budget import sending_report

log = logging.getLogger(__name__)


async def outbox(ctx: Context, args: argparse.Namespace) -> int:
    """Pending, sent, failed and deactivated deliveries per event."""
    counts = await ctx.store.outbox.counts(limit=max(1, args.limit))
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


async def sending(ctx: Context, args: argparse.Namespace) -> int:
    """The send budget: queues per priority, rate, 429s, drops; the inbox."""
    store, settings = ctx.store, ctx.settings
    report = await sending_report(store.sessions, store.clock)
    inbox = await store.inbox.counts()
    now = store.clock()
    oldest = round((now - inbox.oldest_pending).total_seconds()) if inbox.oldest_pending else None
    data: dict[str, Any] = {
        "limit_per_second": settings.send_rate,
        "paid_broadcast_per_second": settings.broadcast_rate if settings.paid_broadcast else None,
        "senders": [{"id": s.id, "role": s.role, "answers_waiting": s.answers_waiting,
                     "notifications_waiting": s.notices_waiting, "paid_waiting": s.paid_waiting,
                     "sending_per_second": round(s.rate, 2), "seen": s.seen_at.isoformat()} for s in report.senders],
        "last_hour": {"sent": report.sent_last_hour, "throttled_429": report.throttled_last_hour,
                      "replies_dropped": report.dropped_last_hour},
        "paused_until": report.paused_until.isoformat() if report.paused_until else None,
        "inbox": {"waiting": inbox.pending, "in_hand": inbox.claimed, "set_aside": inbox.invalid,
                  "oldest_waiting_seconds": oldest},
    }
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    answers = sum(s.answers_waiting for s in report.senders)
    notices = sum(s.notices_waiting + s.paid_waiting for s in report.senders)
    rate = sum(s.rate for s in report.senders)
    print(f"limit {settings.send_rate:g} messages/s in all"
          + (f"; paid notifications up to {settings.broadcast_rate:g}/s" if settings.paid_broadcast else ""))
    print(f"now: {rate:.1f} messages/s; waiting: {answers} answers, {notices} notifications"
          + (f"; paused by Telegram until {report.paused_until:%H:%M:%S} UTC" if report.paused_until else ""))
    print(f"last hour: {report.sent_last_hour} sent, {report.throttled_last_hour} answered 429, "
          f"{report.dropped_last_hour} replies dropped (waited past HALI_REPLY_MAX_WAIT)")
    print(f"inbox: {inbox.pending} updates waiting ({inbox.claimed} in hand"
          + (f", the oldest {oldest} s" if oldest is not None else "") + f"), {inbox.invalid} set aside unreadable")
    if not report.senders:
        print("no process is sending (none heard from in the last 15 s)")
    for s in report.senders:
        print(f"  {s.role:<9} {s.id:<48} {s.rate:6.1f}/s  answers {s.answers_waiting:>6}  "
              f"notifications {s.notices_waiting + s.paid_waiting:>6}")
    return 0


def _outbox_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--limit", type=int, default=20)


def _sending_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true")


COMMANDS = [
    Command("outbox", "pending, sent, failed and deactivated deliveries per event", _outbox_arguments, outbox),
    Command("sending", "the send budget: queues per priority, rate, 429s, drops; the inbox", _sending_arguments,
            sending),
]
