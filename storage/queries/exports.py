"""Reports for the open-data export, streamed from a server-side cursor in bounded batches."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Commitment, Report


@dataclass(frozen=True)
class ReportFilter:
    statuses: frozenset[str]
    commitment_id: int | None = None
    agency_id: int | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    include_citizen: bool = False


def report_columns() -> list[Any]:
    """A report's own columns as the serializer (bot/reports/public.py) reads them, original text
    included: which of them the public sees is the serializer's business, not the query's."""
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
    ]


async def stream_reports(
    session: AsyncSession, where: ReportFilter, batch_size: int = 1000
) -> AsyncIterator[Row]:
    """Rows of report_columns()[, citizen_id]; at most `batch_size` rows are held at a time."""
    columns = report_columns()
    if where.include_citizen:
        columns.append(Report.citizen_id)
    query = (
        select(*columns)
        .join(Commitment, Commitment.id == Report.commitment_id)
        .where(Report.status.in_(sorted(where.statuses)))
        .order_by(Report.id)
    )
    if where.commitment_id is not None:
        query = query.where(Report.commitment_id == where.commitment_id)
    if where.agency_id is not None:
        query = query.where(Commitment.agency_id == where.agency_id)
    if where.since is not None:
        query = query.where(Report.created_at >= where.since)
    if where.until is not None:
        query = query.where(Report.created_at < where.until)
    result = await session.stream(query.execution_options(yield_per=batch_size))
    async for partition in result.partitions():
        for row in partition:
            yield row
