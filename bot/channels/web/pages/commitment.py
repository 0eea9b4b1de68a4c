"""A commitment's scorecard, GET /commitments/{code}: what was promised, the OGP Independent
Reporting Mechanism's assessment (as imported, labelled as the IRM's), and apart from it the
citizens' evidence: reports by month and status, the public reports a page at a time, the
agency's latest public answers, and the agency's responsiveness on this commitment
(bot/reports/responsiveness.py, with its minimum sample; computed at most once per
PUBLIC_FIGURES_CACHE_SECONDS, common.figures, while the reports and answers are read on every
request). A link and a QR code open the bot on the commitment (GET /commitments/{code}/qr.svg)."""

from __future__ import annotations

import io
from typing import Any

from aiohttp import web

from bot.catalog.commitments import localized
from bot.catalog.deeplinks import PayloadTooLong, commitment_link
from bot.channels.web.keys import SERVICES
from bot.channels.web.pages.common import (
    PAGE_SIZE,
    BadQuery,
    figures,
    full_title,
    only,
    page_number,
    pagination,
    render,
)
from bot.i18n.translate import N_, _, current_locale
from bot.reports import public, responsiveness
from bot.reports.lifecycle import PUBLIC, PUBLIC_CLOSED, PUBLIC_OPEN, Status
from storage.queries import scorecards as queries

LATEST_ANSWERS = 5
# The IRM's assessment as the scorecard lists it: our key (bot/admin/ogp.py IRM_COLUMNS), label.
IRM_LABELS = (
    ("specificity", N_("Specificity")),
    ("verifiable", N_("Verifiable")),
    ("relevant", N_("Relevant to OGP values")),
    ("potential_impact", N_("Potential impact")),
    ("potential_for_results", N_("Potential for results")),
    ("completion_progress", N_("Completion (progress report)")),
    ("completion_end_of_term", N_("Completion (end of term)")),
    ("did_it_open_government", N_("Did it open government? (overall)")),
    ("early_results", N_("Early results")),
    ("starred", N_("Starred commitment")),
    ("latest_irm_report", N_("Latest IRM report")),
)
IRM_FLAG_VALUES = {"yes": N_("yes"), "no": N_("no")}


def add_routes(app: web.Application) -> None:
    app.router.add_get("/commitments/{code:.+}/qr.svg", qr_code)
    app.router.add_get("/commitments/{code:.+}", scorecard)


def _deep_link(bot_username: str | None, code: str) -> str | None:
    if not bot_username:
        return None
    try:
        return commitment_link(bot_username, code)
    except PayloadTooLong:
        return None


def _irm(assessment: dict[str, str] | None) -> tuple[list[tuple[str, str]], str | None]:
    values = assessment or {}
    rows = []
    for key, label in IRM_LABELS:
        if key in values:
            shown = values[key]
            flag = shown.strip().casefold()  # the OGP export writes "Yes" and "yes" alike
            if flag in IRM_FLAG_VALUES:
                shown = _(IRM_FLAG_VALUES[flag])
            rows.append((_(label), shown))
    url = values.get("url")
    return rows, url if url and url.startswith("https://") else None


def _months(counts: list[tuple[str, str, int]]) -> list[dict[str, Any]]:
    months: dict[str, dict[str, Any]] = {}
    for month, status, n in counts:
        row = months.setdefault(
            month, {"month": month, "received": 0, "open": 0, "resolved": 0, "closed": 0}
        )
        row["received"] += n
        if status in PUBLIC_OPEN:
            row["open"] += n
        elif status == Status.RESOLVED:
            row["resolved"] += n
        else:
            row["closed"] += n
    return list(months.values())


async def scorecard(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    settings = services.settings
    only(request, "page")
    page = page_number(request)
    locale, default = current_locale(), settings.default_locale
    async with services.db.read() as session:
        row = await queries.commitment(session, request.match_info["code"])
        if row is None:
            raise web.HTTPNotFound()
        commitment = row.Commitment
        months = await queries.monthly_counts(session, commitment.id, PUBLIC)
        reports, total = await queries.reports_of(
            session, commitment.id, PUBLIC, (page - 1) * PAGE_SIZE, PAGE_SIZE
        )
        answers = await queries.latest_notes(
            session, commitment.id, PUBLIC, public.PUBLIC_NOTE_ACTORS, LATEST_ANSWERS
        )
    if total and page > -(-total // PAGE_SIZE):
        raise BadQuery(_("There is no page {page}.").format(page=page))
    minimum = settings.public_min_sample
    agency_figures = await figures(
        request,
        ("commitment", commitment.id, minimum),
        lambda: responsiveness.of_commitment(services.db, commitment.id, minimum),
    )
    audience = public.Audience.public(settings.public_location_grid_m)
    irm_rows, irm_url = _irm(commitment.irm)
    link = _deep_link(settings.bot_username, commitment.code)
    context = {
        "title": full_title(commitment.titles, locale, default, commitment.code),
        "code": commitment.code,
        "description": localized(commitment.descriptions or {}, locale, default),
        "agency": localized(row.agency_names or {}, locale, default) or row.agency_code,
        "theme": commitment.theme,
        "country": commitment.country,
        "action_plan": commitment.action_plan,
        "start_date": commitment.start_date,
        "end_date": commitment.end_date,
        "irm_rows": irm_rows,
        "irm_url": irm_url,
        "months": _months(months),
        "reports": [
            {
                "reference": r.reference,
                "kind": r.kind,
                "text": public.public_text(r),
                "status": r.status,
                "open": r.status in PUBLIC_OPEN,
                "created_at": r.created_at,
                "supporters": r.supporter_count or 0,
                "place": public.location(r, audience),
            }
            for r in reports
        ],
        "answers": answers,
        "figures": agency_figures,
        "minimum": minimum,
        "pagination": pagination(request, page, total),
        "deep_link": link,
        "closed_statuses": PUBLIC_CLOSED,
    }
    return render(request, "commitment.html", context)


async def qr_code(request: web.Request) -> web.Response:
    """The QR code of the commitment's deep link, as SVG (needs BOT_USERNAME)."""
    import segno

    services = request.app[SERVICES]
    async with services.db.read() as session:
        row = await queries.commitment(session, request.match_info["code"])
    link = _deep_link(services.settings.bot_username, row.Commitment.code) if row else None
    if link is None:
        raise web.HTTPNotFound()
    out = io.BytesIO()
    segno.make(link, error="m", micro=False).save(out, kind="svg", scale=4, border=4)
    return web.Response(
        body=out.getvalue(),
        content_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=3600"},
    )
