"""The `hali` command: run the bot, ask it questions, and manage the status store."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sqlite3
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from bot import cli_notify, cli_operations, cli_reports, cli_tokens
from bot.app import assemble, ensure_ready, make_store
from bot.catalog.loader import BUNDLED_CATALOG, CatalogError, load_catalog
from bot.catalog.model import Text
from bot.config import ConfigError, Settings
from bot.core.status import INCIDENT_STATES, State
from bot.i18n import LANGUAGES, MissingCatalogError, translator
from bot.logs import PrivateFormatter
from bot.render import state_name
from bot.services.answers import Engine
from bot.store.repo import BUNDLED, Conflict, NotFound, Store

EXIT_USAGE = 2
EXIT_INTERNAL = 1
NO_TOKEN = """\
hali: TELEGRAM_BOT_TOKEN is not set.
Get a token from @BotFather on Telegram (send it /newbot), then:
    export TELEGRAM_BOT_TOKEN=123456789:AA...
    hali run
To try Hali without Telegram, run:  hali chat"""


class UsageError(Exception):
    """Bad input from the operator: one line on stderr, exit status 2, nothing changed."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


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


def _nonempty(value: str) -> str:
    if not value.strip():
        raise argparse.ArgumentTypeError("text must not be empty")
    return value.strip()


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="hali", description="Hali: the state of Kenya's government e-services.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    sub.add_parser("run", help="start the Telegram bot (long polling)")

    ask = sub.add_parser("ask", help="one answer from the bot's engine")
    ask.add_argument("text")
    ask.add_argument("--lang", choices=LANGUAGES)
    ask.add_argument("--json", action="store_true")

    chat = sub.add_parser("chat", help="talk to Hali in the terminal")
    chat.add_argument("--lang", choices=LANGUAGES)

    services = sub.add_parser("services", help="ids, names and current states")
    services.add_argument("--json", action="store_true")

    incident = sub.add_parser("incident", help="open, update, resolve and list incidents")
    isub = incident.add_subparsers(dest="action", required=True, parser_class=_Parser)
    opened = isub.add_parser("open")
    opened.add_argument("service")
    opened.add_argument("--status", type=_state, required=True)
    opened.add_argument("--title", type=_nonempty, required=True)
    opened.add_argument("--title-sw", type=_nonempty)
    opened.add_argument("--message", type=_nonempty)
    opened.add_argument("--message-sw", type=_nonempty)
    opened.add_argument("--workaround", type=_nonempty)
    opened.add_argument("--workaround-sw", type=_nonempty)
    update = isub.add_parser("update")
    update.add_argument("id", type=_incident_id)
    update.add_argument("--message", type=_nonempty, required=True)
    update.add_argument("--message-sw", type=_nonempty)
    update.add_argument("--status", type=_state)
    resolve = isub.add_parser("resolve")
    resolve.add_argument("id", type=_incident_id)
    resolve.add_argument("--message", type=_nonempty)
    resolve.add_argument("--message-sw", type=_nonempty)
    listing = isub.add_parser("list")
    listing.add_argument("--json", action="store_true")
    listing.add_argument("--open", action="store_true", help="only open incidents")

    db = sub.add_parser("db", help="the store's schema")
    dsub = db.add_subparsers(dest="action", required=True, parser_class=_Parser)
    dsub.add_parser("upgrade")

    cli_notify.add_parsers(sub)

    catalog = sub.add_parser("catalog", help="the service catalogue")
    csub = catalog.add_subparsers(dest="action", required=True, parser_class=_Parser)
    load = csub.add_parser("load", help="load a catalogue file (none: the bundled one); it stays in force")
    load.add_argument("path", nargs="?")
    csub.add_parser("show", help="which catalogue is in force")

    cli_reports.add_parser(sub)
    cli_operations.add_parsers(sub, _Parser)
    cli_tokens.add_parser(sub, _Parser)
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
    # Whatever stops a command is one line: the store or the disk (the operator can act: status 2),
    # or a fault of Hali's own (status 1; its traceback is logged at DEBUG, HALI_LOG_LEVEL=DEBUG).
    try:
        return _main(args, settings)
    except KeyboardInterrupt:
        return 130
    except (SQLAlchemyError, OSError, sqlite3.Error) as exc:
        print(f"hali: error: the store cannot be used: {_reason(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:
        logging.getLogger(__name__).debug("internal error", exc_info=exc)
        print(f"hali: internal error: {type(exc).__name__}: {_first_line(str(exc))}", file=sys.stderr)
        return EXIT_INTERNAL


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


def _main(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "run":
        if settings.token is None:
            print(NO_TOKEN, file=sys.stderr)
            return EXIT_USAGE
        from bot.run import run_bot

        return run_bot(settings)
    if args.command == "dispatch":
        if settings.token is None:
            print(NO_TOKEN, file=sys.stderr)
            return EXIT_USAGE
        return asyncio.run(cli_notify.dispatch(settings))
    if args.command == "catalog" and getattr(args, "path", None) is not None and not Path(args.path).is_file():
        print(f"hali: error: no catalogue file at {args.path}", file=sys.stderr)
        return EXIT_USAGE
    if args.command == "catalog" and getattr(args, "path", None) is not None:
        args.path = str(Path(args.path).resolve())  # recorded as the catalogue in force
    try:
        return asyncio.run(_dispatch(args, settings))
    except UsageError as exc:
        print(f"hali: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (CatalogError, MissingCatalogError) as exc:
        print(f"hali: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


async def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    store = make_store(settings)  # an operator's resolve from the command line tells the reporters too
    try:
        if args.command == "db":
            await store.upgrade()
            print("schema is up to date")
            return 0
        if args.command == "catalog":
            await store.upgrade()
            if args.action == "show":
                return await _catalog_show(store)
            return await _catalog_load(store, args.path)
        await ensure_ready(store)
        if args.command in cli_operations.COMMANDS:
            try:
                return await cli_operations.dispatch(store, args)
            except cli_operations.OperationsUsageError as exc:
                raise UsageError(str(exc)) from None
        handler: Callable[[Store, argparse.Namespace], Awaitable[int]] = {
            "ask": lambda s, a: _ask(s, a, settings),
            "chat": lambda s, a: _chat(s, a, settings),
            "services": lambda s, a: _services(s, a, settings),
            "incident": _incident,
            "reports": lambda s, a: cli_reports.run(s, a, settings, UsageError),
            "outbox": cli_notify.outbox,
            "sending": lambda s, a: cli_notify.sending(s, a, settings),
            "token": lambda s, a: cli_tokens.run(s, a, UsageError),
        }[args.command]
        return await handler(store, args)
    finally:
        await store.close()


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


def _engine(store: Store, settings: Settings) -> Engine:
    return assemble(settings, store, cache_seconds=0).engine


async def _ask(store: Store, args: argparse.Namespace, settings: Settings) -> int:
    answer = await _engine(store, settings).answer(args.text, stored_language=args.lang)
    if args.json:
        print(json.dumps(answer.as_json(), ensure_ascii=False))
    else:
        print(answer.reply.plain)
    return 0


async def _chat(store: Store, args: argparse.Namespace, settings: Settings) -> int:
    engine = _engine(store, settings)
    lang: str | None = args.lang
    print(translator(lang or "en")._("Hali: ask about a government e-service. Ctrl-D or /quit to leave."))
    loop = asyncio.get_running_loop()
    while True:
        try:
            line = await loop.run_in_executor(None, input, "> ")
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        line = line.strip()
        if not line:
            continue
        if line in ("/quit", "/exit"):
            return 0
        command, _, rest = line.partition(" ")
        current = lang or "en"
        if command == "/services":
            print((await engine.services_list(current)).plain)
        elif command == "/status":
            print((await engine.status(rest, current))[1].plain)
        elif command in ("/language", "/lugha") and rest.strip() in LANGUAGES:
            lang = rest.strip()
        else:
            answer = await engine.answer(line, stored_language=lang)
            print(answer.reply.plain)
        print()


async def _services(store: Store, args: argparse.Namespace, settings: Settings) -> int:
    snapshot = await assemble(settings, store, cache_seconds=0).board.snapshot()
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


def _text(en: str | None, sw: str | None) -> Text | None:
    if en is None:
        if sw is not None:
            raise UsageError("a Swahili text needs the English one too (--message with --message-sw)")
        return None
    return Text(en, sw)


async def _incident(store: Store, args: argparse.Namespace) -> int:
    actor = "cli"
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


if __name__ == "__main__":
    raise SystemExit(main())
