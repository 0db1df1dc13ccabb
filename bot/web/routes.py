"""The public app's handlers: look up the current Published, take (or make) its rendering, respond.

Nothing here renders per request: each handler names what it wants and in which language, and the
rendering made from the current Published is reused until the next one (bot/web/http.py).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.catalog.model import Service
from bot.i18n import LANGUAGES, Translator, translator
from bot.services.links import incident_path
from bot.store.repo import NotFound
from bot.web import badges
from bot.web.feeds import Feeds
from bot.web.http import (
    ATOM,
    HTML,
    JSON,
    LANGUAGE_COOKIE,
    SVG,
    Rendered,
    Renderings,
    api_language,
    page_language,
    respond,
)
from bot.web.pages import Pages, environment
from bot.web.published import Published, Publisher
from bot.web.record import Record, build_record
from bot.web.statuspage import DOCUMENTS, Documents

# No script runs on these pages: the policy forbids any, and every style is the page's own.
HTML_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; "
                               "form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
PLAIN_HEADERS = {"X-Content-Type-Options": "nosniff"}
# A page in the language its URL names varies only by encoding; otherwise by what chose the language.
_VARY_BY_URL = "Accept-Encoding"
_VARY_BY_READER = "Accept-Encoding, Accept-Language, Cookie"
_PAGE_PATH = re.compile(r"^(?:[a-z0-9-]+(?:/[a-z0-9-]+)*)?$")
_RECORDS_KEPT = 512


def _json(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


class Site:
    """The handlers and what they share: the publisher, the renderings, the templates."""

    def __init__(self, publisher: Publisher, *, public_url: str | None) -> None:
        self.publisher = publisher
        self.public_url = public_url.rstrip("/") + "/" if public_url else None
        self.renderings = Renderings()
        self.env = environment()
        self._base: str | None = None
        self._records: OrderedDict[int, tuple[int, Record | None]] = OrderedDict()
        self._fetching: dict[tuple[int, int], asyncio.Task[Record | None]] = {}

    # --- shared pieces --------------------------------------------------------------------------

    def base(self, request: web.Request) -> str:
        """The path the app answers at ("/", or the prefix it was mounted under, with a slash)."""
        if self._base is None:
            path = str(request.app.router["index"].url_for())
            self._base = path if path.endswith("/") else path + "/"
        return self._base

    def pages(self, request: web.Request, published: Published, t: Translator) -> Pages:
        base = self.base(request)
        return Pages(self.env, published, t, base=base, canonical_base=self.public_url or base)

    def absolute(self, request: web.Request) -> Callable[[str], str]:
        prefix = self.public_url or self.base(request)
        return lambda path: prefix + path

    def incident_link(self, incident_id: int) -> str:
        return f"{self.public_url}{incident_path(incident_id)}" if self.public_url else ""

    def html(self, request: web.Request, published: Published, key: tuple[Any, ...],
             render: Callable[[Pages], bytes], *, status: int = 200) -> web.Response:
        lang, explicit = page_language(request)
        rendered = self.renderings.get(published.serial, (*key, lang), published.now,
                                       lambda: render(self.pages(request, published, translator(lang))),
                                       HTML, HTML_HEADERS)
        return respond(request, rendered, vary=_VARY_BY_URL if explicit else _VARY_BY_READER, status=status)

    def other(self, request: web.Request, published: Published, key: tuple[Any, ...], render: Callable[[], bytes],
              content_type: str, *, cors: bool = True) -> web.Response:
        rendered: Rendered = self.renderings.get(published.serial, key, published.now, render, content_type,
                                                 PLAIN_HEADERS)
        return respond(request, rendered, cors=cors)

    def not_found(self, request: web.Request, published: Published) -> web.Response:
        return self.html(request, published, ("404",), lambda pages: pages.not_found(), status=404)

    def service(self, request: web.Request, published: Published) -> Service | None:
        return published.snapshot.catalog.get(request.match_info["service"])

    # --- the page -------------------------------------------------------------------------------

    async def index(self, request: web.Request) -> web.Response:
        published = await self.publisher.current()
        return self.html(request, published, ("index",), lambda pages: pages.index())

    async def service_page(self, request: web.Request) -> web.Response:
        published = await self.publisher.current()
        service = self.service(request, published)
        if service is None:
            return self.not_found(request, published)
        return self.html(request, published, ("service", service.id), lambda pages: pages.service(service))

    async def incident_page(self, request: web.Request) -> web.Response:
        published = await self.publisher.current()
        record = await self.record(published, int(request.match_info["incident"]))
        if record is None:
            return self.not_found(request, published)
        service = published.snapshot.catalog.get(record.incident.service_id)
        return self.html(request, published, ("incident", record.incident.id),
                         lambda pages: pages.incident(record, service))

    async def incident_data(self, request: web.Request) -> web.Response:
        published = await self.publisher.current()
        record = await self.record(published, int(request.match_info["incident"]))
        if record is None:
            raise web.HTTPNotFound()
        return self.other(request, published, ("record", record.incident.id), lambda: record.document, JSON)

    async def record(self, published: Published, incident_id: int) -> Record | None:
        """The incident's record as of this Published, fetched once however many ask at the same time."""
        kept = self._records.get(incident_id)
        if kept is not None and kept[0] == published.serial:
            return kept[1]
        incident = published.incident(incident_id)
        if incident is None and incident_id > max((i.id for i in published.incidents), default=0):
            return None  # not yet opened: no need to ask the database
        key = (published.serial, incident_id)
        task = self._fetching.get(key)
        if task is None:
            task = asyncio.create_task(self._fetch(published, incident_id))
            self._fetching[key] = task
            task.add_done_callback(lambda _: self._fetching.pop(key, None))
        record = await asyncio.shield(task)
        self._records[incident_id] = (published.serial, record)
        self._records.move_to_end(incident_id)
        while len(self._records) > _RECORDS_KEPT:
            self._records.popitem(last=False)
        return record

    async def _fetch(self, published: Published, incident_id: int) -> Record | None:
        incident = published.incident(incident_id)
        if incident is None:
            try:
                incident = await self.publisher.store.incident(incident_id)  # older than the history kept
            except NotFound:
                return None
        return await build_record(self.publisher.history, incident, published.now)

    async def language(self, request: web.Request) -> web.Response:
        """The page's language link: remember the choice in a cookie, then back to the page in it."""
        lang = request.match_info["lang"]
        base = self.base(request)
        path = request.query.get("next", "")
        if not _PAGE_PATH.match(path):
            path = ""
        redirect = web.HTTPSeeOther(f"{base}{path}?lang={lang}", headers={"Cache-Control": "no-store"})
        redirect.set_cookie(LANGUAGE_COOKIE, lang, max_age=365 * 24 * 3600, path=base, samesite="Lax")
        raise redirect

    # --- the API, feeds, badges -----------------------------------------------------------------

    async def api(self, request: web.Request) -> web.Response:
        published = await self.publisher.current()
        name = request.match_info["document"]
        if name not in DOCUMENTS:
            raise web.HTTPNotFound()
        return self.document(request, published, name)

    def document_handler(self, name: str) -> Callable[[web.Request], Awaitable[web.Response]]:
        """The handler of one API document on a route of its own: its path is looked up, not matched
        against the documents' pattern on every request."""
        async def handler(request: web.Request) -> web.Response:
            return self.document(request, await self.publisher.current(), name)

        return handler

    def document(self, request: web.Request, published: Published, name: str) -> web.Response:
        lang = api_language(request)

        def render() -> bytes:
            docs = Documents(published, translator(lang), public_url=self.public_url, incident_link=self.incident_link)
            return _json(docs.document(name))

        return self.other(request, published, ("api", name, lang), render, JSON)

    async def preflight(self, request: web.Request) -> web.Response:
        return web.Response(status=204, headers={
            "Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
            "Access-Control-Allow-Headers": "*", "Access-Control-Max-Age": "86400"})

    async def history_feed(self, request: web.Request) -> web.Response:
        published = await self.publisher.current()
        lang = api_language(request)
        t = translator(lang)
        return self.other(request, published, ("history.atom", lang),
                          lambda: Feeds(published, t, self.pages(request, published, t),
                                        absolute=self.absolute(request)).history(), ATOM)

    async def service_feed(self, request: web.Request) -> web.Response:
        published = await self.publisher.current()
        service = self.service(request, published)
        if service is None:
            raise web.HTTPNotFound()
        lang = api_language(request)
        t = translator(lang)
        return self.other(request, published, ("service.atom", service.id, lang),
                          lambda: Feeds(published, t, self.pages(request, published, t),
                                        absolute=self.absolute(request)).service(service), ATOM)

    async def badge(self, request: web.Request) -> web.Response:
        published = await self.publisher.current()
        service = self.service(request, published)
        if service is None:
            raise web.HTTPNotFound()
        lang = api_language(request)
        t = translator(lang)
        status = published.status(service.id)
        if request.match_info["format"] == "json":
            return self.other(request, published, ("badge.json", service.id, lang),
                              lambda: badges.endpoint(t, service, status), JSON)
        return self.other(request, published, ("badge.svg", service.id, lang),
                          lambda: badges.svg(self.env, t, service, status), SVG)


