"""Status notices for the people who follow a report: its author and its supporters.

Queued in the caller's transaction, one per person and event, and rendered at sending time in
each reader's own language (bot/channels/telegram.py). Who hears of which change is decided in
bot/reports/effects.py.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from bot.outbox.queue import FAN_OUT, Kind, enqueue
from storage.models import Report, ReportEvent
from storage.queries import moderation as queries
from storage.queries.citizens import without_telegram


async def queue_status_notices(
    session: AsyncSession,
    report: Report,
    event: ReportEvent,
    *,
    supporters: bool,
    reason: str | None = None,
    merged_into: str | None = None,
    moved: bool = False,
) -> None:
    followers: Iterable[int] = [report.citizen_id]
    if supporters:
        followers = [report.citizen_id, *await queries.supporter_citizen_ids(session, report.id)]
    recipients = [c for c in dict.fromkeys(followers) if not without_telegram(c)]
    # (an author who erased their data, or a partner channel's stand-in, is told nothing)
    for citizen_id in recipients:
        payload = {
            "report_id": report.id,
            "citizen_id": citizen_id,
            "status": report.status,
            "reason": reason,
            "merged_into": merged_into,
            "supporter": citizen_id != report.citizen_id,
            # Moved to another commitment (the notice names the report's commitment then).
            "moved": moved,
            FAN_OUT: len(recipients),
        }
        await enqueue(
            session, Kind.STATUS_NOTICE, f"{event.id}:{citizen_id}", payload, event.created_at
        )
