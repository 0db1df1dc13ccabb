"""`hali ask` (one answer) and `hali chat` (a conversation in the terminal): the bot without Telegram."""

from __future__ import annotations

import argparse
import asyncio
import json

from bot.app import assemble
from bot.cli.base import Command, Context
from bot.i18n import LANGUAGES, translator
from bot.services.answers import Engine


def _engine(ctx: Context) -> Engine:
    return assemble(ctx.settings, ctx.store, cache_seconds=0).engine


async def ask(ctx: Context, args: argparse.Namespace) -> int:
    """One answer from the bot's engine."""
    answer = await _engine(ctx).answer(args.text, stored_language=args.lang)
    if args.json:
        print(json.dumps(answer.as_json(), ensure_ascii=False))
    else:
        print(answer.reply.plain)
    return 0


async def chat(ctx: Context, args: argparse.Namespace) -> int:
    """A conversation in the terminal."""
    engine = _engine(ctx)
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


def _ask_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("text")
    parser.add_argument("--lang", choices=LANGUAGES)
    parser.add_argument("--json", action="store_true")


def _chat_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lang", choices=LANGUAGES)


COMMANDS = [
    Command("ask", "one answer from the bot's engine", _ask_arguments, ask),
    Command("chat", "talk to Hali in the terminal", _chat_arguments, chat),
]
