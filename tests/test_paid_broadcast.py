"""Telegram's paid broadcasts (TELEGRAM_PAID_BROADCAST_FROM): a fan-out to enough followers goes
with allow_paid_broadcast, a smaller one does not; and a batch of notices to many chats is sent
to the chats at once, each chat's own notices still in their order."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot.reports import answers
from bot.reports.lifecycle import Actor, ActorKind
from emulator.users import SimulatedUser
from storage.models import Agency, Citizen, Commitment, Official, Report, ReportSupporter
from tests.support.conversation import expect
from tests.support.harness import Harness

PAID_FROM = 4
OFFICIAL_ID = 7_000_001
OFFICIAL = Actor(ActorKind.OFFICIAL, OFFICIAL_ID, "Musa")


@pytest.fixture
def harness_overrides() -> dict[str, Any]:
    return {"paid_broadcast_from": PAID_FROM}


async def published_report(harness: Harness, followers: int) -> tuple[int, list[SimulatedUser]]:
    """A published report with its author and `followers - 1` supporters, and an official of
    its agency; returns the report id and the followers."""
    people = [harness.user("en") for _ in range(followers)]
    async with harness.db.write() as session:
        agency = await session.scalar(select(Agency).where(Agency.code == "kaduna-works"))
        commitment = await session.scalar(select(Commitment).limit(1))
        assert agency is not None and commitment is not None
        session.add(Official(agency_id=agency.id, telegram_user_id=OFFICIAL_ID, language="en"))
        citizens = [Citizen(telegram_user_id=p.id, language="en") for p in people]
        session.add_all(citizens)
        await session.flush()
        report = Report(
            reference=f"CW-PAID{followers}",
            commitment_id=commitment.id,
            citizen_id=citizens[0].id,
            kind="problem",
            text="The culvert is cracked.",
            language="en",
            status="published",
        )
        session.add(report)
        await session.flush()
        session.add_all(ReportSupporter(report_id=report.id, citizen_id=c.id) for c in citizens[1:])
        return report.id, people


def notices_to(harness: Harness, people: list[SimulatedUser], since: int) -> list[Any]:
    ids = {str(p.id) for p in people}
    return [
        call
        for call in harness.emulator.calls[since:]
        if call.method == "sendMessage"
        and call.status == 200
        and str(call.params.get("chat_id")) in ids
    ]


def is_paid(call: Any) -> bool:
    return str(call.params.get("allow_paid_broadcast", "")).lower() in ("true", "1")


async def test_a_large_fan_out_is_a_paid_broadcast_and_each_chat_keeps_its_order(
    harness: Harness,
) -> None:
    report_id, people = await published_report(harness, followers=12)
    since = len(harness.emulator.calls)
    dispatcher = harness.runner.dispatcher
    await dispatcher.stop()  # both answers' notices wait in one batch
    await answers.answer(harness.services, report_id, "acknowledged", OFFICIAL)
    await answers.answer(harness.services, report_id, "resolved", OFFICIAL)
    while await dispatcher.drain_once():
        pass
    calls = notices_to(harness, people, since)
    assert len(calls) == 24 and all(is_paid(call) for call in calls)
    for person in people:
        texts = [m.text or "" for m in person.messages]
        assert len(texts) == 2
        assert "acknowledged by the agency" in texts[0] and "resolved" in texts[1]
    assert harness.emulator.paid_messages() == 24


async def test_a_small_fan_out_is_sent_as_usual(harness: Harness) -> None:
    report_id, people = await published_report(harness, followers=PAID_FROM - 1)
    since = len(harness.emulator.calls)
    await answers.answer(harness.services, report_id, "acknowledged", OFFICIAL)
    for person in people:
        await expect(person, "acknowledged by the agency", timeout=10)
    calls = notices_to(harness, people, since)
    assert len(calls) == PAID_FROM - 1 and not any(is_paid(call) for call in calls)
