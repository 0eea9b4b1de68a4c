"""A citizen reports end to end, from a signboard's QR code to a reference and /status."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from bot.catalog.deeplinks import commitment_payload
from emulator import SimulatedUser
from storage.models import Citizen, Draft, MediaFile, Report, ReportEvent, ReportPhoto
from tests.support.conversation import (
    expect,
    has_metadata,
    jpeg_with_gps,
    png_image,
    reference_in,
    text_of,
)
from tests.support.harness import Harness

UNSAFE_TEXT = "Deep potholes near the <b>Kawo</b> bridge & the drain is blocked"


async def accept_privacy(citizen: SimulatedUser) -> None:
    notice = await expect(citizen, "privacy")
    await citizen.press_button("✅ I agree", message=notice)


async def report_until_summary(citizen: SimulatedUser, code: str = "KAD-RD-017") -> None:
    """Deep link, consent, kind, text, location, album of two photos, then the summary."""
    await citizen.send_command("start", commitment_payload(code))
    await accept_privacy(citizen)
    await expect(citizen, "What kind of feedback")
    await citizen.press_button("⚠️ A problem")
    await expect(citizen, "Describe what you see")
    await citizen.send_text(UNSAFE_TEXT)
    where = await expect(citizen, "Where is it?")
    assert "📍 Share my location" in where.reply_keyboard
    await citizen.send_location(10.5731, 7.4412, horizontal_accuracy=12.0)
    await expect(citizen, "Location saved")
    await expect(citizen, "Add photos")
    await citizen.send_album([jpeg_with_gps(), png_image()])
    await expect(citizen, "2 photos added")
    await citizen.press_button("✅ Done with photos")
    summary = await expect(citizen, "Your report")
    # The citizen's own words come back exactly as typed: escaped, not interpreted as HTML.
    assert UNSAFE_TEXT in text_of(summary)
    assert "&lt;b&gt;Kawo&lt;/b&gt;" in summary.html


@pytest.mark.both_databases
async def test_deep_link_to_reference_and_status(harness: Harness) -> None:
    citizen = harness.user("en")
    await report_until_summary(citizen)
    await citizen.press_button("✅ Send report")
    received = await expect(citizen, "Reference:")
    reference = reference_in(received)

    async with harness.db.read() as session:
        report = await session.scalar(select(Report).where(Report.reference == reference))
        assert report is not None
        assert report.status == "pending_review"
        assert report.kind == "problem"
        assert report.text == UNSAFE_TEXT
        assert report.language == "en"
        assert (report.latitude, report.longitude, report.accuracy_m) == (10.5731, 7.4412, 12.0)
        citizen_row = await session.get(Citizen, report.citizen_id)
        assert citizen_row is not None and citizen_row.telegram_user_id == citizen.id
        assert citizen_row.consent_at is not None
        photos = (
            await session.scalars(
                select(ReportPhoto)
                .where(ReportPhoto.report_id == report.id)
                .order_by(ReportPhoto.position)
            )
        ).all()
        assert [p.position for p in photos] == [0, 1]
        for photo in photos:
            media = await session.get(MediaFile, photo.content_sha256)
            assert media is not None
            assert hashlib.sha256(media.content).hexdigest() == photo.content_sha256
            assert not has_metadata(media.content), "EXIF/GPS must be stripped before storing"
            assert photo.size == len(media.content)
        mimes = sorted([(await session.get(MediaFile, p.content_sha256)).mime_type for p in photos])
        assert mimes == ["image/jpeg", "image/png"]
        events = (
            await session.scalars(select(ReportEvent).where(ReportEvent.report_id == report.id))
        ).all()
        assert [(e.from_status, e.to_status, e.actor_kind) for e in events] == [
            ("draft", "pending_review", "citizen")
        ]
        draft = await session.get(Draft, report.citizen_id)
        assert draft is not None and draft.step == "sent"

    await citizen.send_command("status", reference.lower())
    status = await expect(citizen, reference)
    assert "received, waiting for review" in text_of(status)
    assert "Kawo–Rigasa road rehabilitation" in text_of(status)

    await citizen.send_command("myreports")
    listing = await expect(citizen, "You have sent 1 report")
    assert reference in text_of(listing)


async def test_double_confirm_and_repeated_update_create_one_report(harness: Harness) -> None:
    citizen = harness.user("en")
    await report_until_summary(citizen)
    summary = citizen.messages[-1]
    data = summary.callback_data("✅ Send report")
    await citizen.send_callback(data, message=summary)
    await citizen.send_callback(data, message=summary)  # a double tap
    await citizen.resend_last_update()  # Telegram redelivering the same update
    first = await expect(citizen, "Reference:")
    reference = reference_in(first)
    already = await expect(citizen, "already sent")
    assert reference in text_of(already)
    # The redelivered update is the double tap again: the inbox knows its update_id, and it is
    # not handled a second time.
    await harness.emulator.wait_until_delivered()
    with pytest.raises(TimeoutError):
        await citizen.next_message(timeout=1.0)
    async with harness.db.read() as session:
        count = len((await session.scalars(select(Report))).all())
    assert count == 1


async def test_restart_mid_flow_continues_at_the_same_step(harness: Harness) -> None:
    citizen = harness.user("en")
    await citizen.send_command("start", "c_KAD-HC-004")
    await accept_privacy(citizen)
    await expect(citizen, "What kind of feedback")
    await citizen.press_button("🏗 Progress seen")
    await expect(citizen, "Describe what you see")
    await harness.restart()
    await citizen.send_text("The roof is on and the walls are painted.")
    await expect(citizen, "Where is it?")
    await citizen.press_reply_button("➡️ Continue without location")
    await expect(citizen, "no location")
    await expect(citizen, "Add photos")
    await citizen.press_button("➡️ Skip photos")
    summary = await expect(citizen, "Your report")
    assert "KAD-HC-004" in text_of(summary)
    assert "The roof is on" in text_of(summary)


async def test_two_workers_continue_each_others_conversation(harness: Harness) -> None:
    """Two bot processes (own engines and pools) on one database hand a conversation over."""
    citizen = harness.user("en")
    first = harness.runner
    await citizen.send_command("start", "c_KAD-SC-021")
    await accept_privacy(citizen)
    await expect(citizen, "What kind of feedback")
    await harness.stop_worker(first)
    second = await harness.start_worker(own_engine=True)
    await citizen.press_button("❓ A question")
    await expect(citizen, "Describe what you see")
    await harness.stop_worker(second)
    await harness.start_worker(own_engine=True)
    await citizen.send_text("When will the classroom block be finished?")
    await expect(citizen, "Where is it?")
