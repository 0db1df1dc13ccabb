"""`hali services`: every service with its id, names and current state."""

from __future__ import annotations

import argparse
import json

from bot.app import assemble
from bot.cli.base import Command, Context
from bot.i18n import translator
from bot.render import state_name


async def services(ctx: Context, args: argparse.Namespace) -> int:
    """Ids, names and current states."""
    snapshot = await assemble(ctx.settings, ctx.store, cache_seconds=0).board.snapshot()
    t = translator("en")
    rows = []
    for service in snapshot.services:
        status = snapshot.status(service.id)
        rows.append({
            "id": service.id,
            "name": service.name.en,
            "name_sw": service.name.sw,
            "state": status.state.value if status.source is not None else "no_known_problem",
            "source": status.source.name.lower() if status.source is not None else None,
            "since": status.since.isoformat() if status.since else None,
        })
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    width = max(len(s.id) for s in snapshot.services)
    for service, row in zip(snapshot.services, rows, strict=True):
        print(f"{row['id']:<{width}}  {service.name.en:<40}  {state_name(t, snapshot.status(service.id))}")
    return 0


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true")


COMMANDS = [Command("services", "ids, names and current states", _arguments, services)]
