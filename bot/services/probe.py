"""The one seam for outbound HTTP to government sites: probes with a shared client and a limit.

Each probe has its own deadline (the check's timeout_s, counted from when it gets a slot), so a site
that hangs costs its own slot for at most that long and never delays the other probes.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Sequence
from datetime import datetime
from types import TracebackType

import httpx

from bot.catalog.model import Check
from bot.core.checks import Outcome, ProbeResult
from bot.core.clock import Clock, system_clock

USER_AGENT = "Hali/0.1 (status checks of Kenyan government e-services)"
MAX_REDIRECTS = 5
# Enough to find a maintenance notice near the top of a page; nobody's status hides past this.
MAX_BODY_BYTES = 256 * 1024
_DETAIL_LIMIT = 200


def make_client(*, concurrency: int = 20, **kwargs: object) -> httpx.AsyncClient:
    """The shared client: redirects followed (up to 5), certificates verified, a connection pool."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    return httpx.AsyncClient(
        follow_redirects=True, max_redirects=MAX_REDIRECTS, limits=limits,
        headers={"User-Agent": USER_AGENT}, **kwargs,  # type: ignore[arg-type]
    )


class Prober:
    """Runs checks concurrently, at most `concurrency` at a time, through one httpx.AsyncClient."""

    def __init__(
        self,
        client: httpx.AsyncClient | None = None,
        *,
        concurrency: int = 20,
        clock: Clock = system_clock,
    ) -> None:
        self._own_client = client is None
        self.client = client if client is not None else make_client(concurrency=concurrency)
        self._slots = asyncio.Semaphore(concurrency)
        self.clock = clock

    async def __aenter__(self) -> Prober:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._own_client:
            await self.client.aclose()

    async def probe_all(self, checks: Sequence[tuple[str, Check]]) -> list[ProbeResult]:
        """Probe (service id, check) pairs concurrently; the results come back in the same order."""
        return list(await asyncio.gather(*(self.probe(service_id, check) for service_id, check in checks)))

    async def probe(self, service_id: str, check: Check) -> ProbeResult:
        async with self._slots:
            at = self.clock()
            started = time.perf_counter()
            try:
                async with asyncio.timeout(check.timeout_s):
                    status, body = await self._fetch(check)
            except (TimeoutError, httpx.TimeoutException):
                return self._result(service_id, check, at, Outcome.TIMEOUT, started,
                                    detail=f"no answer within {check.timeout_s:g} s")
            except httpx.TooManyRedirects as exc:
                return self._result(service_id, check, at, Outcome.REDIRECTS, started, detail=str(exc))
            except httpx.HTTPError as exc:
                return self._result(service_id, check, at, classify(exc), started, detail=_describe(exc))
        latency_ms = _ms(started)
        if status not in check.expect_status:
            return self._result(service_id, check, at, Outcome.HTTP_STATUS, started, status=status,
                                detail=f"HTTP {status}, expected {', '.join(map(str, check.expect_status))}")
        if body is not None:
            folded = body.casefold()
            if check.body_contains and check.body_contains.casefold() not in folded:
                return self._result(service_id, check, at, Outcome.BODY, started, status=status,
                                    detail=f"the page lacks {check.body_contains!r}")
            if check.body_not_contains and check.body_not_contains.casefold() in folded:
                return self._result(service_id, check, at, Outcome.BODY, started, status=status,
                                    detail=f"the page says {check.body_not_contains!r}")
        outcome = Outcome.SLOW if latency_ms > check.slow_ms else Outcome.OK
        return ProbeResult(check.key(service_id), service_id, at, outcome, latency_ms, status)

    async def _fetch(self, check: Check) -> tuple[int, str | None]:
        """The final status code and, when the check looks for text, the start of the body."""
        wants_body = bool(check.body_contains or check.body_not_contains)
        async with self.client.stream(check.method, check.url, timeout=check.timeout_s) as response:
            if not wants_body:
                return response.status_code, None
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size >= MAX_BODY_BYTES:
                    break
            data = b"".join(chunks)[:MAX_BODY_BYTES]
            return response.status_code, data.decode(response.encoding or "utf-8", errors="replace")

    def _result(
        self, service_id: str, check: Check, at: datetime, outcome: Outcome, started: float, *,
        status: int | None = None, detail: str | None = None,
    ) -> ProbeResult:
        return ProbeResult(
            check.key(service_id), service_id, at, outcome,
            _ms(started), status, (detail or "")[:_DETAIL_LIMIT] or None,
        )


def classify(exc: BaseException) -> Outcome:
    """Tell network failures apart by what caused them: DNS, refused, TLS, timeout, other."""
    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and seen not in chain and len(chain) < 10:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    for cause in chain:
        if isinstance(cause, socket.gaierror):
            return Outcome.DNS
        if isinstance(cause, ssl.SSLError | ssl.CertificateError):
            return Outcome.TLS
        if isinstance(cause, ConnectionRefusedError):
            return Outcome.REFUSED
        if isinstance(cause, TimeoutError | httpx.TimeoutException):
            return Outcome.TIMEOUT
    text = " ".join(str(c) for c in chain).lower()
    if any(s in text for s in ("name or service not known", "nodename nor servname", "getaddrinfo",
                               "temporary failure in name resolution", "no address associated")):
        return Outcome.DNS
    if any(s in text for s in ("certificate", "ssl", "tls", "wrong_version_number")):
        return Outcome.TLS
    if "connection refused" in text or "errno 111" in text:
        return Outcome.REFUSED
    if isinstance(exc, httpx.TransportError):
        return Outcome.CONNECT
    return Outcome.ERROR


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
