""" "Is it fixed?": some days after an agency says a report is resolved, its author is asked.

"No" reopens the report (an event that counts against the agency's record), tells the
supporters, and sends the report back to the agency's officials.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.services import Services
from bot.reports.effects import change_status, record
from bot.reports.lifecycle import Actor, ActorKind, InvalidTransition, Status
from bot.reports.moderation import AlreadyDone, ModerationError, ReportNotFound
from storage.models import Report
from storage.queries import citizens
from storage.queries import moderation as queries
from storage.queries import reports as report_queries


class NotYourReport(ModerationError):
    """Only the report's author answers its "is it fixed?" question."""


async def answer(services: Services, report_id: int, telegram_user_id: int, fixed: bool) -> Report:
    async with services.write_then_deliver() as session:
        report = await queries.report_for_update(session, report_id)
        if report is None:
            raise ReportNotFound()
        author = await citizens.by_telegram_id(session, telegram_user_id)
        if author is None or author.id != report.citizen_id:
            raise NotYourReport()
        if report.status != Status.RESOLVED or await _answered(session, report):
            raise AlreadyDone(report.reference, report.status, None, None)
        actor = Actor(ActorKind.CITIZEN, author.id)
        if fixed:
            await record(services, session, report, "confirmed_fixed", actor)
            return report
        try:
            await change_status(services, session, report, Status.REOPENED, actor)
        except InvalidTransition:  # pragma: no cover - checked just above
            raise AlreadyDone(report.reference, report.status, None, None) from None
        return report


async def _answered(session: AsyncSession, report: Report) -> bool:
    """Whether the author already confirmed the fix since the report was last resolved."""
    for event in reversed(await report_queries.events(session, report.id)):
        if event.action == "confirmed_fixed":
            return True
        if event.to_status == Status.RESOLVED and event.action == "status":
            return False
    return False
