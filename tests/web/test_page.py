"""The public page: every service with its state in words, escaped, in the reader's language, light."""

from __future__ import annotations

import gzip
import re
from html.parser import HTMLParser

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.app import App
from bot.catalog.model import Text
from bot.core.clock import FrozenClock
from bot.core.status import State
from bot.i18n import translator
from bot.render import GROUP_NAMES
from tests.web.conftest import refresh

Client = TestClient[web.Request, web.Application]


async def page(client: Client, path: str = "/", **headers: str) -> str:
    response = await client.get(path, headers=headers)
    assert response.status == 200, path
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    return await response.text()


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


def tags(html: str, name: str) -> list[dict[str, str | None]]:
    parser = Tags()
    parser.feed(html)
    return [attrs for tag, attrs in parser.found if tag == name]


async def test_every_service_is_on_the_page_in_its_group_with_its_state_as_a_word(
    client: Client, hali: App, seeded: dict[str, int]
) -> None:
    html = await page(client)
    catalog = await hali.store.catalog()
    for service in catalog.services:
        assert f'id="{service.id}"' in html, service.id
    for group in ("payments", "tax_business"):
        assert translator("en")._(GROUP_NAMES[group]) in html, group
    ecitizen = html[html.index('id="ecitizen"'):html.index('id="kplc"')]
    assert "Partial outage" in ecitizen and 'aria-hidden="true">◑' in ecitizen
    assert "Source: an official notice from the service provider" in ecitizen
    assert "Still delayed; keep the M-Pesa SMS" in ecitizen  # the latest update
    assert "Wait for validation; do not pay twice" in ecitizen  # the incident's workaround
    assert "<details open>" in ecitizen  # a service with a problem shows what to do at once
    assert "No problems known" in html
    assert "Planned maintenance" in html and "iTax upgrade" in html
    assert "Uptime:" in html and "Hali does not check this service automatically." in html


async def test_every_dynamic_part_is_escaped(client: Client, seeded: dict[str, int]) -> None:
    html = await page(client)
    assert "Payments to 222222 delayed &lt;b&gt;&amp;" in html
    assert "delayed <b>&" not in html
    record = await page(client, f"/incidents/{seeded['open']}")
    assert "&lt;b&gt;&amp;" in record and "<b>&" not in record


async def test_the_language_comes_from_the_url_then_the_cookie_then_the_browser(
    client: Client, seeded: dict[str, int]
) -> None:
    assert '<html lang="en">' in await page(client)
    assert '<html lang="sw">' in await page(client, "/?lang=sw")
    assert '<html lang="sw">' in await page(client, "/", **{"Accept-Language": "fr;q=0.9, sw-KE;q=0.8, en;q=0.5"})
    assert '<html lang="en">' in await page(client, "/", **{"Accept-Language": "en-GB, sw;q=0.5"})

    swahili = await page(client, "/?lang=sw")
    assert "Huduma za serikali mtandaoni zinafanya kazi?" in swahili
    assert "Malipo ya 222222 yanachelewa" in swahili  # the operator's Swahili title
    # An update written only in English is marked as such, in its own language for screen readers.
    assert '<span lang="en">Still delayed; keep the M-Pesa SMS</span> <i>(kwa Kiingereza)</i>' in swahili

    # The page's own language link sets a cookie and comes back to the same page in that language.
    link = next(a["href"] for a in tags(swahili, "a") if a.get("hreflang") == "en")
    assert link == "/language/en?next="
    response = await client.get("/language/sw?next=services/kra", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/services/kra?lang=sw"
    assert client.session.cookie_jar.filter_cookies(client.make_url("/"))["hali_lang"].value == "sw"
    assert '<html lang="sw">' in await page(client, "/", **{"Accept-Language": "en"})
    assert (await client.get("/")).headers["Vary"] == "Accept-Encoding, Accept-Language, Cookie"
    assert (await client.get("/?lang=en")).headers["Vary"] == "Accept-Encoding"


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "../etc", "services/kra?x=1"])
async def test_the_language_link_never_leads_off_the_site(client: Client, target: str) -> None:
    response = await client.get("/language/sw", params={"next": target}, allow_redirects=False)
    assert response.headers["Location"] == "/?lang=sw"


