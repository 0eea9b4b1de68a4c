"""Reports, their photos and their append-only event history."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from storage.models import Report, ReportEvent, ReportPhoto


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
) -> tuple[Sequence[Report], int]:
    total = await session.scalar(
        select(func.count()).select_from(Report).where(Report.citizen_id == citizen_id)
    )
    rows = await session.scalars(
        select(Report)
        .where(Report.citizen_id == citizen_id)
        .options(selectinload(Report.commitment))
        .order_by(Report.created_at.desc(), Report.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return rows.all(), total or 0


async def by_reference_of_citizen(
    session: AsyncSession, reference: str, citizen_id: int
) -> Report | None:
    return await session.scalar(
        select(Report)
        .where(Report.reference == reference, Report.citizen_id == citizen_id)
        .options(selectinload(Report.commitment), selectinload(Report.photos))
    )


async def events(session: AsyncSession, report_id: int) -> Sequence[ReportEvent]:
    rows = await session.scalars(
        select(ReportEvent).where(ReportEvent.report_id == report_id).order_by(ReportEvent.id)
    )
    return rows.all()
