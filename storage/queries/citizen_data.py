"""Everything stored about one citizen, read for /mydata and `citizens export`.

Each query is bounded by the citizen's own rows; photo bytes are read one file at a time, so an
export holds at most one photo in memory besides the archive it is writing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, selectinload

from storage.models import (
    MediaFile,
    Report,
    ReportEvent,
    ReportQuestion,
    ReportSupporter,
)


async def reports_of(session: AsyncSession, citizen_id: int) -> Sequence[tuple[Report, str | None]]:
    """The citizen's own reports, oldest first, with their commitment and photos, and the
    reference of the report each was merged into (None when it was not)."""
    target = aliased(Report)
    rows = await session.execute(
        select(Report, target.reference)
        .outerjoin(target, target.id == Report.duplicate_of_id)
        .where(Report.citizen_id == citizen_id)
        .order_by(Report.created_at, Report.id)
        .options(selectinload(Report.commitment), selectinload(Report.photos))
    )
    return [(report, merged_into) for report, merged_into in rows]


async def events_of(session: AsyncSession, citizen_id: int) -> Sequence[ReportEvent]:
    """The history of every report the citizen made, in order."""
    rows = await session.scalars(
        select(ReportEvent)
        .join(Report, Report.id == ReportEvent.report_id)
        .where(Report.citizen_id == citizen_id)
        .order_by(ReportEvent.report_id, ReportEvent.id)
    )
    return rows.all()


async def supports_of(session: AsyncSession, citizen_id: int) -> Sequence[tuple[str, datetime]]:
    """(reference, when) for each report the citizen added their voice to, oldest first."""
    rows = await session.execute(
        select(Report.reference, ReportSupporter.created_at)
        .join(Report, Report.id == ReportSupporter.report_id)
        .where(ReportSupporter.citizen_id == citizen_id)
        .order_by(ReportSupporter.created_at, ReportSupporter.id)
    )
    return [(reference, at) for reference, at in rows]


async def questions_of(
    session: AsyncSession, citizen_id: int
) -> Sequence[tuple[ReportQuestion, str]]:
    """Moderators' questions to the citizen, with the reference of the report each is about."""
    rows = await session.execute(
        select(ReportQuestion, Report.reference)
        .join(Report, Report.id == ReportQuestion.report_id)
        .where(ReportQuestion.citizen_id == citizen_id)
        .order_by(ReportQuestion.asked_at, ReportQuestion.id)
    )
    return [(question, reference) for question, reference in rows]


async def media_details(
    session: AsyncSession, hashes: Iterable[str]
) -> dict[str, Row[tuple[str, str, int, int, int]]]:
    """Type, size and dimensions of stored photos by content hash, without their bytes."""
    wanted = sorted(set(hashes))
    if not wanted:
        return {}
    found: dict[str, Row[tuple[str, str, int, int, int]]] = {}
    # In slices, so that a long list stays under every database's limit on bound parameters.
    for start in range(0, len(wanted), 500):
        rows = await session.execute(
            select(
                MediaFile.sha256,
                MediaFile.mime_type,
                MediaFile.size,
                MediaFile.width,
                MediaFile.height,
            ).where(MediaFile.sha256.in_(wanted[start : start + 500]))
        )
        found.update({row.sha256: row for row in rows.all()})
    return found


async def media_content(session: AsyncSession, sha256: str) -> bytes | None:
    """One stored photo's bytes (metadata already stripped when it was received)."""
    return await session.scalar(select(MediaFile.content).where(MediaFile.sha256 == sha256))
