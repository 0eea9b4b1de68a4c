"""The commitment catalog as the importer and the QR printer see it: bulk lookups by code."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Agency, Commitment, CommitmentPartner

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


async def partner_codes(
    session: AsyncSession, commitment_ids: Iterable[int]
) -> dict[int, list[str]]:
    """Each commitment's partner agencies (codes, in the order named); none: absent."""
    found: dict[int, list[str]] = {}
    ids = sorted(set(commitment_ids))
    for start in range(0, len(ids), _IN_CHUNK):
        rows = await session.execute(
            select(CommitmentPartner.commitment_id, Agency.code)
            .join(Agency, Agency.id == CommitmentPartner.agency_id)
            .where(CommitmentPartner.commitment_id.in_(ids[start : start + _IN_CHUNK]))
            .order_by(CommitmentPartner.commitment_id, CommitmentPartner.position)
        )
        for commitment_id, code in rows.all():
            found.setdefault(commitment_id, []).append(code)
    return found


async def replace_partners(
    session: AsyncSession, commitment_id: int, agency_ids: Sequence[int]
) -> None:
    """The commitment's partners become these agencies, in this order."""
    await session.execute(
        delete(CommitmentPartner).where(CommitmentPartner.commitment_id == commitment_id)
    )
    session.add_all(
        CommitmentPartner(commitment_id=commitment_id, agency_id=agency_id, position=position)
        for position, agency_id in enumerate(agency_ids, start=1)
    )
    await session.flush()
