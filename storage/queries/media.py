"""Cleaned photo bytes, stored once per content hash, and the public's way to them."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import Row, false, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import MediaFile, Report, ReportPhoto, utcnow


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


async def public_photo(
    session: AsyncSession, reference: str, n: int, statuses: Collection[str]
) -> Row[str, str] | None:
    """(sha256, mime_type) of the n-th photo (from 1, in the report's order) of the report with
    this reference, when its status is one of `statuses` and its photos are not hidden; else
    None. The bytes are read apart (`get`), and only when they are sent."""
    if n < 1:
        return None
    query = (
        select(MediaFile.sha256, MediaFile.mime_type)
        .join(ReportPhoto, ReportPhoto.content_sha256 == MediaFile.sha256)
        .join(Report, Report.id == ReportPhoto.report_id)
        .where(
            Report.reference == reference,
            Report.status.in_(sorted(statuses)),
            Report.photos_hidden == false(),
        )
        .order_by(ReportPhoto.position, ReportPhoto.id)
        .offset(n - 1)
        .limit(1)
    )
    return (await session.execute(query)).one_or_none()