def add_routes(app: web.Application, site: Site) -> None:
    service = r"{service:[a-z][a-z0-9-]*}"
    incident = r"{incident:[0-9]{1,12}}"
    languages = "|".join(LANGUAGES)
    app.router.add_get("/", site.index, name="index")
    app.router.add_get(f"/services/{service}", site.service_page)
    app.router.add_get(f"/services/{service}.atom", site.service_feed)
    app.router.add_get(f"/services/{service}/badge.{{format:svg|json}}", site.badge)
    app.router.add_get(f"/incidents/{incident}", site.incident_page)
    app.router.add_get(f"/incidents/{incident}.json", site.incident_data)
    app.router.add_get("/history.atom", site.history_feed)
    app.router.add_get(f"/language/{{lang:{languages}}}", site.language)
    for name in DOCUMENTS:
        app.router.add_get(f"/api/v2/{name}.json", site.document_handler(name))
        app.router.add_route("OPTIONS", f"/api/v2/{name}.json", site.preflight)
    # The same methods on any other name, for the same 404 (and 405) as an unknown name always had.
    app.router.add_get(r"/api/v2/{document:[a-z/-]+}.json", site.api)
    app.router.add_route("OPTIONS", r"/api/v2/{document:[a-z/-]+}.json", site.preflight)
