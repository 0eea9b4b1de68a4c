""" "Is it fixed?": some days after an agency says a report is resolved, its author is asked.

"No" reopens the report (an event that counts against the agency's record), tells the
supporters, and sends the report back to the agency's officials.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.services import Services
from bot.outbox.queue import Kind, enqueue
from bot.reports.agency_delivery import deliver_to_agency_in
from bot.reports.lifecycle import Actor, InvalidTransition, Status, record_action, transition
from bot.reports.moderation import AlreadyDone, ModerationError, ReportNotFound, refresh_card_in
from bot.reports.notices import queue_status_notices
from storage.models import Report, ReportEvent
from storage.queries import citizens
from storage.queries import moderation as queries
from storage.queries import reports as report_queries


class NotYourReport(ModerationError):
    """Only the report's author answers its "is it fixed?" question."""


async def schedule_fix_check_in(
    services: Services, session: AsyncSession, report: Report, event: ReportEvent
) -> None:
    """Queue the question for later, in the transaction that marked the report resolved."""
    ask_at = event.created_at + timedelta(days=services.settings.fix_check_days)
    await enqueue(session, Kind.FIX_CHECK, str(event.id), {"report_id": report.id}, ask_at)


class FixCheck:
    def __init__(self, services: Services) -> None:
        self._services = services

    async def answer(self, report_id: int, telegram_user_id: int, fixed: bool) -> Report:
        async with self._services.write_then_deliver() as session:
            report = await queries.report_for_update(session, report_id)
            if report is None:
                raise ReportNotFound()
            author = await citizens.by_telegram_id(session, telegram_user_id)
            if author is None or author.id != report.citizen_id:
                raise NotYourReport()
            if report.status != Status.RESOLVED or await _answered(session, report):
                raise AlreadyDone(report.reference, report.status, None, None)
            actor = Actor("citizen", author.id)
            now = self._services.clock()
            if fixed:
                event = await record_action(session, report, "confirmed_fixed", actor=actor, at=now)
            else:
                try:
                    event = await transition(session, report, Status.REOPENED, actor=actor, at=now)
                except InvalidTransition:  # pragma: no cover - checked just above
                    raise AlreadyDone(report.reference, report.status, None, None) from None
                await queue_status_notices(session, report, event, supporters=True)
                await deliver_to_agency_in(
                    session, report, event, email=self._services.settings.mail_enabled
                )
            await refresh_card_in(self._services, session, report, event)
            return report


async def _answered(session: AsyncSession, report: Report) -> bool:
    """Whether the author already confirmed the fix since the report was last resolved."""
    for event in reversed(await report_queries.events(session, report.id)):
        if event.action == "confirmed_fixed":
            return True
        if event.to_status == Status.RESOLVED and event.action == "status":
            return False
    return False
