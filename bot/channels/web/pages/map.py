"""The map of open reports, GET /map (filled in with the map change)."""

from __future__ import annotations

from aiohttp import web


def add_routes(app: web.Application) -> None:
    pass
