"""Open311 partners' API keys: found by the SHA-256 of the key (never the key itself), each
with its stand-in citizen, the author of the partner's reports (storage/queries/citizens.py
without_telegram)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ApiKey, Citizen


async def add(session: AsyncSession, partner: str, key_sha256: str, now: datetime) -> ApiKey:
    """A key and its stand-in: a citizen row with a negative id and Telegram user id (no
    Telegram user has one), below every stand-in made before."""
    lowest = await session.scalar(select(func.min(Citizen.id)).where(Citizen.id < 0))
    stand_in = (lowest or 0) - 1
    session.add(Citizen(id=stand_in, telegram_user_id=stand_in, consent_at=None, created_at=now))
    await session.flush()
    key = ApiKey(partner=partner, key_sha256=key_sha256, citizen_id=stand_in, created_at=now)
    session.add(key)
    await session.flush()
    return key


async def by_id_for_update(session: AsyncSession, key_id: int) -> ApiKey | None:
    return await session.scalar(select(ApiKey).where(ApiKey.id == key_id).with_for_update())


async def by_partner(session: AsyncSession, partner: str, *, lock: bool = False) -> ApiKey | None:
    statement = select(ApiKey).where(ApiKey.partner == partner)
    if lock:
        statement = statement.with_for_update()
    return await session.scalar(statement)


async def by_hash(session: AsyncSession, key_sha256: str, *, lock: bool = False) -> ApiKey | None:
    statement = select(ApiKey).where(ApiKey.key_sha256 == key_sha256)
    if lock:
        statement = statement.with_for_update()
    return await session.scalar(statement)


async def every(session: AsyncSession) -> Sequence[ApiKey]:
    return (await session.scalars(select(ApiKey).order_by(ApiKey.partner))).all()


async def partner_of(session: AsyncSession, citizen_id: int) -> str | None:
    """The partner whose stand-in `citizen_id` is; None for anyone else."""
    return await session.scalar(select(ApiKey.partner).where(ApiKey.citizen_id == citizen_id))
