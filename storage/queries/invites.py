"""Official invites: stored by the hash of their token; claimed at most once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Agency, OfficialInvite


async def add(
    session: AsyncSession, agency_id: int, token_sha256: str, now: datetime, expires_at: datetime
) -> OfficialInvite:
    invite = OfficialInvite(
        agency_id=agency_id, token_sha256=token_sha256, created_at=now, expires_at=expires_at
    )
    session.add(invite)
    await session.flush()
    return invite


async def by_hash(session: AsyncSession, token_sha256: str) -> OfficialInvite | None:
    return await session.scalar(
        select(OfficialInvite).where(OfficialInvite.token_sha256 == token_sha256)
    )


async def claim(
    session: AsyncSession, token_sha256: str, telegram_user_id: int, now: datetime
) -> bool:
    """Mark an unused, unexpired invite as used; one conditional UPDATE, so only one caller wins
    even on databases where two transactions can run side by side (PostgreSQL)."""
    result = await session.execute(
        update(OfficialInvite)
        .where(
            OfficialInvite.token_sha256 == token_sha256,
            OfficialInvite.used_at.is_(None),
            OfficialInvite.expires_at > now,
        )
        .values(used_at=now, used_by=telegram_user_id)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


async def agency_of(session: AsyncSession, token_sha256: str) -> Agency | None:
    return await session.scalar(
        select(Agency)
        .join(OfficialInvite, OfficialInvite.agency_id == Agency.id)
        .where(OfficialInvite.token_sha256 == token_sha256)
    )
