"""An invite link makes its opener an official of the agency, once; reuse and expiry fail politely."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.roles.officials import create_invite
from storage.models import Agency, Official
from tests.support.conversation import expect
from tests.support.harness import Harness


async def invite(harness: Harness, valid_for: timedelta) -> str:
    async with harness.db.read() as session:
        agency = await session.scalar(select(Agency).where(Agency.code == "kaduna-works"))
    assert agency is not None
    new = await create_invite(harness.db, agency, harness.services.clock(), valid_for)
    return new.token


async def test_invite_joins_once(harness: Harness) -> None:
    token = await invite(harness, timedelta(hours=72))
    official, colleague = harness.user("en"), harness.user("en")
    await official.send_command("start", f"join_{token}")
    welcome = await expect(official, "You are now an official of")
    assert "Kaduna State Ministry of Works" in (welcome.text or "")
    await colleague.send_command("start", f"join_{token}")
    await expect(colleague, "already used")
    async with harness.db.read() as session:
        rows = (await session.scalars(select(Official))).all()
    assert [row.telegram_user_id for row in rows] == [official.id]


async def test_expired_and_unknown_invites(harness: Harness) -> None:
    token = await invite(harness, timedelta(seconds=-1))
    person = harness.user("en")
    await person.send_command("start", f"join_{token}")
    await expect(person, "has expired")
    await person.send_command("start", "join_not-a-real-token")
    await expect(person, "not valid")
    async with harness.db.read() as session:
        assert (await session.scalars(select(Official))).all() == []
