"""Retention: old drafts, rejected reports' content, and stored photos nothing uses any more.

Safe with several workers at once. On PostgreSQL the rows a batch works on are locked FOR UPDATE
SKIP LOCKED (another worker takes the next ones), and a photo is locked before anyone is asked
whether they still use it: a draft taking the same picture again locks it FOR SHARE
(storage/queries/media.py) and a new report's photo row locks it through its foreign key, so a
photo is never deleted under a transaction that is starting to use it. SQLite has one writer
at a time, which is the same guarantee.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, Text, cast, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Draft, MediaFile, Report, ReportEvent, ReportPhoto, ReportQuestion
from storage.queries.reports import CITIZEN_WORDS_CLEARED

REJECTED = "rejected"
PURGED = "purged"  # the event recording that a report's content was deleted


@dataclass(frozen=True)
class StaleDraft:
    citizen_id: int
    step: str
    updated_at: datetime
    photo_hashes: tuple[str, ...]


@dataclass(frozen=True)
class DueReport:
    id: int
    reference: str
    rejected_at: datetime
    photo_hashes: tuple[str, ...]
    has_text: bool
    has_voice: bool


def _hashes(data: object) -> tuple[str, ...]:
    photos = data.get("photos", []) if isinstance(data, dict) else []
    return tuple(p["sha256"] for p in photos if isinstance(p, dict) and p.get("sha256"))


# --- drafts ----------------------------------------------------------------------------------


async def stale_drafts(
    session: AsyncSession, before: datetime, limit: int | None, *, lock: bool = False
) -> list[StaleDraft]:
    """Drafts not changed since `before`, oldest first; with `lock`, the ones no other
    transaction holds, locked until the end of this one."""
    query = (
        select(Draft)
        .where(Draft.updated_at < before)
        .order_by(Draft.updated_at, Draft.citizen_id)
        .limit(limit)
    )
    if lock:
        query = query.with_for_update(skip_locked=True)
    found = (await session.scalars(query)).all()
    return [StaleDraft(d.citizen_id, d.step, d.updated_at, _hashes(d.data)) for d in found]


async def delete_drafts(
    session: AsyncSession, citizen_ids: Collection[int], before: datetime
) -> int:
    """Delete those drafts that are still unchanged since `before`; returns how many."""
    if not citizen_ids:
        return 0
    result = await session.execute(
        delete(Draft).where(Draft.citizen_id.in_(citizen_ids), Draft.updated_at < before)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# --- rejected reports ------------------------------------------------------------------------


def _rejected_at() -> object:
    return (
        select(func.max(ReportEvent.created_at))
        .where(
            ReportEvent.report_id == Report.id,
            ReportEvent.action == "status",
            ReportEvent.to_status == REJECTED,
        )
        .correlate(Report)
        .scalar_subquery()
    )


def _purged() -> object:
    return exists().where(ReportEvent.report_id == Report.id, ReportEvent.action == PURGED)


async def rejected_due(
    session: AsyncSession, before: datetime, limit: int | None, *, lock: bool = False
) -> list[DueReport]:
    """Rejected reports rejected before `before` whose content is not deleted yet, oldest
    rejection first; with `lock`, only those no other transaction holds, locked."""
    rejected_at = _rejected_at().label("rejected_at")  # type: ignore[attr-defined]
    query = (
        select(Report, rejected_at)
        .where(Report.status == REJECTED, rejected_at < before, ~_purged())  # type: ignore[operator]
        .order_by(rejected_at, Report.id)
        .limit(limit)
    )
    if lock:
        query = query.with_for_update(skip_locked=True, of=Report)
    rows = (await session.execute(query)).all()
    hashes = await photo_hashes_of(session, [report.id for report, _at in rows])
    return [
        DueReport(
            report.id,
            report.reference,
            at,
            hashes.get(report.id, ()),
            bool(report.text or report.public_text),
            report.voice_file_id is not None,
        )
        for report, at in rows
    ]


async def photo_hashes_of(
    session: AsyncSession, report_ids: Collection[int]
) -> dict[int, tuple[str, ...]]:
    if not report_ids:
        return {}
    rows = await session.execute(
        select(ReportPhoto.report_id, ReportPhoto.content_sha256)
        .where(ReportPhoto.report_id.in_(report_ids))
        .order_by(ReportPhoto.report_id, ReportPhoto.position)
    )
    found: dict[int, list[str]] = {}
    for report_id, sha in rows:
        found.setdefault(report_id, []).append(sha)
    return {report_id: tuple(shas) for report_id, shas in found.items()}


async def already_purged(session: AsyncSession, report_ids: Collection[int]) -> set[int]:
    """Which of these reports already have their "purged" event (asked again once locked, so a
    worker that waited for another never records it twice)."""
    if not report_ids:
        return set()
    rows = await session.scalars(
        select(ReportEvent.report_id).where(
            ReportEvent.report_id.in_(report_ids), ReportEvent.action == PURGED
        )
    )
    return set(rows)


async def clear_content(session: AsyncSession, report_ids: Collection[int], now: datetime) -> None:
    """Delete the reports' photos, voice note, texts and the citizen's answers to moderators'
    questions; the report, its reference, status and events stay."""
    if not report_ids:
        return
    await session.execute(delete(ReportPhoto).where(ReportPhoto.report_id.in_(report_ids)))
    await session.execute(
        update(Report)
        .where(Report.id.in_(report_ids))
        .values(**CITIZEN_WORDS_CLEARED, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(ReportQuestion)
        .where(ReportQuestion.report_id.in_(report_ids), ReportQuestion.answer.is_not(None))
        .values(answer="")  # answered (not None), with nothing left of what was said
        .execution_options(synchronize_session=False)
    )
    # An answer's event quotes it too; the event itself (who, when) stays.
    await session.execute(
        update(ReportEvent)
        .where(ReportEvent.report_id.in_(report_ids), ReportEvent.action == "answer")
        .values(note=None)
        .execution_options(synchronize_session=False)
    )


async def reports_by_id(session: AsyncSession, report_ids: Collection[int]) -> list[Report]:
    if not report_ids:
        return []
    found = await session.scalars(
        select(Report).where(Report.id.in_(report_ids)).execution_options(populate_existing=True)
    )
    return list(found)


# --- stored photos ---------------------------------------------------------------------------

_LIKE_CHUNK = 50


async def used_by_drafts(
    session: AsyncSession, hashes: Collection[str], *, except_citizens: Collection[int] = ()
) -> set[str]:
    """Which of these photos a draft holds (drafts keep them in their JSON data)."""
    used: set[str] = set()
    wanted = sorted(set(hashes))
    text = cast(Draft.data, Text)
    for start in range(0, len(wanted), _LIKE_CHUNK):
        chunk = wanted[start : start + _LIKE_CHUNK]
        query = select(text).where(or_(*(text.like(f"%{sha}%") for sha in chunk)))
        if except_citizens:
            query = query.where(Draft.citizen_id.not_in(except_citizens))
        for data in await session.scalars(query):
            used.update(sha for sha in chunk if sha in data)
    return used


async def used_by_reports(
    session: AsyncSession, hashes: Collection[str], *, except_reports: Collection[int] = ()
) -> set[str]:
    if not hashes:
        return set()
    query = select(ReportPhoto.content_sha256).where(ReportPhoto.content_sha256.in_(set(hashes)))
    if except_reports:
        query = query.where(ReportPhoto.report_id.not_in(except_reports))
    return set(await session.scalars(query))


async def lock_media(session: AsyncSession, hashes: Iterable[str]) -> list[str]:
    """Lock these stored photos (those no other transaction holds) and return them."""
    wanted = set(hashes)
    if not wanted:
        return []
    found = await session.scalars(
        select(MediaFile.sha256)
        .where(MediaFile.sha256.in_(wanted))
        .order_by(MediaFile.sha256)
        .with_for_update(skip_locked=True)
    )
    return list(found)


async def delete_media(session: AsyncSession, hashes: Collection[str]) -> int:
    if not hashes:
        return 0
    result = await session.execute(delete(MediaFile).where(MediaFile.sha256.in_(hashes)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def media_without_report(
    session: AsyncSession, before: datetime, after: str, limit: int | None
) -> Sequence[str]:
    """Stored photos older than `before` that no report uses (a draft's, or nobody's), by
    hash after `after`."""
    used = exists().where(ReportPhoto.content_sha256 == MediaFile.sha256)
    rows = await session.scalars(
        select(MediaFile.sha256)
        .where(MediaFile.created_at < before, MediaFile.sha256 > cast(after, String), ~used)
        .order_by(MediaFile.sha256)
        .limit(limit)
    )
    return rows.all()
