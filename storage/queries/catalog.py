"""The commitment catalog as the importer and the QR printer see it: bulk lookups by code."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Agency, Commitment

# Stay well under every database's limit on bound parameters in one IN (...) list.
_IN_CHUNK = 500


def _chunks(values: Iterable[str]) -> Iterable[list[str]]:
    batch: list[str] = []
    for value in values:
        batch.append(value)
        if len(batch) == _IN_CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


async def commitments_by_codes(
    session: AsyncSession, codes: Iterable[str]
) -> dict[str, Commitment]:
    """Commitments by their stored code; a code given in another letter case finds it too."""
    found: dict[str, Commitment] = {}
    for batch in _chunks(sorted(set(codes))):
        rows = await session.scalars(
            select(Commitment).where(
                or_(
                    Commitment.code.in_(batch),
                    func.lower(Commitment.code).in_([c.lower() for c in batch]),
                )
            )
        )
        found.update((c.code, c) for c in rows)
    return found


async def agencies_by_codes(session: AsyncSession, codes: Iterable[str]) -> dict[str, Agency]:
    found: dict[str, Agency] = {}
    for batch in _chunks(sorted(set(codes))):
        rows = await session.scalars(select(Agency).where(Agency.code.in_(batch)))
        found.update((a.code, a) for a in rows)
    return found


async def all_commitments(session: AsyncSession) -> Sequence[Commitment]:
    rows = await session.scalars(select(Commitment).order_by(Commitment.code))
    return rows.all()


async def add_all(session: AsyncSession, objects: Iterable[Agency | Commitment]) -> None:
    """Add new rows and flush, so that new agencies get the ids their commitments refer to."""
    session.add_all(list(objects))
    await session.flush()
