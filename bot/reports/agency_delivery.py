"""Sending an approved report to the agency responsible for its commitment."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.agency_queue import queue_emails_in, queue_webhook_in
from bot.i18n.translate import N_
from bot.outbox.queue import Kind, enqueue
from bot.reports.lifecycle import Status
from storage.models import Report, ReportEvent
from storage.queries import agencies as agency_queries
from storage.queries import officials as official_queries

# The answers an official can give, in the order the buttons show them.
ANSWERS = {
    Status.ACKNOWLEDGED: N_("👀 Acknowledged"),
    Status.IN_PROGRESS: N_("🏗 In progress"),
    Status.RESOLVED: N_("✅ Resolved"),
    Status.NOT_RESPONSIBLE: N_("↩️ Not our responsibility"),
    Status.NO_ACTION: N_("⏹ No further action"),
}


async def deliver_to_agency_in(
    session: AsyncSession, report: Report, event: ReportEvent, *, email: bool
) -> int:
    """Queue the report for every channel of its commitment's agency: each official in
    Telegram, its webhook, and (with `email`, i.e. when SMTP is configured) each of its e-mail
    addresses; returns how many officials."""
    agency_id = report.commitment.agency_id
    if agency_id is None:
        return 0
    officials = await official_queries.of_agency(session, agency_id)
    for official in officials:
        await enqueue(
            session,
            Kind.AGENCY_TELEGRAM,
            f"{event.id}:{official.telegram_user_id}",
            {
                "report_id": report.id,
                "telegram_user_id": official.telegram_user_id,
                "language": official.language,
            },
            event.created_at,
        )
    agency = await agency_queries.by_id(session, agency_id)
    if agency is not None:
        await queue_webhook_in(session, report, event, agency)
        if email:
            await queue_emails_in(session, report, event, agency)
    return len(officials)
