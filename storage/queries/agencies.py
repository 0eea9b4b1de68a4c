"""Agencies for the admin command line: lookup, creation, and the overview with counts."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Agency, Commitment, Official


@dataclass(frozen=True)
class AgencyOverview:
    agency: Agency
    commitments: int
    officials: int


async def by_code(session: AsyncSession, code: str) -> Agency | None:
    return await session.scalar(select(Agency).where(Agency.code == code))


async def add(session: AsyncSession, agency: Agency) -> Agency:
    session.add(agency)
    await session.flush()
    return agency


async def overview(session: AsyncSession) -> list[AgencyOverview]:
    """Every agency with how many commitments and officials it has, by code."""
    commitments = (
        select(Commitment.agency_id, func.count().label("n"))
        .group_by(Commitment.agency_id)
        .subquery()
    )
    officials = (
        select(Official.agency_id, func.count().label("n")).group_by(Official.agency_id).subquery()
    )
    rows = await session.execute(
        select(Agency, func.coalesce(commitments.c.n, 0), func.coalesce(officials.c.n, 0))
        .outerjoin(commitments, commitments.c.agency_id == Agency.id)
        .outerjoin(officials, officials.c.agency_id == Agency.id)
        .order_by(Agency.code)
    )
    return [AgencyOverview(agency, c, o) for agency, c, o in rows.all()]


async def all_codes(session: AsyncSession) -> list[str]:
    rows = await session.scalars(select(Agency.code).order_by(Agency.code))
    return list(rows.all())
