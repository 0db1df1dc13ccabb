"""Fake government sites: a local aiohttp server with fast, slow, hanging, failing and looping pages."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

MAINTENANCE_PAGE = "<html><body><h1>eCitizen is down for unscheduled maintenance right now</h1></body></html>"


async def _fast(request: web.Request) -> web.Response:
    return web.Response(text="<html><body>Welcome to eCitizen</body></html>", content_type="text/html")


async def _slow(request: web.Request) -> web.Response:
    await asyncio.sleep(float(request.query.get("s", "0.3")))
    return web.Response(text="slow but fine")


async def _hang(request: web.Request) -> web.Response:
    await asyncio.sleep(3600)
    return web.Response(text="never")


async def _error(request: web.Request) -> web.Response:
    return web.Response(status=500, text="Internal Server Error")


async def _loop(request: web.Request) -> web.Response:
    raise web.HTTPFound("/loop")


async def _maintenance(request: web.Request) -> web.Response:
    return web.Response(text=MAINTENANCE_PAGE, content_type="text/html")


async def _moved(request: web.Request) -> web.Response:
    raise web.HTTPMovedPermanently("/fast")


@asynccontextmanager
async def fake_sites() -> AsyncIterator[str]:
    """Serve the pages on 127.0.0.1; yields the base URL (http://127.0.0.1:PORT)."""
    app = web.Application()
    app.add_routes([
        web.get("/fast", _fast), web.get("/slow", _slow), web.get("/hang", _hang), web.get("/500", _error),
        web.get("/loop", _loop), web.get("/maintenance", _maintenance), web.get("/moved", _moved),
    ])
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def closed_port() -> int:
    """A local port nothing listens on (connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
