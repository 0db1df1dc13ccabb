"""`hali db upgrade` (the schema) and `hali catalog load|show` (the service catalogue in force)."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.catalog.loader import BUNDLED_CATALOG, load_catalog
from bot.cli.base import Command, Context, actions
from bot.store.repo import BUNDLED, Store


async def db(ctx: Context, args: argparse.Namespace) -> int:
    """Create or migrate the schema."""
    await ctx.store.upgrade()
    print("schema is up to date")
    return 0


async def catalog(ctx: Context, args: argparse.Namespace) -> int:
    """Load a catalogue file (it stays in force until another is loaded), or say which is in force."""
    await ctx.store.upgrade()
    if args.action == "show":
        return await _catalog_show(ctx.store)
    return await _catalog_load(ctx.store, args.path)


def _catalog_file(value: str) -> str:
    """A catalogue file, by its absolute path: that is what is recorded as the catalogue in force."""
    path = Path(value)
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"no catalogue file at {value}")
    return str(path.resolve())


async def _catalog_load(store: Store, path: str | None) -> int:
    result = await store.load_catalog(load_catalog(path), actor="cli", source=path or BUNDLED)
    print(f"added {len(result.added)}, updated {len(result.updated)}, "
          f"kept {len(result.kept)} edited by operators")
    print(f"in force until another is loaded: {_catalog_name(path)}")
    return 0


async def _catalog_show(store: Store) -> int:
    in_force = await store.catalog_in_force()
    since = f", loaded {in_force.loaded_at:%Y-%m-%d %H:%M} UTC" if in_force.loaded_at else ""
    print(f"in force: {_catalog_name(in_force.path)}{since}; {len(await store.service_ids())} services")
    return 0


def _catalog_name(path: str | None) -> str:
    return path if path else f"the bundled catalogue ({BUNDLED_CATALOG})"


def _db_arguments(parser: argparse.ArgumentParser) -> None:
    actions(parser).add_parser("upgrade")


def _catalog_arguments(parser: argparse.ArgumentParser) -> None:
    csub = actions(parser)
    load = csub.add_parser("load", help="load a catalogue file (none: the bundled one); it stays in force")
    load.add_argument("path", nargs="?", type=_catalog_file)
    csub.add_parser("show", help="which catalogue is in force")


COMMANDS = [
    Command("db", "the store's schema", _db_arguments, db, store="schema"),
    Command("catalog", "the service catalogue", _catalog_arguments, catalog, store="schema"),
]
