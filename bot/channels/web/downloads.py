"""The open data as files: GET /data/reports.csv and /data/reports.geojson.

The same columns as the admin's `export` (bot/reports/public.py, coarse public locations) and
the same filters (bot/reports/selection.py): ?commitment=CODE, ?agency=CODE, ?status=a,b (public
statuses only), ?since=DATE, ?until=DATE. Photo links (media_url) start with PUBLIC_BASE_URL,
else with the address the request came to (the command line's export has none without it).
Streamed from the database a few hundred rows at a time, so a million reports take the memory of
a thousand; gzip when the client accepts it. An ETag and Last-Modified let a client that has the
latest file skip the download (304).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime

from aiohttp import web

from bot.channels.web.keys import SERVICES
from bot.channels.web.photos import public_base
from bot.reports import public
from bot.reports.selection import Selection, SelectionError, UnknownCode, report_filter
from storage.queries.exports import ReportFilter, fingerprint, stream_reports

BATCH_SIZE = 1000
FORMATS: dict[str, tuple[str, Callable[..., AsyncIterator[str]]]] = {
    "csv": ("text/csv", public.csv_text),
    "geojson": ("application/geo+json", public.geojson_text),
}


def add_routes(app: web.Application) -> None:
    app.router.add_get("/data/reports.{format:(csv|geojson)}", _download)


def _selection(request: web.Request) -> Selection:
    query = request.query
    return Selection(
        commitment=query.get("commitment"),
        agency=query.get("agency"),
        statuses=tuple(query.getall("status", [])),
        since=query.get("since"),
        until=query.get("until"),
    )


def _etag(
    fmt: str,
    where: ReportFilter,
    audience: public.Audience,
    count: int,
    latest: datetime | None,
) -> str:
    key = "|".join(
        str(part)
        for part in (
            fmt,
            ",".join(sorted(where.statuses)),
            where.commitment_id,
            where.agency_id,
            where.since,
            where.until,
            audience.grid_m,
            audience.base_url,  # the photo links' base
            count,
            latest,
        )
    )
    return hashlib.sha256(key.encode()).hexdigest()[:32]


async def _download(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    fmt = request.match_info["format"]
    try:
        where = await report_filter(services.db, _selection(request))
    except UnknownCode as unknown:
        return web.json_response({"error": str(unknown)}, status=404)
    except SelectionError as error:
        return web.json_response({"error": str(error)}, status=400)
    audience = public.Audience.public(
        services.settings.public_location_grid_m, public_base(request)
    )
    async with services.db.read() as session:
        count, latest = await fingerprint(session, where)
    etag = _etag(fmt, where, audience, count, latest)
    modified = latest.replace(microsecond=0) if latest is not None else None
    fresh = any(tag.value == etag for tag in request.if_none_match or ())
    if not request.if_none_match and modified is not None and request.if_modified_since:
        fresh = modified <= request.if_modified_since
    response = web.StreamResponse(status=304 if fresh else 200)
    response.etag = etag
    if modified is not None:
        response.last_modified = modified
    response.headers["Cache-Control"] = "public, max-age=60"
    if fresh:
        return response
    content_type, text = FORMATS[fmt]
    response.content_type = content_type
    response.charset = "utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="reports.{fmt}"'
    if request.method == "HEAD":
        await response.prepare(request)  # the headers only: no body, compressed or not
        return response
    response.enable_compression()
    await response.prepare(request)
    async with services.db.read() as session:
        rows = stream_reports(session, where, BATCH_SIZE)
        async for chunk in text(rows, audience):
            await response.write(chunk.encode())
    await response.write_eof()
    return response
