"""Some days after "resolved", the author is asked whether it is really fixed; "no" reopens the
report and sends it back to the agency."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from storage.models import OutboxMessage, Report, ReportEvent
from tests.support.clock import Clock
from tests.support.conversation import expect, text_of
from tests.support.harness import Harness
from tests.test_agency_answers import STAFF_CHAT, join_as_official, report_and_approve


@pytest.fixture
def harness_overrides() -> dict[str, Any]:
    return {"moderator_chat_id": STAFF_CHAT, "fix_check_days": 7.0}


async def resolved_report(harness: Harness, clock: Clock):
    moderator = harness.user("en", first_name="Ada")
    group = harness.emulator.add_group(STAFF_CHAT, "staff", admins=[moderator])
    official = await join_as_official(harness, "en", "Musa")
    citizen = harness.user("en")
    reference = await report_and_approve(harness, citizen, moderator, group)
    card = await expect(official, reference, "Answer with the buttons", timeout=15)
    await official.press_button("✅ Resolved", message=card)
    await expect(citizen, "is now: resolved", timeout=15)
    return citizen, official, reference


async def fix_check_status(harness: Harness) -> str:
    async with harness.db.read() as session:
        check = await session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "fix_check"))
    assert check is not None
    return check.status


async def ask_now(harness: Harness, clock: Clock) -> None:
    dispatcher = harness.runner.dispatcher
    while await dispatcher.drain_once():  # everything due now (cards, notices)
        pass
    assert await fix_check_status(harness) == "pending"  # not before the days have passed
    clock.now += timedelta(days=7, minutes=1)
    assert await dispatcher.drain_once() >= 1
    assert await fix_check_status(harness) == "sent"


async def status_of(harness: Harness, reference: str) -> str:
    async with harness.db.read() as session:
        report = await session.scalar(select(Report).where(Report.reference == reference))
    assert report is not None
    return report.status


async def test_not_fixed_reopens_and_goes_back_to_the_agency(harness: Harness) -> None:
    clock = Clock()
    harness.services.clock = clock
    citizen, official, reference = await resolved_report(harness, clock)
    async with harness.db.read() as session:
        check = await session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "fix_check"))
    assert check is not None and check.next_attempt_at >= clock.now + timedelta(days=6, hours=23)
    await harness.runner.dispatcher.stop()  # drive delivery by hand from here
    await ask_now(harness, clock)
    question = await expect(citizen, "Is it really fixed?", timeout=15)
    assert reference in text_of(question)
    stranger = harness.user("en")
    query_id = await stranger.send_callback(question.callback_data("❌ No, it is not fixed"))
    refused = await stranger.wait_for_callback_answer(query_id, timeout=10)
    assert refused.text == "Only the author of this report can answer."
    assert await status_of(harness, reference) == "resolved"
    await citizen.press_button("❌ No, it is not fixed", message=question)
    await expect(citizen, "is reopened")
    assert await status_of(harness, reference) == "reopened"
    while await harness.runner.dispatcher.drain_once():
        pass
    again = await expect(official, reference, "reopened", timeout=15)
    assert "🏗 In progress" in again.buttons
    async with harness.db.read() as session:
        last = await session.scalar(
            select(ReportEvent)
            .order_by(ReportEvent.id.desc())
            .where(ReportEvent.to_status == "reopened")
        )
    assert last is not None and (last.actor_kind, last.from_status) == ("citizen", "resolved")


async def test_fixed_keeps_it_resolved(harness: Harness) -> None:
    clock = Clock()
    harness.services.clock = clock
    citizen, _official, reference = await resolved_report(harness, clock)
    await harness.runner.dispatcher.stop()
    await ask_now(harness, clock)
    question = await expect(citizen, "Is it really fixed?", timeout=15)
    await citizen.press_button("✅ Yes, it is fixed", message=question)
    await expect(citizen, "stays resolved")
    assert await status_of(harness, reference) == "resolved"
    query_id = await citizen.send_callback(question.callback_data("❌ No, it is not fixed"))
    late = await citizen.wait_for_callback_answer(query_id, timeout=10)
    assert late.text is not None and "already handled" in late.text
