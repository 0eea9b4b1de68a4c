"""Redeeming an official invite: once, before it expires, by one person only."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.roles.officials import InviteStatus, create_invite, hash_token, redeem_invite
from storage.db import Database
from storage.models import Agency, Official, OfficialInvite

NOW = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


async def make_agency(db: Database, code: str = "kd-mow") -> Agency:
    async with db.write() as session:
        agency = Agency(code=code, names={"en": "Ministry of Works"})
        session.add(agency)
    return agency


async def officials(db: Database) -> list[tuple[str, int, str | None]]:
    async with db.read() as session:
        found = await session.execute(
            select(Agency.code, Official.telegram_user_id, Official.language)
            .join(Agency, Agency.id == Official.agency_id)
            .order_by(Official.id)
        )
        return [tuple(row) for row in found.all()]  # type: ignore[misc]


async def test_redeem_once(database: Database) -> None:
    agency = await make_agency(database)
    invite = await create_invite(database, agency, NOW, timedelta(hours=72))
    assert invite.expires_at == NOW + timedelta(hours=72)

    joined = await redeem_invite(database, invite.token, 1001, NOW + timedelta(hours=1), "ha")
    assert joined.status is InviteStatus.JOINED
    assert (joined.agency_code, joined.agency_names) == ("kd-mow", {"en": "Ministry of Works"})
    assert await officials(database) == [("kd-mow", 1001, "ha")]
    async with database.read() as session:
        stored = await session.scalar(select(OfficialInvite))
    assert stored is not None
    assert stored.token_sha256 == hash_token(invite.token) != invite.token
    assert (stored.used_at, stored.used_by) == (NOW + timedelta(hours=1), 1001)

    again = await redeem_invite(database, invite.token, 2002, NOW + timedelta(hours=2))
    assert again.status is InviteStatus.ALREADY_USED and again.agency_code is None
    assert await officials(database) == [("kd-mow", 1001, "ha")]


async def test_expired_and_unknown_tokens(database: Database) -> None:
    agency = await make_agency(database)
    invite = await create_invite(database, agency, NOW, timedelta(hours=2))
    late = await redeem_invite(database, invite.token, 1001, NOW + timedelta(hours=2))
    assert late.status is InviteStatus.EXPIRED
    unknown = await redeem_invite(database, "not-a-token", 1001, NOW)
    assert unknown.status is InviteStatus.UNKNOWN
    assert await officials(database) == []
    # Still unused: an expired invite does not count as used.
    async with database.read() as session:
        stored = await session.scalar(select(OfficialInvite))
    assert stored is not None and stored.used_at is None
    just_in_time = await redeem_invite(
        database, invite.token, 1001, NOW + timedelta(hours=2) - timedelta(seconds=1)
    )
    assert just_in_time.status is InviteStatus.JOINED


async def test_a_second_invite_for_the_same_official_adds_no_duplicate(database: Database) -> None:
    agency = await make_agency(database)
    first = await create_invite(database, agency, NOW, timedelta(days=1))
    second = await create_invite(database, agency, NOW, timedelta(days=1))
    assert first.token != second.token
    assert (await redeem_invite(database, first.token, 7, NOW)).status is InviteStatus.JOINED
    assert (await redeem_invite(database, second.token, 7, NOW)).status is InviteStatus.JOINED
    assert await officials(database) == [("kd-mow", 7, None)]


@pytest.mark.both_databases
async def test_two_people_redeeming_at_once_only_one_joins(database: Database) -> None:
    agency = await make_agency(database)
    for _round in range(5):
        invite = await create_invite(database, agency, NOW, timedelta(days=1))
        results = await asyncio.gather(
            *(redeem_invite(database, invite.token, user, NOW) for user in (101, 102, 103))
        )
        statuses = sorted(r.status for r in results)
        assert statuses == [
            InviteStatus.ALREADY_USED,
            InviteStatus.ALREADY_USED,
            InviteStatus.JOINED,
        ]
    joined = await officials(database)
    assert 1 <= len(joined) <= 3
    async with database.read() as session:
        used_by = list(await session.scalars(select(OfficialInvite.used_by)))
    assert len(used_by) == 5 and all(u in (101, 102, 103) for u in used_by)
    assert {user for _code, user, _lang in joined} == set(used_by)
