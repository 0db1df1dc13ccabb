"""Hali's Bot API transport: what goes on the wire, and how failures reach python-telegram-bot.

Every other Telegram test already talks to the strict fake Bot API through this transport; these pin
down what those do not reach: file uploads, time-outs, refused connections, the session's life.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.request import HTTPXRequest

from bot.app import assemble
from bot.config import Settings
from bot.core.budget import SendBudget
from bot.store.repo import Store
from bot.telegram.app import build_application
from bot.telegram.transport import AiohttpRequest
from hali_dev.botapi import TOKEN

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Server:
    """A tiny Bot API stand-in: records each request, answers with the handler given."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[dict[str, Any]] = []
        self.runner: web.AppRunner | None = None
        self.base_url = ""

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        record: dict[str, Any] = {"method": request.match_info["method"], "headers": dict(request.headers)}
        if request.content_type == "multipart/form-data":
            parts: dict[str, Any] = {}
            reader = await request.multipart()
            async for part in reader:
                data = await part.read()  # type: ignore[union-attr]
                parts[part.name] = (part.filename, bytes(data), part.headers.get("Content-Type"))  # type: ignore[union-attr]
            record["parts"] = parts
        else:
            record["form"] = dict(await request.post())
        self.requests.append(record)
        return await self.handler(request)

    async def __aenter__(self) -> Server:
        app = web.Application()
        app.router.add_route("POST", "/bot{token}/{method}", self._handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = self.runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}/bot"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.runner is not None
        await self.runner.cleanup()


def ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


MESSAGE = {"message_id": 7, "date": 0, "chat": {"id": 42, "type": "private"}, "text": "x"}


@pytest.fixture
async def sent_ok() -> AsyncIterator[Server]:
    async def handler(request: web.Request) -> web.Response:
        return ok(MESSAGE)

    async with Server(handler) as server:
        yield server


