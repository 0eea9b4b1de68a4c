"""Telegram misbehaving: a share of 5xx answers and 429s with retry_after while the agency's answer
goes out to everyone who follows a report (every follower still hears it exactly once), and faults
on the parts of a moderation card (each part is posted once, and a part Telegram will not take is
left out without losing the card)."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select

from bot.channels.buttons import card_button
from emulator import BotMessage, SimulatedGroup, SimulatedUser
from storage.models import Citizen, ModerationCard, OutboxMessage, Report, ReportSupporter
from tests.support.agency_channels import outbox_rows
from tests.support.clock import Clock
from tests.support.conversation import expect, reference_in, text_of
from tests.support.flows import open_report, send_plain_report
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


# --- a moderation card in parts: voice note, photos, text -------------------------------------------

RED, GREEN, BLUE = (200, 40, 40), (40, 200, 40), (40, 40, 200)


def png(color: tuple[int, int, int], size: tuple[int, int] = (40, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


def panorama(color: tuple[int, int, int]) -> bytes:
    """A picture Telegram takes as a file but refuses as a photo (aspect ratio over 20)."""
    return png(color, (2100, 100))


def colour_of(data: bytes) -> tuple[int, int, int]:
    pixel = Image.open(io.BytesIO(data)).convert("RGB").getpixel((0, 0))
    assert isinstance(pixel, tuple)
    return pixel[0], pixel[1], pixel[2]


async def report_with_media(
    citizen: SimulatedUser, photos: list[bytes], *, voice: bool = True
) -> str:
    """A report told by voice note, with photos (a panorama goes as a file, as phones send it)."""
    await open_report(citizen)
    if voice:
        await citizen.send_voice(b"OggS" + bytes(300), duration=9)
    else:
        await citizen.send_text("The drainage channel beside the market is blocked again.")
    await expect(citizen, "Where is it?")
    await citizen.press_reply_button("➡️ Continue without location")
    await expect(citizen, "Add photos")
    for n, data in enumerate(photos, start=1):
        if Image.open(io.BytesIO(data)).width > 1000:
            await citizen.send_document(data, file_name="panorama.png", mime_type="image/png")
        else:
            await citizen.send_photo(data)
        await expect(citizen, f"{n} photo")
    await citizen.press_button("✅ Done with photos")
    await expect(citizen, "Your report")
    await citizen.press_button("✅ Send report")
    return reference_in(await expect(citizen, "Reference:"))


async def deliver_card(harness: Harness, clock: Clock, rounds: int = 12) -> OutboxMessage:
    """Drive the stopped dispatcher by hand until the card is sent or failed, stepping the clock
    past each retry delay."""
    dispatcher = harness.runner.dispatcher
    for _ in range(rounds):
        await dispatcher.drain_once()
        rows = await outbox_rows(harness, "moderation_card")
        assert len(rows) == 1
        if rows[0].status != "pending":
            return rows[0]
        clock.now += timedelta(hours=6)
    raise AssertionError(f"card still pending: {rows[0].last_error}")


def staff_view(
    group: SimulatedGroup, reference: str
) -> tuple[int, list[tuple[int, ...]], list[BotMessage]]:
    """What moderators see: voice notes, the colours of the photos (album or single), the cards."""
    voices = sum(m.kind == "voice" for m in group.messages)
    photos = [
        colour_of(data)
        for m in group.messages
        if m.kind in ("photo", "media_group")
        for data in m.media
    ]
    cards = [m for m in group.messages if reference in (m.text or "")]
    return voices, photos, cards


def copies(group: SimulatedGroup, reference: str) -> list[BotMessage]:
    return [
        m for m in group.messages if reference in (m.text or "") and "Commitment:" in (m.text or "")
    ]


async def until(harness: Harness, condition: Callable[[], bool]) -> None:
    """Wait for the bot's calls to make `condition` true (each call the emulator records)."""
    assert await harness.emulator.state.calls_signal.wait_until(condition, 15), "never happened"


async def start_by_hand(
    harness: Harness, chat_id: int = STAFF_CHAT
) -> tuple[Clock, SimulatedGroup]:
    clock = Clock()
    harness.services.clock = clock
    group = harness.emulator.add_group(chat_id, "staff", admins=[harness.user("en")])
    await harness.runner.dispatcher.stop()  # driven by hand, with the clock
    return clock, group


