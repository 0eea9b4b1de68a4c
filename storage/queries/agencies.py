"""Agencies for the admin command line: lookup, creation, and the overview with counts."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Agency, Commitment, CommitmentPartner, Official


@dataclass(frozen=True)
class AgencyOverview:
    agency: Agency
    commitments: int
    officials: int
    partner_in: int = 0  # commitments it carries out with another, lead, agency


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
    partners = (
        select(CommitmentPartner.agency_id, func.count().label("n"))
        .group_by(CommitmentPartner.agency_id)
        .subquery()
    )
    rows = await session.execute(
        select(
            Agency,
            func.coalesce(commitments.c.n, 0),
            func.coalesce(officials.c.n, 0),
            func.coalesce(partners.c.n, 0),
        )
        .outerjoin(commitments, commitments.c.agency_id == Agency.id)
        .outerjoin(officials, officials.c.agency_id == Agency.id)
        .outerjoin(partners, partners.c.agency_id == Agency.id)
        .order_by(Agency.code)
    )
    return [AgencyOverview(agency, c, o, p) for agency, c, o, p in rows.all()]


async def countries(session: AsyncSession) -> dict[int, set[str]]:
    """Per agency id, the countries of the commitments it leads or is a partner in."""
    led = select(Commitment.agency_id, Commitment.country).where(
        Commitment.agency_id.is_not(None), Commitment.country.is_not(None)
    )
    partnered = (
        select(CommitmentPartner.agency_id, Commitment.country)
        .join(Commitment, Commitment.id == CommitmentPartner.commitment_id)
        .where(Commitment.country.is_not(None))
    )
    found: dict[int, set[str]] = {}
    for agency_id, country in (await session.execute(led.union(partnered))).all():
        if agency_id is not None and country is not None:
            found.setdefault(agency_id, set()).add(country)
    return found


async def all_codes(session: AsyncSession) -> list[str]:
    rows = await session.scalars(select(Agency.code).order_by(Agency.code))
    return list(rows.all())


async def by_id(session: AsyncSession, agency_id: int) -> Agency | None:
    return await session.get(Agency, agency_id)


async def of_commitment(session: AsyncSession, commitment_id: int) -> Agency | None:
    """The agency responsible for a commitment, if it has one."""
    return await session.scalar(
        select(Agency)
        .join(Commitment, Commitment.agency_id == Agency.id)
        .where(Commitment.id == commitment_id)
    )


async def codes_with_emails(session: AsyncSession) -> list[str]:
    """Agencies that have at least one e-mail address (filtered here: JSON lists compare
    differently in SQLite and PostgreSQL)."""
    rows = await session.execute(select(Agency.code, Agency.emails).order_by(Agency.code))
    return [code for code, emails in rows.all() if emails]