async def test_parameters_are_form_encoded_as_ptb_sends_them(sent_ok: Server) -> None:
    request = AiohttpRequest()
    await request.initialize()
    bot = Bot(TOKEN, base_url=sent_ok.base_url, request=request)
    try:
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("🔄 Refresh", callback_data="r:kra")]])
        message = await bot.send_message(42, "<b>KRA</b> &amp; iTax: ü 😀", parse_mode="HTML", reply_markup=markup)
    finally:
        await request.shutdown()
    assert message.message_id == 7
    [record] = sent_ok.requests
    assert record["method"] == "sendMessage"
    assert record["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert record["headers"]["User-Agent"].startswith("python-telegram-bot")
    form = record["form"]
    assert form["chat_id"] == "42"
    assert form["text"] == "<b>KRA</b> &amp; iTax: ü 😀"
    assert form["parse_mode"] == "HTML"
    assert json.loads(form["reply_markup"]) == {"inline_keyboard": [[{"text": "🔄 Refresh", "callback_data": "r:kra"}]]}


async def test_files_go_as_multipart_with_the_other_fields(sent_ok: Server) -> None:
    request = AiohttpRequest()
    await request.initialize()
    bot = Bot(TOKEN, base_url=sent_ok.base_url, request=request)
    try:
        await bot.send_document(42, document=b"status,kra\n", filename="hali.csv", caption="Hali ✓")
    finally:
        await request.shutdown()
    [record] = sent_ok.requests
    assert record["headers"]["Content-Type"].startswith("multipart/form-data")
    parts = record["parts"]
    assert parts["chat_id"][1] == b"42"
    assert parts["caption"][1] == "Hali ✓".encode()
    filename, content, _ = parts[next(name for name in parts if parts[name][0] == "hali.csv")]
    assert (filename, content) == ("hali.csv", b"status,kra\n")


async def test_a_slow_answer_is_a_timeout_not_a_hang() -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return ok(MESSAGE)

    async with Server(slow) as server:
        request = AiohttpRequest(read_timeout=0.2)
        await request.initialize()
        bot = Bot(TOKEN, base_url=server.base_url, request=request)
        started = time.monotonic()
        try:
            with pytest.raises(TimedOut):
                await bot.send_message(42, "x")
            # A per-call read time-out wins over the default.
            with pytest.raises(TimedOut):
                await bot.send_message(42, "x", read_timeout=0.1)
        finally:
            await request.shutdown()
        assert time.monotonic() - started < 3


async def test_a_refused_connection_is_a_network_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again before the request: nobody listens there
    request = AiohttpRequest(connect_timeout=2)
    await request.initialize()
    bot = Bot(TOKEN, base_url=f"http://127.0.0.1:{port}/bot", request=request)
    try:
        with pytest.raises(NetworkError) as caught:
            await bot.send_message(42, "x")
    finally:
        await request.shutdown()
    assert not isinstance(caught.value, TimedOut)
    assert "aiohttp.ClientConnectorError" in caught.value.message


async def test_telegram_errors_still_reach_ptb_as_its_own() -> None:
    async def refuse(request: web.Request) -> web.Response:
        chat_id = (await request.post())["chat_id"]
        if chat_id == "1":
            return web.json_response({"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 3",
                                      "parameters": {"retry_after": 3}}, status=429)
        return web.json_response({"ok": False, "error_code": 403,
                                  "description": "Forbidden: bot was blocked by the user"}, status=403)

    async with Server(refuse) as server:
        request = AiohttpRequest()
        await request.initialize()
        bot = Bot(TOKEN, base_url=server.base_url, request=request)
        try:
            with pytest.raises(RetryAfter) as throttled:
                await bot.send_message(1, "x")
            with pytest.raises(Forbidden, match="blocked"):
                await bot.send_message(2, "x")
        finally:
            await request.shutdown()
    assert throttled.value.retry_after in (3, dt.timedelta(seconds=3))


async def test_the_session_lives_from_initialize_to_shutdown(sent_ok: Server) -> None:
    request = AiohttpRequest()
    bot = Bot(TOKEN, base_url=sent_ok.base_url, request=request)
    with pytest.raises(NetworkError, match="not initialized"):  # PTB wraps what the transport raises
        await bot.send_message(42, "x")
    await request.initialize()
    await request.initialize()  # PTB may initialize twice: still one session
    await bot.send_message(42, "x")
    await request.shutdown()
    await request.shutdown()
    with pytest.raises(NetworkError, match="not initialized"):  # PTB wraps what the transport raises
        await bot.send_message(42, "x")
    await request.initialize()  # and again after a shutdown, as Application restarts do
    try:
        await bot.send_message(42, "x")
    finally:
        await request.shutdown()
    assert len(sent_ok.requests) == 2


def test_a_pool_needs_a_connection() -> None:
    with pytest.raises(ValueError, match="connection_pool_size"):
        AiohttpRequest(connection_pool_size=0)


async def test_the_application_sends_through_it_unless_given_another(store: Store) -> None:
    app = assemble(Settings(token=TOKEN), store, cache_seconds=0)
    budget = SendBudget.local(30)
    assert isinstance(build_application(app, budget).bot.request, AiohttpRequest)
    given = HTTPXRequest()
    assert build_application(app, budget, request=given, get_updates_request=HTTPXRequest()).bot.request is given


async def test_a_proxy_from_the_environment_is_used(sent_ok: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", sent_ok.base_url.removesuffix("/bot"))
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    request = AiohttpRequest()
    await request.initialize()
    bot = Bot(TOKEN, base_url="http://api.telegram.invalid/bot", request=request)  # reachable only through the proxy
    try:
        await bot.send_message(42, "x")
    finally:
        await request.shutdown()
    [record] = sent_ok.requests
    assert record["method"] == "sendMessage"
    assert record["headers"]["Host"] == "api.telegram.invalid"


async def test_no_proxy_sends_directly(sent_ok: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{dead}")  # would refuse the connection
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    request = AiohttpRequest()
    await request.initialize()
    bot = Bot(TOKEN, base_url=sent_ok.base_url, request=request)
    try:
        await bot.send_message(42, "x")
    finally:
        await request.shutdown()
    assert [r["method"] for r in sent_ok.requests] == ["sendMessage"]
