"""A citizen erases their data (/forget, or `citizens forget` for them): one transaction.

Afterwards no row holds their Telegram id, nor their internal citizen id:
- their Citizen row is deleted (next /start shows the privacy notice, as to anyone new);
- their reports pass to the shared erased citizen (storage/queries/erasure.py): reports kept are
  anonymous public record; with `withdraw`, every report not yet closed for good becomes
  `withdrawn` (never public; the staff card and the agency's own system are told, through the
  effects table) and loses its text, voice note, place and photos;
- reports that were rejected (never public) lose their text, voice, place and photos either way;
  reports merged into another (duplicate, closed for good) stay as that public record;
- their supports of other reports stay counted, linked to nobody;
- events they caused keep saying that "a citizen" acted, not which one;
- their draft (and photos only it held), the moderators' questions to them, and every outbox
  message for them (notices, questions, fix checks; queued ones are cancelled) are deleted.
Staff tables (officials, roles, invites) are staff's own records and are not touched: a citizen
who is also a moderator or an official stays one.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.services import Services
from bot.reports.effects import change_status
from bot.reports.lifecycle import FINAL, Actor, ActorKind, Status
from storage.queries import citizens, inbox
from storage.queries import erasure as queries

# Who withdraws: a citizen, and no longer which one.
ERASED_CITIZEN = Actor(ActorKind.CITIZEN, None)


@dataclass(frozen=True)
class Erased:
    """What an erasure removed or changed, for the citizen's confirmation and the CLI."""

    reports_kept: int  # stay as anonymous record, in their status
    reports_withdrawn: int
    reports_cleared: int  # rejected ones whose contents went (withdrawn ones lose theirs too)
    photos_deleted: int
    supports_anonymised: int
    events_unlinked: int
    drafts_deleted: int
    questions_deleted: int
    messages_cancelled: int  # queued for them and not sent yet


async def erase(services: Services, telegram_user_id: int, *, withdraw: bool) -> Erased | None:
    """Erase the citizen with this Telegram id; None when nothing is stored about them."""
    async with services.write_then_deliver() as session:
        citizen = await queries.citizen_for_update(session, telegram_user_id)
        if citizen is None:
            return None
        reports = await queries.reports_for_update(session, citizen.id)
        withdrawn = []
        if withdraw:
            for report in reports:
                if report.status not in FINAL:
                    # The effects table queues the card's redraw and the agency's webhook.
                    await change_status(services, session, report, Status.WITHDRAWN, ERASED_CITIZEN)
                    withdrawn.append(report.id)
        rejected = [r.id for r in reports if r.status == Status.REJECTED]
        photos = await queries.clear_contents(session, [*withdrawn, *rejected])
        question_ids = await queries.delete_questions(session, citizen.id)
        cancelled = await queries.delete_messages_to(
            session, citizen.id, question_ids, [r.id for r in reports]
        )
        await queries.ensure_erased_citizen(session)
        await queries.hand_reports_to_erased(session, citizen.id)
        supports = await queries.anonymise_supports(session, citizen.id)
        events = await queries.unlink_events(session, citizen.id)
        drafts = await queries.delete_draft(session, citizen.id)
        # Their updates still waiting or in hand (the inbox drops what a done one said).
        await inbox.forget_sender(session, telegram_user_id)
        await queries.delete_citizen(session, citizen.id)
        return Erased(
            reports_kept=len(reports) - len(withdrawn),
            reports_withdrawn=len(withdrawn),
            reports_cleared=len(rejected),
            photos_deleted=photos,
            supports_anonymised=supports,
            events_unlinked=events,
            drafts_deleted=drafts,
            questions_deleted=len(question_ids),
            messages_cancelled=cancelled,
        )


async def is_known(services: Services, telegram_user_id: int) -> int | None:
    """The citizen's internal id, if anything is stored about them (for /forget's buttons)."""
    if citizens.without_telegram(telegram_user_id):
        return None  # a stand-in, not a Telegram user
    async with services.db.read() as session:
        citizen = await citizens.by_telegram_id(session, telegram_user_id)
        return citizen.id if citizen is not None else None
