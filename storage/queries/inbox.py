"""The durable inbox of updates (storage/models.py InboxUpdate): written before Telegram is told an
update arrived, claimed by one worker at a time, marked done once handled.

One sender's updates are handled one at a time in update_id order, whichever worker received them:
a row is claimed only when it is its sender's earliest open row, or when every open row of its
sender is already this worker's (which then queues it behind them in its own per-user order)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import InboxUpdate


async def record(
    session: AsyncSession,
    *,
    update_id: int,
    sender: int | None,
    payload: dict[str, Any],
    digest: str,
    me: str,
    now: datetime,
    lease_until: datetime,
) -> bool:
    """Write the update unless its update_id is already there; True when this worker may handle
    it at once (it is new, and its sender has no open update that is not this worker's)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql" and sender is not None:
        # Two workers recording one sender's updates at once take turns, so that each sees the
        # other's row when it decides whether it may handle its own.
        await session.execute(select(func.pg_advisory_xact_lock(sender)))
    mine = True
    if sender is not None:
        others = await session.scalar(
            select(
                exists().where(
                    InboxUpdate.sender == sender,
                    InboxUpdate.done_at.is_(None),
                    or_(
                        InboxUpdate.claimed_by.is_(None),
                        InboxUpdate.claimed_by != me,
                        InboxUpdate.lease_until < now,
                    ),
                )
            )
        )
        mine = not others
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(InboxUpdate)
        .values(
            update_id=update_id,
            sender=sender,
            payload=payload,
            digest=digest,
            received_at=now,
            claimed_by=me if mine else None,
            lease_until=lease_until if mine else None,
            attempts=1 if mine else 0,
        )
        .on_conflict_do_nothing(index_elements=["update_id"])
    )
    result = await session.execute(statement)
    if getattr(result, "rowcount", 0):
        return mine
    existing = await session.get(InboxUpdate, update_id)
    if existing is None or existing.done_at is None or existing.digest == digest:
        return False  # the same update again (a webhook retried, getUpdates repeated)
    # A new update under an update_id handled before: Telegram picks ids at random again after a
    # quiet week, and a bot's test server starts over from 1. It is new: handle it.
    existing.sender = sender
    existing.payload = payload
    existing.digest = digest
    existing.received_at = now
    existing.done_at = None
    existing.claimed_by = me if mine else None
    existing.lease_until = lease_until if mine else None
    existing.attempts = 1 if mine else 0
    await session.flush()
    return mine


def _ready(me: str, now: datetime) -> Any:
    """Open, held by nobody (never claimed, handed back, or its worker's lease ran out), and
    its sender's earliest open update, with no other open update of the sender held by another
    live worker."""
    earlier = aliased(InboxUpdate)
    held_elsewhere = aliased(InboxUpdate)
    # Never this worker's own rows: a lease of its own that ran out means a stalled loop, and
    # the update is still in its hands.
    free = or_(
        InboxUpdate.claimed_by.is_(None),
        and_(InboxUpdate.lease_until < now, InboxUpdate.claimed_by != me),
    )
    return and_(
        InboxUpdate.done_at.is_(None),
        free,
        or_(
            InboxUpdate.sender.is_(None),
            ~exists().where(
                earlier.sender == InboxUpdate.sender,
                earlier.done_at.is_(None),
                earlier.update_id < InboxUpdate.update_id,
            ),
        ),
        or_(
            InboxUpdate.sender.is_(None),
            ~exists().where(
                held_elsewhere.sender == InboxUpdate.sender,
                held_elsewhere.done_at.is_(None),
                held_elsewhere.update_id != InboxUpdate.update_id,
                held_elsewhere.claimed_by.is_not(None),
                held_elsewhere.claimed_by != me,
                held_elsewhere.lease_until >= now,
            ),
        ),
    )


async def ready(
    session: AsyncSession, *, me: str, now: datetime, limit: int, sender: int | None = None
) -> Sequence[int]:
    """The update ids this worker may claim now, oldest first (a read: the claim loop looks
    here first, and takes the write lock only when there is something to claim)."""
    query = select(InboxUpdate.update_id).where(_ready(me, now))
    if sender is not None:
        query = query.where(InboxUpdate.sender == sender)
    return (await session.scalars(query.order_by(InboxUpdate.update_id).limit(limit))).all()


