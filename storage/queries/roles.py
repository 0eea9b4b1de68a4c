"""Staff roles held by Telegram users (moderator, admin)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import UserRole


async def has_role(session: AsyncSession, telegram_user_id: int, role: str) -> bool:
    found = await session.scalar(
        select(UserRole.id).where(
            UserRole.telegram_user_id == telegram_user_id, UserRole.role == role
        )
    )
    return found is not None


async def grant(session: AsyncSession, telegram_user_id: int, role: str, now: datetime) -> bool:
    """Give the role; False when the user already held it."""
    if await has_role(session, telegram_user_id, role):
        return False
    session.add(UserRole(telegram_user_id=telegram_user_id, role=role, granted_at=now))
    await session.flush()
    return True


async def revoke(session: AsyncSession, telegram_user_id: int, role: str) -> bool:
    """Take the role away; False when the user did not hold it."""
    result = await session.execute(
        delete(UserRole).where(UserRole.telegram_user_id == telegram_user_id, UserRole.role == role)
    )
    return result.rowcount > 0  # type: ignore[attr-defined]


async def all_roles(session: AsyncSession, role: str | None = None) -> Sequence[UserRole]:
    query = select(UserRole).order_by(UserRole.role, UserRole.telegram_user_id)
    if role is not None:
        query = query.where(UserRole.role == role)
    rows = await session.scalars(query)
    return rows.all()
