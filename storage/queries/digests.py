"""The figures of an agency's digest, aggregated in SQL over the agency's reports and events.

Every query starts from the agency's commitments and reaches reports through
ix_reports_commitment_status_created and events through their report index, so a digest costs
what the agency holds, not what the whole database holds. Which statuses count as open, waiting or an
answer is the state machine's business (bot/reports/lifecycle.py): the caller passes them in.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Row, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Agency,
    Commitment,
    Official,
    OutboxMessage,
    Report,
    ReportEvent,
    ReportSupporter,
)
from storage.queries.exports import report_columns


@dataclass(frozen=True)
class StatusSets:
    public: frozenset[str]
    open: frozenset[str]
    waiting: frozenset[str]  # open and not answered by the agency yet
    answers: frozenset[str]  # what only the agency sets: the first one acknowledges a report
    published: str
    reviewed_from: str  # publication from this status is a new report (not a reroute)
    resolved: str
    reopened: str


@dataclass(frozen=True)
class Median:
    seconds: float | None
    count: int


def _agency_commitments(agency_id: int):
    return select(Commitment.id).where(Commitment.agency_id == agency_id)


def _agency_reports(agency_id: int, statuses: Iterable[str] | None = None):
    query = select(Report.id).where(Report.commitment_id.in_(_agency_commitments(agency_id)))
    if statuses is not None:
        query = query.where(Report.status.in_(sorted(statuses)))
    return query


def seconds_between(dialect: str, later: ColumnElement, earlier: ColumnElement) -> ColumnElement:
    if dialect == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


async def agency(session: AsyncSession, agency_id: int) -> Agency | None:
    return await session.get(Agency, agency_id)


async def commitments_of(session: AsyncSession, agency_id: int) -> Sequence[Commitment]:
    rows = await session.scalars(
        select(Commitment).where(Commitment.agency_id == agency_id).order_by(Commitment.code)
    )
    return rows.all()


async def status_counts(
    session: AsyncSession, agency_id: int, statuses: frozenset[str]
) -> dict[tuple[int, str], int]:
    """How many of the agency's reports are in each status now, per commitment."""
    rows = await session.execute(
        select(Report.commitment_id, Report.status, func.count())
        .where(
            Report.commitment_id.in_(_agency_commitments(agency_id)),
            Report.status.in_(sorted(statuses)),
        )
        .group_by(Report.commitment_id, Report.status)
    )
    return {(commitment, status): n for commitment, status, n in rows.all()}


async def period_counts(
    session: AsyncSession, agency_id: int, start: datetime, end: datetime, sets: StatusSets
) -> dict[int, tuple[int, int, int]]:
    """Per commitment: reports published from review, resolved, and reopened in [start, end)."""

    def reports_moved_to(status: str, *, from_status: str | None = None) -> ColumnElement:
        condition = ReportEvent.to_status == status
        if from_status is not None:
            condition = and_(condition, ReportEvent.from_status == from_status)
        return func.count(func.distinct(case((condition, ReportEvent.report_id))))

    rows = await session.execute(
        select(
            Report.commitment_id,
            reports_moved_to(sets.published, from_status=sets.reviewed_from),
            reports_moved_to(sets.resolved),
            reports_moved_to(sets.reopened),
        )
        .join(ReportEvent, ReportEvent.report_id == Report.id)
        .where(
            Report.commitment_id.in_(_agency_commitments(agency_id)),
            ReportEvent.action == "status",
            ReportEvent.created_at >= start,
            ReportEvent.created_at < end,
        )
        .group_by(Report.commitment_id)
    )
    return {commitment: (new, resolved, reopened) for commitment, new, resolved, reopened in rows}


async def medians(
    session: AsyncSession, agency_id: int, start: datetime, end: datetime, sets: StatusSets
) -> tuple[Median, Median]:
    """Median seconds from publication to the first answer (over reports first answered in the
    period) and to resolution (over reports resolved in the period: their first resolution in
    it), both from the report's first publication."""
    dialect = session.get_bind().dialect.name
    in_period = and_(ReportEvent.created_at >= start, ReportEvent.created_at < end)
    firsts = (
        select(
            ReportEvent.report_id,
            func.min(case((ReportEvent.to_status == sets.published, ReportEvent.created_at))).label(
                "published_at"
            ),
            func.min(
                case((ReportEvent.to_status.in_(sorted(sets.answers)), ReportEvent.created_at))
            ).label("answered_at"),
            func.min(
                case(
                    (
                        and_(ReportEvent.to_status == sets.resolved, in_period),
                        ReportEvent.created_at,
                    )
                )
            ).label("resolved_at"),
        )
        .where(
            ReportEvent.action == "status",
            # Only reports answered or resolved in the period: their whole history, not the
            # agency's.
            ReportEvent.report_id.in_(
                select(ReportEvent.report_id).where(
                    ReportEvent.action == "status",
                    ReportEvent.to_status.in_(sorted(sets.answers)),
                    in_period,
                    ReportEvent.report_id.in_(_agency_reports(agency_id)),
                )
            ),
        )
        .group_by(ReportEvent.report_id)
        .cte("firsts")
    )
    answered = select(
        seconds_between(dialect, firsts.c.answered_at, firsts.c.published_at).label("d")
    ).where(
        firsts.c.published_at.is_not(None),
        firsts.c.answered_at >= start,
        firsts.c.answered_at < end,
    )
    resolved = select(
        seconds_between(dialect, firsts.c.resolved_at, firsts.c.published_at).label("d")
    ).where(firsts.c.published_at.is_not(None), firsts.c.resolved_at.is_not(None))
    return (
        await _median(session, answered.subquery()),
        await _median(session, resolved.subquery()),
    )


