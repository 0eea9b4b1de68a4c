"""Reports, their photos and their append-only event history."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, null, select, type_coerce, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from storage.models import Report, ReportEvent, ReportPhoto, ReportSupporter

# A report's columns that hold what the citizen said (text as written and as redacted, the voice
# note): cleared together by retention (storage/queries/retention.py) and erasure (erasure.py).
CITIZEN_WORDS_CLEARED: dict[str, None] = {
    "text": None,
    "public_text": None,
    "voice_file_id": None,
    "voice_file_unique_id": None,
    "voice_duration": None,
}


async def reference_exists(session: AsyncSession, reference: str) -> bool:
    found = await session.scalar(select(Report.id).where(Report.reference == reference))
    return found is not None


async def add(session: AsyncSession, report: Report, photos: list[ReportPhoto]) -> Report:
    session.add(report)
    await session.flush()
    for photo in photos:
        photo.report_id = report.id
        session.add(photo)
    await session.flush()
    return report


async def add_event(
    session: AsyncSession,
    report_id: int,
    *,
    actor_kind: str,
    actor_id: int | None,
    from_status: str | None,
    to_status: str,
    note: str | None,
    at: datetime,
    action: str = "status",
    actor_name: str | None = None,
) -> ReportEvent:
    event = ReportEvent(
        report_id=report_id,
        actor_kind=actor_kind,
        actor_id=actor_id,
        actor_name=actor_name,
        action=action,
        from_status=from_status,
        to_status=to_status,
        note=note,
        created_at=at,
    )
    session.add(event)
    await session.flush()
    return event


async def of_citizen(
    session: AsyncSession, citizen_id: int, offset: int, limit: int
) -> tuple[list[tuple[Report, datetime | None]], int, int]:
    """The reports a citizen sent and those they support, newest first by when they sent or
    supported them: (report, when they supported it, or None for their own), how many they
    sent and how many they support."""
    # Typed, so that the union's column reads back as a date on every database.
    not_supported = type_coerce(null(), ReportSupporter.created_at.type)
    own = select(
        Report.id.label("report_id"),
        Report.created_at.label("at"),
        not_supported.label("supported_at"),
    ).where(Report.citizen_id == citizen_id)
    backed = select(
        ReportSupporter.report_id,
        ReportSupporter.created_at.label("at"),
        ReportSupporter.created_at.label("supported_at"),
    ).where(ReportSupporter.citizen_id == citizen_id)
    sent = await session.scalar(select(func.count()).select_from(own.subquery()))
    supported = await session.scalar(select(func.count()).select_from(backed.subquery()))
    entries = union_all(own, backed).subquery()
    page = (
        await session.execute(
            select(entries.c.report_id, entries.c.supported_at)
            .order_by(entries.c.at.desc(), entries.c.report_id.desc())
            .offset(offset)
            .limit(limit)
        )
    ).all()
    found = await session.scalars(
        select(Report)
        .where(Report.id.in_([row.report_id for row in page]))
        .options(selectinload(Report.commitment))
    )
    by_id = {report.id: report for report in found}
    return [(by_id[row.report_id], row.supported_at) for row in page], sent or 0, supported or 0


async def is_supporter(session: AsyncSession, report_id: int, citizen_id: int) -> bool:
    found = await session.scalar(
        select(ReportSupporter.id).where(
            ReportSupporter.report_id == report_id, ReportSupporter.citizen_id == citizen_id
        )
    )
    return found is not None


async def by_reference_of_citizen(
    session: AsyncSession, reference: str, citizen_id: int
) -> Report | None:
    return await session.scalar(
        select(Report)
        .where(Report.reference == reference, Report.citizen_id == citizen_id)
        .options(selectinload(Report.commitment), selectinload(Report.photos))
    )


async def by_reference_supported_by(
    session: AsyncSession, reference: str, citizen_id: int
) -> tuple[Report, datetime] | None:
    """A report the citizen added their voice to, and when."""
    row = (
        await session.execute(
            select(Report, ReportSupporter.created_at)
            .join(ReportSupporter, ReportSupporter.report_id == Report.id)
            .where(Report.reference == reference, ReportSupporter.citizen_id == citizen_id)
            .options(selectinload(Report.commitment), selectinload(Report.photos))
        )
    ).first()
    return (row[0], row[1]) if row is not None else None


async def events(session: AsyncSession, report_id: int) -> Sequence[ReportEvent]:
    rows = await session.scalars(
        select(ReportEvent).where(ReportEvent.report_id == report_id).order_by(ReportEvent.id)
    )
    return rows.all()
