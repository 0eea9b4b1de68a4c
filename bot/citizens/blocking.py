"""Blocking a sender: no new reports from one citizen, and nothing else changes.

A moderator blocks from a report's card (with a preset reason or one they type), an admin from
the command line. The block lives on the citizen (citizens.blocked_at, blocked_reason,
blocked_by); from a card it is also an event of that report ("blocked", "unblocked"), so the
card's history says which moderator did it and when. The reports the citizen already made stay
as they are (still moderated, delivered and answered) and their draft is kept: only starting or
sending a new report is refused (bot/reports/drafting.py). The citizen hears of it once, in their
own language, through the outbox. Moderators never learn who the person is: cards say only that
the sender is blocked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.services import Services
from bot.i18n.translate import N_, _
from bot.outbox.queue import Kind, enqueue
from bot.reports.effects import record
from bot.reports.lifecycle import Actor
from bot.reports.moderation import Done, ModerationError, ReportNotFound, TextInvalid
from storage.db import Database
from storage.models import Citizen
from storage.queries import blocking as queries
from storage.queries import moderation as moderation_queries
from storage.queries.citizens import without_telegram

MAX_REASON = 500

# The reasons a moderator picks with one press; anything else is typed as a reply.
BLOCK_REASONS = {
    # Translators: reasons for blocking a sender, shown to moderators only; lower case.
    "flooding": N_("flooding the moderators"),
    "abusive": N_("abusive or threatening"),
    "spam": N_("spam or advertising"),
}


class AlreadyBlocked(ModerationError):
    def __init__(self, reference: str) -> None:
        super().__init__(reference)
        self.reference = reference


class NotBlocked(ModerationError):
    def __init__(self, reference: str) -> None:
        super().__init__(reference)
        self.reference = reference


class SenderGone(ModerationError):
    """The report has no citizen behind it any more (they erased their data)."""


class CitizenNotFound(LookupError):
    """No citizen with this Telegram user id has ever used the bot."""


@dataclass(frozen=True)
class BlockedCitizen:
    """A blocked citizen as the admin command line lists them."""

    id: int
    telegram_user_id: int
    blocked_at: datetime
    reason: str
    blocked_by: int | None  # a moderator's Telegram id; None when an admin blocked


def reason_label(reason: str | None) -> str:
    """A reason in the reader's language: a preset's label, or the text as typed."""
    if reason in BLOCK_REASONS:
        return _(BLOCK_REASONS[reason])
    return reason or ""


def clean_reason(reason: str) -> str:
    """A preset code as it is, typed text trimmed; TextInvalid when empty or too long."""
    text = " ".join(reason.split())
    if not text or len(text) > MAX_REASON:
        raise TextInvalid()
    return text


# --- from a report's card ------------------------------------------------------------------


async def block_sender(services: Services, report_id: int, reason: str, moderator: Actor) -> Done:
    """Block the citizen who sent the report; AlreadyBlocked if someone was quicker."""
    return await _from_card(services, report_id, moderator, clean_reason(reason))


async def unblock_sender(services: Services, report_id: int, moderator: Actor) -> Done:
    """Let the report's sender send new reports again; NotBlocked if they were not blocked."""
    return await _from_card(services, report_id, moderator, None)


async def _from_card(
    services: Services, report_id: int, moderator: Actor, reason: str | None
) -> Done:
    """Block (with a reason) or unblock (None) the report's sender, as an event of the report."""
    async with services.write_then_deliver() as session:
        report = await moderation_queries.report_for_update(session, report_id)
        if report is None:
            raise ReportNotFound()
        if without_telegram(report.citizen_id):
            raise SenderGone()  # a stand-in: the erased author, or a partner channel
        citizen = await queries.citizen_for_update(session, report.citizen_id)
        if citizen is None:
            raise SenderGone()
        blocked = citizen.blocked_at is not None
        if reason is not None and blocked:
            raise AlreadyBlocked(report.reference)
        if reason is None and not blocked:
            raise NotBlocked(report.reference)
        now = services.clock()
        if reason is None:
            queries.clear_block(citizen)
        else:
            queries.set_block(citizen, at=now, reason=reason, by=moderator.id)
        # The card's own refresh follows the event (bot/reports/effects.py).
        action = "unblocked" if reason is None else "blocked"
        await record(services, session, report, action, moderator, note=reason)
        await _after_change(services.settings.moderator_chat_id, session, citizen, now, report_id)
        return Done(report.id, report.reference, report.status)


