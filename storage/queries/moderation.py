"""Moderation: reports under review, their cards, moderators' pending replies, questions to
citizens, and supporters."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.util import identity_key

from storage.models import (
    ModerationCard,
    ModeratorPrompt,
    Report,
    ReportQuestion,
    ReportSupporter,
)


async def report_for_update(session: AsyncSession, report_id: int) -> Report | None:
    """The report, locked until the transaction ends: two moderators' clicks take turns."""
    return await session.scalar(
        select(Report)
        .where(Report.id == report_id)
        .options(selectinload(Report.commitment), selectinload(Report.photos))
        .with_for_update()
    )


async def report_with_details(session: AsyncSession, report_id: int) -> Report | None:
    return await session.scalar(
        select(Report)
        .where(Report.id == report_id)
        .options(selectinload(Report.commitment), selectinload(Report.photos))
    )


async def report_by_reference(session: AsyncSession, reference: str) -> Report | None:
    return await session.scalar(select(Report).where(Report.reference == reference))


async def reference_of(session: AsyncSession, report_id: int) -> str | None:
    return await session.scalar(select(Report.reference).where(Report.id == report_id))


# --- cards ----------------------------------------------------------------------------------------


async def card_of(session: AsyncSession, report_id: int) -> ModerationCard | None:
    return await session.get(ModerationCard, report_id)


async def save_card(
    session: AsyncSession,
    report_id: int,
    chat_id: int,
    message_id: int,
    now: datetime,
    *,
    photos_lost: int | None = None,
    voice_lost: bool | None = None,
    caption: bool = False,
) -> None:
    """Where the report's card is now (a newer copy replaces the old), and whether it is a
    photo's caption; what Telegram would not take of it is kept unless given.

    One statement (an upsert): the dispatcher that posted the card and a moderator's press that
    arrives before it recorded so may both save it at once, and on PostgreSQL a read-then-insert
    would have one of them fail on the primary key."""
    if await session.get(Report, report_id) is None:
        return  # deleted while its card was on its way: nothing to redraw later
    changes: dict[str, object] = {
        "chat_id": chat_id,
        "message_id": message_id,
        "updated_at": now,
        "caption": caption,
    }
    if photos_lost is not None:
        changes["photos_lost"] = photos_lost
    if voice_lost is not None:
        changes["voice_lost"] = voice_lost
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(ModerationCard).values(
        report_id=report_id,
        chat_id=chat_id,
        message_id=message_id,
        updated_at=now,
        photos_lost=photos_lost or 0,
        voice_lost=bool(voice_lost),
        caption=caption,
    )
    await session.execute(
        statement.on_conflict_do_update(index_elements=["report_id"], set_=changes)
    )
    # A card this session loaded before is stale now.
    card = session.identity_map.get(identity_key(ModerationCard, report_id))
    if card is not None:
        session.expire(card)


# --- moderators' replies ----------------------------------------------------------------------------


async def add_prompt(
    session: AsyncSession,
    *,
    chat_id: int,
    message_id: int,
    report_id: int,
    action: str,
    moderator_id: int,
    now: datetime,
) -> None:
    session.add(
        ModeratorPrompt(
            chat_id=chat_id,
            message_id=message_id,
            report_id=report_id,
            action=action,
            moderator_id=moderator_id,
            created_at=now,
        )
    )


async def open_prompt(
    session: AsyncSession, chat_id: int, message_id: int
) -> ModeratorPrompt | None:
    return await session.scalar(
        select(ModeratorPrompt)
        .where(
            ModeratorPrompt.chat_id == chat_id,
            ModeratorPrompt.message_id == message_id,
            ModeratorPrompt.done_at.is_(None),
        )
        .with_for_update()
    )


async def close_prompt(session: AsyncSession, prompt_id: int, now: datetime) -> None:
    await session.execute(
        update(ModeratorPrompt).where(ModeratorPrompt.id == prompt_id).values(done_at=now)
    )


