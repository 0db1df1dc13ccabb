"""Atom feeds a standard reader parses, and badges in SVG and in shields.io's endpoint format."""

from __future__ import annotations

import json
from xml.etree import ElementTree

import feedparser
from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.web.conftest import PUBLIC_URL

Client = TestClient[web.Request, web.Application]


async def feed(client: Client, path: str) -> feedparser.FeedParserDict:
    response = await client.get(path)
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("application/atom+xml")
    parsed = feedparser.parse(await response.read())
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    return parsed


async def test_the_history_feed_has_every_incident_and_maintenance(client: Client, seeded: dict[str, int]) -> None:
    parsed = await feed(client, "/history.atom")
    titles = [e.title for e in parsed.entries]
    assert "eCitizen: Payments to 222222 delayed <b>&" in titles
    assert "KRA iTax: iTax is down" in titles
    assert "KRA iTax: iTax upgrade" in titles
    resolved = next(e for e in parsed.entries if e.title == "KRA iTax: iTax is down")
    assert resolved.link == f"{PUBLIC_URL}incidents/{seeded['resolved']}?lang=en"
    content = resolved.content[0].value
    assert "We are looking into it" in content and "iTax is back" in content
    assert content.index("iTax is back") < content.index("We are looking into it")  # newest update first
    assert all(e.id.startswith("urn:uuid:") for e in parsed.entries)
    assert len({e.id for e in parsed.entries}) == len(parsed.entries)


async def test_a_services_feed_has_only_its_own_entries_and_swahili_with_lang_sw(
    client: Client, seeded: dict[str, int]
) -> None:
    parsed = await feed(client, "/services/kra.atom?lang=sw")
    assert parsed.feed.language == "sw"
    assert [e.title for e in parsed.entries] == ["KRA iTax: iTax haipatikani", "KRA iTax: Kuboresha iTax"]
    assert (await client.get("/services/nothing.atom")).status == 404


async def test_the_badge_json_is_what_shields_io_reads(client: Client, seeded: dict[str, int]) -> None:
    badge = json.loads(await (await client.get("/services/ecitizen/badge.json")).read())
    assert badge == {"schemaVersion": 1, "label": "eCitizen", "message": "Partial outage", "color": "orange",
                     "cacheSeconds": 300}
    swahili = json.loads(await (await client.get("/services/ecitizen/badge.json?lang=sw")).read())
    assert swahili["message"] != "Partial outage"
    quiet = json.loads(await (await client.get("/services/kplc/badge.json")).read())
    assert quiet["message"] == "No problems known" and quiet["color"] == "green"


async def test_the_badge_svg_is_an_image_with_a_text_alternative(client: Client, seeded: dict[str, int]) -> None:
    response = await client.get("/services/ecitizen/badge.svg")
    assert response.headers["Content-Type"].startswith("image/svg+xml")
    root = ElementTree.fromstring(await response.read())
    assert root.get("role") == "img" and root.get("aria-label") == "eCitizen: Partial outage"
    ns = {"svg": "http://www.w3.org/2000/svg"}
    assert root.find("svg:title", ns).text == "eCitizen: Partial outage"  # type: ignore[union-attr]
    assert "#fe7d37" in (await response.text())
    assert (await client.get("/services/nothing/badge.svg")).status == 404
