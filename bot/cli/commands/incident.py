"""`hali incident open|update|resolve|list`: operators' incidents from the command line."""

from __future__ import annotations

import argparse
import json
from typing import Any

from bot.catalog.model import Text
from bot.cli.base import Command, Context, UsageError, actions, nonempty
from bot.core.status import INCIDENT_STATES, State
from bot.store.repo import Conflict, NotFound


def _state(value: str) -> State:
    try:
        state = State(value.strip().lower().replace("-", "_").replace(" ", "_"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"unknown status {value!r} (choose from {', '.join(s.value for s in INCIDENT_STATES)})"
        ) from None
    if state not in INCIDENT_STATES:
        raise argparse.ArgumentTypeError(
            f"status {value!r} is not for incidents (choose from {', '.join(s.value for s in INCIDENT_STATES)})"
        )
    return state


def _incident_id(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"incident id must be a number, got {value!r}") from None
    if number <= 0:
        raise argparse.ArgumentTypeError(f"incident id must be positive, got {value!r}")
    return number


def _text(en: str | None, sw: str | None) -> Text | None:
    if en is None:
        if sw is not None:
            raise UsageError("a Swahili text needs the English one too (--message with --message-sw)")
        return None
    return Text(en, sw)


async def incident(ctx: Context, args: argparse.Namespace) -> int:
    """Open, update, resolve and list incidents."""
    store, actor = ctx.store, "cli"
    try:
        if args.action == "open":
            if args.service not in await store.service_ids():
                raise UsageError(f"unknown service {args.service!r} (see `hali services`)")
            if args.title_sw and not args.title:
                raise UsageError("--title-sw needs --title")
            incident_id = await store.open_incident(
                args.service, args.status, Text(args.title, args.title_sw), actor=actor,
                message=_text(args.message, args.message_sw),
                workaround=_text(args.workaround, args.workaround_sw),
            )
            print(incident_id)
        elif args.action == "update":
            message = _text(args.message, args.message_sw)
            assert message is not None
            await store.update_incident(args.id, message, actor=actor, state=args.status)
            print(f"incident {args.id} updated")
        elif args.action == "resolve":
            await store.resolve_incident(args.id, actor=actor, message=_text(args.message, args.message_sw))
            print(f"incident {args.id} resolved")
        elif args.action == "list":
            _print_incidents(await store.incidents(open_only=args.open), as_json=args.json)
    except (NotFound, Conflict) as exc:
        raise UsageError(str(exc)) from None
    return 0


def _print_incidents(incidents: list[Any], *, as_json: bool) -> None:
    rows = [
        {
            "id": i.id,
            "service": i.service_id,
            "status": i.state.value,
            "title": i.title.en,
            "title_sw": i.title.sw,
            "opened_at": i.opened_at.isoformat(),
            "resolved_at": i.resolved_at.isoformat() if i.resolved_at else None,
            "updates": len(i.updates),
        }
        for i in incidents
    ]
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        print("no incidents")
    for r in rows:
        state = "resolved" if r["resolved_at"] else "open"
        print(f"{r['id']:>5}  {r['service']:<14} {r['status']:<15} {state:<9} {r['opened_at'][:16]}  {r['title']}")


def _arguments(parser: argparse.ArgumentParser) -> None:
    isub = actions(parser)
    opened = isub.add_parser("open")
    opened.add_argument("service")
    opened.add_argument("--status", type=_state, required=True)
    opened.add_argument("--title", type=nonempty, required=True)
    opened.add_argument("--title-sw", type=nonempty)
    opened.add_argument("--message", type=nonempty)
    opened.add_argument("--message-sw", type=nonempty)
    opened.add_argument("--workaround", type=nonempty)
    opened.add_argument("--workaround-sw", type=nonempty)
    update = isub.add_parser("update")
    update.add_argument("id", type=_incident_id)
    update.add_argument("--message", type=nonempty, required=True)
    update.add_argument("--message-sw", type=nonempty)
    update.add_argument("--status", type=_state)
    resolve = isub.add_parser("resolve")
    resolve.add_argument("id", type=_incident_id)
    resolve.add_argument("--message", type=nonempty)
    resolve.add_argument("--message-sw", type=nonempty)
    listing = isub.add_parser("list")
    listing.add_argument("--json", action="store_true")
    listing.add_argument("--open", action="store_true", help="only open incidents")


COMMANDS = [Command("incident", "open, update, resolve and list incidents", _arguments, incident)]
