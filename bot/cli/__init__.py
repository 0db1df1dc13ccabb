"""The `hali` command: run the bot, ask it questions, and manage the status store.

Each command lives in `bot/cli/commands/` in one shape (`bot.cli.base.Command`); this module only parses
the arguments, reads the settings, opens what the command needs and turns every failure into one line.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sqlite3
import sys
from collections.abc import Sequence

from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from bot.app import ensure_ready, make_store
from bot.catalog.loader import CatalogError
from bot.cli.base import EXIT_INTERNAL, EXIT_USAGE, Command, Context, Parser, UsageError
from bot.cli.commands import ask, incident, operations, outbox, reports, run, services, store, token
from bot.config import ConfigError, Settings
from bot.core.maintenance import BadTime
from bot.i18n import MissingCatalogError
from bot.logs import PrivateFormatter
from bot.store.repo import Conflict, NotFound

#: Every command, in the order `hali --help` lists them.
COMMANDS: list[Command] = [*run.COMMANDS, *ask.COMMANDS, *services.COMMANDS, *incident.COMMANDS,
                           *reports.COMMANDS, *operations.COMMANDS, *outbox.COMMANDS, *token.COMMANDS,
                           *store.COMMANDS]
_BY_NAME = {command.name: command for command in COMMANDS}
#: What an operator can act on: one line, exit status 2.
_USAGE = (UsageError, NotFound, Conflict, BadTime, CatalogError, MissingCatalogError)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="hali", description="Hali: the state of Kenya's government e-services.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for command in COMMANDS:
        command.arguments(sub.add_parser(command.name, help=command.help))
    return parser


def configure_logging(settings: Settings, command: str) -> None:
    """The long-running commands log at HALI_LOG_LEVEL; the others only warnings and errors."""
    handler = logging.StreamHandler()
    handler.setFormatter(PrivateFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(
        level=settings.log_level if command in ("run", "dispatch") else max(logging.WARNING,
                                                                logging.getLevelName(settings.log_level)),
        handlers=[handler],
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request would drown the rest


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"hali: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    configure_logging(settings, args.command)
    # Whatever stops a command is one line: the operator's input, the store or the disk (the operator can
    # act: status 2), or a fault of Hali's own (status 1; its traceback is logged at DEBUG).
    try:
        return asyncio.run(_run(_BY_NAME[args.command], args, settings))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`hali services | head`): nothing is wrong with the store. As Python's
        # documentation advises, stdout goes to /dev/null so that its final flush does not complain.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except _USAGE as exc:
        print(f"hali: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ConfigError as exc:
        print(f"hali: configuration error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (SQLAlchemyError, OSError, sqlite3.Error) as exc:
        print(f"hali: error: the store cannot be used: {_reason(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:
        logging.getLogger(__name__).debug("internal error", exc_info=exc)
        print(f"hali: internal error: {type(exc).__name__}: {_first_line(str(exc))}", file=sys.stderr)
        return EXIT_INTERNAL


async def _run(command: Command, args: argparse.Namespace, settings: Settings) -> int:
    if command.store == "none":
        return await command.run(Context(settings), args)
    opened = make_store(settings)  # an operator's resolve from the command line tells the reporters too
    try:
        if command.store == "ready":
            await ensure_ready(opened)
        return await command.run(Context(settings, opened), args)
    finally:
        await opened.close()


def _reason(exc: BaseException) -> str:
    """What went wrong, without the statement or its parameters (they hold chat ids and citizens' text)."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        exc = exc.orig
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if isinstance(exc, SQLAlchemyError) and not isinstance(exc, DBAPIError):
        return f"{type(exc).__name__}: {_first_line(str(exc).split('[SQL:', 1)[0])}"
    if isinstance(exc, DBAPIError):
        return type(exc).__name__
    return _first_line(str(exc)) or type(exc).__name__


def _first_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0][:300]


__all__ = ["COMMANDS", "build_parser", "configure_logging", "main"]
