"""The Logs Insights query page at ``GET /insights`` (issue 12).

``cwlpipe serve`` calls :func:`add_page_routes` on its aiohttp application, so
the page and the CloudWatch Logs API it calls (``POST /``) are one server and
one origin: the page needs no CORS and no credentials of its own.

The page is three static files shipped as package data (``static/``): plain
HTML, CSS and JavaScript with no build step, so an installed wheel serves it
and a browser with no network beyond this server runs it. They are read once,
when the routes are added, and served from memory. The Content-Security-Policy
allows this origin only, so a later edit that reached for a CDN would fail
loudly in the browser test instead of quietly needing the internet.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib.resources import files

from aiohttp import web

__all__ = ["PAGE_PATH", "STATIC_PREFIX", "add_page_routes"]

PAGE_PATH = "/insights"
STATIC_PREFIX = "/insights/static/"

#: file name -> content type; nothing else under ``static/`` is served
_FILES = {
    "insights.html": "text/html",
    "insights.css": "text/css",
    "insights.js": "text/javascript",
}

_HEADERS = {
    # only this origin: no CDN, no fonts, no beacons; data: for the blank favicon and SVG
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # the files change with the package, and a stale script against a newer API misleads
    "Cache-Control": "no-cache",
}


def _static(name: str) -> bytes:
    return (files(__package__ or "consumers.web") / "static" / name).read_bytes()


def _handler(body: bytes, content_type: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        del request
        return web.Response(body=body, content_type=content_type, charset="utf-8", headers=_HEADERS)

    return handle


def add_page_routes(app: web.Application) -> None:
    """Add ``GET /insights`` (the page) and ``GET /insights/static/<file>`` (its CSS and script).

    The files are read here, so a package installed without them fails when the server
    starts, not when the first analyst opens the page.
    """
    bodies = {name: _static(name) for name in _FILES}
    app.router.add_get(PAGE_PATH, _handler(bodies["insights.html"], _FILES["insights.html"]))
    app.router.add_get(PAGE_PATH + "/", _redirect)
    for name in ("insights.css", "insights.js"):
        app.router.add_get(STATIC_PREFIX + name, _handler(bodies[name], _FILES[name]))


async def _redirect(request: web.Request) -> web.StreamResponse:
    """``/insights/`` would resolve the page's links differently; there is one address."""
    del request
    raise web.HTTPPermanentRedirect(PAGE_PATH)
