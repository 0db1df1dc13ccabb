"""The open status store on the web: the public page, the Statuspage-compatible API, feeds and badges.

    web_app = public_app(app, public_url=settings_public_url)   # an aiohttp sub-application
    root.add_subapp("/status/", web_app)                         # or serve it as the root app

Everything is read from the status board the bot answers from (`app.board`), once per snapshot.
"""

from __future__ import annotations

from aiohttp import web

from bot.app import App
from bot.services.links import incident_url
from bot.web.hooks import add_hook_routes
from bot.web.operator_api import add_operator_routes
from bot.web.published import Publisher
from bot.web.routes import Site, add_routes

PUBLISHER = web.AppKey("publisher", Publisher)
SITE = web.AppKey("site", Site)


def public_app(app: App, *, public_url: str | None = None, max_age: float | None = None) -> web.Application:
    """Every public route on one aiohttp application, reading `app.board`; and, behind tokens, the alert
    hooks (bot/web/hooks.py) and the operator API (bot/web/operator_api.py) that write to `app.store`.

    `public_url` is the address the application is reached at (HALI_PUBLIC_URL: "https://hali.example/",
    or with the prefix it is mounted under); without it, links are paths and the API's links are empty.
    `max_age` is how long one snapshot's renderings serve (default: the board's cache, at least 1 s).
    """
    publisher = Publisher(app.board, app.store, max_age=max_age)
    site = Site(publisher, public_url=public_url)
    web_app = web.Application()
    web_app[PUBLISHER] = publisher
    web_app[SITE] = site
    add_routes(web_app, site)
    add_hook_routes(web_app, app)
    add_operator_routes(web_app, app)
    return web_app


__all__ = ["PUBLISHER", "SITE", "incident_url", "public_app"]
