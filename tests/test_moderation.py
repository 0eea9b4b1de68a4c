"""Triage in the staff group: cards, every moderator action, who may act, and what citizens hear."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import delete, func, select

from emulator import BotMessage, SimulatedGroup, SimulatedUser
from storage.db import Database
from storage.models import (
    Commitment,
    ModerationCard,
    Report,
    ReportEvent,
    ReportQuestion,
    ReportSupporter,
)
from storage.queries import moderation as moderation_queries
from tests.support.conversation import (
    expect,
    has_metadata,
    jpeg_with_gps,
    once_it_holds,
    png_image,
    text_of,
)
from tests.support.flows import open_report, photos_then_send
from tests.support.harness import Harness

STAFF_CHAT = -1001000000777


@pytest.fixture
def harness_overrides() -> dict[str, Any]:
    return {"moderator_chat_id": STAFF_CHAT}


@dataclass
class Staff:
    group: SimulatedGroup
    ada: SimulatedUser
    bala: SimulatedUser
    outsider: SimulatedUser


@pytest.fixture
def staff(harness: Harness) -> Staff:
    ada = harness.user("en", first_name="Ada")
    bala = harness.user("en", first_name="Bala")
    outsider = harness.user("en", first_name="Mallory")
    group = harness.emulator.add_group(
        STAFF_CHAT, "Commitment Watch staff", members=[bala], admins=[ada]
    )
    return Staff(group, ada, bala, outsider)


async def send_report(
    citizen: SimulatedUser,
    text: str = "The culvert at the market junction has collapsed into the road.",
    *,
    code: str = "KAD-RD-017",
    location: tuple[float, float] | None = (10.5731, 7.4412),
    photos: list[bytes] | None = None,
    different: bool = True,
) -> str:
    """A citizen reports; returns the reference."""
    await open_report(citizen, code)
    await citizen.send_text(text)
    await expect(citizen, "Where is it?")
    if location is None:
        await citizen.press_reply_button("➡️ Continue without location")
        await expect(citizen, "Add photos")
    else:
        await citizen.send_location(*location)
        await expect(citizen, "Location saved")
        next_message = await citizen.next_message(timeout=10)
        if "Someone already reported this here" in text_of(next_message) and different:
            await citizen.press_button("➡️ Mine is different", message=next_message)
            await expect(citizen, "Add photos")
    return await photos_then_send(citizen, photos or [])


async def card_for(staff: Staff, reference: str) -> BotMessage:
    card = await expect(staff.group, reference, "waiting for review", timeout=15)
    assert "✅ Approve" in card.buttons
    return card


async def current_card(
    harness: Harness, staff: Staff, reference: str, *fragments: str
) -> BotMessage:
    """The card as it stands once the edit containing `fragments` has arrived."""
    message = await expect(staff.group, reference, *fragments, timeout=15)
    assert message.edited
    return message


async def report_row(harness: Harness, reference: str) -> Report:
    async with harness.db.read() as session:
        report = await session.scalar(select(Report).where(Report.reference == reference))
    assert report is not None
    return report


async def events_of(harness: Harness, report_id: int) -> list[ReportEvent]:
    async with harness.db.read() as session:
        rows = await session.scalars(
            select(ReportEvent).where(ReportEvent.report_id == report_id).order_by(ReportEvent.id)
        )
        return list(rows.all())


async def test_card_shows_the_report_never_the_citizen(harness: Harness, staff: Staff) -> None:
    citizen = harness.user("en", first_name="Zainab", username="zainab_k")
    reference = await send_report(citizen, photos=[jpeg_with_gps(), png_image()])
    album = await expect(staff.group, "", timeout=15)
    assert album.kind == "media_group" and len(album.media) == 2
    assert not any(has_metadata(data) for data in album.media), "photos leave without EXIF/GPS"
    card = await card_for(staff, reference)
    text = text_of(card)
    assert "KAD-RD-017" in text and "collapsed into the road" in text and "A problem" in text
    assert "2 photos" in text and "0 supporters" in text
    assert "openstreetmap.org/?mlat=10.573100&amp;mlon=7.441200" in card.html
    for secret in ("Zainab", "zainab_k", str(citizen.id)):
        assert secret not in card.html
    assert card.buttons == [
        "✅ Approve",
        "🚫 Reject",
        "🔁 Merge",
        "📂 Move",
        "✏️ Redact",
        "❓ Ask the citizen",
        "🙈 Hide photos",  # a report with photos (tests/test_public_photos.py)
        "🚷 Block sender",
    ]


async def test_approve(harness: Harness, staff: Staff) -> None:
    citizen = harness.user("en")
    reference = await send_report(citizen)
    card = await card_for(staff, reference)
    await staff.ada.press_button("✅ Approve", message=card)
    notice = await expect(citizen, "was approved and published")
    assert reference in text_of(notice) and "Ada" not in text_of(notice)
    updated = await current_card(harness, staff, reference, "Approved by Ada")
    assert "✅ Approve" not in updated.buttons and "🔁 Merge" in updated.buttons
    report = await report_row(harness, reference)
    assert report.status == "published"
    last = (await events_of(harness, report.id))[-1]
    assert (last.from_status, last.to_status, last.actor_kind, last.actor_id, last.actor_name) == (
        "pending_review",
        "published",
        "moderator",
        staff.ada.id,
        "Ada",
    )


async def test_reject_with_reason(harness: Harness, staff: Staff) -> None:
    citizen = harness.user("en")
    reference = await send_report(citizen, "Vote for our party at the next election, everyone!")
    card = await card_for(staff, reference)
    await staff.bala.press_button("🚫 Reject", message=card)
    reasons = await current_card(harness, staff, reference, reference)
    assert "off-topic" in reasons.buttons and "◀️ Back" in reasons.buttons
    await staff.bala.press_button("off-topic", message=reasons)
    notice = await expect(citizen, "was not published")
    assert "Reason: off-topic" in text_of(notice) and "Bala" not in text_of(notice)
    updated = await current_card(harness, staff, reference, "Rejected by Bala")
    assert updated.buttons == ["🚷 Block sender"]  # all a closed card still offers
    report = await report_row(harness, reference)
    assert report.status == "rejected"
    # A rejected report cannot be merged: the old button changes nothing.
    query_id = await staff.bala.send_callback(f"m:{report.id}:mt:{report.id + 1}", message=updated)
    answer = await staff.bala.wait_for_callback_answer(query_id, timeout=10)
    assert "already handled" in (answer.text or "") or "not an open report" in (answer.text or "")
    assert (await report_row(harness, reference)).status == "rejected"


async def test_duplicate_offered_supported_and_merged(harness: Harness, staff: Staff) -> None:
    first, second, third = harness.user("en"), harness.user("en"), harness.user("en")
    original = await send_report(first, "Big pothole in front of the Kawo mosque.")
    await card_for(staff, original)
    # The second citizen is 40 m away: the bot offers the open report; they support it.
    await open_report(second)
    await second.send_text("The same pothole is getting deeper every week.")
    await expect(second, "Where is it?")
    await second.send_location(10.57346, 7.44120)
    offer = await expect(second, "Someone already reported this here")
    assert original in text_of(offer)
    await second.press_button(f"👍 Add my voice to {original}", message=offer)
    await expect(second, f"Your voice was added to report {original}")
    await current_card(harness, staff, original, "1 supporter")
    # The third says theirs is different; moderators see the candidate and merge anyway.
    duplicate = await send_report(
        third, "Pothole by the mosque, cars swerve into the market.", location=(10.57320, 7.44125)
    )
    card = await card_for(staff, duplicate)
    assert "possible duplicate" in text_of(card) and original in text_of(card)
    await staff.ada.press_button("🔁 Merge", message=card)
    menu = await current_card(harness, staff, duplicate, duplicate)
    await staff.ada.press_button(f"🔁 Into {original}", message=menu)
    notice = await expect(third, "were merged")
    assert original in text_of(notice) and duplicate in text_of(notice)
    merged = await report_row(harness, duplicate)
    target = await report_row(harness, original)
    assert merged.status == "duplicate" and merged.duplicate_of_id == target.id
    async with harness.db.read() as session:
        supporters = await session.scalar(
            select(func.count())
            .select_from(ReportSupporter)
            .where(ReportSupporter.report_id == target.id)
        )
        reports = await session.scalar(select(func.count()).select_from(Report))
    assert supporters == 2  # the one who supported, and the author of the merged report
    assert reports == 2  # supporting made no report of its own


async def test_move_to_another_commitment(harness: Harness, staff: Staff) -> None:
    citizen = harness.user("en")
    reference = await send_report(citizen, "The clinic has no running water since June.")
    card = await card_for(staff, reference)
    await staff.ada.press_button("📂 Move", message=card)
    prompt = await expect(staff.group, "reply to this message with the code")
    await staff.ada.send_text("NO-SUCH-CODE", chat=staff.group, reply_to=prompt)
    await expect(staff.group, "no other commitment with the code")
    await staff.ada.send_text("KAD-HC-004", chat=staff.group, reply_to=prompt)
    await expect(staff.group, "now belongs to the commitment KAD-HC-004")
    await current_card(harness, staff, reference, "Moved by Ada")
    report = await report_row(harness, reference)
    async with harness.db.read() as session:
        commitment = await session.get(Commitment, report.commitment_id)
    assert commitment is not None and commitment.code == "KAD-HC-004"
    moved = (await events_of(harness, report.id))[-1]
    assert moved.action == "moved" and moved.note == "KAD-RD-017 → KAD-HC-004"
    # The author hears where it went, named as the catalog names it.
    notice = await expect(citizen, reference, "moved it to")
    assert "KAD-HC-004" in text_of(notice)


async def test_flags_and_redaction(harness: Harness, staff: Staff) -> None:
    citizen = harness.user("en")
    text = (
        "Contractor left the site. Call me on +234 803 123 4567 or write to amina.bello@example.com"
    )
    reference = await send_report(citizen, text)
    card = await card_for(staff, reference)
    assert "phone number" in text_of(card) and "e-mail address" in text_of(card)
    await staff.bala.press_button("✏️ Redact", message=card)
    prompt = await expect(staff.group, "reply to this message with the public text")
    assert "+234" not in text_of(prompt).split("masked:")[1]
    await staff.bala.send_text("Contractor left the site.", chat=staff.group, reply_to=prompt)
    await expect(staff.group, "public text of")
    # The card's redraw (the outbox) and the confirmation (a direct reply) come in either order.
    updated = await once_it_holds(staff.group, "redacted by Bala", message_id=card.message_id)
    assert "Public text" in text_of(updated)
    report = await report_row(harness, reference)
    assert report.public_text == "Contractor left the site."
    assert "+234" not in report.public_text and "@" not in report.public_text
    assert report.text == text  # the original is kept for the record


async def test_ask_the_citizen_and_get_the_answer(harness: Harness, staff: Staff) -> None:
    citizen = harness.user("en")
    reference = await send_report(citizen, "Work stopped on the bridge three weeks ago.")
    card = await card_for(staff, reference)
    await staff.ada.press_button("❓ Ask the citizen", message=card)
    prompt = await expect(staff.group, "your question for the author")
    await staff.ada.send_text(
        "Which bridge, the north or the south one?", chat=staff.group, reply_to=prompt
    )
    await expect(staff.group, "was sent to its author")
    question = await expect(citizen, "A moderator has a question about your report")
    assert "north or the south" in text_of(question) and "Ada" not in text_of(question)
    await citizen.send_text("The south one, near the school.", reply_to=question)
    await expect(citizen, "your answer was added to report")
    updated = await once_it_holds(
        staff.group, "The south one, near the school.", message_id=card.message_id
    )
    assert "Which bridge" in text_of(updated)
    async with harness.db.read() as session:
        row = await session.scalar(select(ReportQuestion))
    assert row is not None and row.answer == "The south one, near the school."


async def test_two_moderators_at_once_first_wins(harness: Harness, staff: Staff) -> None:
    citizen = harness.user("en")
    reference = await send_report(citizen)
    card = await card_for(staff, reference)
    approve = card.callback_data("✅ Approve")
    report = await report_row(harness, reference)
    reject = f"m:{report.id}:rr:spam"
    ada_query, bala_query = await asyncio.gather(
        staff.ada.send_callback(approve, message=card),
        staff.bala.send_callback(reject, message=card),
    )
    answers = [
        await staff.ada.wait_for_callback_answer(ada_query, timeout=10),
        await staff.bala.wait_for_callback_answer(bala_query, timeout=10),
    ]
    texts = [a.text or "" for a in answers]
    assert sum("already handled" in t for t in texts) == 1, texts
    final = await report_row(harness, reference)
    changes = [
        e
        for e in await events_of(harness, final.id)
        if e.action == "status" and e.from_status == "pending_review"
    ]
    assert len(changes) == 1 and changes[0].to_status == final.status


async def test_outsiders_and_forged_callbacks_change_nothing(
    harness: Harness, staff: Staff
) -> None:
    citizen = harness.user("en")
    reference = await send_report(citizen)
    card = await card_for(staff, reference)
    report = await report_row(harness, reference)
    # From a private chat, with well-formed data for a real report.
    query_id = await staff.outsider.send_callback(f"m:{report.id}:ok", message=None)
    answer = await staff.outsider.wait_for_callback_answer(query_id, timeout=10)
    assert answer.text == "Only moderators can do this."
    # Garbage and forged ids, from the citizen themself.
    forged = await citizen.send_callback(f"m:{report.id}:rr:spam", message=None)
    garbage = await citizen.send_callback("m:not-a-number:ok", message=None)
    refused = await citizen.wait_for_callback_answer(forged, timeout=10)
    invalid = await citizen.wait_for_callback_answer(garbage, timeout=10)
    assert refused.text == "Only moderators can do this."
    assert invalid.text == "This button is no longer valid."
    query_id = await staff.outsider.send_callback(card.callback_data("✅ Approve"), message=card)
    answer = await staff.outsider.wait_for_callback_answer(query_id, timeout=10)
    assert answer.text == "Only moderators can do this."
    assert (await report_row(harness, reference)).status == "pending_review"
    assert [e.action for e in await events_of(harness, report.id)] == ["created"]


async def test_queue_shows_what_waits(harness: Harness, staff: Staff) -> None:
    first, second = harness.user("en"), harness.user("en")
    ref_one = await send_report(
        first, "Streetlights along the road do not work at night.", location=None
    )
    ref_two = await send_report(
        second, "No teacher came to the new classrooms this term.", code="KAD-SC-021", location=None
    )
    await card_for(staff, ref_one)
    await card_for(staff, ref_two)
    await staff.ada.send_text("/queue", chat=staff.group)
    summary = await expect(staff.group, "wait for review")
    assert text_of(summary).startswith("2 reports wait for review")
    assert "✅ Approve" in (await expect(staff.group, ref_one)).buttons
    assert "✅ Approve" in (await expect(staff.group, ref_two)).buttons
    await staff.outsider.send_text("/queue", chat=staff.group)
    await staff.ada.send_text("/queue", chat=staff.group)
    again = await expect(staff.group, "wait for review")
    assert again is not None


async def test_granted_moderator_outside_the_group_may_act(harness: Harness, staff: Staff) -> None:
    from storage.queries import roles

    citizen = harness.user("en")
    reference = await send_report(citizen)
    card = await card_for(staff, reference)
    async with harness.db.write() as session:
        await roles.grant(session, staff.outsider.id, "moderator", harness.services.clock())
    await staff.outsider.press_button("✅ Approve", message=card)
    await expect(citizen, "was approved and published")
    assert (await report_row(harness, reference)).status == "published"


async def test_refusals_are_logged(
    harness: Harness, staff: Staff, caplog: pytest.LogCaptureFixture
) -> None:
    citizen = harness.user("en")
    reference = await send_report(citizen)
    card = await card_for(staff, reference)
    with caplog.at_level("WARNING", logger="handlers.moderation"):
        # On the card itself in the staff group: the scope lets it through, the role check refuses.
        query_id = await staff.outsider.send_callback(
            card.callback_data("✅ Approve"), message=card
        )
        await staff.outsider.wait_for_callback_answer(query_id, timeout=10)
    assert f"refused card action 'ok' from user {staff.outsider.id}" in caplog.text


@pytest.mark.both_databases
async def test_the_card_saved_twice_at_once_is_one_row(harness: Harness, staff: Staff) -> None:
    """The dispatcher that posted a card and a moderator's press that arrives before it recorded
    so both save where the card is, at the same moment: both succeed, one row, the last place."""
    reference = await send_report(harness.user("en"))
    await card_for(staff, reference)
    report = await report_row(harness, reference)
    async with harness.db.write() as session:
        await session.execute(delete(ModerationCard).where(ModerationCard.report_id == report.id))
    other = Database(harness.settings.database_url)  # a second pool, as a second worker has
    try:

        async def save(db: Database, message_id: int) -> None:
            async with db.write() as session:
                await moderation_queries.save_card(
                    session, report.id, staff.group.id, message_id, harness.services.clock()
                )

        # The first has written the row and not yet committed when the second comes.
        async with harness.db.write() as session:
            await moderation_queries.save_card(
                session, report.id, staff.group.id, 700, harness.services.clock()
            )
            second = asyncio.create_task(save(other, 701))
            await asyncio.sleep(0.3)
        await second
    finally:
        await other.dispose()
    async with harness.db.read() as session:
        cards = (
            await session.scalars(
                select(ModerationCard).where(ModerationCard.report_id == report.id)
            )
        ).all()
    assert [card.message_id for card in cards] == [701]
