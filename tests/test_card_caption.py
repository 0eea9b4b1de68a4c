"""Cards that cost one message: a report with one photo (and no voice note) reaches the staff
group as that photo with the card as its caption and the buttons on it, and every later redraw
edits the caption; longer cards, albums and voice notes go as before."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from emulator import BotMessage
from emulator.htmltext import utf16_len
from storage.models import ModerationCard, Report, ReportEvent
from tests import test_moderation
from tests.support.conversation import (
    expect,
    has_metadata,
    jpeg_with_gps,
    once_it_holds,
    png_image,
    text_of,
)
from tests.support.harness import Harness
from tests.test_delivery_faults import deliver_card, start_by_hand
from tests.test_moderation import STAFF_CHAT, Staff, send_report

pytestmark = pytest.mark.both_databases
staff = test_moderation.staff  # the staff group: Ada (admin), Bala (member)


@pytest.fixture
def harness_overrides() -> dict[str, Any]:
    return {"moderator_chat_id": STAFF_CHAT}


def calls(harness: Harness, method: str, message_id: int) -> int:
    return sum(
        1
        for call in harness.emulator.calls
        if call.method == method and str(call.params.get("message_id")) == str(message_id)
    )


async def caption_card(staff: Staff, reference: str) -> BotMessage:
    card = await expect(staff.group, reference, "waiting for review", timeout=15)
    assert card.kind == "photo" and "✅ Approve" in card.buttons
    return card


async def where_posted(harness: Harness, reference: str) -> ModerationCard:
    """The card's record, once the dispatcher has committed it (just after Telegram took it)."""
    for _ in range(100):
        async with harness.db.read() as session:
            report = await session.scalar(select(Report).where(Report.reference == reference))
            assert report is not None
            card = await session.get(ModerationCard, report.id)
        if card is not None:
            return card
        await asyncio.sleep(0.1)
    raise AssertionError(f"no card recorded for {reference}")


async def test_one_photo_is_one_message_with_the_card_as_caption(
    harness: Harness, staff: Staff
) -> None:
    reference = await send_report(harness.user("en"), photos=[jpeg_with_gps()])
    card = await caption_card(staff, reference)
    assert staff.group.messages == [card]  # one message of the group's 20 a minute
    assert not has_metadata(card.media[0]), "the photo leaves without EXIF/GPS"
    text = text_of(card)
    assert "KAD-RD-017" in text and "collapsed into the road" in text and "1 photo" in text
    assert card.buttons[:2] == ["✅ Approve", "🚫 Reject"] and "🚷 Block sender" in card.buttons
    posted = await where_posted(harness, reference)
    assert (posted.message_id, posted.caption) == (card.message_id, True)


async def test_approve_and_reject_edit_the_caption(harness: Harness, staff: Staff) -> None:
    citizen = harness.user("en")
    first = await send_report(citizen, photos=[png_image()])
    card = await caption_card(staff, first)
    await staff.ada.press_button("✅ Approve", message=card)
    await expect(citizen, "was approved and published")
    approved = await expect(staff.group, first, "Approved by Ada", timeout=15)
    assert approved.message_id == card.message_id and approved.edited
    assert "✅ Approve" not in approved.buttons and "🔁 Merge" in approved.buttons
    assert calls(harness, "editMessageCaption", card.message_id) >= 1
    assert calls(harness, "editMessageText", card.message_id) == 0

    other = harness.user("en")
    second = await send_report(
        other, "Vote for our party at the next election!", location=None, photos=[png_image()]
    )
    card = await caption_card(staff, second)
    await staff.bala.press_button("🚫 Reject", message=card)
    menu = await expect(staff.group, second, timeout=15)
    assert menu.message_id == card.message_id and "off-topic" in menu.buttons
    await staff.bala.press_button("off-topic", message=menu)
    await expect(other, "was not published")
    rejected = await expect(staff.group, second, "Rejected by Bala", timeout=15)
    assert rejected.message_id == card.message_id and rejected.buttons == ["🚷 Block sender"]
    assert calls(harness, "editMessageText", card.message_id) == 0
    assert len(staff.group.messages) == 2  # two reports, two messages