async def claim(
    session: AsyncSession,
    update_ids: Sequence[int],
    *,
    me: str,
    now: datetime,
    lease_until: datetime,
) -> list[InboxUpdate]:
    """Claim those of `update_ids` that are still ready; returns the rows claimed."""
    claimed: list[InboxUpdate] = []
    for update_id in update_ids:
        # Compare-and-set: of two workers after the same row, one wins; the other's WHERE no
        # longer holds once the winner's claim is committed.
        result = await session.execute(
            update(InboxUpdate)
            .where(InboxUpdate.update_id == update_id, _ready(me, now))
            .values(claimed_by=me, lease_until=lease_until, attempts=InboxUpdate.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0):
            row = await session.get(InboxUpdate, update_id, populate_existing=True)
            if row is not None:
                claimed.append(row)
    return claimed


async def claim_ready(
    session: AsyncSession,
    *,
    me: str,
    now: datetime,
    lease_until: datetime,
    limit: int,
    sender: int | None = None,
) -> list[InboxUpdate]:
    """ready() then claim(), in one transaction."""
    ids = await ready(session, me=me, now=now, limit=limit, sender=sender)
    return await claim(session, ids, me=me, now=now, lease_until=lease_until)


async def finish(session: AsyncSession, update_id: int, now: datetime) -> int | None:
    """Mark an update handled; returns its sender, whose next update may now be claimed.

    What the update said, and whose it was, is dropped here: a done row keeps only its id and
    digest (to recognise a second delivery), so the inbox holds a citizen's words and Telegram
    identity only while their update waits or is in hand."""
    sender = await session.scalar(
        select(InboxUpdate.sender).where(
            InboxUpdate.update_id == update_id, InboxUpdate.done_at.is_(None)
        )
    )
    result = await session.execute(
        update(InboxUpdate)
        .where(InboxUpdate.update_id == update_id, InboxUpdate.done_at.is_(None))
        .values(done_at=now, lease_until=None, payload=None, sender=None)
    )
    return sender if getattr(result, "rowcount", 0) else None


async def renew(session: AsyncSession, me: str, lease_until: datetime) -> int:
    """Extend this worker's leases on what it holds open; returns how many."""
    result = await session.execute(
        update(InboxUpdate)
        .where(InboxUpdate.claimed_by == me, InboxUpdate.done_at.is_(None))
        .values(lease_until=lease_until)
    )
    return int(getattr(result, "rowcount", 0))


async def release(session: AsyncSession, me: str, update_ids: Sequence[int] | None = None) -> int:
    """Hand back open updates this worker holds (all, or those given) for any worker to claim."""
    statement = update(InboxUpdate).where(
        InboxUpdate.claimed_by == me, InboxUpdate.done_at.is_(None)
    )
    if update_ids is not None:
        statement = statement.where(InboxUpdate.update_id.in_(update_ids))
    result = await session.execute(statement.values(claimed_by=None, lease_until=None))
    return int(getattr(result, "rowcount", 0))


async def any_done_before(session: AsyncSession, before: datetime) -> bool:
    return bool(
        await session.scalar(
            select(exists().where(InboxUpdate.done_at.is_not(None), InboxUpdate.done_at < before))
        )
    )


async def purge_done(session: AsyncSession, before: datetime) -> int:
    """Forget updates handled before `before`: by then Telegram no longer delivers them again."""
    result = await session.execute(
        delete(InboxUpdate).where(InboxUpdate.done_at.is_not(None), InboxUpdate.done_at < before)
    )
    return int(getattr(result, "rowcount", 0))


async def forget_sender(session: AsyncSession, sender: int) -> int:
    """A citizen's erasure: their updates still waiting or in hand go, words and all."""
    result = await session.execute(delete(InboxUpdate).where(InboxUpdate.sender == sender))
    return int(getattr(result, "rowcount", 0))


async def open_count(session: AsyncSession) -> int:
    """Updates received and not yet handled (any worker)."""
    return int(
        await session.scalar(
            select(func.count()).select_from(InboxUpdate).where(InboxUpdate.done_at.is_(None))
        )
        or 0
    )
