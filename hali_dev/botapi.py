"""A local fake of the Telegram Bot API, strict where Telegram is strict.

``FakeBotAPI`` is a real aiohttp server on 127.0.0.1 that PTB can use as its ``base_url``::

    async with FakeBotAPI() as api:
        app = ApplicationBuilder().token(TOKEN).base_url(api.base_url).build()
        api.command(42, "start")
        ...
        await api.wait_for(1)

With ``setWebhook`` it delivers updates as Telegram does instead: each pushed update is POSTed to the
webhook URL (with ``X-Telegram-Bot-Api-Secret-Token`` when a secret was set, up to ``max_connections``
at once) until it is answered 2xx, and sent again after a failure or a time-out; ``getUpdates`` is
refused (409) while a webhook is set. ``webhook_deliveries`` records every attempt.

For benchmarks it also runs in a thread (``FakeBotAPI().run_in_thread()``) or as a process
(``python -m hali_dev.botapi --port 8081``), where ``/_fake/...`` endpoints push updates
and read back what the bot sent.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import functools
import itertools
import json
import math
import re
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, ParamSpec, TypeVar

import aiohttp
from aiohttp import web

from hali_dev.telegram_html import EntityParseError, parse_html, strip_outer_whitespace, utf16_len

__all__ = [
    "TOKEN",
    "ApiError",
    "FakeBotAPI",
    "RequestRecord",
    "SentRecord",
    "Stats",
    "ThreadedFakeBotAPI",
    "WebhookDelivery",
]

TOKEN = "123456789:AAHfakeHaliT0kenForLocalTests-01234"
_TOKEN_RE = re.compile(r"[0-9]{1,20}:[A-Za-z0-9_-]{35}")

MAX_MESSAGE_LENGTH = 4096
MAX_CALLBACK_ANSWER_LENGTH = 200
MAX_CALLBACK_DATA_BYTES = 64
MAX_INLINE_BUTTONS = 100

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
CONFLICT = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
)
_WEBHOOK_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")

# What Telegram delivers when allowed_updates is empty or was never given.
DEFAULT_ALLOWED_UPDATES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_BUTTON_ACTION_SET = frozenset(_BUTTON_ACTIONS)
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_RECORDED_METHODS = frozenset({"sendMessage", "editMessageText", "editMessageReplyMarkup", "answerCallbackQuery"})

P = ParamSpec("P")
R = TypeVar("R")


class ApiError(Exception):
    """An error answer: HTTP status ``error_code`` with Telegram's ``description``."""

    def __init__(self, error_code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after

    def envelope(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.error_code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


@dataclass(slots=True)
class SentRecord:
    """One successful sendMessage / editMessageText / editMessageReplyMarkup / answerCallbackQuery."""

    method: str
    chat_id: int | None
    text: str | None = None  # as the bot sent it, markup included
    parse_mode: str | None = None
    reply_markup: dict[str, Any] | None = None
    message_id: int | None = None
    timestamp: float = field(default_factory=time.time)  # when the fake accepted it
    plain_text: str | None = None  # what the user sees: tags removed, entities decoded
    entities: list[dict[str, Any]] = field(default_factory=list)
    callback_query_id: str | None = None
    show_alert: bool = False
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class RequestRecord:
    """Any call to the API, failed ones included."""

    method: str
    params: dict[str, Any]
    ok: bool
    timestamp: float
    error_code: int | None = None
    description: str | None = None
    retry_after: int | None = None


@dataclass(slots=True)
class Stats:
    """Counters kept for every request."""

    requests: int = 0
    ok: int = 0
    errors: int = 0
    too_many_requests: int = 0
    by_method: Counter[str] = field(default_factory=Counter)
    by_error_code: Counter[int] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly copy."""
        data = asdict(self)
        data["by_method"] = dict(self.by_method)
        data["by_error_code"] = {str(k): v for k, v in self.by_error_code.items()}
        return data


@dataclass(slots=True)
class WebhookDelivery:
    """One attempt to deliver an update to the webhook: the HTTP status, or None for no answer."""

    update_id: int
    status: int | None
    timestamp: float
    error: str | None = None


@dataclass(slots=True)
class _Webhook:
    url: str
    secret: str | None
    max_connections: int
    allowed_updates: frozenset[str]
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass(slots=True)
class _Failure:
    error_code: int
    description: str
    retry_after: int | None
    times: int


@dataclass(slots=True)
class _StoredMessage:
    message: dict[str, Any]
    from_bot: bool
    text: str
    entities: list[dict[str, Any]]
    reply_markup: dict[str, Any] | None


# ----------------------------------------------------------------------------------------------
# Parameter access. PTB posts form fields where strings are raw and everything else is JSON;
# a JSON body carries typed values. These helpers accept both.


def _param_str(params: dict[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value)


def _param_int(params: dict[str, Any], name: str, default: int | None = None) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    try:
        return int(str(value).strip())
    except ValueError:
        raise _bad(f"invalid {name} specified") from None


def _param_float(params: dict[str, Any], name: str, default: float) -> float:
    value = params.get(name)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        raise _bad(f"invalid {name} specified") from None


def _param_bool(params: dict[str, Any], name: str) -> bool:
    value = params.get(name)
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1"}
    return bool(value)


def _param_json(params: dict[str, Any], name: str, what: str) -> Any:
    value = params.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise _bad(f"can't parse {what} JSON object") from None
    return value


# ----------------------------------------------------------------------------------------------


def _on_loop(method: Callable[P, R]) -> Callable[P, R]:
    """Run the call on the server's loop when made from another thread (thread-mode benchmarks)."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        api = args[0]
        assert isinstance(api, FakeBotAPI)
        loop = api._loop
        if loop is None or api._loop_thread == threading.get_ident() or loop.is_closed():
            return method(*args, **kwargs)
        future: concurrent.futures.Future[R] = concurrent.futures.Future()

        def call() -> None:
            try:
                future.set_result(method(*args, **kwargs))
            except BaseException as exc:
                future.set_exception(exc)

        loop.call_soon_threadsafe(call)
        return future.result(timeout=10)

    return wrapper


class FakeBotAPI:
    """A fake Telegram Bot API server; see the module docstring."""

    def __init__(
        self,
        *,
        token: str = TOKEN,
        username: str = "hali_test_bot",
        first_name: str = "Hali",
        host: str = "127.0.0.1",
        port: int = 0,
        global_rate: int | None = None,
        per_chat_rate: int | None = None,
        group_rate_per_minute: int | None = None,
        per_chat_burst: int | None = None,
        paid_rate: int | None = None,
        strict_html: bool = True,
        keep_requests: bool = True,
        webhook_timeout: float = 10.0,
        webhook_retry_delay: float = 0.2,
    ) -> None:
        if not _TOKEN_RE.fullmatch(token):
            raise ValueError(f"not a well-formed bot token: {token!r}")
        self.token = token
        self.host = host
        self.port = port
        self.global_rate = global_rate
        self.per_chat_rate = per_chat_rate
        self.group_rate_per_minute = group_rate_per_minute
        # With a burst, one chat's limit is a token bucket (`per_chat_burst` at once, then
        # `per_chat_rate` a second) instead of a sliding second.
        self.per_chat_burst = per_chat_burst
        # Paid broadcasts (allow_paid_broadcast) are not held to `global_rate` but to this, per second.
        self.paid_rate = paid_rate
        self._paid_window: deque[float] = deque()
        self.strict_html = strict_html
        self.keep_requests = keep_requests
        # Webhook delivery: how long an answer is awaited, and the pause before a failed update goes again.
        self.webhook_timeout = webhook_timeout
        self.webhook_retry_delay = webhook_retry_delay
        self.webhook_deliveries: list[WebhookDelivery] = []
        self._webhook: _Webhook | None = None
        self._webhook_tasks: list[asyncio.Task[None]] = []
        self._webhook_session: aiohttp.ClientSession | None = None
        self._delivering: set[int] = set()  # update ids in flight to the webhook
        self.bot_user: dict[str, Any] = {
            "id": int(token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": first_name,
            "username": username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self.sent: list[SentRecord] = []
        self.requests: list[RequestRecord] = []
        self.stats = Stats()
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.descriptions: dict[tuple[str, str], str] = {}
        self._updates: deque[dict[str, Any]] = deque()
        self._update_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._allowed_updates: frozenset[str] = DEFAULT_ALLOWED_UPDATES
        self._poll_generation = 0
        self._updates_changed = asyncio.Event()
        self._sent_changed = asyncio.Event()
        self._messages: dict[tuple[int, int], _StoredMessage] = {}
        self._next_message_id: dict[int, int] = {}
        self._chats: dict[int, dict[str, Any]] = {}
        self._blocked: set[int] = set()
        self._unknown: set[int] = set()
        self._callbacks: dict[str, int] = {}  # pending query id -> chat id
        self._failures: dict[str, deque[_Failure]] = {}
        self._global_window: deque[float] = deque()
        self._chat_windows: dict[int, deque[float]] = {}
        self._group_windows: dict[int, deque[float]] = {}
        self._chat_buckets: dict[int, tuple[float, float]] = {}  # chat -> (tokens, when)
        self._outage_until = 0.0
        self._outage_code = 502
        self._channel_members: dict[int, tuple[str, bool]] = {}
        self._members: dict[tuple[int, int], str] = {}  # (chat, user) -> status, for people in groups
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._runner: web.AppRunner | None = None
        self._handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            "getme": self._get_me,
            "getchat": self._get_chat,
            "getchatmember": self._get_chat_member,
            "logout": lambda p: True,
            "close": lambda p: True,
            "getupdates": self._get_updates,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "setmydescription": functools.partial(self._set_description, "description", 512),
            "getmydescription": functools.partial(self._get_description, "description"),
            "setmyshortdescription": functools.partial(self._set_description, "short_description", 120),
            "getmyshortdescription": functools.partial(self._get_description, "short_description"),
            "setmyname": functools.partial(self._set_description, "name", 64),
            "getmyname": functools.partial(self._get_description, "name"),
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "answercallbackquery": self._answer_callback_query,
            "sendchataction": self._send_chat_action,
            "deletemessage": self._delete_message,
        }
        self._canonical = {
            "sendmessage": "sendMessage",
            "editmessagetext": "editMessageText",
            "editmessagereplymarkup": "editMessageReplyMarkup",
            "answercallbackquery": "answerCallbackQuery",
        }

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        """Root URL of the server, e.g. ``http://127.0.0.1:PORT``."""
        if not self.port:
            raise RuntimeError("FakeBotAPI is not started")
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What to give PTB as ``base_url``; PTB appends the token and ``/method``."""
        return f"{self.url}/bot"

    @property
    def bot_id(self) -> int:
        """The bot's user id (the token's numeric prefix)."""
        return int(self.bot_user["id"])

    async def start(self) -> None:
        """Start serving on the running loop."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._stopping = False
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("*", "/_fake/{action}", self._control)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        site = web.SockSite(self._runner, sock, backlog=1024)
        await site.start()

    async def stop(self) -> None:
        """Stop serving; pending long polls return at once."""
        self._stopping = True
        self._wake_pollers()
        await self._stop_webhook()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeBotAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def run_in_thread(self) -> ThreadedFakeBotAPI:
        """Serve from a daemon thread with its own loop; returns once the port is bound."""
        handle = ThreadedFakeBotAPI(self)
        handle.start()
        return handle

    # ------------------------------------------------------------------ test controls

    @_on_loop
    def reset(self) -> None:
        """Forget sent messages, requests, stats, pending updates and injected failures."""
        self.sent.clear()
        self.requests.clear()
        self.webhook_deliveries.clear()
        self.stats = Stats()
        self._updates.clear()
        self._failures.clear()
        self._global_window.clear()
        self._chat_windows.clear()
        self._group_windows.clear()
        self._chat_buckets.clear()
        self._outage_until = 0.0

    @_on_loop
    def block(self, chat_id: int) -> None:
        """Every send to ``chat_id`` answers 403 "Forbidden: bot was blocked by the user"."""
        self._blocked.add(chat_id)

    @_on_loop
    def unblock(self, chat_id: int) -> None:
        """Undo :meth:`block`."""
        self._blocked.discard(chat_id)

    @_on_loop
    def unknown_chat(self, chat_id: int) -> None:
        """Every call naming ``chat_id`` answers 400 "Bad Request: chat not found"."""
        self._unknown.add(chat_id)

    @_on_loop
    def clear_failures(self) -> None:
        """Forget the failures injected with `fail_next` and end an `outage`."""
        self._failures.clear()
        self._outage_until = 0.0

    @_on_loop
    def add_channel(self, chat_id: int, *, username: str | None = None, title: str = "Hali status",
                    bot_status: str = "administrator", can_post: bool = True,
                    invite_link: str | None = None) -> None:
        """A channel the bot can be asked about (getChat, getChatMember) and, as an admin, post to."""
        chat: dict[str, Any] = {"id": chat_id, "type": "channel", "title": title}
        if username:
            chat["username"] = username
        if invite_link:
            chat["invite_link"] = invite_link
        self._chats[chat_id] = chat
        self._channel_members[chat_id] = (bot_status, can_post)

    @_on_loop
    def set_member(self, chat_id: int, user_id: int, status: str) -> None:
        """What getChatMember says of a person in a group: "creator", "administrator", "member"…"""
        if status not in ("creator", "administrator", "member"):
            raise ValueError(f"not a chat member status: {status!r}")
        self._members[(chat_id, user_id)] = status

    @_on_loop
    def outage(self, seconds: float, *, code: int = 502) -> None:
        """Every method answers `code` (5xx) for the next `seconds`, as during a Bot API outage."""
        self._outage_until = time.monotonic() + seconds
        self._outage_code = code

    @_on_loop
    def fail_next(
        self,
        method: str,
        error_code: int,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` ("*" for any) with this error."""
        if description is None:
            description = {
                400: "Bad Request",
                401: "Unauthorized",
                403: "Forbidden: bot was blocked by the user",
                404: "Not Found",
                409: CONFLICT,
                429: f"Too Many Requests: retry after {retry_after or 1}",
                500: "Internal Server Error",
                502: "Bad Gateway",
            }.get(error_code, "Error")
        if error_code == 429 and retry_after is None:
            stated = re.search(r"retry after (\d+)", description)
            retry_after = int(stated.group(1)) if stated else 1
        queue = self._failures.setdefault(method.lower(), deque())
        queue.append(_Failure(error_code, description, retry_after, times))

    # ------------------------------------------------------------------ inspection

    def messages_to(self, chat_id: int) -> list[SentRecord]:
        """The sendMessage records for ``chat_id``, oldest first."""
        return [r for r in self.sent if r.chat_id == chat_id and r.method == "sendMessage"]

    def records_for(self, chat_id: int) -> list[SentRecord]:
        """Every record (sends, edits, callback answers) concerning ``chat_id``."""
        return [r for r in self.sent if r.chat_id == chat_id]

    def message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """The current state of a message in a chat, as Telegram would describe it."""
        stored = self._messages.get((chat_id, message_id))
        return stored.message if stored else None

    def current_text(self, chat_id: int, message_id: int) -> str | None:
        """The visible text a message has now (after any edits)."""
        stored = self._messages.get((chat_id, message_id))
        return stored.text if stored else None

    @property
    def pending_updates(self) -> int:
        """Updates pushed but not yet confirmed with getUpdates' offset."""
        return len(self._updates)

    async def wait_for(
        self,
        what: int | Callable[[SentRecord], bool],
        timeout: float = 5.0,  # noqa: ASYNC109 - mirrors the familiar wait_for(..., timeout) shape
        *,
        count: int = 1,
    ) -> list[SentRecord]:
        """Wait until ``what`` records exist (an int) or ``count`` records match ``what``.

        Returns the matching records; raises TimeoutError listing what was sent otherwise.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if isinstance(what, int):
                if len(self.sent) >= what:
                    return list(self.sent)
            else:
                matches = [r for r in self.sent if what(r)]
                if len(matches) >= count:
                    return matches
            remaining = deadline - loop.time()
            if remaining <= 0:
                sent = [(r.method, r.chat_id, r.text) for r in self.sent]
                raise TimeoutError(f"nothing matching {what!r} within {timeout}s; sent so far: {sent}")
            event = self._sent_changed
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                pass

    # ------------------------------------------------------------------ update injection

    @_on_loop
    def push_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue a raw update for getUpdates; an ``update_id`` is assigned when missing."""
        if "update_id" not in update:
            update = {"update_id": next(self._update_ids), **update}
        self._updates.append(update)
        self._wake_pollers()
        return update

    @_on_loop
    def text_message(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        first_name: str = "Amina",
        last_name: str | None = None,
        language_code: str | None = None,
        chat_type: str = "private",
        entities: list[dict[str, Any]] | None = None,
        reply_to_message: dict[str, Any] | int | None = None,
        username: str | None = None,
        title: str | None = None,
    ) -> dict[str, Any]:
        """Push a text message from a user and return the update."""
        message = self._incoming(
            chat_id,
            user_id=user_id,
            first_name=first_name,
            last_name=last_name,
            language_code=language_code,
            chat_type=chat_type,
            username=username,
            title=title,
        )
        message["text"] = text
        if entities:
            message["entities"] = entities
        if reply_to_message is not None:
            message["reply_to_message"] = self._resolve_reply(chat_id, reply_to_message)
        self._store_incoming(message)
        return self.push_update({"message": message})

    @_on_loop
    def command(
        self,
        chat_id: int,
        command: str,
        args: str = "",
        *,
        mention_bot: bool = False,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Push ``/command args`` with its bot_command entity (``/command@bot`` when mention_bot)."""
        name = "/" + command.lstrip("/")
        if mention_bot:
            name += "@" + self.bot_user["username"]
        text = f"{name} {args}" if args else name
        entity = {"type": "bot_command", "offset": 0, "length": utf16_len(name)}
        return self.text_message(chat_id, text, entities=[entity], **kwargs)

    @_on_loop
    def group_message(
        self,
        chat_id: int,
        text: str,
        *,
        mention_bot: bool = False,
        chat_type: str = "supergroup",
        title: str = "Hali testers",
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Push a message in a group; with ``mention_bot`` it starts with ``@username``."""
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        if chat_type not in {"group", "supergroup"}:
            raise ValueError("chat_type must be 'group' or 'supergroup'")
        entities = list(kwargs.pop("entities", None) or [])
        if mention_bot:
            mention = "@" + self.bot_user["username"]
            shift = utf16_len(mention) + 1
            entities = [{**e, "offset": e["offset"] + shift} for e in entities]
            entities.insert(0, {"type": "mention", "offset": 0, "length": utf16_len(mention)})
            text = f"{mention} {text}"
        kwargs.setdefault("user_id", 1000 + abs(chat_id) % 100000)
        return self.text_message(chat_id, text, chat_type=chat_type, title=title, entities=entities or None, **kwargs)

    @_on_loop
    def edited_message(
        self,
        chat_id: int,
        message_id: int,
        text: str,
        *,
        user_id: int | None = None,
        first_name: str = "Amina",
        language_code: str | None = None,
        chat_type: str = "private",
        entities: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Push an edit of a user's earlier message."""
        stored = self._messages.get((chat_id, message_id))
        if stored is not None and not stored.from_bot:
            message = {**stored.message}
        else:
            message = self._incoming(
                chat_id,
                user_id=user_id,
                first_name=first_name,
                language_code=language_code,
                chat_type=chat_type,
                message_id=message_id,
            )
        message["text"] = text
        message.pop("entities", None)
        if entities:
            message["entities"] = entities
        message["edit_date"] = int(time.time())
        self._store_incoming(message)
        return self.push_update({"edited_message": message})

    @_on_loop
    def callback_query(
        self,
        chat_id: int,
        data: str,
        message_id: int,
        *,
        user_id: int | None = None,
        first_name: str = "Amina",
        language_code: str | None = None,
        username: str | None = None,
    ) -> dict[str, Any]:
        """Push a button press on the bot's message ``message_id``; returns the update."""
        stored = self._messages.get((chat_id, message_id))
        if stored is not None:
            message = stored.message
        else:
            message = {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": self._chat(chat_id),
                "from": self.bot_user,
                "text": "…",
            }
        query_id = f"{self.bot_id}{next(self._callback_ids):010d}"
        self._callbacks[query_id] = chat_id
        user = self._user(chat_id, user_id, first_name, None, language_code, username)
        query = {
            "id": query_id,
            "from": user,
            "message": message,
            "chat_instance": str(abs(hash((self.bot_id, chat_id))) % 10**18),
            "data": data,
        }
        return self.push_update({"callback_query": query})

    @_on_loop
    def sticker(self, chat_id: int, *, emoji: str = "👍", **kwargs: Any) -> dict[str, Any]:
        """Push a sticker message."""
        message = self._incoming(chat_id, **kwargs)
        file_id, unique_id = self._file_id("CAACAgQAAxkBAA")
        message["sticker"] = {
            "file_id": file_id,
            "file_unique_id": unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "set_name": "HaliTestStickers",
            "file_size": 23456,
        }
        self._store_incoming(message)
        return self.push_update({"message": message})

    @_on_loop
    def photo(self, chat_id: int, *, caption: str | None = None, **kwargs: Any) -> dict[str, Any]:
        """Push a photo message (three sizes, like Telegram sends)."""
        message = self._incoming(chat_id, **kwargs)
        sizes = []
        for width, height, size in ((90, 67, 1200), (320, 240, 15800), (1280, 960, 98000)):
            file_id, unique_id = self._file_id("AgACAgQAAxkBAA")
            sizes.append(
                {
                    "file_id": file_id,
                    "file_unique_id": unique_id,
                    "width": width,
                    "height": height,
                    "file_size": size,
                }
            )
        message["photo"] = sizes
        if caption is not None:
            message["caption"] = caption
        self._store_incoming(message)
        return self.push_update({"message": message})

    @_on_loop
    def voice(self, chat_id: int, *, duration: int = 3, **kwargs: Any) -> dict[str, Any]:
        """Push a voice note."""
        message = self._incoming(chat_id, **kwargs)
        file_id, unique_id = self._file_id("AwACAgQAAxkBAA")
        message["voice"] = {
            "file_id": file_id,
            "file_unique_id": unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": 4000 * duration,
        }
        self._store_incoming(message)
        return self.push_update({"message": message})

    # ------------------------------------------------------------------ builders' helpers

    def _file_id(self, prefix: str) -> tuple[str, str]:
        n = next(self._file_ids)
        return f"{prefix}{n:012d}", f"AQAD{n:08d}"

    def _next_id(self, chat_id: int) -> int:
        message_id = self._next_message_id.get(chat_id, 0) + 1
        self._next_message_id[chat_id] = message_id
        return message_id

    def _user(
        self,
        chat_id: int,
        user_id: int | None,
        first_name: str,
        last_name: str | None,
        language_code: str | None,
        username: str | None,
    ) -> dict[str, Any]:
        user: dict[str, Any] = {
            "id": user_id if user_id is not None else (chat_id if chat_id > 0 else 1000),
            "is_bot": False,
            "first_name": first_name,
        }
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        return user

    def _incoming(
        self,
        chat_id: int,
        *,
        user_id: int | None = None,
        first_name: str = "Amina",
        last_name: str | None = None,
        language_code: str | None = None,
        chat_type: str = "private",
        username: str | None = None,
        title: str | None = None,
        message_id: int | None = None,
    ) -> dict[str, Any]:
        user = self._user(chat_id, user_id, first_name, last_name, language_code, username)
        if chat_type == "private":
            if chat_id <= 0:
                raise ValueError("private chat ids are positive")
            chat: dict[str, Any] = {"id": chat_id, "type": "private", "first_name": first_name}
            if last_name:
                chat["last_name"] = last_name
            if username:
                chat["username"] = username
        else:
            chat = {"id": chat_id, "type": chat_type, "title": title or "Hali testers"}
        self._chats[chat_id] = chat
        return {
            "message_id": message_id if message_id is not None else self._next_id(chat_id),
            "from": user,
            "chat": chat,
            "date": int(time.time()),
        }

    def _store_incoming(self, message: dict[str, Any]) -> None:
        key = (message["chat"]["id"], message["message_id"])
        text = message.get("text", message.get("caption", ""))
        self._messages[key] = _StoredMessage(message, False, text, message.get("entities", []), None)

    def _resolve_reply(self, chat_id: int, reply: dict[str, Any] | int) -> dict[str, Any]:
        if isinstance(reply, dict):
            return reply
        stored = self._messages.get((chat_id, reply))
        if stored is None:
            raise KeyError(f"no message {reply} in chat {chat_id}")
        message = dict(stored.message)
        message.pop("reply_to_message", None)
        return message

    def _chat(self, chat_id: int) -> dict[str, Any]:
        chat = self._chats.get(chat_id)
        if chat is None:
            if chat_id > 0:
                chat = {"id": chat_id, "type": "private", "first_name": "User"}
            elif str(chat_id).startswith("-100"):
                chat = {"id": chat_id, "type": "supergroup", "title": "Group"}
            else:
                chat = {"id": chat_id, "type": "group", "title": "Group"}
            self._chats[chat_id] = chat
        return chat

    # ------------------------------------------------------------------ HTTP plumbing

    def _wake_pollers(self) -> None:
        event = self._updates_changed
        self._updates_changed = asyncio.Event()
        event.set()

    def _record_sent(self, record: SentRecord) -> None:
        self.sent.append(record)
        event = self._sent_changed
        self._sent_changed = asyncio.Event()
        event.set()

    @staticmethod
    def _json_response(status: int, body: dict[str, Any]) -> web.Response:
        return web.Response(
            status=status,
            body=json.dumps(body, ensure_ascii=False).encode("utf-8"),
            content_type="application/json",
        )

    async def _read_params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if not request.body_exists:
            return params
        if request.content_type == "application/json":
            raw = await request.read()
            if raw.strip():
                try:
                    body = json.loads(raw)
                except ValueError:
                    raise _bad("can't parse JSON request body") from None
                if not isinstance(body, dict):
                    raise _bad("JSON request body must be an object")
                params.update(body)
        elif request.content_type in {"application/x-www-form-urlencoded", "multipart/form-data"}:
            form = await request.post()
            for key, value in form.items():
                params[key] = value if isinstance(value, str) else "<file>"
        return params

    async def _not_found(self, request: web.Request) -> web.Response:
        return self._json_response(404, ApiError(404, "Not Found").envelope())

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        token = request.match_info["token"]
        params: dict[str, Any] = {}
        try:
            if not _TOKEN_RE.fullmatch(token):
                raise ApiError(404, "Not Found")
            if token != self.token:
                raise ApiError(401, "Unauthorized")
            params = await self._read_params(request)
            key = method.lower()
            if time.monotonic() < self._outage_until:
                reason = "Bad Gateway" if self._outage_code == 502 else "Internal Server Error"
                raise ApiError(self._outage_code, reason)
            self._take_failure(key)
            handler = self._handlers.get(key)
            if handler is None:
                raise ApiError(404, "Not Found")
            result = handler(params)
            if isinstance(result, Awaitable):
                result = await result
        except ApiError as error:
            self._count(method, params, error)
            return self._json_response(error.error_code, error.envelope())
        self._count(method, params, None)
        return self._json_response(200, {"ok": True, "result": result})

    def _count(self, method: str, params: dict[str, Any], error: ApiError | None) -> None:
        stats = self.stats
        stats.requests += 1
        stats.by_method[method] += 1
        if error is None:
            stats.ok += 1
        else:
            stats.errors += 1
            stats.by_error_code[error.error_code] += 1
            if error.error_code == 429:
                stats.too_many_requests += 1
        if self.keep_requests:
            self.requests.append(
                RequestRecord(
                    method=method,
                    params=params,
                    ok=error is None,
                    timestamp=time.time(),
                    error_code=error.error_code if error else None,
                    description=error.description if error else None,
                    retry_after=error.retry_after if error else None,
                )
            )

    def _take_failure(self, key: str) -> None:
        for name in (key, "*"):
            queue = self._failures.get(name)
            if queue:
                failure = queue[0]
                failure.times -= 1
                if failure.times <= 0:
                    queue.popleft()
                raise ApiError(failure.error_code, failure.description, failure.retry_after)

    # ------------------------------------------------------------------ shared validation

    def _chat_id(self, params: dict[str, Any]) -> int:
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise _bad("chat_id is empty")
        try:
            chat_id = _param_int(params, "chat_id")
        except ApiError:
            raise _bad("chat not found") from None
        assert chat_id is not None
        return chat_id

    def _check_chat(self, chat_id: int) -> None:
        if chat_id in self._unknown or chat_id == 0:
            raise _bad("chat not found")

    def _check_blocked(self, chat_id: int) -> None:
        if chat_id in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")

    def _check_rate(self, chat_id: int, *, paid: bool = False) -> None:
        """Telegram's flood control: per bot, per chat, per group; a 429 with retry_after above them.

        Edits count as sends. With `per_chat_burst`, a chat's limit is a token bucket.
        """
        now = time.monotonic()
        windows: list[tuple[deque[float], int, float]] = []
        if paid:
            if self.paid_rate is not None:
                windows.append((self._paid_window, self.paid_rate, 1.0))
        elif self.global_rate is not None:
            windows.append((self._global_window, self.global_rate, 1.0))
        bucket: tuple[float, float] | None = None
        if self.per_chat_rate is not None and self.per_chat_burst is not None:
            tokens, at = self._chat_buckets.get(chat_id, (float(self.per_chat_burst), now))
            tokens = min(float(self.per_chat_burst), tokens + (now - at) * self.per_chat_rate)
            if tokens < 1:
                retry_after = max(1, math.ceil((1 - tokens) / self.per_chat_rate))
                raise ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)
            bucket = (tokens - 1, now)
        elif self.per_chat_rate is not None:
            windows.append((self._chat_windows.setdefault(chat_id, deque()), self.per_chat_rate, 1.0))
        if self.group_rate_per_minute is not None and chat_id < 0:
            window = self._group_windows.setdefault(chat_id, deque())
            windows.append((window, self.group_rate_per_minute, 60.0))
        for window, limit, span in windows:
            while window and window[0] <= now - span:
                window.popleft()
            if len(window) >= limit:
                retry_after = max(1, math.ceil(window[0] + span - now))
                raise ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)
        for window, _, _ in windows:
            window.append(now)
        if bucket is not None:
            self._chat_buckets[chat_id] = bucket

    def _parse_text(
        self, params: dict[str, Any], name: str = "text", entities_name: str = "entities"
    ) -> tuple[str, str, str | None, list[dict[str, Any]]]:
        raw = _param_str(params, name)
        if raw is None or raw == "":
            raise _bad("message text is empty")
        parse_mode = _param_str(params, "parse_mode") or None
        mode = parse_mode.lower() if parse_mode else None
        if mode == "html":
            try:
                text, entities = parse_html(raw, strict=self.strict_html)
            except EntityParseError as error:
                raise _bad(f"can't parse entities: {error}") from None
        elif mode in {None, "markdown", "markdownv2"}:
            # Markdown is not parsed: the text counts as it is.
            text = raw
            given = _param_json(params, entities_name, "message entities")
            if given is not None and not isinstance(given, list):
                raise _bad("can't parse message entities JSON object")
            entities = given or []
        else:
            raise _bad("unsupported parse_mode")
        text, entities = strip_outer_whitespace(text, entities)
        if not text:
            raise _bad("message text is empty")
        if utf16_len(text) > MAX_MESSAGE_LENGTH:
            raise _bad("message is too long")
        return raw, text, parse_mode, entities

    def _parse_markup(self, params: dict[str, Any]) -> dict[str, Any] | None:
        markup = _param_json(params, "reply_markup", "reply keyboard markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
                raise _bad('can\'t parse inline keyboard: Field "inline_keyboard" must be of type Array')
            if sum(len(row) for row in rows) > MAX_INLINE_BUTTONS:
                raise _bad("reply markup is too long")
            for row in rows:
                for button in row:
                    self._check_button(button)
        elif "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
                raise _bad('can\'t parse keyboard: Field "keyboard" must be of type Array')
            for row in rows:
                for button in row:
                    label = button if isinstance(button, str) else button.get("text")
                    if not isinstance(label, str) or not label:
                        raise _bad("BUTTON_TEXT_INVALID")
        elif not ({"remove_keyboard", "force_reply"} & markup.keys()):
            raise _bad("can't parse reply keyboard markup JSON object")
        return markup

    @staticmethod
    def _check_button(button: Any) -> None:
        if not isinstance(button, dict):
            raise _bad("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
        text = button.get("text")
        if not isinstance(text, str):
            raise _bad('can\'t parse inline keyboard button: Field "text" must be of type String')
        if not text.strip():
            raise _bad("BUTTON_TEXT_INVALID")
        actions = [name for name in button if name in _BUTTON_ACTION_SET]
        if not actions:
            raise _bad("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
        if len(actions) > 1:
            raise _bad(
                "can't parse inline keyboard button: exactly one of the optional fields must be used, "
                f"found {', '.join(actions)}"
            )
        if "callback_data" in button:
            data = button["callback_data"]
            if not isinstance(data, str):
                raise _bad('can\'t parse inline keyboard button: Field "callback_data" must be of type String')
            if not 1 <= len(data.encode("utf-8", "surrogatepass")) <= MAX_CALLBACK_DATA_BYTES:
                raise _bad("BUTTON_DATA_INVALID")
        if "url" in button:
            url = button["url"]
            if not isinstance(url, str):
                raise _bad('can\'t parse inline keyboard button: Field "url" must be of type String')
            if not re.match(r"(?i)(https?://[^\s/?#]+|tg://\w)", url) or any(c.isspace() for c in url):
                raise _bad("BUTTON_URL_INVALID")

    def _stored(self, chat_id: int, params: dict[str, Any], missing: str) -> tuple[int, _StoredMessage]:
        message_id = _param_int(params, "message_id")
        if message_id is None:
            raise _bad("message identifier is not specified")
        stored = self._messages.get((chat_id, message_id))
        if stored is None:
            raise _bad(missing)
        return message_id, stored

    # ------------------------------------------------------------------ methods

    def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.bot_user

    def _known_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        raw = params.get("chat_id")
        if isinstance(raw, str) and raw.startswith("@"):
            for chat in self._chats.values():
                if chat.get("username", "").lower() == raw[1:].lower():
                    return chat
            raise _bad("chat not found")
        chat_id = self._chat_id(params)
        self._check_chat(chat_id)
        chat = self._chats.get(chat_id)
        if chat is None:
            raise _bad("chat not found")
        return chat

    def _get_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = dict(self._known_chat(params))
        chat.setdefault("accent_color_id", 0)
        chat.setdefault("max_reaction_count", 11)
        return chat

    def _get_chat_member(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._known_chat(params)
        user_id = _param_int(params, "user_id")
        if user_id is None:
            raise _bad("user not found")
        status, can_post = self._channel_members.get(chat["id"], ("member", False))
        if user_id != self.bot_id:
            status = self._members.get((chat["id"], user_id), "member")
        member: dict[str, Any] = {"status": status, "user": self.bot_user if user_id == self.bot_id else
                                  {"id": user_id, "is_bot": False, "first_name": "User"}}
        if status == "creator":
            member["is_anonymous"] = False
        if status == "administrator":
            member.update({
                "can_be_edited": False, "is_anonymous": False, "can_manage_chat": True, "can_delete_messages": True,
                "can_manage_video_chats": True, "can_restrict_members": True, "can_promote_members": False,
                "can_change_info": True, "can_invite_users": True, "can_post_messages": can_post,
                "can_edit_messages": True, "can_post_stories": False, "can_edit_stories": False,
                "can_delete_stories": False,
            })
        return member

    async def _set_webhook(self, params: dict[str, Any]) -> bool:
        url = _param_str(params, "url") or ""
        if not url:
            return await self._delete_webhook(params)
        # A local Bot API server calls any http(s) address; Telegram's own would insist on https and its ports.
        if not re.match(r"https?://[^/\s]+", url):
            raise _bad("bad webhook: invalid webhook URL specified")
        secret = _param_str(params, "secret_token") or None
        if secret is not None and not _WEBHOOK_SECRET_RE.fullmatch(secret):
            raise _bad("bad webhook: secret token contains unallowed characters")
        max_connections = _param_int(params, "max_connections", 40) or 40
        if not 1 <= max_connections <= 100:
            raise _bad("bad webhook: max_connections must be between 1 and 100")
        allowed = _param_json(params, "allowed_updates", "allowed updates")
        if allowed is not None and not isinstance(allowed, list):
            raise _bad("can't parse allowed updates JSON object")
        if _param_bool(params, "drop_pending_updates"):
            self._updates.clear()
        await self._stop_webhook()
        self._webhook = _Webhook(url, secret, max_connections, frozenset(allowed or ()) or DEFAULT_ALLOWED_UPDATES)
        self._allowed_updates = self._webhook.allowed_updates
        # A newer setWebhook ends the long poll still waiting, as Telegram does.
        self._poll_generation += 1
        self._webhook_session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.webhook_timeout))
        self._webhook_tasks = [asyncio.create_task(self._deliver_loop(self._webhook), name="fake-webhook")
                               for _ in range(max_connections)]
        self._wake_pollers()
        return True

    async def _delete_webhook(self, params: dict[str, Any]) -> bool:
        await self._stop_webhook()
        if _param_bool(params, "drop_pending_updates"):
            self._updates.clear()
        return True

    async def _stop_webhook(self) -> None:
        self._webhook = None
        tasks, self._webhook_tasks = self._webhook_tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._delivering.clear()
        session, self._webhook_session = self._webhook_session, None
        if session is not None:
            await session.close()

    def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        hook = self._webhook
        info: dict[str, Any] = {"url": hook.url if hook else "", "has_custom_certificate": False,
                                "pending_update_count": len(self._updates)}
        if hook is not None:
            info["max_connections"] = hook.max_connections
            info["allowed_updates"] = sorted(hook.allowed_updates)
            if hook.last_error_date is not None:
                info["last_error_date"] = hook.last_error_date
                info["last_error_message"] = hook.last_error_message
        return info

    async def _deliver_loop(self, hook: _Webhook) -> None:
        """One of the webhook's connections: the oldest update not in flight, until it is answered 2xx."""
        while self._webhook is hook and not self._stopping:
            update = self._next_for_webhook()
            if update is None:
                event = self._updates_changed
                await event.wait()
                continue
            update_id = update["update_id"]
            self._delivering.add(update_id)
            try:
                delivered = await self._post_update(hook, update)
            finally:
                self._delivering.discard(update_id)
            if delivered:
                self._updates = deque(u for u in self._updates if u is not update)
                self._wake_pollers()
            else:
                await asyncio.sleep(self.webhook_retry_delay)

    def _next_for_webhook(self) -> dict[str, Any] | None:
        self._take(0)  # drops what the webhook's allowed_updates leave out
        for update in self._updates:
            if update["update_id"] not in self._delivering:
                return update
        return None

    async def _post_update(self, hook: _Webhook, update: dict[str, Any]) -> bool:
        session = self._webhook_session
        if session is None:
            return False
        headers = {"Content-Type": "application/json"}
        if hook.secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret
        status: int | None = None
        error: str | None = None
        try:
            async with session.post(hook.url, data=json.dumps(update, ensure_ascii=False).encode(),
                                    headers=headers) as response:
                status = response.status
                await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        self.webhook_deliveries.append(WebhookDelivery(update["update_id"], status, time.time(), error))
        if status is not None and 200 <= status < 300:
            return True
        hook.last_error_date = int(time.time())
        hook.last_error_message = error or f"Wrong response from the webhook: {status}"
        return False

    @staticmethod
    def _scope_key(params: dict[str, Any]) -> tuple[str, str]:
        scope = _param_json(params, "scope", "bot command scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), _param_str(params, "language_code") or ""

    def _set_my_commands(self, params: dict[str, Any]) -> bool:
        commands = _param_json(params, "commands", "bot commands")
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad("too many commands specified")
        cleaned = []
        for command in commands:
            if not isinstance(command, dict):
                raise _bad("can't parse BotCommand JSON object")
            name = command.get("command")
            description = command.get("description")
            if not isinstance(name, str) or not _COMMAND_RE.fullmatch(name.removeprefix("/").lower()):
                raise _bad("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
                raise _bad("command description is empty" if not description else "BOT_COMMAND_INVALID")
            cleaned.append({"command": name.removeprefix("/").lower(), "description": description})
        self.commands[self._scope_key(params)] = cleaned
        return True

    def _get_my_commands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return self.commands.get(self._scope_key(params), [])

    def _delete_my_commands(self, params: dict[str, Any]) -> bool:
        self.commands.pop(self._scope_key(params), None)
        return True

    def _set_description(self, name: str, limit: int, params: dict[str, Any]) -> bool:
        value = _param_str(params, name) or ""
        if utf16_len(value) > limit:
            raise _bad(f"{name.replace('_', ' ')} is too long")
        key = (name, _param_str(params, "language_code") or "")
        if value:
            self.descriptions[key] = value
        else:
            self.descriptions.pop(key, None)
        return True

    def _get_description(self, name: str, params: dict[str, Any]) -> dict[str, str]:
        return {name: self.descriptions.get((name, _param_str(params, "language_code") or ""), "")}

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self._webhook is not None:
            raise ApiError(409, WEBHOOK_ACTIVE)
        offset = _param_int(params, "offset", 0) or 0
        limit = min(max(_param_int(params, "limit", 100) or 100, 1), 100)
        timeout = max(_param_float(params, "timeout", 0.0), 0.0)
        allowed = _param_json(params, "allowed_updates", "allowed updates")
        if allowed is not None:
            if not isinstance(allowed, list):
                raise _bad("can't parse allowed updates JSON object")
            self._allowed_updates = frozenset(allowed) or DEFAULT_ALLOWED_UPDATES
        # A newer getUpdates call terminates the one still waiting, as on Telegram.
        self._poll_generation += 1
        generation = self._poll_generation
        self._wake_pollers()
        if offset > 0:
            while self._updates and self._updates[0]["update_id"] < offset:
                self._updates.popleft()
        elif offset < 0:
            while len(self._updates) > -offset:
                self._updates.popleft()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            batch = self._take(limit)
            remaining = deadline - loop.time()
            if batch or remaining <= 0 or self._stopping:
                return batch
            event = self._updates_changed
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                return []
            if generation != self._poll_generation and not self._stopping:
                raise ApiError(409, CONFLICT)

    def _take(self, limit: int) -> list[dict[str, Any]]:
        allowed = self._allowed_updates
        batch: list[dict[str, Any]] = []
        kept: deque[dict[str, Any]] = deque()
        dropped = False
        for update in self._updates:
            if any(key in allowed for key in update if key != "update_id"):
                kept.append(update)
                if len(batch) < limit:
                    batch.append(update)
            else:
                dropped = True  # Telegram never stores updates the bot did not ask for.
        if dropped:
            self._updates = kept
        return batch

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat_id(params)
        raw, text, parse_mode, entities = self._parse_text(params)
        markup = self._parse_markup(params)
        self._check_chat(chat_id)
        reply_to = self._reply_target(chat_id, params)
        self._check_rate(chat_id, paid=_param_bool(params, "allow_paid_broadcast"))
        self._check_blocked(chat_id)
        message_id = self._next_id(chat_id)
        message: dict[str, Any] = {
            "message_id": message_id,
            "from": self.bot_user,
            "chat": self._chat(chat_id),
            "date": int(time.time()),
            "text": text,
        }
        if entities:
            message["entities"] = entities
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        inline = markup if markup is not None and "inline_keyboard" in markup else None
        if inline is not None:
            message["reply_markup"] = inline
        self._messages[(chat_id, message_id)] = _StoredMessage(message, True, text, entities, inline)
        self._record_sent(
            SentRecord(
                method="sendMessage",
                chat_id=chat_id,
                text=raw,
                parse_mode=parse_mode,
                reply_markup=markup,
                message_id=message_id,
                plain_text=text,
                entities=entities,
                params=params,
            )
        )
        return message

    def _reply_target(self, chat_id: int, params: dict[str, Any]) -> dict[str, Any] | None:
        reply = _param_json(params, "reply_parameters", "reply parameters")
        if isinstance(reply, dict):
            target = reply.get("message_id")
            tolerant = bool(reply.get("allow_sending_without_reply"))
        else:
            target = _param_int(params, "reply_to_message_id")
            tolerant = _param_bool(params, "allow_sending_without_reply")
        if target is None:
            return None
        stored = self._messages.get((chat_id, int(target)))
        if stored is None:
            if tolerant:
                return None
            raise _bad("message to be replied not found")
        message = dict(stored.message)
        message.pop("reply_to_message", None)
        return message

    def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        inline_id = _param_str(params, "inline_message_id")
        if inline_id and "chat_id" not in params:
            raw, text, parse_mode, entities = self._parse_text(params)
            markup = self._parse_markup(params)
            self._record_sent(
                SentRecord("editMessageText", None, text=raw, parse_mode=parse_mode, reply_markup=markup,
                           plain_text=text, entities=entities, params=params)
            )
            return True
        chat_id = self._chat_id(params)
        raw, text, parse_mode, entities = self._parse_text(params)
        markup = self._parse_markup(params)
        if markup is not None and "inline_keyboard" not in markup:
            raise _bad("inline keyboard expected")
        self._check_chat(chat_id)
        message_id, stored = self._stored(chat_id, params, "message to edit not found")
        if not stored.from_bot:
            raise _bad("message can't be edited")
        # Omitting reply_markup removes the keyboard, so that counts as a change.
        if stored.text == text and stored.entities == entities and stored.reply_markup == markup:
            raise _bad(NOT_MODIFIED[len("Bad Request: ") :])
        self._check_rate(chat_id)
        self._check_blocked(chat_id)
        message = {**stored.message, "text": text, "edit_date": int(time.time())}
        message.pop("entities", None)
        message.pop("reply_markup", None)
        if entities:
            message["entities"] = entities
        if markup is not None:
            message["reply_markup"] = markup
        stored.message, stored.text, stored.entities, stored.reply_markup = message, text, entities, markup
        self._record_sent(
            SentRecord(
                method="editMessageText",
                chat_id=chat_id,
                text=raw,
                parse_mode=parse_mode,
                reply_markup=markup,
                message_id=message_id,
                plain_text=text,
                entities=entities,
                params=params,
            )
        )
        return message

    def _edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        markup = self._parse_markup(params)
        if markup is not None and "inline_keyboard" not in markup:
            raise _bad("inline keyboard expected")
        if _param_str(params, "inline_message_id") and "chat_id" not in params:
            record = SentRecord("editMessageReplyMarkup", None, reply_markup=markup, params=params)
            self._record_sent(record)
            return True
        chat_id = self._chat_id(params)
        self._check_chat(chat_id)
        message_id, stored = self._stored(chat_id, params, "message to edit not found")
        if not stored.from_bot:
            raise _bad("message can't be edited")
        if stored.reply_markup == markup:
            raise _bad(NOT_MODIFIED[len("Bad Request: ") :])
        self._check_rate(chat_id)
        self._check_blocked(chat_id)
        message = {**stored.message, "edit_date": int(time.time())}
        message.pop("reply_markup", None)
        if markup is not None:
            message["reply_markup"] = markup
        stored.message, stored.reply_markup = message, markup
        self._record_sent(
            SentRecord(
                method="editMessageReplyMarkup",
                chat_id=chat_id,
                reply_markup=markup,
                message_id=message_id,
                plain_text=stored.text,
                entities=stored.entities,
                params=params,
            )
        )
        return message

    def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        query_id = _param_str(params, "callback_query_id")
        if not query_id:
            raise _bad("QUERY_ID_INVALID")
        text = _param_str(params, "text")
        if text is not None and utf16_len(text) > MAX_CALLBACK_ANSWER_LENGTH:
            raise _bad("MESSAGE_TOO_LONG")
        url = _param_str(params, "url")
        if url and not url.startswith(("https://t.me/", "tg://", "http://t.me/")):
            raise _bad("URL_INVALID")
        chat_id = self._callbacks.pop(query_id, None)
        if chat_id is None:
            raise ApiError(400, QUERY_TOO_OLD)
        self._record_sent(
            SentRecord(
                method="answerCallbackQuery",
                chat_id=chat_id,
                text=text,
                plain_text=text,
                callback_query_id=query_id,
                show_alert=_param_bool(params, "show_alert"),
                params=params,
            )
        )
        return True

    def _send_chat_action(self, params: dict[str, Any]) -> bool:
        chat_id = self._chat_id(params)
        action = _param_str(params, "action")
        if not action:
            raise _bad("action is empty")
        if action not in CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        self._check_chat(chat_id)
        self._check_blocked(chat_id)
        return True

    def _delete_message(self, params: dict[str, Any]) -> bool:
        chat_id = self._chat_id(params)
        self._check_chat(chat_id)
        message_id, _ = self._stored(chat_id, params, "message to delete not found")
        self._check_blocked(chat_id)
        del self._messages[(chat_id, message_id)]
        return True

    # ------------------------------------------------------------------ control endpoints

    async def _control(self, request: web.Request) -> web.Response:
        """``/_fake/<action>`` for benchmarks running the fake in another process."""
        action = request.match_info["action"]
        try:
            body: Any = await request.json() if request.body_exists else {}
            result: Any
            if action == "updates":
                items = body if isinstance(body, list) else body.get("updates", [body])
                result = [self.push_update(u)["update_id"] for u in items]
            elif action in {"text_message", "command", "group_message", "callback_query", "edited_message"}:
                result = getattr(self, action)(**body)
            elif action == "sent":
                chat = request.query.get("chat_id")
                after = int(request.query.get("after", "0"))  # only the records after this many
                records = self.sent[after:] if chat is None else self.records_for(int(chat))
                result = [_public(asdict(r)) for r in records]
            elif action == "stats":
                result = self.stats.as_dict()
            elif action == "webhook_deliveries":
                result = [asdict(d) for d in self.webhook_deliveries]
            elif action == "reset":
                self.reset()
                result = True
            elif action == "fail_next":
                self.fail_next(**body)
                result = True
            elif action in {"block", "unblock", "unknown_chat"}:
                getattr(self, action)(int(body["chat_id"]))
                result = True
            elif action == "add_channel":
                self.add_channel(int(body.pop("chat_id")), **body)
                result = True
            elif action == "outage":
                self.outage(float(body["seconds"]), code=int(body.get("code", 502)))
                result = True
            else:
                return self._json_response(404, ApiError(404, "Not Found").envelope())
        except (TypeError, KeyError, ValueError) as error:
            return self._json_response(400, _bad(str(error)).envelope())
        return self._json_response(200, {"ok": True, "result": result})


def _public(record: dict[str, Any]) -> dict[str, Any]:
    record.pop("params", None)
    return record


class ThreadedFakeBotAPI:
    """A FakeBotAPI served from its own thread and loop; see ``FakeBotAPI.run_in_thread``."""

    def __init__(self, api: FakeBotAPI) -> None:
        self.api = api
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="FakeBotAPI", daemon=True)
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def base_url(self) -> str:
        """What to give PTB as ``base_url``."""
        return self.api.base_url

    @property
    def url(self) -> str:
        """Root URL, for the ``/_fake/...`` endpoints."""
        return self.api.url

    def start(self) -> None:
        """Start the thread and wait until the server listens."""
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise RuntimeError("FakeBotAPI failed to start") from self._error

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self.api.start())
        except BaseException as error:
            self._error = error
            self._ready.set()
            return
        self._ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()

    def call(self, coro: Awaitable[R], timeout: float | None = 30) -> R:
        """Run a coroutine on the server's loop and return its result."""

        async def wrap() -> R:
            return await coro

        return asyncio.run_coroutine_threadsafe(wrap(), self.loop).result(timeout)

    def wait_for(
        self, what: int | Callable[[SentRecord], bool], timeout: float = 5.0, *, count: int = 1
    ) -> list[SentRecord]:
        """Blocking FakeBotAPI.wait_for."""
        return self.call(self.api.wait_for(what, timeout, count=count), timeout + 5)

    def push_updates(self, updates: Iterable[dict[str, Any]]) -> None:
        """Queue many raw updates with one hop onto the server's loop."""
        batch = list(updates)

        def push_all() -> None:
            for update in batch:
                self.api.push_update(update)

        self.loop.call_soon_threadsafe(push_all)

    def stop(self) -> None:
        """Stop the server and join the thread."""
        if not self._thread.is_alive():
            return
        self.call(self.api.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    def __enter__(self) -> ThreadedFakeBotAPI:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    """``python -m hali_dev.botapi --port N``: serve until interrupted."""
    parser = argparse.ArgumentParser(description="A local fake of the Telegram Bot API.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default=TOKEN)
    parser.add_argument("--username", default="hali_test_bot")
    parser.add_argument("--global-rate", type=int, default=None)
    parser.add_argument("--per-chat-rate", type=int, default=None)
    parser.add_argument("--group-rate-per-minute", type=int, default=None)
    parser.add_argument("--paid-rate", type=int, default=None,
                        help="paid broadcasts (allow_paid_broadcast) per second, apart from --global-rate")
    parser.add_argument("--per-chat-burst", type=int, default=None,
                        help="with --per-chat-rate: a token bucket of this size per chat")
    parser.add_argument("--no-keep-requests", action="store_true", help="don't keep a record per request")
    parser.add_argument("--lenient-html", action="store_true", help="accept bare > and & like Telegram")
    args = parser.parse_args(argv)

    async def serve() -> None:
        api = FakeBotAPI(
            token=args.token,
            username=args.username,
            host=args.host,
            port=args.port,
            global_rate=args.global_rate,
            per_chat_rate=args.per_chat_rate,
            group_rate_per_minute=args.group_rate_per_minute,
            per_chat_burst=args.per_chat_burst,
            paid_rate=args.paid_rate,
            keep_requests=not args.no_keep_requests,
            strict_html=not args.lenient_html,
        )
        async with api:
            print(f"FakeBotAPI listening; base_url={api.base_url} token={api.token}", flush=True)
            await asyncio.Event().wait()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
