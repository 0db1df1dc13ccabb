"""Everything Hali sends to Telegram: each send and edit an item of the one send budget.

* `Outbound` is what handlers use: `send`, `edit` and `edit_markup` queue an item and return at once
  (the handler's work is done; the update is marked done when its items are sent); `answer` answers a
  button press immediately, outside the budget, because it is not a message and Telegram gives it
  only seconds.
* An answer waits at most HALI_REPLY_MAX_WAIT from the moment its update arrived; the update's
  `Ticket` (a context variable set by the inbox worker) carries that moment and collects the items.
* Edits of one message coalesce (several Refresh presses make one edit); a card for the same service
  and language to one chat coalesces too (three questions while the first answer waits, one card).
* `BudgetLimiter` is python-telegram-bot's rate-limiter hook: a message sent any other way still goes
  through the budget (and waits for it), so nothing bypasses the limits by accident.
* `classify` turns Telegram's errors into the budget's: 429 → Throttled, blocked / not found →
  ChatGone, network and 5xx → Transient, any other 400 → Rejected.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Coroutine, Hashable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import BaseRateLimiter, ExtBot

from bot.core.budget import (
    ChatGone,
    Monotonic,
    Outgoing,
    Priority,
    Rejected,
    SendBudget,
    SendError,
    Throttled,
    Transient,
)
from bot.core.reply import Button, Reply
from bot.telegram.transport import AiohttpRequest

log = logging.getLogger(__name__)

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
PERMITTED: dict[str, Any] = {"hali": "permitted"}  # rate_limit_args of a request the budget let through

# Forbidden (403) wordings that mean the chat is gone for good. Any other 403 is retried.
GONE_403 = ("bot was blocked by the user", "user is deactivated", "bot was kicked")
GONE_400 = ("chat not found",)
# Endpoints that put a message in a chat or change one: the ones Telegram's limits count.
MESSAGE_ENDPOINTS = frozenset({
    "sendMessage", "editMessageText", "editMessageReplyMarkup", "editMessageCaption", "sendPhoto",
    "sendDocument", "sendSticker", "sendVideo", "sendVoice", "sendAudio", "sendAnimation", "sendLocation",
    "sendContact", "sendPoll", "sendDice", "sendMediaGroup", "copyMessage", "forwardMessage",
})


# --- keyboards -----------------------------------------------------------------------------------


class _Keyboard(InlineKeyboardMarkup):
    """An inline keyboard that keeps its JSON form: the same few keyboards go out all day."""

    __slots__ = ("_as_dict",)

    def __init__(self, rows: Sequence[Sequence[InlineKeyboardButton]]) -> None:
        super().__init__(rows)
        with self._unfrozen():
            self._as_dict = super().to_dict()

    def to_dict(self, recursive: bool = True) -> dict[str, Any]:
        if not recursive:
            return super().to_dict(recursive=False)
        # A fresh copy each time: whoever serialises it may not change the kept one.
        return {"inline_keyboard": [[dict(button) for button in row] for row in self._as_dict["inline_keyboard"]]}


@lru_cache(maxsize=4096)
def _keyboard(rows: tuple[tuple[Button, ...], ...]) -> InlineKeyboardMarkup:
    return _Keyboard([[InlineKeyboardButton(b.text, callback_data=b.data, url=b.url) for b in row] for row in rows])


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    return _keyboard(reply.buttons) if reply.buttons else None


def markup_of(rows: tuple[tuple[Button, ...], ...]) -> InlineKeyboardMarkup:
    return _keyboard(rows)


# --- Telegram's errors, sorted ---------------------------------------------------------------------


def classify(exc: TelegramError) -> SendError:
    """What a failed request means for the budget and the dispatcher."""
    reason = (exc.message or type(exc).__name__)[:200]
    if isinstance(exc, RetryAfter):
        wait = exc.retry_after
        return Throttled(wait.total_seconds() if isinstance(wait, timedelta) else float(wait))
    if isinstance(exc, Forbidden):
        return ChatGone(reason) if any(w in reason.lower() for w in GONE_403) else Transient(reason)
    if isinstance(exc, BadRequest):
        return ChatGone(reason) if any(w in reason.lower() for w in GONE_400) else Rejected(reason)
    return Transient(reason)  # NetworkError (5xx, time-outs, connections), an invalid token…


async def _classified(call: Callable[[], Awaitable[Any]]) -> Any:
    try:
        return await call()
    except TelegramError as exc:
        raise classify(exc) from exc


def telegram_error(exc: BaseException) -> BaseException:
    """The Telegram error behind a budget's SendError, when there is one (for PTB's callers)."""
    cause = exc.__cause__
    return cause if isinstance(exc, SendError) and isinstance(cause, TelegramError) else exc


# --- the update being answered ---------------------------------------------------------------------


@dataclass
class Ticket:
    """The update being handled: when it arrived (monotonic) and the messages it asked for."""

    received: float
    update_id: int = 0
    sent: list[asyncio.Future[Any]] = field(default_factory=list)


current_ticket: ContextVar[Ticket | None] = ContextVar("hali_ticket", default=None)


# --- sending -----------------------------------------------------------------------------------------


class Outbound:
    """Queue messages for a chat through the budget; see the module docstring."""

    def __init__(self, bot: ExtBot[Any], budget: SendBudget, *, reply_max_wait: float = 600.0,
                 monotonic: Monotonic = time.monotonic) -> None:
        self.bot = bot
        self.budget = budget
        self.reply_max_wait = reply_max_wait
        self.monotonic = monotonic

    def _submit(self, chat_id: int, call: Callable[[], Coroutine[Any, Any, Any]], *, key: Hashable | None,
                priority: Priority, what: str) -> asyncio.Future[Any]:
        ticket = current_ticket.get()
        start = ticket.received if ticket is not None else self.monotonic()
        future = self.budget.submit(Outgoing(
            chat_id, lambda: _classified(call), priority=priority, key=key, deadline=start + self.reply_max_wait,
            what=what, since=start, rank=ticket.update_id if ticket is not None else 0))
        if ticket is not None:
            ticket.sent.append(future)
        return future

    def send(self, chat_id: int, reply: Reply, *, reply_to: int | None = None, key: Hashable | None = None,
             priority: Priority = Priority.ANSWER, what: str = "answer") -> asyncio.Future[Any]:
        """A new message; `key` coalesces it with a queued one of the same chat and key."""
        return self._submit(chat_id, lambda: self._send_now(chat_id, reply, reply_to), key=key,
                            priority=priority, what=what)

    def edit(self, chat_id: int, message_id: int, reply: Reply, *, what: str = "edit") -> asyncio.Future[Any]:
        """Replace a message's text and buttons; a message that cannot be edited gets a new one instead."""
        async def call() -> Any:
            try:
                return await self.bot.edit_message_text(
                    reply.html, chat_id=chat_id, message_id=message_id, parse_mode=ParseMode.HTML,
                    reply_markup=keyboard(reply), link_preview_options=NO_PREVIEW, rate_limit_args=PERMITTED)
            except BadRequest as exc:
                text = exc.message.lower()
                if "not modified" in text:
                    return None
                if "can't be edited" in text or "not found" in text:
                    # Nothing was changed, so nothing was counted: the new message takes the permit.
                    return await self._send_now(chat_id, reply, None)
                raise

        return self._submit(chat_id, call, key=("edit", message_id), priority=Priority.ANSWER, what=what)

    def edit_markup(self, chat_id: int, message_id: int, rows: tuple[tuple[Button, ...], ...], *,
                    what: str = "button change") -> asyncio.Future[Any]:
        async def call() -> Any:
            try:
                return await self.bot.edit_message_reply_markup(
                    chat_id=chat_id, message_id=message_id, reply_markup=markup_of(rows), rate_limit_args=PERMITTED)
            except BadRequest as exc:
                if "not modified" in exc.message.lower():
                    return None
                raise

        return self._submit(chat_id, call, key=("markup", message_id), priority=Priority.ANSWER, what=what)

    async def answer(self, query_id: str, text: str | None = None, *, alert: bool = False,
                     url: str | None = None) -> None:
        """Answer a button press now (it is not a message; Telegram waits only seconds for it)."""
        try:
            await self.bot.answer_callback_query(query_id, text=text[:200] if text else None, show_alert=alert,
                                                 url=url, rate_limit_args=PERMITTED)
        except BadRequest as exc:
            if "query is too old" in exc.message.lower() or "query id is invalid" in exc.message.lower():
                log.info("a button's answer came too late for Telegram")
                return
            raise
        except NetworkError:
            log.warning("could not answer a button press", exc_info=True)

    async def _send_now(self, chat_id: int, reply: Reply, reply_to: int | None) -> Any:
        return await self.bot.send_message(
            chat_id, reply.html, parse_mode=ParseMode.HTML, reply_markup=keyboard(reply),
            link_preview_options=NO_PREVIEW, rate_limit_args=PERMITTED,
            reply_parameters=ReplyParameters(reply_to, allow_sending_without_reply=True) if reply_to else None)