async def _median(session: AsyncSession, durations) -> Median:  # type: ignore[no-untyped-def]
    """The median in SQL (window functions; SQLite and PostgreSQL alike): the middle row, or
    the mean of the two middle rows."""
    ranked = select(
        durations.c.d,
        func.row_number().over(order_by=durations.c.d).label("rn"),
        func.count().over().label("n"),
    ).subquery()
    row = (
        await session.execute(
            select(func.avg(ranked.c.d), func.max(ranked.c.n)).where(
                ranked.c.rn * 2 >= ranked.c.n, ranked.c.rn * 2 <= ranked.c.n + 2
            )
        )
    ).one()
    # julianday() arithmetic is off by microseconds; durations are shown in hours or days.
    return Median(round(float(row[0]), 3) if row[0] is not None else None, int(row[1] or 0))


def _listed(subquery, order: Sequence[ColumnElement], limit: int):  # type: ignore[no-untyped-def]
    """The reports of `subquery` (report_id, value), best `limit` first; text and public text
    both, for the serializer (bot/reports/public.py) to choose."""
    return (
        select(
            Report.reference,
            Commitment.code.label("commitment_code"),
            Report.text,
            Report.public_text,
            Report.kind,
            Report.status,
            subquery.c.value,
        )
        .join(subquery, subquery.c.report_id == Report.id)
        .join(Commitment, Commitment.id == Report.commitment_id)
        .order_by(*order, Report.id)
        .limit(limit)
    )


async def oldest_waiting(
    session: AsyncSession, agency_id: int, before: datetime, sets: StatusSets, limit: int
) -> Sequence[Row]:
    """Reports waiting for the agency's first answer (since their last status change), oldest
    first; `value` is when they started waiting."""
    since = (
        select(ReportEvent.report_id, func.max(ReportEvent.created_at).label("value"))
        .where(
            ReportEvent.action == "status",
            ReportEvent.report_id.in_(_agency_reports(agency_id, sets.waiting)),
        )
        .group_by(ReportEvent.report_id)
        .having(func.max(ReportEvent.created_at) < before)
        .subquery()
    )
    rows = await session.execute(_listed(since, [since.c.value], limit))
    return rows.all()


async def most_supported(
    session: AsyncSession, agency_id: int, sets: StatusSets, limit: int
) -> Sequence[Row]:
    """Open reports with the most supporters ("me too"); `value` is how many."""
    counts = (
        select(ReportSupporter.report_id, func.count().label("value"))
        .where(ReportSupporter.report_id.in_(_agency_reports(agency_id, sets.open)))
        .group_by(ReportSupporter.report_id)
        .subquery()
    )
    rows = await session.execute(_listed(counts, [counts.c.value.desc()], limit))
    return rows.all()


async def period_reports(
    session: AsyncSession, agency_id: int, start: datetime, end: datetime, sets: StatusSets
) -> AsyncIterator[Row]:
    """The agency's public reports whose status changed in [start, end), with the columns of the
    open-data export (storage/queries/exports.py report_columns), streamed."""
    touched = select(ReportEvent.report_id).where(
        ReportEvent.action == "status",
        ReportEvent.created_at >= start,
        ReportEvent.created_at < end,
        ReportEvent.report_id.in_(_agency_reports(agency_id, sets.public)),
    )
    query = (
        select(*report_columns())
        .join(Commitment, Commitment.id == Report.commitment_id)
        .where(Report.id.in_(touched))
        .order_by(Report.id)
    )
    result = await session.stream(query.execution_options(yield_per=1000))
    async for partition in result.partitions():
        for row in partition:
            yield row


async def scheduled_agencies(session: AsyncSession) -> Sequence[Agency]:
    rows = await session.scalars(
        select(Agency).where(Agency.digest_frequency != "off").order_by(Agency.id)
    )
    return rows.all()


async def agencies_of_official(session: AsyncSession, telegram_user_id: int) -> Sequence[Agency]:
    rows = await session.scalars(
        select(Agency)
        .join(Official, Official.agency_id == Agency.id)
        .where(Official.telegram_user_id == telegram_user_id)
        .order_by(Agency.code)
    )
    return rows.all()


async def existing_outbox_keys(session: AsyncSession, keys: Sequence[str]) -> set[str]:
    """Which of these idempotency keys are queued already (sent or not)."""
    if not keys:
        return set()
    rows = await session.scalars(
        select(OutboxMessage.idempotency_key).where(OutboxMessage.idempotency_key.in_(keys))
    )
    return set(rows.all())
