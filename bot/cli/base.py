"""What every `hali` command shares: one shape (`Command`), one usage error, one duration parser.

A command is a module under `bot/cli/commands/` with a `COMMANDS` list: each `Command` names itself,
adds its arguments to its own parser, and runs with a `Context` holding the settings and, unless the
command opens nothing, the store (`store="ready"`: migrated, with the catalogue in force; `"schema"`:
opened only, for `hali db` and `hali catalog`).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal, NoReturn

from bot.config import Settings
from bot.store.repo import Store

EXIT_USAGE = 2
EXIT_INTERNAL = 1


class UsageError(Exception):
    """Bad input from the operator: one line on stderr, exit status 2, nothing changed."""


class Parser(argparse.ArgumentParser):
    """argparse, with its errors as one line and exit status 2 like every other usage error."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


@dataclass(frozen=True)
class Context:
    settings: Settings
    opened: Store | None = None

    @property
    def store(self) -> Store:
        assert self.opened is not None, "this command opens no store"
        return self.opened


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[Context, argparse.Namespace], Awaitable[int]]
    store: Literal["ready", "schema", "none"] = "ready"


def no_arguments(parser: argparse.ArgumentParser) -> None:
    """For a command that takes none."""


def actions(parser: argparse.ArgumentParser) -> argparse._SubParsersAction[Parser]:
    """The sub-commands of a command (`hali incident open`…), in `args.action`."""
    return parser.add_subparsers(dest="action", required=True, parser_class=Parser)


_DURATION = re.compile(r"^(\d{1,5})\s*([mhd])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_duration(value: str) -> timedelta:
    """'30m', '2h', '7d'; ValueError otherwise."""
    match = _DURATION.match(value.strip().lower())
    if match is None:
        raise ValueError(f"expected a duration like 30m, 1h or 7d, got {value!r}")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def duration(value: str) -> timedelta:
    """`parse_duration` as an argparse type."""
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def nonempty(value: str) -> str:
    if not value.strip():
        raise argparse.ArgumentTypeError("text must not be empty")
    return value.strip()