class BudgetLimiter(BaseRateLimiter[dict[str, Any]]):
    """python-telegram-bot's rate-limiter hook: a message sent around `Outbound` still waits its turn."""

    def __init__(self, budget: SendBudget, *, max_wait: float = 600.0, monotonic: Monotonic = time.monotonic) -> None:
        self.budget = budget
        self.max_wait = max_wait
        self.monotonic = monotonic

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def process_request(
        self, callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any, kwargs: dict[str, Any], endpoint: str, data: dict[str, Any],
        rate_limit_args: dict[str, Any] | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        if rate_limit_args is PERMITTED or rate_limit_args == PERMITTED or endpoint not in MESSAGE_ENDPOINTS:
            return await callback(*args, **kwargs)
        chat = data.get("chat_id")
        chat_id = chat if isinstance(chat, int) else 0
        ticket = current_ticket.get()
        start = ticket.received if ticket is not None else self.monotonic()
        try:
            result: bool | dict[str, Any] | list[dict[str, Any]] = await self.budget.send(Outgoing(
                chat_id, lambda: _classified(lambda: callback(*args, **kwargs)),
                deadline=start + self.max_wait, what=endpoint))
        except SendError as exc:
            raise telegram_error(exc) from None
        return result


# --- the dispatcher's sender -----------------------------------------------------------------------------


def pool_size(rate: float, inflight: int) -> int:
    """Connections for the dispatcher's bot: every send in flight gets one, plus a spare few."""
    return max(4, inflight + 4, math.ceil(rate / 50))


class TelegramSender:
    """`send` as the dispatcher wants it: returns on success, raises a classified SendError otherwise.

    The dispatcher has a `telegram.Bot` of its own, whose connection pool is sized for the broadcast
    rate: the Application's bot is tuned for answering updates and must not be starved by a fan-out.
    The dispatcher hands every call to the send budget before it reaches this class.
    """

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
        except TelegramError as exc:
            raise classify(exc) from exc
