"""Probes against real local HTTP servers: every way a site can fail is told apart."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import httpx
import pytest

from bot.catalog.model import Check
from bot.core.checks import Outcome
from bot.services.probe import Prober, classify
from tests.checks.sites import closed_port, fake_sites


@pytest.fixture
async def site() -> AsyncIterator[str]:
    async with fake_sites() as base:
        yield base


@pytest.fixture
async def prober() -> AsyncIterator[Prober]:
    async with Prober(concurrency=10) as p:
        yield p


def check(url: str, **kw: object) -> Check:
    return Check(url=url, **{"timeout_s": 2.0, "slow_ms": 1000, **kw})  # type: ignore[arg-type]


async def test_a_fast_page_is_ok_with_its_latency_and_status(site: str, prober: Prober) -> None:
    result = await prober.probe("ecitizen", check(f"{site}/fast", body_not_contains="unscheduled maintenance"))
    assert result.outcome is Outcome.OK
    assert result.status_code == 200 and result.latency_ms is not None and result.latency_ms >= 0
    assert result.key == f"ecitizen GET {site}/fast" and result.service_id == "ecitizen"


async def test_a_slow_page_is_slow_not_down(site: str, prober: Prober) -> None:
    result = await prober.probe("kra", check(f"{site}/slow?s=0.3", slow_ms=100))
    assert result.outcome is Outcome.SLOW and result.status_code == 200
    assert result.latency_ms is not None and result.latency_ms >= 100


async def test_a_hanging_page_times_out_at_the_checks_own_limit(site: str, prober: Prober) -> None:
    result = await prober.probe("kra", check(f"{site}/hang", timeout_s=0.3, slow_ms=100))
    assert result.outcome is Outcome.TIMEOUT and result.detail == "no answer within 0.3 s"


async def test_a_hanging_page_does_not_hold_up_the_others(site: str, prober: Prober) -> None:
    results = await prober.probe_all([
        ("a", check(f"{site}/hang", timeout_s=0.5, slow_ms=100)),
        ("b", check(f"{site}/fast")),
        ("c", check(f"{site}/500")),
    ])
    assert [r.outcome for r in results] == [Outcome.TIMEOUT, Outcome.OK, Outcome.HTTP_STATUS]
    assert results[1].latency_ms is not None and results[0].latency_ms is not None
    assert results[1].latency_ms < results[0].latency_ms


async def test_an_error_status_is_reported_with_the_code(site: str, prober: Prober) -> None:
    result = await prober.probe("sha", check(f"{site}/500"))
    assert result.outcome is Outcome.HTTP_STATUS and result.status_code == 500
    assert result.detail == "HTTP 500, expected 200"


async def test_an_expected_other_status_is_fine(site: str, prober: Prober) -> None:
    result = await prober.probe("sha", check(f"{site}/500", expect_status=(500,)))
    assert result.outcome is Outcome.OK


async def test_a_redirect_is_followed_and_a_redirect_loop_is_named(site: str, prober: Prober) -> None:
    assert (await prober.probe("brs", check(f"{site}/moved"))).outcome is Outcome.OK
    assert (await prober.probe("brs", check(f"{site}/loop"))).outcome is Outcome.REDIRECTS


async def test_a_maintenance_page_served_with_200_is_a_failure(site: str, prober: Prober) -> None:
    result = await prober.probe(
        "ecitizen", check(f"{site}/maintenance", body_not_contains="DOWN FOR UNSCHEDULED MAINTENANCE"))
    assert result.outcome is Outcome.BODY and result.status_code == 200
    assert "down for unscheduled maintenance" in (result.detail or "").lower()


async def test_missing_expected_text_is_a_failure(site: str, prober: Prober) -> None:
    result = await prober.probe("ecitizen", check(f"{site}/fast", body_contains="Sign in"))
    assert result.outcome is Outcome.BODY


async def test_a_tls_failure_is_told_apart(site: str, prober: Prober) -> None:
    # A plain-HTTP server spoken to over https fails in the TLS handshake.
    result = await prober.probe("kra", check(site.replace("http://", "https://") + "/fast"))
    assert result.outcome is Outcome.TLS


async def test_a_refused_connection_is_told_apart(prober: Prober) -> None:
    result = await prober.probe("kra", check(f"http://127.0.0.1:{closed_port()}/"))
    assert result.outcome is Outcome.REFUSED


async def test_a_name_that_does_not_resolve_is_a_dns_failure() -> None:
    def no_dns(request: httpx.Request) -> httpx.Response:
        try:
            raise socket.gaierror(-2, "Name or service not known")
        except socket.gaierror as exc:
            raise httpx.ConnectError("[Errno -2] Name or service not known", request=request) from exc

    async with httpx.AsyncClient(transport=httpx.MockTransport(no_dns)) as client:
        result = await Prober(client).probe("kra", check("https://itax.kra.go.ke"))
    assert result.outcome is Outcome.DNS and "Name or service not known" in (result.detail or "")


def test_errors_are_classified_by_their_cause() -> None:
    request = httpx.Request("GET", "https://a.go.ke")
    assert classify(httpx.ConnectTimeout("slow", request=request)) is Outcome.TIMEOUT
    assert classify(httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed",
                                       request=request)) is Outcome.TLS
    assert classify(httpx.ConnectError("Network is unreachable", request=request)) is Outcome.CONNECT
    assert classify(httpx.DecodingError("bad gzip", request=request)) is Outcome.ERROR
