"""The bots of the throughput benchmark, each run as a process of its own.

    python -m benchmarks.bots hali --api URL --db URL --concurrency N
    python -m benchmarks.bots echo --api URL --concurrency N
    python -m benchmarks.bots card --api URL --concurrency N --card FILE
    python -m benchmarks.bots echo --api URL --concurrency N --transport hali

* ``hali`` is ``hali run`` (the same ``run_bot``, logging set up as the CLI sets it up) without the
  automatic-check runner, which would probe the real sites. Every message still goes through the send
  budget (shared through the store); ``--send-rate`` sets its limit.
* ``echo`` is a bare python-telegram-bot echo bot: one text handler that sends the text back.
* ``card`` is a bare python-telegram-bot bot that answers every text with one fixed status card (HTML,
  inline buttons) read from FILE: what sending a card costs by itself.
* The bare bots use python-telegram-bot's own transport (HTTPX), unless ``--transport hali`` gives
  them the one Hali uses (``bot/telegram/transport.py``): what Hali costs over a bare bot, transport
  aside.

Each polls the Bot API at URL until SIGTERM or SIGINT. The bare bots log as Hali does (INFO, httpx
quietened), so that both pay for the same log lines.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Update
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters

from bot.cli import configure_logging
from bot.config import Settings
from bot.telegram.app import ALLOWED_UPDATES
from bot.telegram.transport import bot_api_requests
from hali_dev.botapi import TOKEN


def run_hali(args: argparse.Namespace) -> int:
    from bot.run import run_bot

    # The rest of the settings from the environment (HALI_PAID_BROADCAST, HALI_BROADCAST_RATE…).
    settings = Settings.from_env({**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": args.api,
                                  "DATABASE_URL": args.db, "HALI_POLL_TIMEOUT": str(args.poll_timeout),
                                  "HALI_SEND_RATE": str(args.send_rate)})
    configure_logging(settings, "run")
    return run_bot(settings, checks=False, concurrent_updates=args.concurrency)


def run_bare(args: argparse.Namespace) -> int:
    configure_logging(Settings(), "run")
    if args.bot == "echo":
        async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            assert update.message is not None and update.message.text is not None
            await update.message.reply_text(update.message.text)
    else:
        card: dict[str, Any] = json.loads(Path(args.card).read_text())
        html = card["html"]
        markup = InlineKeyboardMarkup([[InlineKeyboardButton(**button) for button in row] for row in card["keyboard"]])
        no_preview = LinkPreviewOptions(is_disabled=True)

        async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            assert update.message is not None
            await update.message.reply_html(html, reply_markup=markup, link_preview_options=no_preview)

    builder = ApplicationBuilder().token(TOKEN).base_url(args.api).concurrent_updates(args.concurrency)
    if args.transport == "hali":
        for name, request in bot_api_requests().items():
            builder = getattr(builder, name)(request)
    app = builder.build()
    app.add_handler(MessageHandler(filters.TEXT, answer))
    app.run_polling(allowed_updates=ALLOWED_UPDATES, timeout=args.poll_timeout, drop_pending_updates=False)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("bot", choices=("hali", "echo", "card"))
    parser.add_argument("--api", required=True, help="the Bot API base URL, ending in /bot")
    parser.add_argument("--concurrency", type=int, required=True)
    parser.add_argument("--poll-timeout", type=int, default=Settings().poll_timeout_seconds)
    parser.add_argument("--db", help="hali: DATABASE_URL")
    parser.add_argument("--send-rate", type=float, default=100_000.0,
                        help="hali: HALI_SEND_RATE (default: above what the machine can send, so the budget "
                             "does all its work without holding anything back)")
    parser.add_argument("--card", help="card: a JSON file with the card's html and keyboard rows")
    parser.add_argument("--transport", choices=("ptb", "hali"),
                        help="echo and card: python-telegram-bot's own transport, or Hali's")
    args = parser.parse_args(argv)
    if args.bot == "hali" and not args.db:
        parser.error("hali needs --db")
    if args.bot == "card" and not args.card:
        parser.error("card needs --card")
    if args.bot == "hali" and args.transport:
        parser.error("hali always uses its own transport")
    return run_hali(args) if args.bot == "hali" else run_bare(args)


if __name__ == "__main__":
    raise SystemExit(main())