@pytest.mark.both_databases
async def test_card_parts_are_each_posted_once_across_retries(harness: Harness) -> None:
    """The album fails with a 502, then the card's text does: the retries resume after what
    Telegram took, so the voice note and each photo are posted once, then the card once."""
    clock, group = await start_by_hand(harness)
    reference = await report_with_media(harness.user("en"), [png(RED), png(GREEN), png(BLUE)])
    dispatcher = harness.runner.dispatcher
    harness.emulator.faults.set(rate=1.0, kinds={"5xx"}, methods={"sendMediaGroup"}, limit=1)
    await dispatcher.drain_once()
    assert staff_view(group, reference)[:2] == (1, [])  # the voice note went, the album did not
    clock.now += timedelta(seconds=6)
    harness.emulator.faults.set(rate=1.0, kinds={"5xx"}, methods={"sendMessage"}, limit=1)
    await dispatcher.drain_once()
    assert staff_view(group, reference)[:2] == (1, [RED, GREEN, BLUE])
    assert not staff_view(group, reference)[2]
    clock.now += timedelta(seconds=6)
    harness.emulator.faults.clear()
    row = await deliver_card(harness, clock)
    assert (row.status, row.attempts) == ("sent", 3)
    voices, photos, cards = staff_view(group, reference)
    assert (voices, photos, len(cards)) == (1, [RED, GREEN, BLUE], 1)
    assert "could not be posted" not in text_of(cards[0])
    album = next(m for m in group.messages if m.kind == "media_group")
    assert cards[0].reply_to_message_id == album.message_id  # the card answers its photos


@pytest.mark.both_databases
async def test_a_photo_telegram_refuses_is_left_out_and_the_card_says_so(
    harness: Harness,
) -> None:
    """Telegram refuses the album for the panorama in it (400 PHOTO_INVALID_DIMENSIONS); the
    photos are then tried one by one (the first after a 502), the panorama is left out, and the
    card is posted all the same, saying a photo is missing."""
    clock, group = await start_by_hand(harness)
    reference = await report_with_media(
        harness.user("en"), [png(RED), panorama(GREEN), png(BLUE)], voice=False
    )
    since = len(harness.emulator.calls)
    harness.emulator.faults.set(rate=1.0, kinds={"5xx"}, methods={"sendPhoto"}, limit=1)
    row = await deliver_card(harness, clock)
    harness.emulator.faults.clear()
    assert row.status == "sent"
    voices, photos, cards = staff_view(group, reference)
    assert (voices, photos, len(cards)) == (0, [RED, BLUE], 1)
    assert "1 photo could not be posted" in text_of(cards[0])
    refusals = [c for c in harness.emulator.calls[since:] if c.status == 400]
    assert [c.method for c in refusals] == ["sendMediaGroup", "sendPhoto"]
    assert all("PHOTO_INVALID_DIMENSIONS" in (c.description or "") for c in refusals)
    # The note stays when the card is redrawn after a moderator's action.
    moderator = harness.user("en", first_name="Ada")
    group.add_member(moderator, "administrator")
    harness.runner.dispatcher.start()
    await moderator.press_button("✅ Approve", message=cards[0])
    redrawn = await expect(group, "Approved by", timeout=15)
    assert "1 photo could not be posted" in text_of(redrawn)


@pytest.mark.both_databases
async def test_parts_whose_tries_run_out_are_left_out_and_the_card_goes(
    harness: Harness,
) -> None:
    """Telegram answers every sendVoice and sendMediaGroup with a 502: when their tries run out
    the card is posted without them, saying what is missing, instead of never at all."""
    clock, group = await start_by_hand(harness)
    reference = await report_with_media(harness.user("en"), [png(RED), png(GREEN)])
    harness.emulator.faults.set(rate=1.0, kinds={"5xx"}, methods={"sendVoice", "sendMediaGroup"})
    row = await deliver_card(harness, clock, rounds=20)
    harness.emulator.faults.clear()
    assert row.status == "sent"
    voices, photos, cards = staff_view(group, reference)
    assert (voices, photos, len(cards)) == (0, [], 1)
    assert "the voice note could not be posted" in text_of(cards[0])
    assert "2 photos could not be posted" in text_of(cards[0])


# --- a card posted twice: the older copy's buttons act on the current card ----------------------


