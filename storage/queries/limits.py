"""What the limits on abuse count (bot/reports/daily_limit.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Report


async def report_times_since(
    session: AsyncSession, citizen_id: int, since: datetime
) -> list[datetime]:
    """When the citizen's reports made since `since` were made, oldest first (the index on
    citizen_id, created_at answers it)."""
    rows = await session.scalars(
        select(Report.created_at)
        .where(Report.citizen_id == citizen_id, Report.created_at >= since)
        .order_by(Report.created_at)
    )
    return list(rows)
