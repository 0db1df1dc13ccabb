"""Rendered once per snapshot, validated by ETag and Last-Modified, compressed when asked."""

from __future__ import annotations

import gzip

from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.app import App
from bot.catalog.model import Text
from bot.core.clock import FrozenClock
from bot.core.status import State
from bot.web import SITE
from bot.web.http import accept_language, accepts_gzip
from tests.web.conftest import refresh

Client = TestClient[web.Request, web.Application]
PATHS = ("/", "/services/kra", "/api/v2/summary.json", "/history.atom", "/services/kra/badge.svg")


async def test_responses_carry_validators_and_a_short_public_max_age(client: Client, seeded: dict[str, int]) -> None:
    for path in (*PATHS, f"/incidents/{seeded['open']}"):
        response = await client.get(path)
        assert response.status == 200, path
        assert response.headers["ETag"].startswith('"'), path
        assert response.headers["Last-Modified"].endswith(" GMT"), path
        assert "public, max-age=30" in response.headers["Cache-Control"], path


async def test_conditional_requests_are_answered_with_304(client: Client, seeded: dict[str, int]) -> None:
    for path in PATHS:
        first = await client.get(path)
        etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
        again = await client.get(path, headers={"If-None-Match": etag})
        assert again.status == 304 and await again.read() == b"", path
        assert again.headers["ETag"] == etag
        # The identity and the gzip body share one validator.
        plain = await client.get(path, headers={"If-None-Match": etag.replace("-gzip", ""),
                                                "Accept-Encoding": "identity"})
        assert plain.status == 304, path
        assert (await client.get(path, headers={"If-Modified-Since": modified})).status == 304, path
        assert (await client.get(path, headers={"If-None-Match": '"other"'})).status == 200, path


async def test_validators_in_their_other_forms_are_understood(client: Client, seeded: dict[str, int]) -> None:
    for path in PATHS:
        first = await client.get(path, headers={"Accept-Encoding": "identity"})
        etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
        for match in (f"W/{etag}", f'"other", {etag}', "*", f'"other" , W/{etag[:-1]}-gzip"'):
            assert (await client.get(path, headers={"If-None-Match": match})).status == 304, (path, match)
        later = "Fri, 01 Jan 2100 00:00:00 GMT"
        assert (await client.get(path, headers={"If-Modified-Since": later})).status == 304, path
        earlier = "Mon, 01 Jan 2001 00:00:00 GMT"
        assert (await client.get(path, headers={"If-Modified-Since": earlier})).status == 200, path
        assert (await client.get(path, headers={"If-Modified-Since": "yesterday"})).status == 200, path
        # If-None-Match decides when both are sent.
        both = {"If-None-Match": '"other"', "If-Modified-Since": modified}
        assert (await client.get(path, headers=both)).status == 200, path


async def test_a_304_and_a_200_in_turn_each_carry_their_own_headers(client: Client, seeded: dict[str, int]) -> None:
    """The headers are made once per rendering and shared by the requests: none may leak into the next."""
    for path in PATHS:
        plain = await client.get(path, headers={"Accept-Encoding": "identity"})
        for _ in range(2):
            zipped = await client.get(path, headers={"Accept-Encoding": "gzip"}, auto_decompress=False)
            assert zipped.headers["Content-Encoding"] == "gzip" and zipped.headers["ETag"].endswith('-gzip"')
            again = await client.get(path, headers={"If-None-Match": plain.headers["ETag"],
                                                    "Accept-Encoding": "identity"})
            assert again.status == 304 and "Content-Type" not in again.headers, path
            assert "Content-Encoding" not in again.headers, path
            full = await client.get(path, headers={"Accept-Encoding": "identity"})
            assert full.status == 200 and "Content-Encoding" not in full.headers, path
            assert dict(full.headers) | {"Date": ""} == dict(plain.headers) | {"Date": ""}, path


async def test_a_404_page_is_revalidated_like_any_page(client: Client, seeded: dict[str, int]) -> None:
    first = await client.get("/services/nowhere")
    assert first.status == 404
    assert (await client.get("/services/nowhere", headers={"If-None-Match": first.headers["ETag"]})).status == 304
    assert (await client.get("/services/nowhere", headers={"If-None-Match": '"other"'})).status == 404


async def test_each_response_is_rendered_once_per_snapshot(
    client: Client, web_app: web.Application, hali: App, seeded: dict[str, int]
) -> None:
    site = web_app[SITE]
    for path in PATHS:
        await client.get(path)
    made = site.renderings.made
    for _ in range(5):
        for path in PATHS:
            assert (await client.get(path, headers={"Accept-Encoding": "identity"})).status == 200
            assert (await client.get(path)).status == 200
    assert site.renderings.made == made  # the cache lasts as long as the board's snapshot (1 s here)

    before = await client.get("/api/v2/components.json")
    await refresh(web_app)  # a new snapshot with the same content: same validators, no 200 for a 304 client
    after = await client.get("/api/v2/components.json", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status == 304
    assert after.headers["Last-Modified"] == before.headers["Last-Modified"]

    await hali.store.open_incident("sha", State.DEGRADED, Text("SHA slow"), actor="cli")
    await refresh(web_app)
    changed = await client.get("/api/v2/components.json", headers={"If-None-Match": before.headers["ETag"]})
    assert changed.status == 200 and changed.headers["ETag"] != before.headers["ETag"]


async def test_gzip_only_when_the_client_asks(client: Client, seeded: dict[str, int]) -> None:
    zipped = await client.get("/", headers={"Accept-Encoding": "gzip, deflate"}, auto_decompress=False)
    assert zipped.headers["Content-Encoding"] == "gzip"
    body = gzip.decompress(await zipped.read())
    plain = await client.get("/", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    assert await plain.read() == body
    refused = await client.get("/", headers={"Accept-Encoding": "gzip;q=0"})
    assert "Content-Encoding" not in refused.headers


async def test_the_page_is_served_from_the_previous_snapshot_while_the_next_is_built(
    web_app: web.Application, hali: App, clock: FrozenClock
) -> None:
    from bot.web import PUBLISHER

    publisher = web_app[PUBLISHER]
    first = await publisher.current()
    publisher.max_age = 0
    # Two readers at once: one starts the build, and neither waits for it once there is something to serve.
    a, b = await publisher.current(), await publisher.current()
    assert a is first and b is first
    newer = await publisher.refresh()
    assert newer.serial > first.serial


def test_accept_encoding_and_accept_language_are_read_with_their_weights() -> None:
    from aiohttp.test_utils import make_mocked_request

    assert accepts_gzip(make_mocked_request("GET", "/", headers={"Accept-Encoding": "br, gzip;q=0.5"}))
    assert not accepts_gzip(make_mocked_request("GET", "/", headers={"Accept-Encoding": "br"}))
    assert accept_language("sw;q=0.9, en;q=0.8") == "sw"
    assert accept_language("en;q=0.1, sw-KE") == "sw"
    assert accept_language("fr, de") == "en"
    assert accept_language("sw;q=0, en;q=0.1") == "en"
    assert accept_language("") == "en"
