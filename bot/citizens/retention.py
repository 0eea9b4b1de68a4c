"""Retention: what the bot keeps about citizens, and for how long.

- An abandoned draft (not changed for DRAFT_RETENTION_DAYS) is deleted, with its photos.
- A rejected report loses its text (as written and as redacted), photos, voice note and the
  citizen's answers to moderators' questions REJECTED_RETENTION_DAYS after it was rejected.
  The report itself, its reference, status and history stay, so the citizen's /myreports and the
  statistics stay whole; a "purged" event (by the system) says when the content went, and the
  staff card is redrawn without it.
- A stored photo is deleted once nothing uses it any more: no report, no draft. Photos are kept
  once per content, so a picture also in a published report stays.

0 days keeps that kind of data forever. The job runs every hour in every worker; each step is
a short transaction over a batch (SQLite holds its write lock for one batch at a time), and the
work is idempotent: a second worker, or a second run, finds nothing left to do.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram.ext import Application

from bot.core.jobs import run_every
from bot.core.services import Services
from bot.reports.effects import carry_out
from bot.reports.lifecycle import ActorKind, Status
from storage.queries import reports as report_queries
from storage.queries import retention as queries

log = logging.getLogger(__name__)

JOB_NAME = "retention"
JOB_INTERVAL_SECONDS = 3600
JOB_FIRST_SECONDS = 60  # after start-up, once the bot has settled
DRAFT_BATCH = 50
REPORT_BATCH = 20
MEDIA_BATCH = 200


@dataclass(frozen=True)
class DraftGone:
    """A draft deleted (or that would be): never whose it was."""

    step: str
    updated_at: datetime
    photos: int


@dataclass(frozen=True)
class ReportGone:
    """A rejected report whose content was deleted (or would be)."""

    reference: str
    rejected_at: datetime
    photos: int
    text: bool
    voice: bool


@dataclass
class Purge:
    """What a run deleted, or with dry_run what it would delete."""

    now: datetime
    draft_days: int
    rejected_days: int
    dry_run: bool = False
    drafts: list[DraftGone] = field(default_factory=list)
    reports: list[ReportGone] = field(default_factory=list)
    media: int = 0

    @property
    def anything(self) -> bool:
        return bool(self.drafts or self.reports or self.media)


def cutoff(now: datetime, days: int) -> datetime | None:
    """The moment before which data of this kind goes; None when it is kept forever (0)."""
    return now - timedelta(days=days) if days > 0 else None


def _draft(d: queries.StaleDraft) -> DraftGone:
    return DraftGone(d.step, d.updated_at, len(d.photo_hashes))


def _report(r: queries.DueReport) -> ReportGone:
    return ReportGone(r.reference, r.rejected_at, len(r.photo_hashes), r.has_text, r.has_voice)


def _new(services: Services, *, dry_run: bool) -> Purge:
    settings = services.settings
    return Purge(
        services.clock(),
        settings.draft_retention_days,
        settings.rejected_retention_days,
        dry_run=dry_run,
    )


async def plan(services: Services) -> Purge:
    """What a purge now would delete, changing nothing."""
    result = _new(services, dry_run=True)
    drafts_before = cutoff(result.now, result.draft_days)
    rejected_before = cutoff(result.now, result.rejected_days)
    async with services.db.read() as session:
        drafts = await queries.stale_drafts(session, drafts_before, None) if drafts_before else []
        due = await queries.rejected_due(session, rejected_before, None) if rejected_before else []
        hashes = {sha for d in drafts for sha in d.photo_hashes}
        hashes |= {sha for r in due for sha in r.photo_hashes}
        if drafts_before is not None:
            hashes |= set(await queries.media_without_report(session, drafts_before, "", None))
        used = await queries.used_by_reports(session, hashes, except_reports=[r.id for r in due])
        used |= await queries.used_by_drafts(
            session, hashes - used, except_citizens=[d.citizen_id for d in drafts]
        )
    result.drafts = [_draft(d) for d in drafts]
    result.reports = [_report(r) for r in due]
    result.media = len(hashes - used)
    return result


async def purge(services: Services) -> Purge:
    """Delete now what the settings say is due: old drafts, old rejected reports' content,
    and stored photos nothing uses any more. Returns what went."""
    result = _new(services, dry_run=False)
    drafts_before = cutoff(result.now, result.draft_days)
    rejected_before = cutoff(result.now, result.rejected_days)
    if drafts_before is not None:
        await _purge_drafts(services, result, drafts_before)
    if rejected_before is not None:
        await _purge_rejected(services, result, rejected_before)
    if drafts_before is not None:
        await _purge_unused_media(services, result, drafts_before)
    return result


async def _purge_drafts(services: Services, result: Purge, before: datetime) -> None:
    while True:
        async with services.db.write() as session:
            batch = await queries.stale_drafts(session, before, DRAFT_BATCH, lock=True)
            await queries.delete_drafts(session, [d.citizen_id for d in batch], before)
            result.media += await _drop_unused(session, {s for d in batch for s in d.photo_hashes})
        result.drafts += [_draft(d) for d in batch]
        if len(batch) < DRAFT_BATCH:
            return


async def _purge_rejected(services: Services, result: Purge, before: datetime) -> None:
    while True:
        async with services.write_then_deliver() as session:
            due = await queries.rejected_due(session, before, REPORT_BATCH, lock=True)
            # Locked now: a worker that waited for another sees what that one recorded.
            done = await queries.already_purged(session, [r.id for r in due])
            todo = [r for r in due if r.id not in done]
            ids = [r.id for r in todo]
            await queries.clear_content(session, ids, result.now)
            for report in await queries.reports_by_id(session, ids):
                event = await report_queries.add_event(
                    session,
                    report.id,
                    actor_kind=ActorKind.SYSTEM,
                    actor_id=None,
                    from_status=report.status,
                    to_status=Status(report.status),
                    note=None,
                    at=result.now,
                    action=queries.PURGED,
                )
                await carry_out(services, session, report, event)  # the card, redrawn
            result.media += await _drop_unused(session, {s for r in todo for s in r.photo_hashes})
        result.reports += [_report(r) for r in todo]
        if len(due) < REPORT_BATCH:
            return


async def _purge_unused_media(services: Services, result: Purge, before: datetime) -> None:
    """Photos older than the draft limit that neither a report nor a draft uses: left by a
    cancelled draft, or by photos chosen again."""
    after = ""
    while True:
        async with services.db.write() as session:
            batch = await queries.media_without_report(session, before, after, MEDIA_BATCH)
            result.media += await _drop_unused(session, set(batch))
        if len(batch) < MEDIA_BATCH:
            return
        after = batch[-1]


async def _drop_unused(session: AsyncSession, hashes: set[str]) -> int:
    """Delete those of these stored photos that nothing uses any more; locked first, so no
    transaction starting to use one loses it (storage/queries/retention.py)."""
    locked = set(await queries.lock_media(session, hashes))
    used = await queries.used_by_reports(session, locked)
    used |= await queries.used_by_drafts(session, locked - used)
    return await queries.delete_media(session, locked - used)


async def run_retention(services: Services) -> Purge:
    """What the scheduled job does: purge, and log what went (counts only)."""
    result = await purge(services)
    if result.anything:
        log.info(
            "retention: deleted %d drafts, the content of %d rejected reports, %d stored photos",
            len(result.drafts),
            len(result.reports),
            result.media,
        )
    return result


def schedule_retention(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Purge every hour, in every worker: they never do the same work twice."""
    run_every(
        application,
        JOB_NAME,
        run_retention,
        interval=JOB_INTERVAL_SECONDS,
        first=JOB_FIRST_SECONDS,
    )
