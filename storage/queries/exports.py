"""Reports for the open-data export, streamed from a server-side cursor in bounded batches."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVarTuple

from sqlalchemy import Row, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Commitment, Report, ReportPhoto, ReportSupporter

Columns = TypeVarTuple("Columns")


@dataclass(frozen=True)
class ReportFilter:
    statuses: frozenset[str]
    commitment_id: int | None = None
    agency_id: int | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    include_citizen: bool = False


def supporter_count() -> Any:
    """How many citizens support the report, as a column of a query over reports (one lookup in
    report_supporters' report_id index): Open311 and the public pages show it."""
    return (
        select(func.count(ReportSupporter.id))
        .where(ReportSupporter.report_id == Report.id)
        .correlate(Report)
        .scalar_subquery()
    )


def report_columns() -> list[Any]:
    """A report's own columns as the serializer (bot/reports/public.py) reads them, original text
    included: which of them the public sees is the serializer's business, not the query's. Its
    photos are counted in the same row (one lookup in report_photos' report_id index), so a page
    or a stream of reports stays one query."""
    photo_count = (
        select(func.count())
        .select_from(ReportPhoto)
        .where(ReportPhoto.report_id == Report.id)
        .scalar_subquery()
    )
    return [
        Report.reference,
        Commitment.code.label("commitment_code"),
        Report.kind,
        Report.text,
        Report.public_text,
        Report.language,
        Report.latitude,
        Report.longitude,
        Report.status,
        Report.created_at,
        Report.updated_at,
        photo_count.label("photo_count"),
        Report.photos_hidden,
    ]


def _filtered(query: Select[*Columns], where: ReportFilter) -> Select[*Columns]:
    query = query.join(Commitment, Commitment.id == Report.commitment_id).where(
        Report.status.in_(sorted(where.statuses))
    )
    if where.commitment_id is not None:
        query = query.where(Report.commitment_id == where.commitment_id)
    if where.agency_id is not None:
        query = query.where(Commitment.agency_id == where.agency_id)
    if where.since is not None:
        query = query.where(Report.created_at >= where.since)
    if where.until is not None:
        query = query.where(Report.created_at < where.until)
    return query


async def stream_reports(
    session: AsyncSession, where: ReportFilter, batch_size: int = 1000
) -> AsyncIterator[Row]:
    """Rows of report_columns()[, citizen_id]; at most `batch_size` rows are held at a time."""
    columns = report_columns()
    if where.include_citizen:
        columns.append(Report.citizen_id)
    query = _filtered(select(*columns), where).order_by(Report.id)
    result = await session.stream(query.execution_options(yield_per=batch_size))
    async for partition in result.partitions():
        for row in partition:
            yield row


async def fingerprint(session: AsyncSession, where: ReportFilter) -> tuple[int, datetime | None]:
    """How many reports match and when the latest of them changed: what a download's ETag and
    Last-Modified are made of (a report that leaves the set lowers the count, one that joins
    it is the latest change)."""
    query = _filtered(select(func.count(Report.id), func.max(Report.updated_at)), where)
    count, latest = (await session.execute(query)).one()
    return int(count or 0), latest
