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
from bot.reports.effects import Details, change_status, record
from bot.reports.lifecycle import FINAL, PUBLIC_OPEN, Actor, ActorKind, InvalidTransition, Status
from bot.reports.references import normalize_reference
from storage.models import Report, ReportEvent
from storage.queries import citizens as citizen_queries
from storage.queries import commitments as commitment_queries
from storage.queries import moderation as queries
from storage.queries import reports as report_queries
from storage.queries.citizens import without_telegram

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


class AuthorErased(ModerationError):
    """The author erased their data (/forget), or a partner channel sent the report: nobody can
    be asked about it in Telegram."""

    def __init__(self, reference: str) -> None:
        super().__init__(reference)
        self.reference = reference


class NoPhotos(ModerationError):
    """The report has no photos to hide or show (the button was never drawn for it)."""


class PhotosAlreadyThere(ModerationError):
    """The photos are already hidden (or shown): another moderator was quicker."""

    def __init__(self, reference: str, hidden: bool) -> None:
        super().__init__(reference)
        self.reference = reference
        self.hidden = hidden


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


async def approve(services: Services, report_id: int, moderator: Actor) -> Done:
    async with services.write_then_deliver() as session:
        report = await _locked(session, report_id)
        await _transition(services, session, report, Status.PUBLISHED, moderator)
        return Done(report.id, report.reference, report.status)


async def reject(services: Services, report_id: int, reason: str, moderator: Actor) -> Done:
    if reason not in REJECT_REASONS:
        raise UnknownReason(reason)
    async with services.write_then_deliver() as session:
        report = await _locked(session, report_id)
        await _transition(
            services,
            session,
            report,
            Status.REJECTED,
            moderator,
            note=reason,
            details=Details(reason),
        )
        return Done(report.id, report.reference, report.status)


async def merge(services: Services, report_id: int, target: str | int, moderator: Actor) -> Done:
    """Mark the report a duplicate of `target` (a reference as typed, or a report id)."""
    async with services.write_then_deliver() as session:
        report = await _locked(session, report_id)
        target_report = await _merge_target(session, report, target)
        event = await _transition(
            services,
            session,
            report,
            Status.DUPLICATE,
            moderator,
            note=target_report.reference,
            details=Details(merged_into=target_report),
        )
        report.duplicate_of_id = target_report.id
        # The author now follows the report theirs was merged into (the voice of an erased
        # author, or of a partner channel's caller, still counts there, as an anonymous support).
        author = None if without_telegram(report.citizen_id) else report.citizen_id
        await queries.add_supporter(session, target_report.id, author, event.created_at)
        return Done(report.id, report.reference, report.status)


async def move(services: Services, report_id: int, commitment_code: str, moderator: Actor) -> Done:
    code = commitment_code.strip()
    async with services.write_then_deliver() as session:
        report = await _locked(session, report_id)
        commitment = await commitment_queries.by_code(session, code)
        if commitment is None:
            raise CommitmentNotFound(code)
        old_code = report.commitment.code
        if commitment.id == report.commitment_id:
            raise CommitmentNotFound(code)
        # Moved first, so that what follows (the author's notice names the new commitment,
        # the agency now responsible gets a rerouted report) sees the new commitment.
        report.commitment_id = commitment.id
        report.commitment = commitment
        await _transition(
            services, session, report, "moved", moderator, note=f"{old_code} → {commitment.code}"
        )
        if report.status == Status.NOT_RESPONSIBLE:
            # Rerouted: published again, and sent to the agency now responsible.
            await _transition(services, session, report, Status.PUBLISHED, moderator)
        return Done(report.id, report.reference, report.status)


async def redact(services: Services, report_id: int, public_text: str, moderator: Actor) -> Done:
    text = public_text.strip()
    if not text or len(text) > MAX_PUBLIC_TEXT:
        raise TextInvalid()
    async with services.write_then_deliver() as session:
        report = await _locked(session, report_id)
        report.public_text = text  # the original stays in Report.text, for the record
        await _transition(services, session, report, "redacted", moderator)
        return Done(report.id, report.reference, report.status)


async def set_photos_hidden(
    services: Services, report_id: int, hidden: bool, moderator: Actor
) -> Done:
    """Hide the report's photos from the public (the web's photo route, media_url), or show them
    again; the card's history records who and when. The photos stay on the staff card."""
    async with services.write_then_deliver() as session:
        report = await _locked(session, report_id)
        if not report.photos:
            raise NoPhotos()
        if report.photos_hidden == hidden:
            raise PhotosAlreadyThere(report.reference, hidden)
        report.photos_hidden = hidden
        # A rejected or withdrawn report refuses the event (bot/reports/lifecycle.py), and the
        # transaction, the flag included, rolls back.
        action = "photos_hidden" if hidden else "photos_shown"
        await _transition(services, session, report, action, moderator)
        return Done(report.id, report.reference, report.status)


async def ask(services: Services, report_id: int, question: str, moderator: Actor) -> Done:
    text = question.strip()
    if not text or len(text) > MAX_QUESTION:
        raise TextInvalid()
    async with services.write_then_deliver() as session:
        report = await _locked(session, report_id)
        if without_telegram(report.citizen_id):
            raise AuthorErased(report.reference)
        # Added before the event that sends it; a closed report refuses the event and the
        # transaction, question included, rolls back.
        row = await queries.add_question(
            session,
            report_id=report.id,
            citizen_id=report.citizen_id,
            question=text,
            asked_by=moderator.id or 0,
            now=services.clock(),
        )
        await _transition(
            services,
            session,
            report,
            "question",
            moderator,
            note=text,
            details=Details(question_id=row.id),
        )
        return Done(report.id, report.reference, report.status)


