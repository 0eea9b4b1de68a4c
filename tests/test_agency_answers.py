"""An approved report reaches the agency's officials in Telegram; their answer reaches the
citizen and every supporter, each in their own language."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.roles.officials import create_invite
from storage.models import Agency, Report, ReportEvent
from tests.support.conversation import expect, png_image, reference_in, text_of
from tests.support.flows import add_voice, open_report, set_language
from tests.support.harness import Harness

STAFF_CHAT = -1001000000999


@pytest.fixture
def harness_overrides() -> dict[str, Any]:
    return {"moderator_chat_id": STAFF_CHAT}


async def join_as_official(harness: Harness, language: str, name: str):
    async with harness.db.read() as session:
        agency = await session.scalar(select(Agency).where(Agency.code == "kaduna-works"))
    assert agency is not None
    invite = await create_invite(harness.db, agency, harness.services.clock(), timedelta(hours=1))
    official = harness.user(language, first_name=name)
    await official.send_command("start", f"join_{invite.token}")
    await expect(official, "")  # the welcome, in their language
    return official


async def report_and_approve(harness: Harness, citizen, moderator, group) -> str:
    await open_report(citizen)
    await citizen.send_text("The new culvert is cracked and water pours onto the road.")
    await expect(citizen, "Where is it?")
    await citizen.send_location(10.5731, 7.4412)
    await expect(citizen, "Add photos")
    await citizen.send_photo(png_image())
    await expect(citizen, "1 photo added")
    await citizen.press_button("✅ Done with photos")
    await expect(citizen, "Your report")
    await citizen.press_button("✅ Send report")
    reference = reference_in(await expect(citizen, "Reference:"))
    card = await expect(group, reference, "waiting for review", timeout=15)
    await moderator.press_button("✅ Approve", message=card)
    await expect(citizen, "was approved and published")
    return reference


async def test_official_answers_and_every_follower_hears_it(harness: Harness) -> None:
    moderator = harness.user("en", first_name="Ada")
    group = harness.emulator.add_group(STAFF_CHAT, "staff", admins=[moderator])
    official = await join_as_official(harness, "en", "Musa")
    citizen, supporter = harness.user("en", first_name="Zainab"), harness.user("en")
    reference = await report_and_approve(harness, citizen, moderator, group)

    card = await expect(official, reference, "Answer with the buttons", timeout=15)
    assert "cracked" in text_of(card) and "1 photo" in text_of(card)
    assert "Zainab" not in card.html and str(citizen.id) not in card.html
    assert "👀 Acknowledged" in card.buttons and "✅ Resolved" in card.buttons
    assert any(m.kind == "photo" for m in official.messages), "the cleaned photo came along"

    # A neighbour adds their voice before the agency answers, then reads Hausa from now on.
    await add_voice(supporter, reference, (10.57315, 7.44125))
    await set_language(harness.db, supporter.id, "ha")

    await official.press_button("👀 Acknowledged", message=card)
    notice = await expect(citizen, "acknowledged by the agency", timeout=15)
    assert reference in text_of(notice) and "Musa" not in text_of(notice)
    hausa = await expect(supporter, reference, timeout=15)
    assert "acknowledged" not in text_of(hausa)  # in Hausa, not English
    redrawn = await expect(official, reference, timeout=10)
    assert "👀 Acknowledged" not in redrawn.buttons and "🏗 In progress" in redrawn.buttons
    await expect(group, reference, "Musa", timeout=15)  # the staff card shows who answered

    async with harness.db.read() as session:
        report = await session.scalar(select(Report).where(Report.reference == reference))
        assert report is not None and report.status == "acknowledged"
        last = await session.scalar(
            select(ReportEvent)
            .where(ReportEvent.report_id == report.id)
            .order_by(ReportEvent.id.desc())
        )
    assert last is not None and (last.actor_kind, last.actor_id, last.to_status) == (
        "official",
        official.id,
        "acknowledged",
    )


async def test_only_the_agencys_officials_may_answer(harness: Harness) -> None:
    moderator = harness.user("en", first_name="Ada")
    group = harness.emulator.add_group(STAFF_CHAT, "staff", admins=[moderator])
    official = await join_as_official(harness, "en", "Musa")
    citizen = harness.user("en")
    reference = await report_and_approve(harness, citizen, moderator, group)
    card = await expect(official, reference, "Answer with the buttons", timeout=15)
    data = card.callback_data("✅ Resolved")
    # The moderator (not an official) and a stranger forge the official's button.
    for outsider in (moderator, harness.user("en")):
        query_id = await outsider.send_callback(data, message=None)
        answer = await outsider.wait_for_callback_answer(query_id, timeout=10)
        assert answer.text == "Only officials of the agency responsible can answer this report."
    garbage = await official.send_callback("o:12:resolved:extra:bits", message=None)
    assert (await official.wait_for_callback_answer(garbage, timeout=10)).text
    async with harness.db.read() as session:
        report = await session.scalar(select(Report).where(Report.reference == reference))
    assert report is not None and report.status == "published"


async def test_not_ours_goes_back_to_moderators_who_reroute(harness: Harness) -> None:
    moderator = harness.user("en", first_name="Ada")
    group = harness.emulator.add_group(STAFF_CHAT, "staff", admins=[moderator])
    official = await join_as_official(harness, "en", "Musa")
    citizen = harness.user("en")
    reference = await report_and_approve(harness, citizen, moderator, group)
    card = await expect(official, reference, "Answer with the buttons", timeout=15)
    await official.press_button("↩️ Not our responsibility", message=card)
    await expect(citizen, "not responsible", timeout=15)
    staff_card = await expect(group, reference, "not responsible", timeout=15)
    await moderator.press_button("📂 Move", message=staff_card)
    prompt = await expect(group, "reply to this message with the code")
    await moderator.send_text("KAD-HC-004", chat=group, reply_to=prompt)
    await expect(group, "now belongs to the commitment KAD-HC-004")
    async with harness.db.read() as session:
        report = await session.scalar(select(Report).where(Report.reference == reference))
    assert report is not None and report.status == "published"  # rerouted, open again
