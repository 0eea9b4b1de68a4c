"""Agency officials: Telegram users who answer reports for an agency."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Official


async def find(session: AsyncSession, agency_id: int, telegram_user_id: int) -> Official | None:
    return await session.scalar(
        select(Official).where(
            Official.agency_id == agency_id, Official.telegram_user_id == telegram_user_id
        )
    )


async def add_if_absent(
    session: AsyncSession,
    agency_id: int,
    telegram_user_id: int,
    language: str | None,
    now: datetime,
) -> Official:
    official = await find(session, agency_id, telegram_user_id)
    if official is None:
        official = Official(
            agency_id=agency_id,
            telegram_user_id=telegram_user_id,
            language=language,
            joined_at=now,
        )
        session.add(official)
        await session.flush()
    return official


async def of_agency(session: AsyncSession, agency_id: int) -> Sequence[Official]:
    rows = await session.scalars(
        select(Official).where(Official.agency_id == agency_id).order_by(Official.joined_at)
    )
    return rows.all()
