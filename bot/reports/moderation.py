"""Moderators' actions on reports: each one a single transaction that locks the report, follows
the state machine, records an event, and queues the card refresh and the citizen's notice.

Two moderators pressing at once: the report row is locked (FOR UPDATE; SQLite's write lock), so
the second action sees the first one's result and fails with InvalidTransition, which the handler
turns into "already done by ...".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.services import Services
from bot.i18n.translate import N_
from bot.outbox.queue import Kind, enqueue
from bot.reports.agency_delivery import deliver_to_agency_in
from bot.reports.lifecycle import Actor, InvalidTransition, Status, record_action, transition
from bot.reports.notices import queue_status_notices
from bot.reports.references import normalize_reference
from storage.models import Report, ReportEvent
from storage.queries import citizens as citizen_queries
from storage.queries import commitments as commitment_queries
from storage.queries import moderation as queries
from storage.queries import reports as report_queries

MAX_PUBLIC_TEXT = 2_000
MAX_QUESTION = 1_000

REJECT_REASONS = {
    "spam": N_("spam"),
    "abusive": N_("abusive"),
    "off_topic": N_("off-topic"),
    "personal_data": N_("personal data"),
    "wrong_commitment": N_("not about this commitment"),
}


class ModerationError(Exception):
    """A moderator's action that cannot be done; handlers explain it."""


class ReportNotFound(ModerationError):
    pass


class UnknownReason(ModerationError):
    pass


class MergeTargetInvalid(ModerationError):
    def __init__(self, typed: str) -> None:
        super().__init__(typed)
        self.typed = typed


class CommitmentNotFound(ModerationError):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class TextInvalid(ModerationError):
    pass


@dataclass(frozen=True)
class Done:
    report_id: int
    reference: str
    status: str


@dataclass
class AlreadyDone(ModerationError):
    """The report had already moved on (another moderator was quicker)."""

    reference: str
    status: str
    by: str | None
    at: datetime | None