async def test_the_90_day_bar_reads_out_each_stretch_of_days_and_no_data_is_not_up(
    client: Client, seeded: dict[str, int]
) -> None:
    html = await page(client)
    kra = html[html.index('id="kra"'):html.index('id="brs"')]
    bar = kra[kra.index('<ol class="bar"'):kra.index("</ol>")]
    items = tags(bar, "li")
    assert all(li.get("tabindex") == "0" for li in items)  # each stretch can be reached by keyboard
    labels = re.findall(r"<span>([^<]*)</span>", bar)
    assert len(labels) == len(items)
    assert labels[0].startswith("31 Aug 2026 to ") and "No data" in labels[0]
    assert any("Outage" in label for label in labels)
    assert any("No problems" in label and "of checks answered" in label for label in labels)
    assert sum(int(re.search(r"flex-grow:(\d+)", str(li["style"])).group(1)) for li in items) == 90  # type: ignore[union-attr]
    # KPLC is not checked and had no incident: every day is "no data", never shown as up.
    kplc = html[html.index('id="kplc"'):html.index('id="mpesa"')]
    kplc_bar = kplc[kplc.index('<ol class="bar"'):kplc.index("</ol>")]
    assert len(tags(kplc_bar, "li")) == 1 and "No data" in kplc_bar and 'class="up"' not in kplc_bar


async def test_a_service_page_has_a_table_of_its_90_days(client: Client, seeded: dict[str, int]) -> None:
    html = await page(client, "/services/kra")
    rows = re.findall(r'<tr class="d-(\w+)"><th scope="row">([^<]+)</th>', html)
    assert len(rows) == 90
    assert rows[0][1] == "28 Nov 2026"  # newest first
    levels = dict((day, level) for level, day in rows)
    assert levels["25 Nov 2026"] == "major"  # the three-hour outage and its incident
    assert levels["20 Nov 2026"] == "up"
    assert levels["1 Nov 2026"] == "none"
    assert f'href="/incidents/{seeded["resolved"]}?lang=en"' in html


async def test_unknown_services_and_incidents_are_404_pages(client: Client, seeded: dict[str, int]) -> None:
    for path in ("/services/nothing", "/incidents/999", "/incidents/1000000000"):
        response = await client.get(path)
        assert response.status == 404, path
        assert "Not found" in await response.text()


async def test_the_first_view_is_light(client: Client, seeded: dict[str, int]) -> None:
    response = await client.get("/", headers={"Accept-Encoding": "gzip"}, auto_decompress=False)
    compressed = await response.read()
    assert response.headers["Content-Encoding"] == "gzip"
    assert len(compressed) < 50_000
    body = gzip.decompress(compressed)
    assert b"<style>" in body and b"<link rel=\"stylesheet\"" not in body  # its CSS comes with it
    assert b"<script" not in body
    assert len(body) < 100_000


async def test_the_page_works_for_a_citizen_after_a_change(
    client: Client, hali: App, web_app: web.Application, clock: FrozenClock
) -> None:
    before = await page(client)
    assert "No problems known with any service" in before
    incident = await hali.store.open_incident("sha", State.MAJOR_OUTAGE, Text("SHA systems down"), actor="cli")
    clock.advance(minutes=30)
    await refresh(web_app)
    html = await page(client)
    assert "1 service has a problem:" in html
    sha = html[html.index('id="sha"'):]
    assert "Major outage" in sha and "30 minutes ago" in sha
    assert f'href="/incidents/{incident}?lang=en"' in sha
    clock.advance(hours=2)
    await hali.store.resolve_incident(incident, actor="cli")
    await refresh(web_app)
    html = await page(client)
    assert "resolved after 2 hours" in html
