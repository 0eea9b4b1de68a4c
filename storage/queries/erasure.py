"""Erasing a citizen (/forget): every statement that unlinks or deletes their data.

Called in one transaction by bot/citizens/erasure.py, which decides what to erase; nothing here
commits. Staff tables (officials, user_roles, official_invites, moderator prompts, moderation
cards) hold staff's own ids and the staff group's, never a citizen's, and are left alone.

The erased author: reports.citizen_id stays NOT NULL, because making it nullable means rebuilding
`reports` on SQLite, and dropping the old table there (foreign keys on) deletes every photo, event,
card and question through ON DELETE CASCADE. An erased citizen's reports point at one shared row
instead, ERASED_CITIZEN_ID, whose Telegram user id is 0 (no Telegram user has it). Shared by all
erased citizens, it says nothing about whose reports were whose, nor which went together. It is
one of the stand-ins storage/queries/citizens.py without_telegram() recognises.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import delete, exists, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from storage.models import (
    Citizen,
    Draft,
    MediaFile,
    OutboxMessage,
    Report,
    ReportEvent,
    ReportPhoto,
    ReportQuestion,
    ReportSupporter,
)
from storage.queries.citizens import without_telegram
from storage.queries.reports import CITIZEN_WORDS_CLEARED

ERASED_CITIZEN_ID = 0
ERASED_TELEGRAM_USER_ID = 0


async def citizen_for_update(session: AsyncSession, telegram_user_id: int) -> Citizen | None:
    if without_telegram(telegram_user_id):
        return None  # a stand-in (the erased author, a partner's) is nobody to erase
    return await session.scalar(
        select(Citizen).where(Citizen.telegram_user_id == telegram_user_id).with_for_update()
    )


async def ensure_erased_citizen(session: AsyncSession) -> None:
    """The shared stand-in for erased authors, created the first time someone is erased."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    await session.execute(
        insert(Citizen)
        .values(id=ERASED_CITIZEN_ID, telegram_user_id=ERASED_TELEGRAM_USER_ID, consent_at=None)
        .on_conflict_do_nothing()
    )


async def reports_for_update(session: AsyncSession, citizen_id: int) -> Sequence[Report]:
    rows = await session.scalars(
        select(Report)
        .where(Report.citizen_id == citizen_id)
        .options(selectinload(Report.commitment), selectinload(Report.photos))
        .order_by(Report.id)
        .with_for_update()
    )
    return rows.all()


async def clear_contents(session: AsyncSession, report_ids: Collection[int]) -> int:
    """The citizen's own words, voice, place and photos of these reports go; the record that
    they existed (reference, commitment, kind, status, history) stays. Returns photos deleted."""
    if not report_ids:
        return 0
    ids = sorted(report_ids)
    await session.execute(
        update(Report)
        .where(Report.id.in_(ids))
        .values(
            **CITIZEN_WORDS_CLEARED,
            latitude=None,
            longitude=None,
            accuracy_m=None,
            updated_at=Report.updated_at,  # not a change the public sees: keep the date
        )
    )
    # The citizen's answers to moderators' questions are their words too.
    await session.execute(
        update(ReportEvent)
        .where(ReportEvent.report_id.in_(ids), ReportEvent.actor_kind == "citizen")
        .values(note=None)
    )
    hashes = set(
        (
            await session.scalars(
                select(ReportPhoto.content_sha256).where(ReportPhoto.report_id.in_(ids))
            )
        ).all()
    )
    deleted = await session.execute(delete(ReportPhoto).where(ReportPhoto.report_id.in_(ids)))
    await delete_unused_media(session, hashes)
    return _count(deleted)


async def delete_unused_media(session: AsyncSession, hashes: Collection[str]) -> None:
    """Photo bytes no report shows any more (a photo is stored once per content hash)."""
    if not hashes:
        return
    still_used = exists().where(ReportPhoto.content_sha256 == MediaFile.sha256)
    await session.execute(
        delete(MediaFile).where(MediaFile.sha256.in_(sorted(hashes)), ~still_used)
    )


async def hand_reports_to_erased(session: AsyncSession, citizen_id: int) -> int:
    result = await session.execute(
        update(Report)
        .where(Report.citizen_id == citizen_id)
        # Public record unchanged: the same report, updated when it last was.
        .values(citizen_id=ERASED_CITIZEN_ID, updated_at=Report.updated_at)
    )
    return _count(result)


async def anonymise_supports(session: AsyncSession, citizen_id: int) -> int:
    """Their "me too"s stay counted, linked to nobody."""
    result = await session.execute(
        update(ReportSupporter)
        .where(ReportSupporter.citizen_id == citizen_id)
        .values(citizen_id=None)
    )
    return _count(result)


async def unlink_events(session: AsyncSession, citizen_id: int) -> int:
    """Events keep saying that a citizen acted, not which one."""
    result = await session.execute(
        update(ReportEvent)
        .where(ReportEvent.actor_kind == "citizen", ReportEvent.actor_id == citizen_id)
        .values(actor_id=None)
    )
    return _count(result)


async def delete_draft(session: AsyncSession, citizen_id: int) -> int:
    """Their report in progress, and the photos only it held."""
    draft = await session.get(Draft, citizen_id)
    if draft is None:
        return 0
    hashes = {p["sha256"] for p in (draft.data or {}).get("photos", []) if p.get("sha256")}
    await session.execute(delete(Draft).where(Draft.citizen_id == citizen_id))
    await delete_unused_media(session, hashes)
    return 1


async def delete_questions(session: AsyncSession, citizen_id: int) -> list[int]:
    """Moderators' questions to them (with their answers); returns the questions' ids."""
    ids = list(
        (
            await session.scalars(
                select(ReportQuestion.id).where(ReportQuestion.citizen_id == citizen_id)
            )
        ).all()
    )
    if ids:
        await session.execute(delete(ReportQuestion).where(ReportQuestion.id.in_(ids)))
    return ids


async def delete_messages_to(
    session: AsyncSession,
    citizen_id: int,
    question_ids: Collection[int],
    report_ids: Collection[int],
) -> int:
    """Every outbox message for the citizen, queued or already sent: status and block notices
    (keyed by their citizen id), questions to them, "is it fixed?" checks of their reports still to be
    asked. Returns how many were still waiting to be sent (cancelled)."""
    conditions: list[Any] = [
        # Status notices and block notices both name the citizen in their payload.
        OutboxMessage.kind.in_(("status_notice", "block_notice"))
        & (OutboxMessage.payload["citizen_id"].as_integer() == citizen_id)
    ]
    if question_ids:
        conditions.append(
            (OutboxMessage.kind == "citizen_question")
            & OutboxMessage.payload["question_id"].as_integer().in_(sorted(question_ids))
        )
    if report_ids:
        conditions.append(
            (OutboxMessage.kind == "fix_check")
            & (OutboxMessage.status == "pending")
            & OutboxMessage.payload["report_id"].as_integer().in_(sorted(report_ids))
        )
    ids_and_status = (
        await session.execute(
            select(OutboxMessage.id, OutboxMessage.status).where(or_(*conditions))
        )
    ).all()
    if not ids_and_status:
        return 0
    await session.execute(
        delete(OutboxMessage).where(OutboxMessage.id.in_([row.id for row in ids_and_status]))
    )
    return sum(row.status == "pending" for row in ids_and_status)


async def delete_citizen(session: AsyncSession, citizen_id: int) -> None:
    await session.execute(delete(Citizen).where(Citizen.id == citizen_id))


def _count(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