class Moderation:
    def __init__(self, services: Services) -> None:
        self._services = services

    async def approve(self, report_id: int, moderator: Actor) -> Done:
        async with self._services.write_then_deliver() as session:
            report = await self._locked(session, report_id)
            event = await self._transition(session, report, Status.PUBLISHED, moderator)
            await self._notify_author(session, report, event)
            await self._refresh_card(session, report, event)
            await deliver_to_agency_in(
                session, report, event, email=self._services.settings.mail_enabled
            )
            return Done(report.id, report.reference, report.status)

    async def reject(self, report_id: int, reason: str, moderator: Actor) -> Done:
        if reason not in REJECT_REASONS:
            raise UnknownReason(reason)
        async with self._services.write_then_deliver() as session:
            report = await self._locked(session, report_id)
            event = await self._transition(session, report, Status.REJECTED, moderator, note=reason)
            await self._notify_author(session, report, event, reason=reason)
            await self._refresh_card(session, report, event)
            return Done(report.id, report.reference, report.status)

    async def merge(self, report_id: int, target: str | int, moderator: Actor) -> Done:
        """Mark the report a duplicate of `target` (a reference as typed, or a report id)."""
        async with self._services.write_then_deliver() as session:
            report = await self._locked(session, report_id)
            target_report = await self._merge_target(session, report, target)
            event = await self._transition(
                session, report, Status.DUPLICATE, moderator, note=target_report.reference
            )
            report.duplicate_of_id = target_report.id
            # The author now follows the report theirs was merged into.
            await queries.add_supporter(
                session, target_report.id, report.citizen_id, event.created_at
            )
            await self._notify_author(session, report, event, merged_into=target_report.reference)
            await self._refresh_card(session, report, event)
            await self._refresh_card(session, target_report, event)
            return Done(report.id, report.reference, report.status)

    async def move(self, report_id: int, commitment_code: str, moderator: Actor) -> Done:
        code = commitment_code.strip()
        async with self._services.write_then_deliver() as session:
            report = await self._locked(session, report_id)
            commitment = await commitment_queries.by_code(session, code)
            if commitment is None:
                raise CommitmentNotFound(code)
            old_code = report.commitment.code
            if commitment.id == report.commitment_id:
                raise CommitmentNotFound(code)
            event = await self._action(
                session, report, "moved", moderator, note=f"{old_code} → {commitment.code}"
            )
            report.commitment_id = commitment.id
            report.commitment = commitment
            if report.status == Status.NOT_RESPONSIBLE:
                # Rerouted: published again, and sent to the agency now responsible.
                event = await self._transition(session, report, Status.PUBLISHED, moderator)
                await deliver_to_agency_in(
                    session, report, event, email=self._services.settings.mail_enabled
                )
            await self._refresh_card(session, report, event)
            return Done(report.id, report.reference, report.status)

    async def redact(self, report_id: int, public_text: str, moderator: Actor) -> Done:
        text = public_text.strip()
        if not text or len(text) > MAX_PUBLIC_TEXT:
            raise TextInvalid()
        async with self._services.write_then_deliver() as session:
            report = await self._locked(session, report_id)
            event = await self._action(session, report, "redacted", moderator)
            report.public_text = text  # the original stays in Report.text, for the record
            await self._refresh_card(session, report, event)
            return Done(report.id, report.reference, report.status)

    async def ask(self, report_id: int, question: str, moderator: Actor) -> Done:
        text = question.strip()
        if not text or len(text) > MAX_QUESTION:
            raise TextInvalid()
        async with self._services.write_then_deliver() as session:
            report = await self._locked(session, report_id)
            event = await self._action(session, report, "question", moderator, note=text)
            row = await queries.add_question(
                session,
                report_id=report.id,
                citizen_id=report.citizen_id,
                question=text,
                asked_by=moderator.id or 0,
                now=event.created_at,
            )
            await enqueue(
                session,
                Kind.CITIZEN_QUESTION,
                str(row.id),
                {"question_id": row.id},
                event.created_at,
            )
            await self._refresh_card(session, report, event)
            return Done(report.id, report.reference, report.status)

    async def answer(
        self, telegram_user_id: int, reply_to_message_id: int | None, text: str
    ) -> str | None:
        """Attach a citizen's message as the answer to their open question; its reference, or
        None when there is no open question to answer."""
        answer_text = text.strip()[: MAX_QUESTION * 2]
        async with self._services.write_then_deliver() as session:
            citizen = await citizen_queries.by_telegram_id(session, telegram_user_id)
            if citizen is None:
                return None
            citizen_id = citizen.id
            question = await queries.unanswered_question(session, citizen_id, reply_to_message_id)
            if question is None:
                return None
            report = await self._locked(session, question.report_id)
            now = self._services.clock()
            question.answer, question.answered_at = answer_text, now
            event = await report_action_safe(
                session, report, Actor("citizen", citizen_id), now, answer_text
            )
            if event is not None:
                await self._refresh_card(session, report, event)
            return report.reference

    async def support_in(self, session: AsyncSession, report_id: int, citizen_id: int) -> str:
        """Within the caller's transaction: a citizen adds their voice to an open report (and
        follows it from then on); returns its reference."""
        report = await self._locked(session, report_id)
        if report.status not in (Status.PENDING_REVIEW, *OPEN):
            raise AlreadyDone(report.reference, report.status, None, None)
        if report.citizen_id == citizen_id:
            return report.reference  # their own report: nothing to add
        now = self._services.clock()
        if await queries.add_supporter(session, report.id, citizen_id, now):
            event = await record_action(
                session, report, "supported", actor=Actor("citizen", citizen_id), at=now
            )
            await self._refresh_card(session, report, event)
        return report.reference

    # --- the staff group's bookkeeping -------------------------------------------------------------

    async def texts_of(self, report_id: int) -> tuple[str, str | None] | None:
        """(reference, the text the public would see) for prompts; None if the report is gone."""
        async with self._services.db.read() as session:
            report = await queries.report_with_details(session, report_id)
        if report is None:
            return None
        return report.reference, report.public_text or report.text

    async def remember_prompt(
        self, chat_id: int, message_id: int, report_id: int, action: str, moderator_id: int
    ) -> None:
        async with self._services.db.write() as session:
            await queries.add_prompt(
                session,
                chat_id=chat_id,
                message_id=message_id,
                report_id=report_id,
                action=action,
                moderator_id=moderator_id,
                now=self._services.clock(),
            )

    async def open_prompt(self, chat_id: int, message_id: int) -> tuple[int, int, str] | None:
        """(prompt id, report id, action) of the prompt a staff message replies to."""
        async with self._services.db.read() as session:
            prompt = await queries.open_prompt(session, chat_id, message_id)
        return None if prompt is None else (prompt.id, prompt.report_id, prompt.action)

    async def close_prompt(self, prompt_id: int) -> None:
        async with self._services.db.write() as session:
            await queries.close_prompt(session, prompt_id, self._services.clock())

    async def queue_state(self, limit: int) -> tuple[int, datetime | None, Sequence[int]]:
        """How many reports wait, since when the oldest has, and the next ones' ids."""
        async with self._services.db.read() as session:
            count, oldest = await queries.waiting(session)
            next_ids = await queries.next_waiting(session, limit)
        return count, oldest, next_ids

    async def card_posted(self, report_id: int, chat_id: int, message_id: int) -> None:
        async with self._services.db.write() as session:
            await queries.save_card(session, report_id, chat_id, message_id, self._services.clock())

    # --- internals ---------------------------------------------------------------------------------

    async def _locked(self, session: AsyncSession, report_id: int) -> Report:
        report = await queries.report_for_update(session, report_id)
        if report is None:
            raise ReportNotFound()
        return report

    async def _transition(
        self,
        session: AsyncSession,
        report: Report,
        wanted: Status,
        moderator: Actor,
        note: str | None = None,
    ) -> ReportEvent:
        try:
            return await transition(
                session, report, wanted, actor=moderator, at=self._services.clock(), note=note
            )
        except InvalidTransition:
            raise await self._already_done(session, report) from None

    async def _action(
        self,
        session: AsyncSession,
        report: Report,
        action: str,
        moderator: Actor,
        note: str | None = None,
    ) -> ReportEvent:
        try:
            return await record_action(
                session, report, action, actor=moderator, at=self._services.clock(), note=note
            )
        except InvalidTransition:
            raise await self._already_done(session, report) from None

    async def _already_done(self, session: AsyncSession, report: Report) -> AlreadyDone:
        events = await report_queries.events(session, report.id)
        last = next((e for e in reversed(events) if e.action == "status"), None)
        return AlreadyDone(
            report.reference,
            report.status,
            last.actor_name if last and last.actor_kind != "citizen" else None,
            last.created_at if last else None,
        )

    async def _merge_target(
        self, session: AsyncSession, report: Report, target: str | int
    ) -> Report:
        if isinstance(target, int):
            found = await queries.report_with_details(session, target)
            typed = str(target)
        else:
            reference = normalize_reference(target)
            found = await queries.report_by_reference(session, reference) if reference else None
            typed = target
        if (
            found is None
            or found.id == report.id
            or found.status in (Status.REJECTED, Status.DUPLICATE)
        ):
            raise MergeTargetInvalid(typed)
        return found

    async def _notify_author(
        self,
        session: AsyncSession,
        report: Report,
        event: ReportEvent,
        *,
        reason: str | None = None,
        merged_into: str | None = None,
    ) -> None:
        await queue_status_notices(
            session, report, event, supporters=False, reason=reason, merged_into=merged_into
        )

    async def _refresh_card(
        self, session: AsyncSession, report: Report, event: ReportEvent
    ) -> None:
        await refresh_card_in(self._services, session, report, event)


OPEN = (Status.PUBLISHED, Status.ACKNOWLEDGED, Status.IN_PROGRESS, Status.REOPENED)


async def report_action_safe(
    session: AsyncSession, report: Report, actor: Actor, at: datetime, note: str
) -> ReportEvent | None:
    """Record a citizen's answer; a report closed meanwhile keeps the answer without an event."""
    try:
        return await record_action(session, report, "answer", actor=actor, at=at, note=note)
    except InvalidTransition:
        return None


async def refresh_card_in(
    services: Services, session: AsyncSession, report: Report, event: ReportEvent
) -> None:
    """Queue a redraw of the report's card in the staff group (if there is one)."""
    if services.settings.moderator_chat_id is None:
        return
    await enqueue(
        session,
        Kind.CARD_REFRESH,
        f"{report.id}:{event.id}",
        {"report_id": report.id},
        event.created_at,
    )
