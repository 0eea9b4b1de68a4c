"""Cleaned photo bytes, stored once per content hash."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import MediaFile


async def store(
    session: AsyncSession, sha256: str, mime_type: str, width: int, height: int, content: bytes
) -> None:
    if await session.get(MediaFile, sha256) is None:
        session.add(
            MediaFile(
                sha256=sha256,
                mime_type=mime_type,
                size=len(content),
                width=width,
                height=height,
                content=content,
            )
        )
        await session.flush()


async def get(session: AsyncSession, sha256: str) -> MediaFile | None:
    return await session.get(MediaFile, sha256)