@pytest.mark.both_databases
async def test_a_press_on_an_older_copy_of_a_card_acts_on_the_current_one(
    harness: Harness,
) -> None:
    """Telegram posts the card but the connection drops before the bot hears so (the window no
    bot can close): the retry posts it again. Presses on the older copies act on the report as
    it is now, draw on the current card, and take the old copy's buttons away."""
    clock, group = await start_by_hand(harness)
    moderator = harness.user("en", first_name="Ada")
    group.add_member(moderator, "administrator")
    reference = await send_plain_report(harness.user("en"))
    harness.emulator.faults.set(rate=1.0, kinds={"drop_after"}, methods={"sendMessage"}, limit=1)
    row = await deliver_card(harness, clock)
    harness.emulator.faults.clear()
    assert (row.status, row.attempts) == ("sent", 2)
    first, second = copies(group, reference)
    harness.runner.dispatcher.start()

    # A menu pressed on the older copy opens on the current card.
    query = await moderator.press_button("🚫 Reject", message=first)
    answer = await moderator.wait_for_callback_answer(query, timeout=10)
    assert answer.text and "older copy" in answer.text
    await until(harness, lambda: "out of date" in text_of(first))
    assert "spam" in second.buttons and first.buttons == []

    # /queue posts the card again; the copy before it (showing the reject menu) still works,
    # on the report as it is now, and the card redrawn is the newest copy.
    await moderator.send_command("queue", chat=group)
    await until(harness, lambda: len(copies(group, reference)) == 3)
    third = copies(group, reference)[-1]
    query = await moderator.press_button("spam", message=second)
    answer = await moderator.wait_for_callback_answer(query, timeout=10)
    assert answer.text and reference in answer.text and "rejected" in answer.text
    await until(harness, lambda: "Rejected by Ada" in text_of(third))
    await until(harness, lambda: "out of date" in text_of(second))
    assert third.buttons == ["🚷 Block sender"]  # all a closed card still offers
    assert second.buttons == [] and "out of date" in text_of(second)
    assert "Rejected by Ada" in text_of(second)
    async with harness.db.read() as session:
        report = await session.scalar(select(Report).where(Report.reference == reference))
    assert report is not None and report.status == "rejected"


@pytest.mark.both_databases
async def test_a_press_on_a_card_the_bot_never_heard_of_makes_it_the_card(
    harness: Harness,
) -> None:
    """The card is posted but the bot never hears so, and a moderator presses it before the retry:
    that copy becomes the card, so the retry redraws it instead of posting a second one."""
    clock, group = await start_by_hand(harness)
    moderator = harness.user("en", first_name="Ada")
    group.add_member(moderator, "administrator")
    reference = await send_plain_report(harness.user("en"))
    harness.emulator.faults.set(rate=1.0, kinds={"drop_after"}, methods={"sendMessage"}, limit=1)
    await harness.runner.dispatcher.drain_once()
    harness.emulator.faults.clear()
    (card,) = copies(group, reference)
    query = await moderator.press_button("✅ Approve", message=card)
    answer = await moderator.wait_for_callback_answer(query, timeout=10)
    assert answer.text and "approved" in answer.text
    clock.now += timedelta(seconds=6)
    row = await deliver_card(harness, clock)
    assert row.status == "sent"
    assert copies(group, reference) == [card]
    await harness.runner.dispatcher.drain_once()  # the approval's own redraw
    assert "Approved by Ada" in text_of(card)


async def test_forged_data_on_another_reports_card_leaves_both_cards_alone(
    harness: Harness,
) -> None:
    """A press whose data names report B on report A's card: A's card is not taken for an old
    copy of B's (nor retired), and B's card stays B's."""
    clock, group = await start_by_hand(harness)
    moderator = harness.user("en", first_name="Ada")
    group.add_member(moderator, "administrator")
    first = await send_plain_report(harness.user("en"))
    await deliver_card(harness, clock)
    second = await send_plain_report(harness.user("en"), text="The bridge railing is missing.")
    dispatcher = harness.runner.dispatcher
    await dispatcher.drain_once()
    (card_a,) = copies(group, first)
    (card_b,) = copies(group, second)
    async with harness.db.read() as session:
        b = await session.scalar(select(Report).where(Report.reference == second))
    assert b is not None
    query = await moderator.send_callback(card_button(b.id, "rj"), message=card_a)
    await moderator.wait_for_callback_answer(query, timeout=10)
    await until(harness, lambda: "spam" in card_b.buttons)  # the menu opens on B's own card
    # The moderator's presses are handled in order: once the next is answered, the forged one
    # is done with.
    query = await moderator.press_button("◀️ Back", message=card_b)
    await moderator.wait_for_callback_answer(query, timeout=10)
    assert "✅ Approve" in card_a.buttons and "out of date" not in text_of(card_a)
    async with harness.db.read() as session:
        where = await session.get(ModerationCard, b.id)
    assert where is not None and where.message_id == card_b.message_id
