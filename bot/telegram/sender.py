"""Sending notifications through the Bot API, with Telegram's errors sorted into what to do next.

The dispatcher has a `telegram.Bot` of its own, whose connection pool (bot/telegram/transport.py) is
sized for the broadcast rate: the Application's bot is tuned for answering updates and must not be
starved by a fan-out, nor the other way round.
"""

from __future__ import annotations

import math
from datetime import timedelta

from telegram import Bot
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.core.dispatcher import ChatGone, Rejected, Throttled, Transient
from bot.render import Reply
from bot.telegram.handlers import NO_PREVIEW, keyboard
from bot.telegram.transport import AiohttpRequest

# Forbidden (403) wordings that mean the chat is gone for good. Any other 403 is retried.
GONE_403 = ("bot was blocked by the user", "user is deactivated", "bot was kicked")
GONE_400 = ("chat not found",)


def pool_size(rate: float, inflight: int) -> int:
    """Connections for the dispatcher's bot: every send in flight gets one, plus a spare few."""
    return max(4, inflight + 4, math.ceil(rate / 50))


class TelegramSender:
    """`send` as the dispatcher wants it: returns on success, raises a classified SendError otherwise."""

    def __init__(self, bot: Bot, *, paid_broadcast: bool = False) -> None:
        self.bot = bot
        self.paid_broadcast = paid_broadcast

    @classmethod
    def create(cls, token: str, base_url: str, *, connections: int, paid_broadcast: bool = False,
               timeout: float = 15.0) -> TelegramSender:
        request = AiohttpRequest(
            connection_pool_size=connections, pool_timeout=timeout, read_timeout=timeout,
            write_timeout=timeout, connect_timeout=timeout,
        )
        return cls(Bot(token, base_url=base_url, request=request), paid_broadcast=paid_broadcast)

    async def start(self) -> None:
        await self.bot.initialize()

    async def close(self) -> None:
        await self.bot.shutdown()

    async def send(self, chat_id: int, reply: Reply) -> None:
        try:
            await self.bot.send_message(
                chat_id, reply.html, parse_mode=ParseMode.HTML, reply_markup=keyboard(reply),
                link_preview_options=NO_PREVIEW,
                allow_paid_broadcast=True if self.paid_broadcast else None,
            )
        except RetryAfter as exc:
            wait = exc.retry_after
            raise Throttled(wait.total_seconds() if isinstance(wait, timedelta) else float(wait)) from exc
        except Forbidden as exc:
            reason = _reason(exc)
            if any(w in reason.lower() for w in GONE_403):
                raise ChatGone(reason) from exc
            raise Transient(reason) from exc
        except BadRequest as exc:
            reason = _reason(exc)
            if any(w in reason.lower() for w in GONE_400):
                raise ChatGone(reason) from exc
            raise Rejected(reason) from exc
        except NetworkError as exc:  # 5xx, time-outs, connection errors
            raise Transient(_reason(exc)) from exc
        except TelegramError as exc:  # e.g. an invalid token: nothing to do per message
            raise Transient(_reason(exc)) from exc


def _reason(exc: TelegramError) -> str:
    return (exc.message or type(exc).__name__)[:200]
