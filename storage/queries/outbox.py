"""The outbox: messages written in the same transaction as their cause, sent later.

Claiming takes a lease (locked_until) under FOR UPDATE SKIP LOCKED on PostgreSQL, so several
dispatchers never take the same message; on SQLite the write transaction's lock does the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OutboxMessage


async def add(
    session: AsyncSession,
    *,
    kind: str,
    key: str,
    payload: dict[str, Any],
    chat_id: int | None,
    not_before: datetime,
) -> None:
    """Queue a message once: a second add with the same idempotency key changes nothing."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(OutboxMessage)
        .values(
            kind=kind,
            idempotency_key=key,
            payload=payload,
            chat_id=chat_id,
            status="pending",
            attempts=0,
            next_attempt_at=not_before,
            created_at=not_before,
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
    )
    await session.execute(statement)


async def claim_due(
    session: AsyncSession, now: datetime, lease_until: datetime, limit: int
) -> Sequence[OutboxMessage]:
    rows = (
        await session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.status == "pending",
                OutboxMessage.next_attempt_at <= now,
                or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until < now),
            )
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    for message in rows:
        message.locked_until = lease_until
    return rows


async def extend_leases(
    session: AsyncSession, message_ids: Sequence[int], lease_until: datetime
) -> None:
    """Extend the leases of messages still in a dispatcher's hands (pending and locked: a
    message retried or released has no lease to extend)."""
    if not message_ids:
        return
    await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(message_ids),
            OutboxMessage.status == "pending",
            OutboxMessage.locked_until.is_not(None),
        )
        .values(locked_until=lease_until)
    )


async def release(session: AsyncSession, message_id: int) -> None:
    """Give a claimed message back untouched (the dispatcher is stopping)."""
    await session.execute(
        update(OutboxMessage).where(OutboxMessage.id == message_id).values(locked_until=None)
    )


async def mark_sent(session: AsyncSession, message_id: int, now: datetime) -> None:
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(status="sent", sent_at=now, locked_until=None, attempts=OutboxMessage.attempts + 1)
    )


async def mark_retry(
    session: AsyncSession, message_id: int, next_attempt_at: datetime, error: str
) -> None:
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(
            next_attempt_at=next_attempt_at,
            locked_until=None,
            last_error=error[:2000],
            attempts=OutboxMessage.attempts + 1,
            tries=OutboxMessage.tries + 1,
        )
    )


async def save_progress(session: AsyncSession, message_id: int, progress: dict[str, Any]) -> None:
    """Record the parts Telegram has accepted (or refused for good) so far; the next part starts
    its tries from 0."""
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(progress=progress, tries=0)
    )


async def mark_failed(session: AsyncSession, message_id: int, error: str) -> None:
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(
            status="failed",
            locked_until=None,
            last_error=error[:2000],
            attempts=OutboxMessage.attempts + 1,
        )
    )


async def next_due_at(session: AsyncSession) -> datetime | None:
    """When the earliest pending message is (or was) due; None when nothing is pending.

    One row from the index ix_outbox_status_next (status, next_attempt_at): cheap enough for
    /healthz, which a load balancer asks every few seconds."""
    return await session.scalar(
        select(OutboxMessage.next_attempt_at)
        .where(OutboxMessage.status == "pending")
        .order_by(OutboxMessage.next_attempt_at)
        .limit(1)
    )


async def by_key(session: AsyncSession, key: str) -> OutboxMessage | None:
    return await session.scalar(select(OutboxMessage).where(OutboxMessage.idempotency_key == key))
