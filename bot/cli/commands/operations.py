"""`hali checks`, `hali maintenance` and `hali audit`: sub-commands for checks and operations."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

from bot.catalog.model import Text
from bot.cli.base import Command, Context, UsageError, actions, parse_duration
from bot.core.clock import EAT
from bot.core.maintenance import BadTime, Every, next_occurrence, parse_end, parse_start
from bot.services.probe import Prober
from bot.store.repo import Conflict, NotFound, Store


def _checks_arguments(parser: argparse.ArgumentParser) -> None:
    csub = actions(parser)
    run = csub.add_parser("run", help="probe now and print what each check sees (records nothing)")
    run.add_argument("service", nargs="?")
    listing = csub.add_parser("list", help="every check with its verdict, last result and uptime")
    listing.add_argument("--json", action="store_true")


def _maintenance_arguments(parser: argparse.ArgumentParser) -> None:
    msub = actions(parser)
    schedule = msub.add_parser("schedule")
    schedule.add_argument("service")
    schedule.add_argument("--start", required=True, help="'2026-12-06 18:00' in East Africa Time")
    schedule.add_argument("--end", required=True, help="'22:00', '4h' or a date and time")
    schedule.add_argument("--title", required=True)
    schedule.add_argument("--title-sw")
    schedule.add_argument("--every", choices=[e.value for e in Every])
    schedule.add_argument("--until", help="no repetition starts after this date and time")
    mlist = msub.add_parser("list")
    mlist.add_argument("--all", action="store_true", help="include windows that are over")
    mlist.add_argument("--json", action="store_true")
    cancel = msub.add_parser("cancel")
    cancel.add_argument("id", type=int)


def _audit_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", help="a duration (30m, 2h, 7d) or a date (2026-11-01)")
    parser.add_argument("--json", action="store_true")


async def checks(ctx: Context, args: argparse.Namespace) -> int:
    """Run the automatic checks once, or list their state."""
    return await (_checks_run(ctx.store, args) if args.action == "run" else _checks_list(ctx.store, args))


async def maintenance(ctx: Context, args: argparse.Namespace) -> int:
    """Schedule, list and cancel planned maintenance windows."""
    try:
        return await _maintenance(ctx.store, args)
    except (NotFound, Conflict, BadTime) as exc:
        raise UsageError(str(exc)) from None


async def audit(ctx: Context, args: argparse.Namespace) -> int:
    """Who changed what, and when."""
    return await _audit(ctx.store, args)


async def _checks_run(store: Store, args: argparse.Namespace) -> int:
    catalog = await store.catalog()
    if args.service is not None and args.service not in catalog:
        raise UsageError(f"unknown service {args.service!r} (see `hali services`)")
    pairs = [(s.id, c) for s in catalog.services for c in s.checks if args.service in (None, s.id)]
    if not pairs:
        print("no checks" + (f" for {args.service}" if args.service else ""))
        return 0
    async with Prober() as prober:
        results = await prober.probe_all(pairs)
    for (_, check), r in zip(pairs, results, strict=True):
        latency = f"{r.latency_ms} ms" if r.latency_ms is not None else "-"
        print(f"{r.service_id:<12} {r.outcome.value:<11} {latency:>8}  {check.url}"
              + (f"  ({r.detail})" if r.detail else ""))
    if len(results) > 1 and all(r.outcome.is_network for r in results):
        print("every check failed on the network: this machine probably cannot reach the internet "
              "(the runner would record this as offline, not against the services)")
    return 0


async def _checks_list(store: Store, args: argparse.Namespace) -> int:
    catalog = await store.catalog()
    states = {s.key: s for s in await store.checks.states()}
    uptime = await store.checks.uptime()
    rows: list[dict[str, Any]] = []
    for service in catalog.services:
        for check in service.checks:
            state = states.get(check.key(service.id))
            up = uptime.get(service.id)
            rows.append({
                "service": service.id, "url": check.url, "method": check.method,
                "interval_s": check.interval_s, "timeout_s": check.timeout_s, "slow_ms": check.slow_ms,
                "failure_threshold": check.failure_threshold, "success_threshold": check.success_threshold,
                "verdict": state.level.value if state and state.level else None,
                "last_at": state.last_at.isoformat() if state and state.last_at else None,
                "last_outcome": state.last_outcome.value if state and state.last_outcome else None,
                "last_latency_ms": state.last_latency_ms if state else None,
                "last_offline": state.last_offline if state else False,
                "uptime_24h": up.day if up else None,
            })
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no checks")
    for r in rows:
        last = "never run" if r["last_at"] is None else (
            f"{r['last_outcome']}{' (offline)' if r['last_offline'] else ''} at {r['last_at'][:19]}")
        up24 = "-" if r["uptime_24h"] is None else f"{r['uptime_24h'] * 100:.1f}%"
        print(f"{r['service']:<12} {r['verdict'] or 'unknown':<9} every {r['interval_s']:g}s  "
              f"{r['failure_threshold']}↓/{r['success_threshold']}↑  24h {up24:>6}  {last}  {r['url']}")
    return 0


async def _maintenance(store: Store, args: argparse.Namespace) -> int:
    actor = "cli"
    if args.action == "schedule":
        if args.service not in await store.service_ids():
            raise UsageError(f"unknown service {args.service!r} (see `hali services`)")
        start = parse_start(args.start, store.clock())
        end = parse_end(args.end, start)
        until = parse_start(args.until, start) if args.until else None
        number = await store.schedule_maintenance(
            args.service, start, end, Text(args.title.strip(), (args.title_sw or "").strip() or None),
            actor=actor, every=Every(args.every) if args.every else None, until=until,
        )
        print(number)
        return 0
    if args.action == "cancel":
        await store.cancel_maintenance(args.id, actor=actor)
        print(f"maintenance window {args.id} cancelled")
        return 0
    now = store.clock()
    windows = await store.maintenance_windows(current_only=not args.all)
    rows = []
    for w in windows:
        occ = next_occurrence(w, now)
        rows.append({
            "id": w.id, "service": w.service_id, "title": w.title.en, "title_sw": w.title.sw,
            "every": w.every.value if w.every else None,
            "starts_at": w.starts_at.isoformat(), "ends_at": w.ends_at.isoformat(),
            "next_start": occ.start.isoformat() if occ else None, "next_end": occ.end.isoformat() if occ else None,
            "active": bool(occ and occ.active(now)),
        })
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not rows:
        print("no maintenance windows")
    for r, w in zip(rows, windows, strict=True):
        occ = next_occurrence(w, now)
        when = "over" if occ is None else (
            f"{occ.start.astimezone(EAT):%a %Y-%m-%d %H:%M}–{occ.end.astimezone(EAT):%H:%M} EAT")
        flag = "NOW " if r["active"] else ""
        print(f"{r['id']:>4}  {r['service']:<12} {flag}{when}  {r['every'] or 'once':<8} {r['title']}")
    return 0


def parse_since(value: str, now: datetime) -> datetime:
    """'30m', '2h', '7d', or a date '2026-11-01' (East Africa Time midnight) or a date and time."""
    try:
        return now - parse_duration(value)
    except ValueError:
        pass
    try:
        day = datetime.strptime(value.strip(), "%Y-%m-%d")
        return day.replace(tzinfo=EAT).astimezone(UTC)
    except ValueError:
        pass
    try:
        return parse_start(value, now)
    except BadTime:
        raise UsageError(f"--since {value!r}: use a duration (30m, 2h, 7d) or a date (2026-11-01)") from None


async def _audit(store: Store, args: argparse.Namespace) -> int:
    since = parse_since(args.since, store.clock()) if args.since else None
    rows = list(reversed(await store.audit_log(since=since)))
    if args.json:
        print(json.dumps([{"at": r.at.isoformat(), "actor": r.actor, "action": r.action, "target": r.target,
                           "before": r.before, "after": r.after} for r in rows], ensure_ascii=False, indent=2))
        return 0
    if not rows:
        print("no changes" + (" in that period" if since else ""))
    for r in rows:
        print(f"{r.at.astimezone(EAT):%Y-%m-%d %H:%M:%S} EAT  {r.actor:<20} {r.action:<22} {r.target}")
        for label, data in (("before", r.before), ("after", r.after)):
            if data:
                print(f"    {label}: {json.dumps(data, ensure_ascii=False, sort_keys=True)}")
    return 0


COMMANDS = [
    Command("checks", "automatic checks: run them once, or list their state", _checks_arguments, checks),
    Command("maintenance", "planned maintenance windows", _maintenance_arguments, maintenance),
    Command("audit", "who changed what, and when", _audit_arguments, audit),
]
