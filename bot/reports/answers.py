"""The agency's side: approved reports go to the agency's officials, and their answers close the
loop with every citizen who follows the report.

An answer is accepted only from an official of the agency responsible for the report's
commitment; it follows the state machine, is recorded as an event, and is told to the author and
every supporter in their own language. "Not our responsibility" goes back to the moderators,
whose card shows it and who can move the report to the right commitment.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.services import Services
from bot.reports.effects import change_status
from bot.reports.lifecycle import AGENCY_ANSWERS, Actor, ActorKind, InvalidTransition, Status
from bot.reports.moderation import ModerationError, ReportNotFound, already_done
from storage.models import Report
from storage.queries import agencies as agency_queries
from storage.queries import moderation as queries
from storage.queries import officials as official_queries


class NotAnOfficial(ModerationError):
    """The person is not an official of the agency responsible for this report."""


@dataclass(frozen=True)
class AgencyAnswer:
    reference: str
    status: str
    changed: bool


def _answer_status(status: str) -> Status:
    """The status an agency may answer with; ValueError for anything else."""
    wanted = Status(status)
    if wanted not in AGENCY_ANSWERS:
        raise ValueError(status)
    return wanted


async def answer(services: Services, report_id: int, status: str, official: Actor) -> Report:
    """Record an official's answer; raises NotAnOfficial, AlreadyDone or ReportNotFound."""
    wanted = _answer_status(status)
    async with services.write_then_deliver() as session:
        report = await queries.report_for_update(session, report_id)
        if report is None:
            raise ReportNotFound()
        agency_id = report.commitment.agency_id
        if (
            agency_id is None
            or official.id is None
            or await official_queries.find(session, agency_id, official.id) is None
        ):
            raise NotAnOfficial()
        await _apply(services, session, report, wanted, official)
        return report


async def answer_for_agency(
    services: Services, agency_id: int, reference: str, status: str, note: str | None = None
) -> AgencyAnswer:
    """The agency's own system answers (the signed status endpoint, bot/channels/web.py).

    Raises ValueError for a status that is not an answer, ReportNotFound when the report does
    not exist or is not this agency's, AlreadyDone when the state machine refuses. The same
    status again changes nothing and is no error (changed=False): a client that retries a
    request whose answer it missed is told its change is in place.
    """
    wanted = _answer_status(status)
    async with services.write_then_deliver() as session:
        found = await queries.report_by_reference(session, reference)
        report = await queries.report_for_update(session, found.id) if found else None
        agency = await agency_queries.by_id(session, agency_id)
        if report is None or agency is None or report.commitment.agency_id != agency_id:
            raise ReportNotFound()
        if report.status == wanted:
            return AgencyAnswer(report.reference, report.status, changed=False)
        await _apply(
            services, session, report, wanted, Actor(ActorKind.AGENCY, None, agency.code), note
        )
        return AgencyAnswer(report.reference, report.status, changed=True)


async def _apply(
    services: Services,
    session: AsyncSession,
    report: Report,
    wanted: Status,
    actor: Actor,
    note: str | None = None,
) -> None:
    """The answer's transition, its event, and everything that follows from it."""
    try:
        await change_status(services, session, report, wanted, actor, note=note)
    except InvalidTransition:
        raise await already_done(session, report) from None