async def answer(
    services: Services, telegram_user_id: int, reply_to_message_id: int | None, text: str
) -> str | None:
    """Attach a citizen's message as the answer to their open question; its reference, or
    None when there is no open question to answer."""
    answer_text = text.strip()[: MAX_QUESTION * 2]
    async with services.write_then_deliver() as session:
        citizen = await citizen_queries.by_telegram_id(session, telegram_user_id)
        if citizen is None:
            return None
        citizen_id = citizen.id
        question = await queries.unanswered_question(session, citizen_id, reply_to_message_id)
        if question is None:
            return None
        report = await _locked(session, question.report_id)
        question.answer, question.answered_at = answer_text, services.clock()
        if report.status not in FINAL:  # a report closed meanwhile keeps the answer only
            await record(
                services,
                session,
                report,
                "answer",
                Actor(ActorKind.CITIZEN, citizen_id),
                note=answer_text,
            )
        return report.reference


async def support_in(
    services: Services, session: AsyncSession, report_id: int, citizen_id: int
) -> str:
    """Within the caller's transaction: a citizen adds their voice to an open report (and
    follows it from then on); returns its reference."""
    report = await _locked(session, report_id)
    if report.status not in SUPPORTABLE:
        raise AlreadyDone(report.reference, report.status, None, None)
    if report.citizen_id == citizen_id:
        return report.reference  # their own report: nothing to add
    if await queries.add_supporter(session, report.id, citizen_id, services.clock()):
        await record(services, session, report, "supported", Actor(ActorKind.CITIZEN, citizen_id))
    return report.reference


# --- the staff group's bookkeeping -------------------------------------------------------------


async def texts_of(services: Services, report_id: int) -> tuple[str, str | None] | None:
    """(reference, the text the public would see) for prompts; None if the report is gone."""
    async with services.db.read() as session:
        report = await queries.report_with_details(session, report_id)
    if report is None:
        return None
    return report.reference, report.public_text or report.text


async def remember_prompt(
    services: Services,
    chat_id: int,
    message_id: int,
    report_id: int,
    action: str,
    moderator_id: int,
) -> None:
    async with services.db.write() as session:
        await queries.add_prompt(
            session,
            chat_id=chat_id,
            message_id=message_id,
            report_id=report_id,
            action=action,
            moderator_id=moderator_id,
            now=services.clock(),
        )


async def open_prompt(
    services: Services, chat_id: int, message_id: int
) -> tuple[int, int, str] | None:
    """(prompt id, report id, action) of the prompt a staff message replies to."""
    async with services.db.read() as session:
        prompt = await queries.open_prompt(session, chat_id, message_id)
    return None if prompt is None else (prompt.id, prompt.report_id, prompt.action)


async def close_prompt(services: Services, prompt_id: int) -> None:
    async with services.db.write() as session:
        await queries.close_prompt(session, prompt_id, services.clock())


async def queue_state(services: Services, limit: int) -> tuple[int, datetime | None, Sequence[int]]:
    """How many reports wait, since when the oldest has, and the next ones' ids."""
    async with services.db.read() as session:
        count, oldest = await queries.waiting(session)
        next_ids = await queries.next_waiting(session, limit)
    return count, oldest, next_ids


async def card_location(services: Services, report_id: int) -> tuple[int, int] | None:
    """(chat id, message id) of the report's current card, which later changes redraw."""
    async with services.db.read() as session:
        card = await queries.card_of(session, report_id)
    return (card.chat_id, card.message_id) if card is not None else None


async def card_posted(
    services: Services, report_id: int, chat_id: int, message_id: int, *, caption: bool = False
) -> None:
    async with services.db.write() as session:
        await queries.save_card(
            session, report_id, chat_id, message_id, services.clock(), caption=caption
        )


# --- internals ---------------------------------------------------------------------------------


async def _locked(session: AsyncSession, report_id: int) -> Report:
    report = await queries.report_for_update(session, report_id)
    if report is None:
        raise ReportNotFound()
    return report


async def _transition(
    services: Services,
    session: AsyncSession,
    report: Report,
    change: Status | str,
    moderator: Actor,
    note: str | None = None,
    details: Details | None = None,
) -> ReportEvent:
    """A new status (a Status) or an event that keeps it (an action name, e.g. "redacted"). A
    moderator who acts on a report someone else has moved on is told who and when."""
    try:
        if isinstance(change, Status):
            return await change_status(
                services, session, report, change, moderator, note=note, details=details
            )
        return await record(
            services, session, report, change, moderator, note=note, details=details
        )
    except InvalidTransition:
        raise await already_done(session, report) from None


async def _merge_target(session: AsyncSession, report: Report, target: str | int) -> Report:
    if isinstance(target, int):
        found = await queries.report_with_details(session, target)
        typed = str(target)
    else:
        reference = normalize_reference(target)
        found = await queries.report_by_reference(session, reference) if reference else None
        typed = target
    if found is None or found.id == report.id or found.status in FINAL:
        raise MergeTargetInvalid(typed)
    return found


# A citizen can add their voice to a report under review or open.
SUPPORTABLE = frozenset({Status.PENDING_REVIEW, *PUBLIC_OPEN})


async def already_done(session: AsyncSession, report: Report) -> AlreadyDone:
    """What to tell someone whose action came too late: the report's status, and who moved it
    there and when (never a citizen's name)."""
    events = await report_queries.events(session, report.id)
    last = next((e for e in reversed(events) if e.action == "status"), None)
    return AlreadyDone(
        report.reference,
        report.status,
        last.actor_name if last and last.actor_kind != ActorKind.CITIZEN else None,
        last.created_at if last else None,
    )
