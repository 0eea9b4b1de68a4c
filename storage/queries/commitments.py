"""Finding commitments: by code, by words, near a point, by theme."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Commitment
from storage.text import fold_text


def _like_escape(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def by_id(session: AsyncSession, commitment_id: int) -> Commitment | None:
    return await session.get(Commitment, commitment_id)


async def by_code(session: AsyncSession, code: str) -> Commitment | None:
    found = await session.scalar(select(Commitment).where(Commitment.code == code))
    if found is None:
        # Codes on signboards get typed by hand: accept any letter case.
        found = await session.scalar(
            select(Commitment).where(func.lower(Commitment.code) == code.lower()).limit(1)
        )
    return found


def search_conditions(query: str) -> list[ColumnElement[bool]]:
    """A commitment's folded text holds every word of the query (the first eight); none for a
    query without words."""
    terms = fold_text(query).split()[:8]
    return [Commitment.search_text.like(f"%{_like_escape(t)}%", escape="\\") for t in terms]


async def search(
    session: AsyncSession, query: str, offset: int, limit: int
) -> tuple[Sequence[Commitment], int]:
    """Commitments whose folded text holds every word of the query; exact code matches first."""
    conditions = search_conditions(query)
    if not conditions:
        return [], 0
    total = await session.scalar(select(func.count()).select_from(Commitment).where(*conditions))
    rows = await session.scalars(
        select(Commitment)
        .where(*conditions)
        .order_by((func.lower(Commitment.code) == query.strip().lower()).desc(), Commitment.code)
        .offset(offset)
        .limit(limit)
    )
    return rows.all(), total or 0


async def in_box(
    session: AsyncSession, south: float, west: float, north: float, east: float
) -> Sequence[Commitment]:
    """Commitments with a point inside a latitude/longitude box (uses the lat/lon index)."""
    rows = await session.scalars(
        select(Commitment).where(
            Commitment.latitude.between(south, north), Commitment.longitude.between(west, east)
        )
    )
    return rows.all()


async def themes(session: AsyncSession) -> list[str]:
    rows = await session.scalars(
        select(Commitment.theme).where(Commitment.theme.is_not(None)).distinct()
    )
    return sorted(t for t in rows.all() if t)


async def by_theme(
    session: AsyncSession, theme: str, offset: int, limit: int
) -> tuple[Sequence[Commitment], int]:
    total = await session.scalar(
        select(func.count()).select_from(Commitment).where(Commitment.theme == theme)
    )
    rows = await session.scalars(
        select(Commitment)
        .where(Commitment.theme == theme)
        .order_by(Commitment.code)
        .offset(offset)
        .limit(limit)
    )
    return rows.all(), total or 0