async def test_a_card_too_long_for_a_caption_goes_as_photo_then_text(
    harness: Harness, staff: Staff
) -> None:
    long_text = "The culvert at the market junction has collapsed. " * 25  # ~1,275 characters
    reference = await send_report(harness.user("en"), long_text.strip(), photos=[png_image()])
    card = await expect(staff.group, reference, "waiting for review", timeout=15)
    photo, text = staff.group.messages
    assert photo.kind == "photo" and not photo.caption and photo.buttons == []
    assert (
        text.message_id == card.message_id
        and card.kind == "text"
        and card.reply_to_message_id == photo.message_id
    )
    assert "✅ Approve" in card.buttons
    assert (await where_posted(harness, reference)).caption is False
    await staff.ada.press_button("✅ Approve", message=card)
    await expect(staff.group, reference, "Approved by Ada", timeout=15)
    assert calls(harness, "editMessageText", card.message_id) >= 1


async def test_two_photos_are_an_album_then_the_card(harness: Harness, staff: Staff) -> None:
    reference = await send_report(harness.user("en"), photos=[png_image(), jpeg_with_gps()])
    card = await expect(staff.group, reference, "waiting for review", timeout=15)
    album, text = staff.group.messages
    assert album.kind == "media_group" and len(album.media) == 2
    assert (
        text.message_id == card.message_id
        and card.kind == "text"
        and card.reply_to_message_id == album.message_id
    )
    assert (await where_posted(harness, reference)).caption is False


async def test_a_caption_card_with_a_long_history_stays_within_the_limit(
    harness: Harness, staff: Staff
) -> None:
    """Forty moves, then an approval: the redrawn caption keeps the latest events, counts the
    earlier ones, and Telegram takes it (the emulator refuses a caption over 1,024)."""
    reference = await send_report(harness.user("en"), photos=[png_image()])
    card = await caption_card(staff, reference)
    async with harness.db.write() as session:
        report = await session.scalar(select(Report).where(Report.reference == reference))
        assert report is not None
        start = harness.services.clock()
        for n in range(40):
            session.add(
                ReportEvent(
                    report_id=report.id,
                    actor_kind="moderator",
                    actor_id=staff.ada.id,
                    actor_name="Ada",
                    action="moved",
                    from_status="pending_review",
                    to_status="pending_review",
                    note=f"KAD-RD-{n:03d} to KAD-RD-{n + 1:03d}",
                    created_at=start + timedelta(minutes=n),
                )
            )
    await staff.ada.press_button("✅ Approve", message=card)
    approved = await expect(staff.group, reference, "Approved by Ada", timeout=15)
    text = text_of(approved)
    assert utf16_len(text) <= 1024
    assert "earlier events" in text and "KAD-RD-039 to KAD-RD-040" in text
    assert "KAD-RD-000 to KAD-RD-001" not in text
    assert "collapsed into the road" in text  # what the report says is kept whole
    assert approved.message_id == card.message_id and staff.group.messages == [approved]
    refused = [c for c in harness.emulator.calls if c.status == 400]
    assert not refused, refused


async def test_a_redacted_text_on_a_caption_card_is_shortened_to_fit(
    harness: Harness, staff: Staff
) -> None:
    """A moderator's public text makes the card too long for a caption: the quotes are
    shortened (ending in "…") and the caption is edited, never refused."""
    text = "The culvert at the market junction has collapsed into the road. " * 9
    reference = await send_report(harness.user("en"), text.strip(), photos=[png_image()])
    card = await caption_card(staff, reference)
    await staff.ada.press_button("✏️ Redact", message=card)
    prompt = await expect(staff.group, "reply to this message with the public text", timeout=15)
    public = "The culvert at the junction by the market has fallen into the road. " * 9
    await staff.ada.send_text(public.strip(), chat=staff.group, reply_to=prompt)
    await expect(staff.group, "public text of", "is updated", timeout=15)
    # The card's redraw (the outbox) and the confirmation (a direct reply) may come in either
    # order: read the card as it stands.
    redrawn = await once_it_holds(staff.group, "Public text", message_id=card.message_id)
    assert utf16_len(text_of(redrawn)) <= 1024 and "…" in text_of(redrawn)
    assert not [c for c in harness.emulator.calls if c.status == 400]


