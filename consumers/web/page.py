"""The Logs Insights query page at ``GET /insights`` (being built; see issue 12).

``cwlpipe serve`` calls :func:`add_page_routes` on its aiohttp application, so
the page and the API it calls are one server and one origin.
"""

from __future__ import annotations

from aiohttp import web

__all__ = ["add_page_routes"]


def add_page_routes(app: web.Application) -> None:
    """Add the page's routes to ``app`` (none yet)."""
    del app
