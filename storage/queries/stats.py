"""Figures for `stats`: reports per status, commitment and agency, and the outbox backlog."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Agency, Commitment, OutboxMessage, Report


async def reports_per_status(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(Report.status, func.count()).group_by(Report.status).order_by(Report.status)
    )
    return {status: count for status, count in rows.all()}


async def top_commitments(session: AsyncSession, limit: int) -> list[tuple[str, int]]:
    """The commitments with the most reports, most first; ties by code."""
    count = func.count(Report.id)
    rows = await session.execute(
        select(Commitment.code, count)
        .join(Report, Report.commitment_id == Commitment.id)
        .group_by(Commitment.id, Commitment.code)
        .order_by(count.desc(), Commitment.code)
        .limit(limit)
    )
    return [(code, n) for code, n in rows.all()]


async def reports_per_agency(session: AsyncSession) -> list[tuple[str | None, int]]:
    """Reports per agency of their commitment, most first; None for commitments without one."""
    count = func.count(Report.id)
    rows = await session.execute(
        select(Agency.code, count)
        .select_from(Report)
        .join(Commitment, Commitment.id == Report.commitment_id)
        .outerjoin(Agency, Agency.id == Commitment.agency_id)
        .group_by(Agency.code)
        .order_by(count.desc(), Agency.code)
    )
    return [(code, n) for code, n in rows.all()]


async def outbox_per_status(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    )
    return {status: count for status, count in rows.all()}