# --- from the admin command line -------------------------------------------------------------


async def block_citizen(
    db: Database, telegram_user_id: int, reason: str, now: datetime, staff_chat: int | None
) -> bool:
    """Block by Telegram user id; False when they already were (nothing changes)."""
    reason = clean_reason(reason)
    async with db.write() as session:
        citizen = await _citizen(session, telegram_user_id)
        if citizen.blocked_at is not None:
            return False
        queries.set_block(citizen, at=now, reason=reason, by=None)
        await _after_change(staff_chat, session, citizen, now)
    return True


async def unblock_citizen(
    db: Database, telegram_user_id: int, now: datetime, staff_chat: int | None
) -> bool:
    """Unblock by Telegram user id; False when they were not blocked (nothing changes)."""
    async with db.write() as session:
        citizen = await _citizen(session, telegram_user_id)
        if citizen.blocked_at is None:
            return False
        queries.clear_block(citizen)
        await _after_change(staff_chat, session, citizen, now)
    return True


async def blocked_citizens(db: Database) -> Sequence[BlockedCitizen]:
    async with db.read() as session:
        rows = await queries.blocked_citizens(session)
    return [
        BlockedCitizen(c.id, c.telegram_user_id, c.blocked_at, c.blocked_reason or "", c.blocked_by)
        for c in rows
        if c.blocked_at is not None
    ]


# --- what the citizen is told ------------------------------------------------------------------


def not_accepted_text() -> str:
    """The answer to a blocked citizen who starts or sends a report."""
    return (
        _(
            "🙏 Sorry, Commitment Watch is not accepting new reports from this account at the moment."
        )
        + _unaffected()
    )


def notice_text(blocked: bool) -> str:
    """The one notice a citizen gets when they are blocked, or unblocked."""
    if blocked:
        return (
            _(
                "ℹ️ The moderators of Commitment Watch have decided not to accept new reports "
                "from this account."
            )
            + _unaffected()
        )
    return _("✅ Commitment Watch accepts new reports from you again. Send /report to start one.")


def _unaffected() -> str:
    return "\n\n" + _(
        "The reports you have already sent are not affected: they are still reviewed, sent on "
        "and answered, and you will hear about them as before (/myreports)."
    )


# --- internals -----------------------------------------------------------------------------------


async def _citizen(session: AsyncSession, telegram_user_id: int) -> Citizen:
    citizen = await queries.by_telegram_id_for_update(session, telegram_user_id)
    if citizen is None:
        raise CitizenNotFound(telegram_user_id)
    return citizen


async def _after_change(
    staff_chat: int | None,
    session: AsyncSession,
    citizen: Citizen,
    now: datetime,
    acted_on: int | None = None,
) -> None:
    """Queue the citizen's notice, and redraw the cards of their reports (which say whether the
    sender is blocked); the card acted on is redrawn by its event's effects."""
    blocked = citizen.blocked_at is not None
    change = "blocked" if blocked else "unblocked"
    await enqueue(
        session,
        Kind.BLOCK_NOTICE,
        f"{citizen.id}:{change}:{now.isoformat()}",
        {"citizen_id": citizen.id, "blocked": blocked},
        now,
    )
    if staff_chat is None:
        return
    for report_id in await queries.carded_reports_of(session, citizen.id):
        if report_id != acted_on:
            await enqueue(
                session,
                Kind.CARD_REFRESH,
                f"{report_id}:{change}:{now.isoformat()}",
                {"report_id": report_id},
                now,
            )
