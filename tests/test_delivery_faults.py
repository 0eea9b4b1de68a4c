"""Telegram misbehaving while the agency's answer goes out to everyone who follows a report: a
share of 5xx answers and 429s with retry_after. Every follower still hears it exactly once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from storage.models import Citizen, OutboxMessage, Report, ReportSupporter
from tests.support.clock import Clock
from tests.support.conversation import expect
from tests.support.harness import Harness
from tests.test_agency_answers import STAFF_CHAT, join_as_official, report_and_approve

FOLLOWERS = 20


@pytest.fixture
def harness_overrides() -> dict[str, Any]:
    return {"moderator_chat_id": STAFF_CHAT}


async def test_notices_survive_5xx_and_429(harness: Harness) -> None:
    clock = Clock()
    harness.services.clock = clock
    moderator = harness.user("en", first_name="Ada")
    group = harness.emulator.add_group(STAFF_CHAT, "staff", admins=[moderator])
    official = await join_as_official(harness, "en", "Musa")
    author = harness.user("en")
    reference = await report_and_approve(harness, author, moderator, group)
    card = await expect(official, reference, "Answer with the buttons", timeout=15)
    supporters = [harness.user("en") for _ in range(FOLLOWERS)]
    async with harness.db.write() as session:
        report = await session.scalar(select(Report).where(Report.reference == reference))
        assert report is not None
        for person in supporters:
            citizen = Citizen(telegram_user_id=person.id, language="en", consent_at=clock.now)
            session.add(citizen)
            await session.flush()
            session.add(ReportSupporter(report_id=report.id, citizen_id=citizen.id))

    dispatcher = harness.runner.dispatcher
    await dispatcher.stop()  # driven by hand below, with the clock
    since = len(harness.emulator.calls)
    harness.emulator.limits.global_per_second = 6.0
    harness.emulator.limits.global_burst = 6
    harness.emulator.reset_rate_limits()
    await official.press_button("✅ Resolved", message=card)
    await expect(official, reference, "resolved", timeout=15)
    harness.emulator.faults.set(rate=0.3, kinds={"5xx"}, methods={"sendMessage"}, seed=7)
    for _ in range(40):
        await dispatcher.drain_once()
        async with harness.db.read() as session:
            waiting = (
                await session.scalars(
                    select(OutboxMessage).where(
                        OutboxMessage.kind == "status_notice", OutboxMessage.status != "sent"
                    )
                )
            ).all()
        if not waiting:
            break
        clock.now += timedelta(minutes=10)  # past any retry delay
    harness.emulator.faults.clear()

    for person in [author, *supporters]:
        notices = [
            m
            for m in person.messages
            if f"{reference}" in (m.text or "") and "resolved" in (m.text or "")
        ]
        assert len(notices) == 1, (person.id, [m.text for m in person.messages])
    async with harness.db.read() as session:
        rows = (
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.kind == "status_notice")
            )
        ).all()
    resolved_rows = [r for r in rows if r.payload.get("status") == "resolved"]
    assert len(resolved_rows) == FOLLOWERS + 1
    assert all(r.status == "sent" for r in resolved_rows)
    assert any(r.attempts > 1 for r in resolved_rows), "some notices needed a retry"
    calls = harness.emulator.calls[since:]
    assert any(c.status == 502 for c in calls) and any(c.status == 429 for c in calls)
