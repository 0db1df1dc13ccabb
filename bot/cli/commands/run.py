"""`hali run` (the bot) and `hali dispatch` (one more notification dispatcher)."""

from __future__ import annotations

import argparse
import sys

from bot.cli.base import EXIT_USAGE, Command, Context, no_arguments
from bot.i18n import load_translators

NO_TOKEN = """\
hali: TELEGRAM_BOT_TOKEN is not set.
Get a token from @BotFather on Telegram (send it /newbot), then:
    export TELEGRAM_BOT_TOKEN=123456789:AA...
    hali run
To try Hali without Telegram, run:  hali chat"""


async def run(ctx: Context, args: argparse.Namespace) -> int:
    """Start the Telegram bot: long polling, or webhook mode with HALI_WEBHOOK_URL."""
    if ctx.settings.token is None:
        print(NO_TOKEN, file=sys.stderr)
        return EXIT_USAGE
    from bot.run import serve

    load_translators()  # fail now, not at the first message, if a catalog is missing
    await serve(ctx.settings)
    return 0


async def dispatch(ctx: Context, args: argparse.Namespace) -> int:
    """Dispatch until SIGINT/SIGTERM; then finish the sends under way and give the rest back."""
    if ctx.settings.token is None:
        print(NO_TOKEN, file=sys.stderr)
        return EXIT_USAGE
    from bot.run import dispatch as run_dispatcher

    return await run_dispatcher(ctx.settings)


COMMANDS = [
    Command("run", "start the Telegram bot (long polling, or webhook with HALI_WEBHOOK_URL)", no_arguments, run,
            store="none"),
    Command("dispatch", "run one more notification dispatcher (scaling out on PostgreSQL)", no_arguments, dispatch,
            store="none"),
]
