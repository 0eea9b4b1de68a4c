"""The citizen's report flow, polished where it was tried hard (issue 11, items 11 to 14): the
theme button with the commitment prompt, "add my voice" that tells the truth, blank and
word-less messages answered, and a draft that is not thrown away without asking."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select, update

from bot.catalog.deeplinks import commitment_payload
from bot.reports import moderation
from bot.reports.lifecycle import Actor, ActorKind
from emulator import SimulatedUser
from storage.models import Commitment, Report, ReportEvent, ReportSupporter
from tests.support.conversation import expect, png_image, reference_in, text_of
from tests.support.flows import add_voice, describe_another, open_report, reach_summary
from tests.support.harness import Harness
from tests.test_report_errors import draft_of, reach_photos


async def draft_data(harness: Harness, citizen: SimulatedUser) -> dict[str, Any]:
    draft = await draft_of(harness, citizen)
    assert draft is not None
    return dict(draft.data)


async def photos_in_draft(harness: Harness, citizen: SimulatedUser) -> int:
    return len((await draft_data(harness, citizen)).get("photos", []))


async def at_commitment_step(citizen: SimulatedUser) -> Any:
    await citizen.send_command("report")
    await citizen.press_button("✅ I agree", message=await expect(citizen, "privacy"))
    return await expect(citizen, "Which commitment is your report about?")


# --- 11: the theme button comes with the commitment prompt ----------------------------------------


async def test_the_commitment_prompt_offers_the_themes_it_mentions(harness: Harness) -> None:
    citizen = harness.user("en")
    prompt = await at_commitment_step(citizen)
    assert "browse them by theme" in text_of(prompt)
    assert prompt.reply_keyboard == ["📍 Commitments near me", "🗂 Browse by theme"]
    await citizen.press_reply_button("🗂 Browse by theme")
    themes = await expect(citizen, "Choose a theme")
    assert {"Roads", "Health", "Fiscal transparency"} <= set(themes.buttons)
    assert (await draft_of(harness, citizen)).step == "commitment"  # type: ignore[union-attr]
    await citizen.press_button("Roads", message=themes)
    listed = await expect(citizen, "I found")
    assert "KAD-RD-017" in text_of(listed)
    assert (await draft_data(harness, citizen))["search"] == {"mode": "theme", "theme": "Roads"}
    await citizen.press_button(next(b for b in listed.buttons if "KAD-RD-017" in b))
    await expect(citizen, "What kind of feedback")
    draft = await draft_of(harness, citizen)
    assert draft is not None and draft.step == "kind"
    async with harness.db.read() as session:
        road = await session.scalar(select(Commitment).where(Commitment.code == "KAD-RD-017"))
    assert road is not None and draft.data["commitment_id"] == road.id


async def test_a_catalog_without_themes_promises_none(harness: Harness) -> None:
    async with harness.db.write() as session:
        await session.execute(update(Commitment).values(theme=None))
    citizen = harness.user("en")
    prompt = await at_commitment_step(citizen)
    assert "theme" not in text_of(prompt)
    assert prompt.reply_keyboard == ["📍 Commitments near me"]


# --- 13: a blank message is answered; a description needs words ------------------------------------

BLANKS = ("   ", " \n\t ", "\u200b\u3000", "\u3164", "\u2800\u2800\u2800\u2800\u2800\u2800")


async def test_a_blank_message_is_answered_with_what_the_step_expects(harness: Harness) -> None:
    citizen = harness.user("en")
    await at_commitment_step(citizen)
    for blank in BLANKS:
        await citizen.send_text(blank)
        await expect(citizen, "Now: choose the commitment")
        await expect(citizen, "Which commitment is your report about?")
    assert "search" not in await draft_data(harness, citizen)  # nothing was searched for
    await citizen.send_text("KAD-RD-017")
    found = await expect(citizen, "I found 1 commitment")
    await citizen.press_button(found.buttons[0], message=found)
    await expect(citizen, "What kind of feedback")
    await citizen.press_button("⚠️ A problem")
    await expect(citizen, "Describe what you see")
    for blank in BLANKS:
        await citizen.send_text(blank)
        await expect(citizen, "Now: describe what you see")
        await expect(citizen, "Describe what you see")
    draft = await draft_of(harness, citizen)
    assert draft is not None and draft.step == "description" and "text" not in draft.data


async def test_a_blank_message_without_a_report_in_progress_is_answered(harness: Harness) -> None:
    citizen = harness.user("en")
    await at_commitment_step(citizen)
    await citizen.send_command("cancel")
    await expect(citizen, "cancelled")
    await citizen.send_text("\u3164")
    await expect(citizen, "You have no report in progress. Send /report to start one.")


async def test_a_description_needs_words_in_some_script(harness: Harness) -> None:
    citizen = harness.user("en")
    await open_report(citizen)
    for wordless in ("😡😡😡😡😡😡😡😡😡😡😡😡", "!!!!!!!!!!!!???", "🚧 ➡️ 🕳️ 💧💧💧 ‼️", "1️⃣2️⃣3️⃣4️⃣5️⃣"):
        await citizen.send_text(wordless)
        await expect(citizen, "Please describe it in a few words")
        draft = await draft_of(harness, citizen)
        assert draft is not None and draft.step == "description" and "text" not in draft.data
    # Words in any script count, with emoji among them, and so do digits.
    await citizen.send_text("ሰላም መንገዱ ተበላሽቷል 🚧")
    await expect(citizen, "Where is it?")
    assert (await draft_data(harness, citizen))["text"] == "ሰላም መንገዱ ተበላሽቷል 🚧"
    other = harness.user("en")
    await open_report(other)
    await other.send_text("٣ حفر 😡😡😡😡")
    await expect(other, "Where is it?")
    assert (await draft_data(harness, other))["text"] == "٣ حفر 😡😡😡😡"


# --- 14: nothing thrown away without asking; photos counted and refused truthfully -----------------


async def test_cancel_asks_before_throwing_photos_away_and_no_keeps_them(harness: Harness) -> None:
    citizen = harness.user("en")
    await reach_photos(citizen)
    await citizen.send_album([png_image((10, 20, 30)), png_image((40, 50, 60))])
    await expect(citizen, "2 photos added")
    await citizen.send_command("cancel")
    question = await expect(citizen, "Discard this report?")
    assert "your description" in text_of(question) and "2 photos" in text_of(question)
    assert question.buttons == ["Yes, discard", "No, keep going"]
    await citizen.press_button("No, keep going", message=question)
    await expect(citizen, "OK, your report is kept.", "2 photos added")
    draft = await draft_of(harness, citizen)
    assert draft is not None and draft.step == "photos" and len(draft.data["photos"]) == 2
    assert draft.data["text"] == "Water stands on the road after every rain."
    await citizen.send_command("cancel")
    question = await expect(citizen, "Discard this report?")
    await citizen.press_button("Yes, discard", message=question)
    await expect(citizen, "Your report was cancelled; nothing was sent.")
    assert await draft_of(harness, citizen) is None


async def test_the_summarys_cancel_asks_too(harness: Harness) -> None:
    citizen = harness.user("en")
    await reach_summary(citizen)
    await citizen.press_button("✖️ Cancel")
    question = await expect(citizen, "Discard this report?")
    assert "your description" in text_of(question) and "photo" not in text_of(question)
    await citizen.press_button("No, keep going", message=question)
    summary = await expect(citizen, "OK, your report is kept.", "Your report")
    assert "✅ Send report" in summary.buttons
    draft = await draft_of(harness, citizen)
    assert draft is not None and draft.step == "summary"
    asked = next(m for m in citizen.messages if m.message_id == question.message_id)
    assert asked.buttons == []  # answered: its buttons are gone


async def test_a_discard_question_outrun_by_a_new_photo_keeps_the_draft(harness: Harness) -> None:
    citizen = harness.user("en")
    await reach_photos(citizen)
    await citizen.send_command("cancel")
    question = await expect(citizen, "Discard this report?")
    await citizen.send_photo(png_image((1, 2, 3)))
    await expect(citizen, "1 photo added")
    await citizen.press_button("Yes, discard", message=question)
    await expect(citizen, "That button is out of date")
    assert await photos_in_draft(harness, citizen) == 1


async def test_cancel_without_anything_to_lose_does_not_ask(harness: Harness) -> None:
    citizen = harness.user("en")
    await open_report(citizen)
    await citizen.send_command("cancel")
    await expect(citizen, "Your report was cancelled; nothing was sent.")
    assert await draft_of(harness, citizen) is None


async def test_the_same_photo_twice_is_refused(harness: Harness) -> None:
    citizen = harness.user("en")
    await reach_photos(citizen)
    photo = png_image((90, 90, 90))
    await citizen.send_photo(photo)
    await expect(citizen, "1 photo added")
    await citizen.send_photo(photo)
    await expect(citizen, "You already added this photo.")
    # The same picture sent as a file: the same once cleaned, refused too.
    await citizen.send_document(photo, "same.png", "image/png")
    await expect(citizen, "You already added this photo.")
    await citizen.send_photo(png_image((91, 90, 90)))
    await expect(citizen, "2 photos added")
    assert await photos_in_draft(harness, citizen) == 2


async def test_at_the_photo_limit_the_bot_says_so_and_what_next(harness: Harness) -> None:
    citizen = harness.user("en")
    await reach_photos(citizen)
    for shade in range(4):
        await citizen.send_photo(png_image((shade * 50, 0, 0)))
        await expect(citizen, f"{shade + 1} photo")
    await citizen.send_photo(png_image((0, 0, 250)))
    full = await expect(citizen, "5 photos added")
    assert text_of(full) == (
        "5 photos added: that is as many as a report can hold. "
        "Press «✅ Done with photos» to continue."
    )
    await citizen.send_photo(png_image((0, 250, 0)))
    refused = await expect(citizen, "can hold 5 photos")
    assert "This one was not added" in text_of(refused)
    assert refused.buttons == ["✅ Done with photos"]
    assert await photos_in_draft(harness, citizen) == 5
    await citizen.press_button("✅ Done with photos", message=refused)
    summary = await expect(citizen, "Your report")
    assert "Photos: 5 photos" in text_of(summary)


async def test_no_photos_is_said_in_words(harness: Harness) -> None:
    citizen = harness.user("en")
    await reach_summary(citizen)
    summary = citizen.messages[-1]
    assert "Photos: no photos" in text_of(summary)


# --- 12: "add my voice" tells the truth, and never to a citizen about their own report ---------------

HERE = (10.5731, 7.4412)


async def send_located_report(citizen: SimulatedUser, text: str) -> str:
    """A first report (consent included) at HERE, without photos; returns its reference."""
    await open_report(citizen)
    await citizen.send_text(text)
    await expect(citizen, "Where is it?")
    await citizen.send_location(*HERE)
    await expect(citizen, "Add photos")
    await citizen.press_button("➡️ Skip photos")
    await expect(citizen, "Your report")
    await citizen.press_button("✅ Send report")
    return reference_in(await expect(citizen, "Reference:"))


async def next_report_at_here(citizen: SimulatedUser, text: str) -> Any:
    """A further report at HERE, up to what follows "Location saved"; returns that message."""
    await describe_another(citizen, text)
    await citizen.send_location(*HERE)
    await expect(citizen, "Location saved")
    return await citizen.next_message()


async def voices(harness: Harness, reference: str) -> tuple[int, int]:
    """(supporters, 'supported' events) of the report."""
    async with harness.db.read() as session:
        report = await session.scalar(select(Report).where(Report.reference == reference))
        assert report is not None
        supporters = await session.scalar(
            select(func.count())
            .select_from(ReportSupporter)
            .where(ReportSupporter.report_id == report.id)
        )
        events = await session.scalar(
            select(func.count())
            .select_from(ReportEvent)
            .where(ReportEvent.report_id == report.id, ReportEvent.action == "supported")
        )
    return supporters or 0, events or 0


async def report_id(harness: Harness, reference: str) -> int:
    async with harness.db.read() as session:
        found = await session.scalar(select(Report.id).where(Report.reference == reference))
    assert found is not None
    return found


async def assert_kept(harness: Harness, citizen: SimulatedUser, text: str) -> None:
    """The refusal is followed by the photos prompt, and the draft is as the citizen left it."""
    await expect(citizen, "Add photos")
    draft = await draft_of(harness, citizen)
    assert draft is not None and draft.step == "photos" and draft.data["text"] == text


async def test_a_citizen_is_never_offered_their_own_report(harness: Harness) -> None:
    amina, bello = harness.user("en"), harness.user("en")
    first = await send_located_report(amina, "The culvert by the Kawo bridge is cracked.")
    after = await next_report_at_here(amina, "Water now runs over the road at the culvert.")
    assert "Someone already reported this here" not in text_of(after)
    assert text_of(after).startswith("Add photos")
    # Someone else at the same spot is offered it.
    await open_report(bello)
    await bello.send_text("The culvert is broken and the road floods.")
    await expect(bello, "Where is it?")
    await bello.send_location(*HERE)
    offer = await expect(bello, "Someone already reported this here")
    assert first in text_of(offer)
    assert await voices(harness, first) == (0, 0)


async def test_add_my_voice_to_my_own_report_says_so_and_keeps_the_draft(harness: Harness) -> None:
    amina = harness.user("en")
    first = await send_located_report(amina, "The culvert by the Kawo bridge is cracked.")
    text = "Water now runs over the road at the culvert."
    prompt = await next_report_at_here(amina, text)
    version = prompt.callback_data("➡️ Skip photos").split(":")[1]
    # An old offer, or a forged press: "add my voice" to her own report.
    await amina.send_callback(f"d:{version}:sp:{await report_id(harness, first)}", message=prompt)
    refused = await expect(amina, "is your own report")
    assert first in text_of(refused) and "Your new report is kept" in text_of(refused)
    await assert_kept(harness, amina, text)
    assert await voices(harness, first) == (0, 0)


async def test_a_supported_report_is_not_offered_again_and_a_second_voice_says_already(
    harness: Harness,
) -> None:
    amina, bello = harness.user("en"), harness.user("en")
    first = await send_located_report(amina, "The culvert by the Kawo bridge is cracked.")
    await add_voice(bello, first, HERE)
    assert await voices(harness, first) == (1, 1)
    text = "The water is knee-deep at the culvert today."
    # A report she already supports is not offered again ...
    prompt = await next_report_at_here(bello, text)
    assert "Someone already reported this here" not in text_of(prompt)
    assert text_of(prompt).startswith("Add photos")
    # ... and an old offer, or a forged press, says so and keeps her draft.
    version = prompt.callback_data("➡️ Skip photos").split(":")[1]
    await bello.send_callback(f"d:{version}:sp:{await report_id(harness, first)}", message=prompt)
    refused = await expect(bello, "You already support")
    assert "Your new report is kept" in text_of(refused)
    await assert_kept(harness, bello, text)
    assert await voices(harness, first) == (1, 1)


async def test_add_my_voice_to_a_closed_or_missing_report_says_so(harness: Harness) -> None:
    amina, bello = harness.user("en"), harness.user("en")
    first = await send_located_report(amina, "The culvert by the Kawo bridge is cracked.")
    await open_report(bello)
    text = "The culvert is broken and the road floods."
    await bello.send_text(text)
    await expect(bello, "Where is it?")
    await bello.send_location(*HERE)
    offer = await expect(bello, "Someone already reported this here")
    async with harness.db.write() as session:  # closed meanwhile, as if a moderator rejected it
        await session.execute(
            update(Report).where(Report.reference == first).values(status="rejected")
        )
    await bello.press_button(f"👍 Add my voice to {first}", message=offer)
    refused = await expect(bello, "is no longer open")
    assert "Your new report is kept" in text_of(refused)
    await assert_kept(harness, bello, text)
    assert await voices(harness, first) == (0, 0)
    version = offer.callback_data("➡️ Mine is different").split(":")[1]
    await bello.send_callback(f"d:{version}:sp:999999", message=offer)  # erased meanwhile
    await expect(bello, "That report is no longer there")
    await assert_kept(harness, bello, text)


@pytest.mark.both_databases
async def test_myreports_lists_the_reports_a_citizen_supports(harness: Harness) -> None:
    amina, bello = harness.user("en"), harness.user("en")
    first = await send_located_report(amina, "The culvert by the Kawo bridge is cracked.")
    await add_voice(bello, first, HERE)
    await bello.send_command("myreports")
    listing = await expect(bello, "You support 1 report:")
    assert first in text_of(listing)
    assert "received, waiting for review · 👍 supported by you since" in text_of(listing)
    await bello.send_command("start", commitment_payload("KAD-RD-017"))
    await bello.press_button("⚠️ A problem", message=await expect(bello, "What kind of feedback"))
    await bello.send_text("And the streetlights on the bridge are out.")
    await expect(bello, "Where is it?")
    await bello.press_reply_button("➡️ Continue without location")
    await bello.press_button("➡️ Skip photos", message=await expect(bello, "Add photos"))
    await bello.press_button("✅ Send report", message=await expect(bello, "Your report"))
    own = reference_in(await expect(bello, "Reference:"))
    await bello.send_command("myreports")
    listing = await expect(bello, "You have sent 1 report.\nYou also support 1 report:")
    assert own in text_of(listing) and first in text_of(listing)
    assert text_of(listing).index(own) < text_of(listing).index(first)  # newest first
    # The author's own list is unchanged.
    await amina.send_command("myreports")
    mine = await expect(amina, "You have sent 1 report:")
    assert first in text_of(mine) and "supported by you" not in text_of(mine)


async def test_status_of_a_supported_report_shows_what_the_public_may_see(
    harness: Harness,
) -> None:
    amina = harness.user("en", first_name="Amina", username="amina_kawo")
    bello, stranger = harness.user("en"), harness.user("en")
    text = "The culvert by the Kawo bridge is cracked."
    first = await send_located_report(amina, text)
    await add_voice(bello, first, HERE)
    await bello.send_command("status", first)
    waiting = text_of(await expect(bello, first, "supported by you since"))
    assert "waiting for review" in waiting
    # Not yet approved: not the author's words; never her exact point, nor who she is.
    assert text not in waiting and "10.5731" not in waiting
    assert "Amina" not in waiting and "amina_kawo" not in waiting
    moderator = Actor(ActorKind.MODERATOR, 99, "Ada")
    await moderation.approve(harness.services, await report_id(harness, first), moderator)
    await bello.send_command("status", first)
    published = text_of(await expect(bello, first, "supported by you since"))
    assert text in published and "10.5731" not in published
    # Someone who neither wrote nor supports it learns nothing.
    await stranger.send_command("status", first)
    await expect(stranger, "None of your reports has the reference")
