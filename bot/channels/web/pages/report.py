"""A public report, GET /reports/{reference}: its public text (the moderator's redaction where
there is one), kind, commitment, status history with the agency's public notes, how many citizens
support it, its coarse public place and its public photos (served by /media/{reference}/{n}.jpg,
none when a moderator hid them); never who reported."""

from __future__ import annotations

from aiohttp import web

from bot.channels.web.keys import SERVICES
from bot.channels.web.pages.common import full_title, only, render
from bot.i18n.translate import current_locale
from bot.reports import public
from bot.reports.lifecycle import PUBLIC, PUBLIC_OPEN
from bot.reports.references import normalize_reference
from storage.queries import scorecards as queries

# The events that change a report's status (its creation is the first).
HISTORY_ACTIONS = ("created", "status")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/reports/{reference}", report_page)


async def report_page(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    settings = services.settings
    only(request)
    reference = normalize_reference(request.match_info["reference"])
    if reference is None:
        raise web.HTTPNotFound()
    async with services.db.read() as session:
        row = await queries.report(session, reference, PUBLIC)
        if row is None:
            raise web.HTTPNotFound()
        events = await queries.history(
            session, row.report_id, HISTORY_ACTIONS, public.PUBLIC_NOTE_ACTORS
        )
    locale = current_locale()
    latitude, longitude = public.location(
        row, public.Audience.public(settings.public_location_grid_m)
    )
    context = {
        "title": row.reference,
        "reference": row.reference,
        "commitment_code": row.commitment_code,
        "commitment_title": full_title(
            row.commitment_titles, locale, settings.default_locale, row.commitment_code
        ),
        "kind": row.kind,
        "text": public.public_text(row),
        "status": row.status,
        "open": row.status in PUBLIC_OPEN,
        "created_at": row.created_at,
        "supporters": row.supporter_count or 0,
        "latitude": latitude,
        "longitude": longitude,
        "grid_m": settings.public_location_grid_m,
        "history": events,
        "photos": public.public_photo_paths(row.reference, public.public_photo_count(row)),
    }
    return render(request, "report.html", context)
