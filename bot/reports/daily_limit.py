"""REPORTS_PER_DAY: how many reports one citizen can send in any 24 hours.

Counted from the reports table (every report the citizen sent, whatever became of it; a voice
added to someone else's report is not a report), so it holds across restarts and workers. Send
is where it counts (bot/reports/drafting.py confirm, under the draft's lock): the report over the
limit is not made and its draft stays as it is, to be sent once the oldest report of the window is
24 hours old. Starting a report only warns (handlers/replies.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.services import Services
from storage.queries import citizens
from storage.queries.limits import report_times_since

WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class DailyLimit:
    """The limit is reached: `sent` reports in the last 24 hours; one more from `again_at`."""

    limit: int
    sent: int
    again_at: datetime


async def reached_in(
    session: AsyncSession, services: Services, citizen_id: int
) -> DailyLimit | None:
    limit = services.settings.reports_per_day
    now = services.clock()
    times = await report_times_since(session, citizen_id, now - WINDOW)
    if len(times) < limit:
        return None
    # One more can go once the window holds limit - 1: when this report leaves it. Rounded up to
    # the minute, as the citizen is told the time to the minute.
    frees = times[len(times) - limit] + WINDOW
    again_at = frees.replace(second=0, microsecond=0)
    if again_at < frees:
        again_at += timedelta(minutes=1)
    return DailyLimit(limit, len(times), again_at)


async def reached(services: Services, telegram_user_id: int) -> DailyLimit | None:
    """For a warning when a report starts: a read, no lock."""
    async with services.db.read() as session:
        citizen = await citizens.by_telegram_id(session, telegram_user_id)
        if citizen is None:
            return None
        return await reached_in(session, services, citizen.id)
