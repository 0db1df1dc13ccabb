"""The page in a real browser (Debian's Chromium, driven by Playwright), with JavaScript on and off.

Outside CI these tests skip when Chromium is missing; in CI (CI set) they must run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.i18n import translator

CHROMIUM = os.environ.get("HALI_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.browser


def _browser_available() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "playwright is not installed"
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        return f"Chromium is not at {CHROMIUM} (apt-get install -y chromium)"
    return None


@pytest.fixture
def chromium() -> str:
    missing = _browser_available()
    if missing is not None:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests must run in CI: {missing}")
        pytest.skip(missing)
    return CHROMIUM


@pytest.fixture
async def server(web_app: web.Application, seeded: dict[str, int]) -> AsyncIterator[TestServer]:
    async with TestServer(web_app, host="127.0.0.1") as s:
        yield s


@pytest.fixture
async def browser(chromium: str) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=chromium, args=FLAGS)
        try:
            yield b
        finally:
            await b.close()


async def open_page(browser: Any, url: str, *, javascript: bool) -> tuple[Any, Any, list[str]]:
    context = await browser.new_context(java_script_enabled=javascript, viewport={"width": 360, "height": 740})
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    response = await page.goto(url)
    assert response is not None and response.status == 200
    return context, page, errors


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize("lang", ["en", "sw"])
async def test_services_and_an_incident_are_visible_and_the_language_link_works(
    browser: Any, server: TestServer, seeded: dict[str, int], lang: str, javascript: bool
) -> None:
    context, page, errors = await open_page(browser, str(server.make_url(f"/?lang={lang}")), javascript=javascript)
    try:
        assert await page.get_attribute("html", "lang") == lang
        ecitizen = page.locator("#ecitizen")
        await ecitizen.wait_for(state="visible")
        word = translator(lang)._("Partial outage")
        assert word in await ecitizen.inner_text()
        title = "Payments to 222222 delayed <b>&" if lang == "en" else "Malipo ya 222222 yanachelewa"
        assert await ecitizen.get_by_role("link", name=title).is_visible()
        assert await page.locator("#kra").is_visible() and await page.locator("#iebc").is_visible()
        # Nothing runs sideways on a 360-pixel screen.
        assert await page.evaluate("document.documentElement.scrollWidth") <= 360

        # Open the incident's record, then switch language with the page's own link.
        await ecitizen.get_by_role("link", name=title).click()
        await page.wait_for_url(f"**/incidents/{seeded['open']}?lang={lang}")
        assert "SHA-256" in await page.inner_text("main")
        other = "sw" if lang == "en" else "en"
        await page.get_by_role("link", name="Kiswahili" if other == "sw" else "English").click()
        await page.wait_for_url(f"**/incidents/{seeded['open']}?lang={other}")
        assert await page.get_attribute("html", "lang") == other
        # The choice is remembered: the plain address now comes in that language.
        await page.goto(str(server.make_url("/")))
        assert await page.get_attribute("html", "lang") == other
        assert errors == []
    finally:
        await context.close()


async def test_keyboard_focus_is_visible_and_reads_the_90_day_bar(browser: Any, server: TestServer) -> None:
    context, page, errors = await open_page(browser, str(server.make_url("/?lang=en")), javascript=False)
    try:
        await page.keyboard.press("Tab")
        skip = await page.evaluate("""() => { const e = document.activeElement, s = getComputedStyle(e);
            return {text: e.textContent, outline: s.outlineStyle, width: s.outlineWidth,
                    left: e.getBoundingClientRect().left}; }""")
        assert skip["text"] == "Skip to the content"
        assert skip["outline"] != "none" and skip["width"] != "0px" and skip["left"] >= 0
        for _ in range(60):
            await page.keyboard.press("Tab")
            if await page.evaluate("document.activeElement.tagName") == "LI":
                break
        focused = await page.evaluate("""() => { const e = document.activeElement, s = getComputedStyle(e),
            label = e.querySelector('span'), r = label.getBoundingClientRect();
            return {outline: s.outlineStyle, width: s.outlineWidth, label: label.textContent,
                    shown: r.width > 20 && r.height > 5}; }""")
        assert focused["outline"] != "none" and focused["width"] != "0px"
        assert "days" in focused["label"] or "No data" in focused["label"]
        assert focused["shown"]  # the stretch's label shows while it has focus
        assert errors == []
    finally:
        await context.close()
