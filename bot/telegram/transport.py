"""How Hali's bots reach the Bot API: python-telegram-bot's requests, carried by aiohttp.

python-telegram-bot sends through HTTPX by default. For a bot whose work is mostly one small request
per answer, that transport is most of the CPU: HTTPX's connection pool re-examines every open
connection (a system call or two each) for every request it starts and finishes, through anyio's
layers, and parses responses in Python. aiohttp keeps a pool that does not rescan, and parses HTTP in
C. Measured on the same machine (``benchmarks/answer_throughput.py``, a bare bot answering with a
status card, eight updates at a time): about 1.1 ms of CPU per reply through HTTPX, about 0.4 ms
through this class; with 32 at a time HTTPX needs 2.5 ms.

The wire format is the one python-telegram-bot's own transport uses: parameters form-encoded, files
as multipart/form-data, PTB's User-Agent. So is the rest of what a deployment may rely on: the same
certificate authorities (certifi's, as HTTPX trusts), the proxy the environment names (HTTPS_PROXY,
HTTP_PROXY, ALL_PROXY, NO_PROXY), the same four time-outs (an overall bound stands in for the write
time-out, which aiohttp does not have). The proxy is looked up once per host, not with aiohttp's
`trust_env`, which reads ~/.netrc in a thread for every request (it doubled the CPU per request).
"""

from __future__ import annotations

import ssl
import time
import urllib.request
from functools import cache
from urllib.parse import urlsplit

import aiohttp
import certifi
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

_DEFAULT = type(BaseRequest.DEFAULT_NONE)  # "not given for this call": use this transport's default


class AiohttpRequest(BaseRequest):
    """A `telegram.request.BaseRequest` over one `aiohttp.ClientSession`, made by `initialize()`."""

    __slots__ = ("_connect", "_connections", "_media_write", "_pool", "_proxies", "_read", "_session", "_write",
                 "answered_at")

    def __init__(self, *, connection_pool_size: int = 256, read_timeout: float | None = 5.0,
                 write_timeout: float | None = 5.0, connect_timeout: float | None = 5.0,
                 pool_timeout: float | None = 1.0, media_write_timeout: float | None = 20.0) -> None:
        if connection_pool_size < 1:
            raise ValueError("connection_pool_size must be at least 1")
        self._connections = connection_pool_size
        self._read, self._write, self._connect, self._pool = read_timeout, write_timeout, connect_timeout, pool_timeout
        self._media_write = media_write_timeout
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[tuple[str, str], str | None] = {}  # (scheme, host) -> proxy URL or None
        self.answered_at: float | None = None  # time.monotonic() of the Bot API's last answer (not a 5xx)

    @property
    def read_timeout(self) -> float | None:
        return self._read

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            # Created here, on the loop that will use it.
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections, limit_per_host=self._connections,
                                               ssl=_tls()),
                headers={"User-Agent": self.USER_AGENT},
            )
            self._proxies.clear()  # the environment is read again for each session

    async def shutdown(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = BaseRequest.DEFAULT_NONE,
        write_timeout: object = BaseRequest.DEFAULT_NONE,
        connect_timeout: object = BaseRequest.DEFAULT_NONE,
        pool_timeout: object = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("this AiohttpRequest is not initialized")
        files = request_data.multipart_data if request_data is not None else None
        read = _given(read_timeout, self._read)
        write = _given(write_timeout, self._media_write if files else self._write)
        connect = _given(connect_timeout, self._connect)
        pool = _given(pool_timeout, self._pool)
        parts = (read, write, connect, pool)
        timeout = aiohttp.ClientTimeout(
            total=None if None in parts else sum(p for p in parts if p is not None),
            connect=None if pool is None or connect is None else pool + connect,
            sock_connect=connect,
            sock_read=read,
        )
        body: aiohttp.FormData | bytes | None = None
        headers: dict[str, str] = {}
        if request_data is not None and files:
            body = aiohttp.FormData(quote_fields=False)
            for name, value in request_data.json_parameters.items():
                body.add_field(name, value)
            for name, (filename, content, mimetype) in files.items():
                body.add_field(name, content, filename=filename, content_type=mimetype)
        elif request_data is not None and request_data.parameters:
            body = request_data.url_encoded_parameters().encode("ascii")
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            async with session.request(method, url, data=body, headers=headers, timeout=timeout,
                                       proxy=self._proxy(url)) as response:
                body = await response.read()
                if response.status < 500:
                    self.answered_at = time.monotonic()
                return response.status, body
        except TimeoutError as exc:  # aiohttp's time-outs are TimeoutErrors too
            raise TimedOut(f"aiohttp: {type(exc).__name__}: {exc}" if str(exc) else None) from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc

    def _proxy(self, url: str) -> str | None:
        parts = urlsplit(url)
        key = (parts.scheme, parts.hostname or "")
        if key not in self._proxies:
            self._proxies[key] = _environment_proxy(*key)
        return self._proxies[key]


def _environment_proxy(scheme: str, host: str) -> str | None:
    """HTTPS_PROXY / HTTP_PROXY / ALL_PROXY for the scheme, unless NO_PROXY covers the host."""
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass(host):
        return None
    return proxy


@cache
def _tls() -> ssl.SSLContext:
    """One verifying context for every session (each costs tens of milliseconds to build)."""
    return ssl.create_default_context(cafile=certifi.where())


def _given(value: object, default: float | None) -> float | None:
    if isinstance(value, _DEFAULT):
        return default
    if value is None or isinstance(value, int | float):
        return value
    raise TypeError(f"a time-out must be a number of seconds or None, not {value!r}")


def bot_api_requests() -> dict[str, AiohttpRequest]:
    """The two transports an Application needs, as ApplicationBuilder options: answers, and long polling.

    Sized as python-telegram-bot sizes its own: 256 connections for answers, one for getUpdates.
    """
    return {
        "request": AiohttpRequest(connection_pool_size=256),
        "get_updates_request": AiohttpRequest(connection_pool_size=1),
    }

