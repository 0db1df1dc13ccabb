"""Responses rendered once and served many times: the cache, validators, compression and languages.

A rendering is kept per (what, language) until the next `Published`; a request only looks it up,
answers 304 when the client already has it, and picks the identity or gzip body. The ETag is a hash of
the body, so a rendering that came out the same as the previous one keeps its ETag and Last-Modified
and the crowd behind a proxy keeps getting 304s across snapshots.

The status page is what a crowd loads when a service goes down, so the work left to a request is kept
to lookups: each rendering keeps the complete headers of each way it is served (`Prepared`), and the
request headers that choose among them (Accept-Encoding, Accept-Language) are read once per distinct
value, not once per request.
"""

from __future__ import annotations

import gzip
import hashlib
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from functools import lru_cache

from aiohttp import hdrs, web

from bot.i18n import DEFAULT_LANGUAGE, LANGUAGES, normalise_language

# Short: a proxy or CDN absorbs the crowd, yet a change is out within half a minute. When Hali itself
# cannot answer, a proxy may keep serving what it has for a day.
CACHE_CONTROL = "public, max-age=30, stale-while-revalidate=30, stale-if-error=86400"
LANGUAGE_COOKIE = "hali_lang"
HTML = "text/html; charset=utf-8"
JSON = "application/json; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"
SVG = "image/svg+xml; charset=utf-8"
CSS = "text/css; charset=utf-8"
# Not worth compressing: the gzip header costs more than it saves.
_GZIP_FROM = 512
# How many distinct Accept-Encoding and Accept-Language values are remembered with what they chose:
# browsers send a handful, and an odd one only costs reading it again.
_HEADER_VALUES_KEPT = 1024


@dataclass(frozen=True, slots=True)
class Prepared:
    """One way of serving a rendering (identity or gzip, with its Vary, CORS and caching): the body and
    the complete headers of its 200 and of its 304, made once. aiohttp copies the headers it is given,
    so one dict serves every request."""

    body: bytes
    headers: Mapping[str, str]
    not_modified: Mapping[str, str]


