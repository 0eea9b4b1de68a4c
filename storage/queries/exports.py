"""Reports for the open-data export, streamed from a server-side cursor in bounded batches."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row, func, select
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


async def stream_reports(
    session: AsyncSession, where: ReportFilter, batch_size: int = 1000
) -> AsyncIterator[Row]:
    """Rows of (reference, commitment_code, kind, public_text, language, latitude, longitude, status,
    created_at, updated_at[, citizen_id]); at most `batch_size` rows are held at a time."""
    columns = [
        Report.reference,
        Commitment.code.label("commitment_code"),
        Report.kind,
        # What the public may read: the moderator's redacted text where there is one.
        func.coalesce(Report.public_text, Report.text).label("public_text"),
        Report.language,
        Report.latitude,
        Report.longitude,
        Report.status,
        Report.created_at,
        Report.updated_at,
    ]
    if where.include_citizen:
        columns += [Report.citizen_id, Report.text.label("original_text")]
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