async def test_a_slow_answer_to_the_card_does_not_post_it_twice(harness: Harness) -> None:
    """Telegram takes the photo card but answers after 6 s, past PTB's 5 s default read
    timeout: the card waits for the answer instead of taking it for a failure, so there is one
    card, recorded as sent."""
    clock, group = await start_by_hand(harness, STAFF_CHAT)
    reference = await send_report(harness.user("en"), location=None, photos=[png_image()])
    harness.emulator.faults.set(
        rate=1.0, kinds={"slow"}, methods={"sendPhoto"}, limit=1, slow_seconds=6.0
    )
    row = await deliver_card(harness, clock)
    harness.emulator.faults.clear()
    assert (row.status, row.attempts) == ("sent", 1)
    (card,) = group.messages
    assert card.kind == "photo" and reference in text_of(card)
    assert (await where_posted(harness, reference)).message_id == card.message_id


async def test_a_photo_telegram_refuses_falls_back_to_the_text_card(harness: Harness) -> None:
    """The one photo is refused for good (400): the card goes as text, saying so."""
    from tests.test_delivery_faults import GREEN, panorama, report_with_media

    clock, group = await start_by_hand(harness, STAFF_CHAT)
    reference = await report_with_media(harness.user("en"), [panorama(GREEN)], voice=False)
    row = await deliver_card(harness, clock)
    assert row.status == "sent"
    (card,) = group.messages
    assert card.kind == "text" and reference in text_of(card)
    assert "1 photo could not be posted" in text_of(card)
    assert (await where_posted(harness, reference)).caption is False
    refused = [c for c in harness.emulator.calls if c.status == 400]
    assert [c.method for c in refused] == ["sendPhoto"]


async def test_an_older_copy_of_a_caption_card_is_retired_by_editing_its_caption(
    harness: Harness,
) -> None:
    """The connection drops after Telegram took the photo card (the window no bot can close):
    the retry posts it again. A press on the older copy acts on the current one, and the old
    photo's caption says it is out of date, without buttons (editMessageCaption: a photo has no
    text to edit)."""
    clock, group = await start_by_hand(harness, STAFF_CHAT)
    moderator = harness.user("en", first_name="Ada")
    group.add_member(moderator, "administrator")
    reference = await send_report(harness.user("en"), location=None, photos=[png_image()])
    harness.emulator.faults.set(rate=1.0, kinds={"drop_after"}, methods={"sendPhoto"}, limit=1)
    row = await deliver_card(harness, clock)
    harness.emulator.faults.clear()
    assert (row.status, row.attempts) == ("sent", 2)
    first, second = group.messages
    assert first.kind == second.kind == "photo" and reference in text_of(first)
    harness.runner.dispatcher.start()
    query = await moderator.press_button("✅ Approve", message=first)
    answer = await moderator.wait_for_callback_answer(query, timeout=10)
    assert answer.text and "approved" in answer.text
    assert await harness.emulator.state.calls_signal.wait_until(
        lambda: "out of date" in text_of(first) and "Approved by Ada" in text_of(second), 15
    )
    assert first.buttons == [] and "Approved by Ada" in text_of(first)
    assert "🔁 Merge" in second.buttons
    assert calls(harness, "editMessageText", first.message_id) == 0
    assert utf16_len(text_of(first)) <= 1024


def test_a_card_that_cannot_be_shortened_enough_is_cut_as_plain_text() -> None:
    """The last resort of the caption fitting: lines that no shortening brings under 1,024
    (here a header of 1,500 characters) are cut as plain text, so no tag is cut in half."""
    from bot.channels.cards import CAPTION_LIMIT, _fit_caption, visible_length

    def draw(quote_limit: int | None) -> tuple[list[str], list[str]]:
        return ["<b>" + "é&amp;📷" * 500 + "</b>"], ["✅ Approved by Ada"]

    text = _fit_caption(draw, ["⚠️ note"])
    assert visible_length(text) <= CAPTION_LIMIT and text.endswith("…")
    assert "<" not in text and "&amp;" in text  # plain text, escaped for HTML
