"""Citizens: found by Telegram user id; created only when they accept the privacy notice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Citizen


async def by_telegram_id(session: AsyncSession, telegram_user_id: int) -> Citizen | None:
    return await session.scalar(select(Citizen).where(Citizen.telegram_user_id == telegram_user_id))


async def language_of(session: AsyncSession, telegram_user_id: int) -> str | None:
    return await session.scalar(
        select(Citizen.language).where(Citizen.telegram_user_id == telegram_user_id)
    )


async def get_or_create_with_consent(
    session: AsyncSession, telegram_user_id: int, telegram_language: str | None, now: datetime
) -> Citizen:
    citizen = await by_telegram_id(session, telegram_user_id)
    if citizen is None:
        citizen = Citizen(
            telegram_user_id=telegram_user_id,
            telegram_language=telegram_language,
            consent_at=now,
            created_at=now,
        )
        session.add(citizen)
        await session.flush()
    elif citizen.consent_at is None:
        citizen.consent_at = now
    return citizen


async def set_language(session: AsyncSession, citizen: Citizen, language: str | None) -> None:
    citizen.language = language
