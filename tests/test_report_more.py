"""More of the citizen's flow: a voice note, editing from the summary, paged /myreports, and the
bot in webhook mode."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from storage.models import Citizen, Report
from tests.support.conversation import expect, text_of
from tests.support.flows import open_report, reach_summary, send_from_summary
from tests.support.harness import Harness


async def test_voice_note_is_kept_as_the_description(harness: Harness) -> None:
    citizen = harness.user("en")
    await open_report(citizen, kind="⏸ Not started or stalled")
    await citizen.send_voice(b"OggS" + bytes(200), duration=7)
    await expect(citizen, "Where is it?")
    await citizen.press_reply_button("➡️ Continue without location")
    await expect(citizen, "Add photos")
    await citizen.press_button("➡️ Skip photos")
    summary = await expect(citizen, "Your report")
    assert "Voice note (7 s)" in text_of(summary)
    report = await send_from_summary(harness.db, citizen)
    assert report.text is None
    assert report.voice_file_id and report.voice_duration == 7


async def test_voice_note_at_the_wrong_step_gets_a_hint(harness: Harness) -> None:
    citizen = harness.user("en")
    await citizen.send_command("start", "c_KAD-RD-017")
    await citizen.press_button("✅ I agree", message=await expect(citizen, "privacy"))
    await expect(citizen, "What kind of feedback")
    await citizen.send_voice(b"OggS" + bytes(50), duration=2)
    await expect(citizen, "Now: choose the kind of feedback")


async def test_every_part_can_be_edited_from_the_summary(harness: Harness) -> None:
    citizen = harness.user("en")
    await reach_summary(
        citizen, "The contractor has not been seen for a month.", kind="⏸ Not started or stalled"
    )
    await citizen.press_button("✏️ Description")
    await expect(citizen, "Describe what you see")
    await citizen.send_text("The contractor left the site in March; nothing since.")
    summary = await expect(citizen, "Your report")
    assert "left the site in March" in text_of(summary)
    await citizen.press_button("✏️ Location")
    await expect(citizen, "Where is it?")
    await citizen.send_location(10.5729, 7.4409)
    summary = await expect(citizen, "Your report")
    assert "10.57290, 7.44090" in text_of(summary)
    await citizen.press_button("✏️ Kind")
    await expect(citizen, "What kind of feedback")
    await citizen.press_button("❓ A question")
    summary = await expect(citizen, "Your report")
    assert "A question" in text_of(summary)
    await citizen.press_button("✏️ Commitment")
    await expect(citizen, "Which commitment")
    await citizen.send_text("KAD-HC-004")
    found = await expect(citizen, "I found 1 commitment")
    await citizen.press_button(found.buttons[0], message=found)
    summary = await expect(citizen, "Your report")
    assert "KAD-HC-004" in text_of(summary) and "left the site in March" in text_of(summary)
    await citizen.press_button("✖️ Cancel")
    await citizen.press_button(
        "Yes, discard", message=await expect(citizen, "Discard this report?")
    )
    await expect(citizen, "Your report was cancelled")


async def test_myreports_is_paged(harness: Harness) -> None:
    citizen = harness.user("en")
    await open_report(citizen, kind="⏸ Not started or stalled")
    await citizen.send_command("cancel")
    await expect(citizen, "cancelled")
    # Seven earlier reports, written straight into the database.
    async with harness.db.write() as session:
        owner = await session.scalar(select(Citizen).where(Citizen.telegram_user_id == citizen.id))
        assert owner is not None
        start = datetime(2026, 1, 1, tzinfo=UTC)
        for n in range(7):
            session.add(
                Report(
                    reference=f"CW-TEST{'ABCDEFG'[n]}2",
                    commitment_id=1,
                    citizen_id=owner.id,
                    kind="problem",
                    text=f"Old report number {n}",
                    language="en",
                    status="pending_review",
                    created_at=start + timedelta(days=n),
                    updated_at=start + timedelta(days=n),
                )
            )
    await citizen.send_command("myreports")
    first = await expect(citizen, "You have sent 7 reports")
    assert "Page 1 of 2" in text_of(first)
    assert "CW-TESTG2" in text_of(first)  # newest first
    await citizen.press_button("More ▶️", message=first)
    second = await expect(citizen, "Page 2 of 2")
    assert "CW-TESTA2" in text_of(second) and second.message_id == first.message_id


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_webhook_mode(harness: Harness) -> None:
    """With WEBHOOK_URL set the bot listens for updates instead of polling."""
    await harness.stop_worker(harness.runner)
    port = free_port()
    await harness.start_worker(
        webhook_url=f"http://127.0.0.1:{port}", webhook_listen="127.0.0.1", webhook_port=port
    )
    citizen = harness.user("en")
    await citizen.send_command("help")
    await expect(citizen, "/myreports")
    methods = {call.method for call in harness.emulator.calls}
    assert "setWebhook" in methods
