"""The agencies' responsiveness, GET /agencies: for every agency with public reports, the same
figures as a commitment's scorecard (bot/reports/responsiveness.py) with the same minimum sample,
and a plain note on what such figures can and cannot say. The figures run over every report, so
they are computed at most once per PUBLIC_FIGURES_CACHE_SECONDS (common.figures)."""

from __future__ import annotations

from aiohttp import web

from bot.catalog.commitments import localized
from bot.channels.web.keys import SERVICES
from bot.channels.web.pages.common import figures, only, render
from bot.i18n.translate import _, current_locale
from bot.reports import responsiveness
from storage.queries import scorecards as queries


def add_routes(app: web.Application) -> None:
    app.router.add_get("/agencies", agencies_page)


async def agencies_page(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    settings = services.settings
    only(request)
    minimum = settings.public_min_sample
    by_agency = await figures(
        request, ("agencies", minimum), lambda: responsiveness.of_agencies(services.db, minimum)
    )
    async with services.db.read() as session:
        agencies = await queries.agencies(session, by_agency)
    locale = current_locale()
    rows = sorted(
        (
            {
                "code": agency.code,
                "name": localized(agency.names or {}, locale, settings.default_locale)
                or agency.code,
                "figures": by_agency[agency.id],
            }
            for agency in agencies
        ),
        key=lambda row: str(row["name"]).casefold(),
    )
    context = {
        "title": _("How agencies respond"),
        "rows": rows,
        "minimum": minimum,
    }
    return render(request, "agencies.html", context)
