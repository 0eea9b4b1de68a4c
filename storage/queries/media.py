"""Cleaned photo bytes, stored once per content hash."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import MediaFile, utcnow


async def store(
    session: AsyncSession,
    sha256: str,
    mime_type: str,
    width: int,
    height: int,
    content: bytes,
    now: datetime | None = None,
) -> None:
    # FOR SHARE: retention (storage/queries/retention.py) cannot delete a stored copy that
    # this transaction is about to use again.
    found = await session.scalar(
        select(MediaFile.sha256).where(MediaFile.sha256 == sha256).with_for_update(read=True)
    )
    if found is None:
        session.add(
            MediaFile(
                sha256=sha256,
                mime_type=mime_type,
                size=len(content),
                width=width,
                height=height,
                content=content,
                created_at=now or utcnow(),
            )
        )
        await session.flush()


async def get(session: AsyncSession, sha256: str) -> MediaFile | None:
    return await session.get(MediaFile, sha256)