@dataclass
class Rendered:
    """One representation: its body, compressed on first demand, and its validators."""

    body: bytes
    content_type: str
    last_modified: datetime
    etag: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    _gzipped: bytes | None = None
    _prepared: dict[tuple[bool, str, bool, str], Prepared] = field(
        default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.etag:
            self.etag = hashlib.sha256(self.body).hexdigest()[:32]
        self.last_modified = self.last_modified.replace(microsecond=0)
        self._http_date = format_datetime(self.last_modified, usegmt=True)
        self.compressible = len(self.body) >= _GZIP_FROM
        # The ETags this rendering is sent with: a revalidation usually sends one of them back as is.
        self.sent_etags = frozenset((f'"{self.etag}"', f'"{self.etag}-gzip"'))

    @property
    def gzipped(self) -> bytes:
        if self._gzipped is None:
            # mtime=0: the same body always compresses to the same bytes.
            self._gzipped = gzip.compress(self.body, compresslevel=6, mtime=0)
        return self._gzipped

    @property
    def http_date(self) -> str:
        return self._http_date

    def prepared(self, compress: bool, vary: str, cors: bool, cache_control: str) -> Prepared:
        """The body and headers for one way of serving this rendering, made on its first request."""
        key = (compress, vary, cors, cache_control)
        found = self._prepared.get(key)
        if found is None:
            found = self._prepared[key] = self._prepare(compress, vary, cors, cache_control)
        return found

    def _prepare(self, compress: bool, vary: str, cors: bool, cache_control: str) -> Prepared:
        headers = {
            "ETag": f'"{self.etag}-gzip"' if compress else f'"{self.etag}"',
            "Last-Modified": self.http_date,
            "Cache-Control": cache_control,
            "Vary": vary,
            **self.headers,
        }
        if cors:
            headers["Access-Control-Allow-Origin"] = "*"
        not_modified = dict(headers)
        if compress:
            headers["Content-Encoding"] = "gzip"
        headers["Content-Type"] = self.content_type
        return Prepared(self.gzipped if compress else self.body, headers, not_modified)


class Renderings:
    """Renderings per key, made again only when the `Published` they came from has been replaced."""

    def __init__(self, limit: int = 4096) -> None:
        self.limit = limit
        self._kept: OrderedDict[Hashable, tuple[int, Rendered]] = OrderedDict()
        self.made = 0  # how many times something was rendered (the tests count them)

    def get(self, serial: int, key: Hashable, now: datetime, render: Callable[[], bytes], content_type: str,
            headers: Mapping[str, str] | None = None) -> Rendered:
        kept = self._kept.get(key)
        if kept is not None and kept[0] == serial:
            self._kept.move_to_end(key)
            return kept[1]
        body = render()
        self.made += 1
        fresh = Rendered(body, content_type, now, headers=headers or {})
        if kept is not None and kept[1].etag == fresh.etag and kept[1].content_type == content_type:
            fresh = kept[1]  # unchanged: keep its Last-Modified and its compressed body
        self._kept[key] = (serial, fresh)
        self._kept.move_to_end(key)
        while len(self._kept) > self.limit:
            self._kept.popitem(last=False)
        return fresh


def accepts_gzip(request: web.Request) -> bool:
    return _accepts_gzip(request.headers.get(hdrs.ACCEPT_ENCODING, ""))


@lru_cache(maxsize=_HEADER_VALUES_KEPT)
def _accepts_gzip(header: str) -> bool:
    for part in header.split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() in ("gzip", "*"):
            return _quality(params) > 0
    return False


def _quality(params: str) -> float:
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


def _not_modified(request: web.Request, rendered: Rendered) -> bool:
    match = request.headers.get(hdrs.IF_NONE_MATCH)
    if match is not None:
        if match in rendered.sent_etags:
            return True  # the tag as this rendering sent it
        tags = {t.strip().removeprefix("W/").strip('"').removesuffix("-gzip") for t in match.split(",")}
        return "*" in tags or rendered.etag in tags
    since = request.headers.get(hdrs.IF_MODIFIED_SINCE)
    if since is not None:
        if since == rendered.http_date:
            return True  # the date as this rendering sent it
        try:
            moment = parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
        return moment.tzinfo is not None and rendered.last_modified <= moment
    return False


def respond(request: web.Request, rendered: Rendered, *, vary: str = "Accept-Encoding",
            cors: bool = False, cache_control: str = CACHE_CONTROL, status: int = 200) -> web.Response:
    """The rendering for this request: 304 when the client has it, gzip when asked for; `status` is
    the status of a full answer (a 404 page is a rendering too)."""
    headers = request.headers
    compress = rendered.compressible and _accepts_gzip(headers.get(hdrs.ACCEPT_ENCODING, ""))
    prepared = rendered.prepared(compress, vary, cors, cache_control)
    if (hdrs.IF_NONE_MATCH in headers or hdrs.IF_MODIFIED_SINCE in headers) and _not_modified(request, rendered):
        return web.Response(status=304, headers=prepared.not_modified)
    return web.Response(body=prepared.body, status=status, headers=prepared.headers)


def query_language(request: web.Request) -> str | None:
    if not request.query_string:
        return None  # no query to parse
    return normalise_language(request.query.get("lang"))


def page_language(request: web.Request) -> tuple[str, bool]:
    """The page's language: ?lang=, then the cookie the page's language link set, then Accept-Language,
    then English. The flag says whether the URL chose it (else the answer varies by cookie and header)."""
    chosen = query_language(request)
    if chosen is not None:
        return chosen, True
    headers = request.headers
    if hdrs.COOKIE in headers:
        cookie = normalise_language(request.cookies.get(LANGUAGE_COOKIE))
        if cookie is not None:
            return cookie, False
    return accept_language(headers.get(hdrs.ACCEPT_LANGUAGE, "")), False


@lru_cache(maxsize=_HEADER_VALUES_KEPT)
def accept_language(header: str) -> str:
    """The supported language the header prefers most (ties go to the one listed first)."""
    best: tuple[float, int, str] | None = None
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        lang = normalise_language(tag.strip())
        quality = _quality(params)
        if lang is None or quality <= 0:
            continue
        if best is None or (quality, -position) > (best[0], -best[1]):
            best = (quality, position, lang)
    return best[2] if best is not None else DEFAULT_LANGUAGE


def api_language(request: web.Request) -> str:
    return query_language(request) or DEFAULT_LANGUAGE


assert DEFAULT_LANGUAGE in LANGUAGES
