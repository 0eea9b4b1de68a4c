"""Outbox messages that failed for good, with the agency each was meant for, for admins."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Agency, Commitment, OutboxMessage, Report


async def failed(session: AsyncSession, limit: int | None = None) -> Sequence[OutboxMessage]:
    """Failed messages, newest first."""
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.status == "failed")
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
    )
    if limit is not None:
        query = query.limit(limit)
    return (await session.scalars(query)).all()


async def agency_codes(session: AsyncSession, agency_ids: Iterable[int]) -> dict[int, str]:
    ids = set(agency_ids)
    if not ids:
        return {}
    rows = await session.execute(select(Agency.id, Agency.code).where(Agency.id.in_(ids)))
    return {agency_id: code for agency_id, code in rows.all()}


async def agency_codes_of_reports(
    session: AsyncSession, report_ids: Iterable[int]
) -> dict[int, str]:
    """The code of the agency now responsible for each report (reports without one are left
    out)."""
    ids = set(report_ids)
    if not ids:
        return {}
    rows = await session.execute(
        select(Report.id, Agency.code)
        .join(Commitment, Commitment.id == Report.commitment_id)
        .join(Agency, Agency.id == Commitment.agency_id)
        .where(Report.id.in_(ids))
    )
    return {report_id: code for report_id, code in rows.all()}
