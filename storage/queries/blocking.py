"""Blocked senders: the block state on citizens, read and changed (bot/citizens/blocking.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Citizen, ModerationCard, Report


async def citizen_for_update(session: AsyncSession, citizen_id: int) -> Citizen | None:
    """The citizen, locked until the transaction ends: two presses on Block take turns."""
    return await session.scalar(select(Citizen).where(Citizen.id == citizen_id).with_for_update())


async def by_telegram_id_for_update(session: AsyncSession, telegram_user_id: int) -> Citizen | None:
    return await session.scalar(
        select(Citizen).where(Citizen.telegram_user_id == telegram_user_id).with_for_update()
    )


async def blocked_since(session: AsyncSession, citizen_id: int) -> datetime | None:
    """When the citizen was blocked, or None when they are not."""
    return await session.scalar(select(Citizen.blocked_at).where(Citizen.id == citizen_id))


async def blocked_citizens(session: AsyncSession) -> Sequence[Citizen]:
    """Every blocked citizen, the earliest blocked first."""
    rows = await session.scalars(
        select(Citizen)
        .where(Citizen.blocked_at.is_not(None))
        .order_by(Citizen.blocked_at, Citizen.id)
    )
    return rows.all()


def set_block(citizen: Citizen, *, at: datetime, reason: str, by: int | None) -> None:
    citizen.blocked_at, citizen.blocked_reason, citizen.blocked_by = at, reason, by


def clear_block(citizen: Citizen) -> None:
    citizen.blocked_at = citizen.blocked_reason = citizen.blocked_by = None


async def carded_reports_of(session: AsyncSession, citizen_id: int) -> Sequence[int]:
    """The citizen's reports that have a card in the staff group, which show the block."""
    rows = await session.scalars(
        select(Report.id)
        .join(ModerationCard, ModerationCard.report_id == Report.id)
        .where(Report.citizen_id == citizen_id)
        .order_by(Report.id)
    )
    return rows.all()
