"""The home page, GET /: the commitments, searchable (?q=, folded as the bot's search folds it)
and filterable by theme (?theme=) and agency (?agency=, its code), each with how many of its
reports are open and resolved, a page (?page=) at a time."""

from __future__ import annotations

from aiohttp import web

from bot.catalog.commitments import localized, title_of
from bot.channels.web.keys import SERVICES
from bot.channels.web.pages.common import (
    PAGE_SIZE,
    BadQuery,
    only,
    page_number,
    pagination,
    render,
    text_param,
)
from bot.i18n.translate import _, current_locale
from bot.reports.lifecycle import PUBLIC_OPEN, Status
from storage.queries import scorecards as queries


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", home)


async def home(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    only(request, "q", "theme", "agency", "page")
    query = text_param(request, "q") or ""
    theme = text_param(request, "theme")
    agency_code = text_param(request, "agency")
    page = page_number(request)
    locale, default = current_locale(), services.settings.default_locale
    async with services.db.read() as session:
        themes = await queries.themes(session)
        agencies = await queries.agencies_with_commitments(session)
        if theme is not None and theme not in themes:
            raise BadQuery(_("There is no theme {theme}.").format(theme=theme))
        agency = next((a for a in agencies if a.code == agency_code), None)
        if agency_code is not None and agency is None:
            raise BadQuery(_("There is no agency {code}.").format(code=agency_code))
        where = queries.CommitmentFilter(query, theme, agency.id if agency else None)
        rows, total = await queries.commitments(
            session, where, PUBLIC_OPEN, {Status.RESOLVED}, (page - 1) * PAGE_SIZE, PAGE_SIZE
        )
    if total and page > -(-total // PAGE_SIZE):
        raise BadQuery(_("There is no page {page}.").format(page=page))
    items = [
        {
            "code": row.Commitment.code,
            "title": title_of(row.Commitment, locale, default),
            "theme": row.Commitment.theme,
            "agency": localized(row.agency_names or {}, locale, default) or row.agency_code,
            "open": row.open_count or 0,
            "resolved": row.resolved_count or 0,
        }
        for row in rows
    ]
    context = {
        "title": _("Public commitments"),
        "items": items,
        "query": query,
        "theme": theme,
        "agency_code": agency_code,
        "themes": themes,
        "agencies": [
            (a.code, localized(a.names or {}, locale, default) or a.code) for a in agencies
        ],
        "pagination": pagination(request, page, total),
        "searched": bool(query or theme or agency_code),
    }
    return render(request, "home.html", context)