# --- questions to citizens ----------------------------------------------------------------------------


async def add_question(
    session: AsyncSession,
    *,
    report_id: int,
    citizen_id: int,
    question: str,
    asked_by: int,
    now: datetime,
) -> ReportQuestion:
    row = ReportQuestion(
        report_id=report_id,
        citizen_id=citizen_id,
        question=question,
        asked_by=asked_by,
        asked_at=now,
    )
    session.add(row)
    await session.flush()
    return row


async def question(session: AsyncSession, question_id: int) -> ReportQuestion | None:
    return await session.get(ReportQuestion, question_id)


async def set_question_message(session: AsyncSession, question_id: int, message_id: int) -> None:
    await session.execute(
        update(ReportQuestion)
        .where(ReportQuestion.id == question_id)
        .values(citizen_message_id=message_id)
    )


async def unanswered_question(
    session: AsyncSession, citizen_id: int, reply_to_message_id: int | None
) -> ReportQuestion | None:
    """The question a citizen's message answers: the one replied to, else the latest open one."""
    query = select(ReportQuestion).where(
        ReportQuestion.citizen_id == citizen_id, ReportQuestion.answered_at.is_(None)
    )
    if reply_to_message_id is not None:
        replied = await session.scalar(
            query.where(ReportQuestion.citizen_message_id == reply_to_message_id)
        )
        if replied is not None:
            return replied
    return await session.scalar(query.order_by(ReportQuestion.id.desc()).limit(1))


async def questions_of(session: AsyncSession, report_id: int) -> Sequence[ReportQuestion]:
    rows = await session.scalars(
        select(ReportQuestion)
        .where(ReportQuestion.report_id == report_id)
        .order_by(ReportQuestion.id)
    )
    return rows.all()


# --- supporters -------------------------------------------------------------------------------------------


async def add_supporter(
    session: AsyncSession, report_id: int, citizen_id: int | None, now: datetime
) -> bool:
    """True if the citizen was not a supporter yet; None adds an anonymous support (the
    author of a report merged into this one erased their data)."""
    existing = citizen_id is not None and await session.scalar(
        select(ReportSupporter.id).where(
            ReportSupporter.report_id == report_id, ReportSupporter.citizen_id == citizen_id
        )
    )
    if existing:
        return False
    session.add(ReportSupporter(report_id=report_id, citizen_id=citizen_id, created_at=now))
    await session.flush()
    return True


async def supporter_count(session: AsyncSession, report_id: int) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(ReportSupporter)
        .where(ReportSupporter.report_id == report_id)
    )
    return count or 0


async def supporter_citizen_ids(session: AsyncSession, report_id: int) -> list[int]:
    """The supporters who can be told (anonymous supports, of erased citizens, cannot)."""
    rows = await session.scalars(
        select(ReportSupporter.citizen_id).where(
            ReportSupporter.report_id == report_id, ReportSupporter.citizen_id.is_not(None)
        )
    )
    return [citizen_id for citizen_id in rows.all() if citizen_id is not None]


# --- the queue -------------------------------------------------------------------------------------------


async def waiting(session: AsyncSession) -> tuple[int, datetime | None]:
    """How many reports wait for review, and since when the oldest has."""
    row = (
        await session.execute(
            select(func.count(), func.min(Report.created_at)).where(
                Report.status == "pending_review"
            )
        )
    ).one()
    oldest = row[1]
    if oldest is not None and oldest.tzinfo is None:  # SQLite hands aggregates back naive
        oldest = oldest.replace(tzinfo=UTC)
    return row[0], oldest


async def next_waiting(session: AsyncSession, limit: int) -> Sequence[int]:
    rows = await session.scalars(
        select(Report.id)
        .where(Report.status == "pending_review")
        .order_by(Report.created_at, Report.id)
        .limit(limit)
    )
    return rows.all()
