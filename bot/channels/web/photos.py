"""A public report's photos: GET (and HEAD) /media/<reference>/<n>.jpg, n from 1.

The bytes are the cleaned copy the bot stored when the photo arrived (bot/reports/photos.py:
pixels only, no EXIF, GPS, XMP, ICC profile or comment), with its own Content-Type. A photo is
served only while its report is public (bot/reports/lifecycle.py PUBLIC) and a moderator has not
hidden its photos (bot/reports/public.py public_photo_count); otherwise, and for anything that
does not exist, the answer is the router's own 404, so nobody can tell a hidden photo, a report
waiting for review or a rejected one from a reference never given out. The ETag is the content's
SHA-256 (If-None-Match: 304); clients may cache a photo for a few minutes only, so that hiding
takes effect soon.
"""

from __future__ import annotations

import re

from aiohttp import web

from bot.channels.web.keys import SERVICES
from bot.reports.lifecycle import PUBLIC
from bot.reports.references import normalize_reference
from storage.queries import media as queries

CACHE_CONTROL = "public, max-age=300"
_POSITION = re.compile(r"[1-9][0-9]{0,3}")  # 1 to 9999, as public_photo_paths writes it


def add_routes(app: web.Application) -> None:
    # add_get answers HEAD too: the same headers, no body.
    app.router.add_get("/media/{reference}/{n}.jpg", _photo)


def public_base(request: web.Request) -> str:
    """The base of absolute photo links in this request's answer: PUBLIC_BASE_URL, else the
    scheme and host the request came to."""
    return request.app[SERVICES].settings.public_base_url or str(request.url.origin())


async def _photo(request: web.Request) -> web.StreamResponse:
    services = request.app[SERVICES]
    raw_n = request.match_info["n"]
    reference = normalize_reference(request.match_info["reference"])
    if reference is None or not _POSITION.fullmatch(raw_n):
        raise web.HTTPNotFound()
    async with services.db.read() as session:
        found = await queries.public_photo(session, reference, int(raw_n), PUBLIC)
        if found is None:
            raise web.HTTPNotFound()
        sha256, mime_type = found
        headers = {"Cache-Control": CACHE_CONTROL}
        if any(tag.value in (sha256, "*") for tag in request.if_none_match or ()):
            response = web.Response(status=304, headers=headers)
            response.etag = sha256
            return response
        stored = await queries.get(session, sha256)
        if stored is None:  # deleted between the two reads
            raise web.HTTPNotFound()
        content = stored.content
    response = web.Response(body=content, content_type=mime_type, headers=headers)
    response.etag = sha256
    return response
