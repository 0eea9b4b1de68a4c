"""An agency's digest for one period: the figures, a chart and the period's reports as CSV.

What each figure means, for a period [start, end):
- new: reports of the commitment a moderator approved (pending_review -> published) in the period;
  a report rerouted to the agency ("not ours" -> published again) is not new.
- open: the commitment's backlog when the digest is built: reports now published, acknowledged,
  in progress or reopened, whenever they came in.
- resolved / reopened: reports that became resolved / reopened in the period (each counted once).
- oldest unanswered: reports now published or reopened (so no answer from the agency since),
  longest waiting first, with how long they had waited at the end of the period.
- median time to acknowledge: from a report's first publication to the agency's first answer of
  any kind, over reports first answered in the period; to resolve: from first publication to the
  first resolution in the period, over reports resolved in the period.
- most supported: open reports with the most supporters ("me too"), most first.
- CSV: the agency's public reports whose status changed in the period, in the open-data export's
  columns (bot/reports/public.py).
Only public text (the moderator's redaction where there is one) is shown; never who reported.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.catalog.commitments import localized
from bot.digests.chart import render_chart
from bot.i18n.translate import use_locale
from bot.reports import public
from bot.reports.lifecycle import PUBLIC, PUBLIC_OPEN, Status
from storage.db import Database
from storage.queries import digests as queries

TOP = 5
SETS = queries.StatusSets(
    public=frozenset(PUBLIC),
    open=frozenset(PUBLIC_OPEN),
    waiting=frozenset({Status.PUBLISHED, Status.REOPENED}),
    answers=frozenset(
        {
            Status.ACKNOWLEDGED,
            Status.IN_PROGRESS,
            Status.RESOLVED,
            Status.NOT_RESPONSIBLE,
            Status.NO_ACTION,
        }
    ),
    published=Status.PUBLISHED,
    reviewed_from=Status.PENDING_REVIEW,
    resolved=Status.RESOLVED,
    reopened=Status.REOPENED,
)
# The chart's segments, in the order a report usually goes through them.
CHART_STATUSES = (
    Status.PUBLISHED,
    Status.ACKNOWLEDGED,
    Status.IN_PROGRESS,
    Status.REOPENED,
    Status.RESOLVED,
    Status.NOT_RESPONSIBLE,
    Status.NO_ACTION,
    Status.DUPLICATE,
)


class UnknownAgency(LookupError):
    """No agency has this id (deleted since the digest was queued)."""


@dataclass(frozen=True)
class CommitmentFigures:
    code: str
    title: str
    new: int
    open: int
    resolved: int
    reopened: int
    by_status: dict[str, int]  # every public status now, for the chart


@dataclass(frozen=True)
class ListedReport:
    reference: str
    commitment_code: str
    text: str | None  # public text; None for a voice-only report
    status: str
    waiting: timedelta | None = None  # oldest unanswered: how long at the end of the period
    supporters: int = 0  # most supported


@dataclass(frozen=True)
class Digest:
    agency_id: int
    agency_code: str
    agency_name: str
    timezone: str
    start: datetime
    end: datetime
    locale: str
    commitments: list[CommitmentFigures]
    oldest_unanswered: list[ListedReport]
    most_supported: list[ListedReport]
    median_acknowledge: queries.Median
    median_resolve: queries.Median
    chart_png: bytes
    csv: bytes
    csv_rows: int

    @property
    def csv_filename(self) -> str:
        return f"digest-{self.agency_code}-{self.end:%Y-%m-%d}.csv"


async def build_digest(
    db: Database,
    agency_id: int,
    period_start: datetime,
    period_end: datetime,
    locale: str,
    *,
    grid_m: float,
    base_url: str | None = None,
) -> Digest:
    """Everything the digest says, in `locale` (titles and the chart's words); raises
    UnknownAgency. The CSV is public: its locations are coarsened to cells of `grid_m` metres,
    and its photo links (media_url) start with `base_url` (PUBLIC_BASE_URL; none without it)."""
    if period_start >= period_end:
        raise ValueError("a digest period must end after it starts")
    async with db.read() as session:
        agency = await queries.agency(session, agency_id)
        if agency is None:
            raise UnknownAgency(agency_id)
        commitments = await queries.commitments_of(session, agency_id)
        now_counts = await queries.status_counts(session, agency_id, SETS.public)
        moved = await queries.period_counts(session, agency_id, period_start, period_end, SETS)
        acknowledge, resolve = await queries.medians(
            session, agency_id, period_start, period_end, SETS
        )
        oldest = await queries.oldest_waiting(session, agency_id, period_end, SETS, TOP)
        supported = await queries.most_supported(session, agency_id, SETS, TOP)
        out = io.StringIO()
        csv_rows = await public.write_csv(
            queries.period_reports(session, agency_id, period_start, period_end, SETS),
            out,
            public.Audience.public(grid_m, base_url),
        )
    default = "en"
    figures = []
    for commitment in commitments:
        by_status: dict[str, int] = {
            status: now_counts.get((commitment.id, status), 0) for status in CHART_STATUSES
        }
        new, resolved, reopened = moved.get(commitment.id, (0, 0, 0))
        figures.append(
            CommitmentFigures(
                code=commitment.code,
                title=localized(commitment.short_titles or {}, locale, default)
                or localized(commitment.titles or {}, locale, default)
                or commitment.code,
                new=new,
                open=sum(by_status[s] for s in PUBLIC_OPEN),
                resolved=resolved,
                reopened=reopened,
                by_status=by_status,
            )
        )
    with use_locale(locale):
        chart = render_chart(figures, CHART_STATUSES)
    return Digest(
        agency_id=agency.id,
        agency_code=agency.code,
        agency_name=localized(agency.names or {}, locale, default) or agency.code,
        timezone=agency.timezone or "UTC",
        start=period_start,
        end=period_end,
        locale=locale,
        commitments=figures,
        oldest_unanswered=[
            ListedReport(
                r.reference,
                r.commitment_code,
                public.public_text(r),
                r.status,
                period_end - r.value,
            )
            for r in oldest
        ],
        most_supported=[
            ListedReport(
                r.reference, r.commitment_code, public.public_text(r), r.status, None, r.value
            )
            for r in supported
        ],
        median_acknowledge=acknowledge,
        median_resolve=resolve,
        chart_png=chart,
        csv=out.getvalue().encode("utf-8"),
        csv_rows=csv_rows,
    )
