"""Webhook mode: Telegram posts each update to HALI_WEBHOOK_URL, and the inbox keeps it before the 200.

The same crash-safe path as long polling (`bot/telegram/inbox.py`): an update is kept in the store's
inbox first, and only then is Telegram told it arrived; the InboxWorker answers it from there, in order
within its chat. Telegram delivers at least once, to whichever replica the load balancer picks: a second
delivery of an update the inbox already has (pending or done) is answered 200 and not handled again.

A request without the right `X-Telegram-Bot-Api-Secret-Token` gets 401 (missing) or 403 (wrong) and is
not read; a body that is not an update gets 400 (Telegram does not redeliver 4xx answers, and an
unreadable update would only come back); a store that cannot keep it gets 503, and Telegram tries again,
unless the receiver has `direct`: then the update is answered from memory and confirmed with 200, as
long polling does (`bot/telegram/inbox.py`), so no one waits on a store that is away.
Nothing about the citizen is logged: only the outcome, counted in the metrics.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import Any

from aiohttp import web
from telegram import Bot

from bot.config import Settings
from bot.store.errors import STORE_FAILURES
from bot.store.inbox import Inbox

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class Outcome(StrEnum):
    """What became of one webhook request; the `outcome` label of hali_webhook_requests_total."""

    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    NO_SECRET = "no_secret"
    WRONG_SECRET = "wrong_secret"
    MALFORMED = "malformed"
    STORE_ERROR = "store_error"
    FROM_MEMORY = "from_memory"  # the store could not keep it: handed to the worker in memory


class WebhookReceiver:
    """The aiohttp handler of the webhook path: check the secret, read the update, keep it, answer."""

    def __init__(self, inbox: Inbox, secret: str, on_new: Callable[[], None],
                 count: Callable[[Outcome], None] | None = None,
                 direct: Callable[[Sequence[dict[str, Any]]], None] | None = None) -> None:
        self.inbox = inbox
        self.direct = direct
        self.degraded = False  # the last update went to `direct`
        self._secret = secret.encode()
        self.on_new = on_new
        self.count = count or (lambda outcome: None)

    async def handle(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER)
        if given is None:
            return self._answer(Outcome.NO_SECRET, 401)
        if not hmac.compare_digest(given.encode(), self._secret):
            return self._answer(Outcome.WRONG_SECRET, 403)
        update = parse_update(await request.read())
        if update is None:
            return self._answer(Outcome.MALFORMED, 400)
        try:
            fresh = await self.inbox.add([update])
        except Exception as exc:
            if self.direct is not None and isinstance(exc, STORE_FAILURES):
                if not self.degraded:
                    self.degraded = True
                    log.warning("the store did not keep a webhook update (%s); answering updates from memory "
                                "until it does", type(exc).__name__)
                self.direct([update])
                return self._answer(Outcome.FROM_MEMORY, 200)
            # The type only: a database error's text may carry the update's contents.
            log.warning("could not keep a webhook update in the store (%s); Telegram will send it again",
                        type(exc).__name__)
            return self._answer(Outcome.STORE_ERROR, 503)
        if self.degraded:
            self.degraded = False
            log.info("the store keeps webhook updates again")
        if not fresh:
            return self._answer(Outcome.DUPLICATE, 200)
        self.on_new()
        return self._answer(Outcome.ACCEPTED, 200)

    def _answer(self, outcome: Outcome, status: int) -> web.Response:
        self.count(outcome)
        return web.json_response({"ok": status == 200, "outcome": outcome.value}, status=status)


def parse_update(body: bytes) -> dict[str, Any] | None:
    """The update in a webhook body, or None when it is not one: an object with a whole-number update_id
    and at least one object beside it (the message, the button press…)."""
    try:
        update = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(update, dict):
        return None
    update_id = update.get("update_id")
    if type(update_id) is not int or update_id < 0:
        return None
    if not any(isinstance(value, dict) for key, value in update.items() if key != "update_id"):
        return None
    return update


async def register_webhook(bot: Bot, settings: Settings, allowed_updates: Sequence[str]) -> None:
    """At start-up, webhook mode: tell Telegram where to post, with the secret and what to send."""
    assert settings.webhook_url is not None and settings.webhook_secret is not None
    await bot.set_webhook(url=settings.webhook_url, secret_token=settings.webhook_secret,
                          allowed_updates=list(allowed_updates),
                          max_connections=settings.webhook_max_connections)
    log.info("Telegram posts updates to the webhook (up to %d connections at once)",
             settings.webhook_max_connections)


async def drop_webhook(bot: Bot) -> None:
    """At start-up, long polling: a webhook left from an earlier deployment would make getUpdates fail (409)."""
    await bot.delete_webhook(drop_pending_updates=False)
