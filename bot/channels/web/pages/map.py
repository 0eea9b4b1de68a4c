"""The map of open reports, GET /map, and its data, GET /map/reports.geojson.

The page lists the newest open reports that have a place (their coarse public location,
bot/reports/public.py), which works without JavaScript and without tiles. When MAP_TILE_URL is
set, the page also loads the vendored Leaflet (static/leaflet/) and our own static/map.js, which
draws the same reports from /map/reports.geojson on tiles from that server; the page's security
policy then allows images from the tile server's origin, and nothing else from anywhere.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from aiohttp import web

from bot.catalog.commitments import localized
from bot.channels.web.keys import SERVICES
from bot.channels.web.pages.common import PAGE_CSP, only, render
from bot.i18n.translate import _, current_locale
from bot.reports import public
from bot.reports.lifecycle import PUBLIC_OPEN
from storage.queries import scorecards as queries

MAP_LIMIT = 500  # the newest open reports with a place; the whole set is in /data/


def add_routes(app: web.Application) -> None:
    app.router.add_get("/map", map_page)
    app.router.add_get("/map/reports.geojson", map_data)


def tile_origin(url: str) -> str:
    """The origin the tiles come from, for the page's img-src: {s} subdomains as a wildcard."""
    parts = urlsplit(url.replace("{s}.", "*."))
    return f"{parts.scheme}://{parts.netloc}"


async def _rows(request: web.Request):  # type: ignore[no-untyped-def]
    services = request.app[SERVICES]
    async with services.db.read() as session:
        return await queries.located_reports(session, PUBLIC_OPEN, MAP_LIMIT)


async def map_page(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    settings = services.settings
    only(request)
    rows = await _rows(request)
    audience = public.Audience.public(settings.public_location_grid_m)
    locale, default = current_locale(), settings.default_locale
    reports = []
    for row in rows:
        latitude, longitude = public.location(row, audience)
        reports.append(
            {
                "reference": row.reference,
                "commitment_code": row.commitment_code,
                "commitment_title": localized(row.commitment_short_titles or {}, locale, default)
                or localized(row.commitment_titles or {}, locale, default)
                or row.commitment_code,
                "kind": row.kind,
                "status": row.status,
                "created_at": row.created_at,
                "latitude": latitude,
                "longitude": longitude,
            }
        )
    context = {
        "title": _("Map of open reports"),
        "reports": reports,
        "limit": MAP_LIMIT,
        "tiles": settings.map_tile_url,
        "attribution": settings.map_attribution or "",
    }
    response = render(request, "map.html", context)
    if settings.map_tile_url:
        origin = tile_origin(settings.map_tile_url)
        response.headers["Content-Security-Policy"] = PAGE_CSP.replace(
            "img-src 'self' data:", f"img-src 'self' data: {origin}"
        )
    return response


async def map_data(request: web.Request) -> web.Response:
    """The map's reports as GeoJSON, through the one public serializer (coarse places)."""
    settings = request.app[SERVICES].settings
    only(request)
    audience = public.Audience.public(settings.public_location_grid_m)
    rows = await _rows(request)
    document = {
        "type": "FeatureCollection",
        "features": [public.geojson_feature(row, audience) for row in rows],
    }
    return web.Response(
        text=json.dumps(document, ensure_ascii=False),
        content_type="application/geo+json",
        headers={"Cache-Control": "public, max-age=60"},
    )
