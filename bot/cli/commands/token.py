"""`hali token`: tokens for the alert hooks and the operator API (English only, for operators).

    hali token create NAME --services ID,…|all [--hooks] [--incidents]   the token, once, on the last line
    hali token list [--json]
    hali token revoke NAME
"""

from __future__ import annotations

import argparse
import json

from bot.cli.base import Command, Context, UsageError, actions
from bot.store.repo import Conflict, NotFound


def _services(value: str) -> tuple[str, ...] | None:
    if value.strip().lower() in ("all", "*"):
        return None
    ids = tuple(dict.fromkeys(part.strip().lower() for part in value.split(",") if part.strip()))
    if not ids:
        raise argparse.ArgumentTypeError("give service ids separated by commas, or all")
    return ids


def _arguments(parser: argparse.ArgumentParser) -> None:
    tsub = actions(parser)
    create = tsub.add_parser("create", help="make a token; it is printed once, alone on the last line")
    create.add_argument("name")
    create.add_argument("--services", type=_services, required=True, help="ids separated by commas, or all")
    create.add_argument("--hooks", action="store_true", help="may post to /hooks/alertmanager, grafana, uptime-kuma")
    create.add_argument("--incidents", action="store_true",
                        help="may open, update and resolve incidents and plan or cancel maintenance (/api/v1)")
    listing = tsub.add_parser("list", help="every token: services, permissions, created, revoked")
    listing.add_argument("--json", action="store_true")
    revoke = tsub.add_parser("revoke", help="refuse a token from now on")
    revoke.add_argument("name")


async def run(ctx: Context, args: argparse.Namespace) -> int:
    """Create, list or revoke a token."""
    tokens = ctx.store.tokens
    try:
        if args.action == "create":
            value = await tokens.create(args.name, args.services, hooks=args.hooks, incidents=args.incidents,
                                        actor="cli")
            allowed = " and ".join(p for p, on in (("hooks", args.hooks), ("incidents", args.incidents)) if on)
            print(f"token {args.name}: {allowed} for {', '.join(args.services) if args.services else 'every service'}")
            print("It is shown only now (Hali keeps its SHA-256). Send it as: Authorization: Bearer <token>")
            print(value)
            return 0
        if args.action == "revoke":
            await tokens.revoke(args.name, actor="cli")
            print(f"token {args.name} revoked")
            return 0
    except (NotFound, Conflict) as exc:
        raise UsageError(str(exc)) from None
    listed = await tokens.tokens()
    if args.json:
        print(json.dumps([{
            "name": t.name, "services": list(t.services) if t.services is not None else "all", "hooks": t.hooks,
            "incidents": t.incidents, "created_at": t.created_at.isoformat(), "created_by": t.created_by,
            "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None} for t in listed], indent=2))
        return 0
    if not listed:
        print("no tokens")
    for t in listed:
        allowed = ",".join(p for p, on in (("hooks", t.hooks), ("incidents", t.incidents)) if on)
        state = f"revoked {t.revoked_at.isoformat()[:16]}" if t.revoked_at else "active"
        services = ",".join(t.services) if t.services is not None else "all"
        print(f"{t.name:<24} {allowed:<15} {state:<22} created {t.created_at.isoformat()[:16]}  {services}")
    return 0


COMMANDS = [Command("token", "tokens for the alert hooks and the operator API", _arguments, run)]
