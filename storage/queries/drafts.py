"""Conversation drafts: one per citizen, locked for update while a step changes it."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Draft


async def for_update(session: AsyncSession, citizen_id: int) -> Draft | None:
    # FOR UPDATE serializes two workers on PostgreSQL; SQLite already holds the write lock.
    return await session.scalar(
        select(Draft).where(Draft.citizen_id == citizen_id).with_for_update()
    )


async def get(session: AsyncSession, citizen_id: int) -> Draft | None:
    return await session.get(Draft, citizen_id)


async def remove(session: AsyncSession, citizen_id: int) -> None:
    await session.execute(delete(Draft).where(Draft.citizen_id == citizen_id))
