"""Citizens: found by Telegram user id; created only when they accept the privacy notice.

Two kinds of stand-in are citizens rows too, and nobody in Telegram: the erased author
(storage/queries/erasure.py ERASED_CITIZEN_ID, id 0) and each Open311 partner's stand-in
(storage/queries/api_keys.py, negative ids). Their ids, and their Telegram user ids, are <= 0,
which no Telegram user has; without_telegram() is the one test for them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Citizen

STAND_IN_MAX_ID = 0  # stand-ins have ids (and Telegram user ids) at most this


def without_telegram(citizen_id: int) -> bool:
    """Whether the citizen is a stand-in nobody can reach in Telegram (the erased author, a
    partner channel): no notices, no questions, no fix-checks, no block button, no Telegram
    message of any kind."""
    return citizen_id <= STAND_IN_MAX_ID


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
