"""Every way a citizen can go wrong gets a polite answer, and nothing is lost or half-written."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.catalog.deeplinks import commitment_payload
from emulator import SimulatedUser
from storage.models import Citizen, Draft, Report
from tests.support.conversation import expect, has_metadata, jpeg_with_gps, png_image, text_of
from tests.support.flows import open_report
from tests.support.harness import Harness


async def reach_photos(citizen: SimulatedUser) -> None:
    await open_report(citizen)
    await citizen.send_text("Water stands on the road after every rain.")
    await expect(citizen, "Where is it?")
    await citizen.press_reply_button("➡️ Continue without location")
    await expect(citizen, "Add photos")


async def draft_of(harness: Harness, citizen: SimulatedUser) -> Draft | None:
    async with harness.db.read() as session:
        owner = await session.scalar(select(Citizen).where(Citizen.telegram_user_id == citizen.id))
        return None if owner is None else await session.get(Draft, owner.id)


async def test_nothing_is_stored_before_consent(harness: Harness) -> None:
    citizen = harness.user("en")
    await citizen.send_command("start")
    await expect(citizen, "Welcome", "privacy")
    await citizen.send_text("hello?")
    await expect(citizen, "privacy")
    async with harness.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Citizen)) == 0


async def test_unknown_deep_link_code_offers_the_search(harness: Harness) -> None:
    citizen = harness.user("en")
    await citizen.send_command("start", "c_NO-SUCH-9")
    unknown = await expect(citizen, "I do not know the commitment")
    assert "NO-SUCH-9" in text_of(unknown)
    notice = await expect(citizen, "privacy")
    await citizen.press_button("✅ I agree", message=notice)
    await expect(citizen, "Which commitment is your report about?")


async def test_garbled_payload_and_base64_codes(harness: Harness) -> None:
    citizen = harness.user("en")
    await citizen.send_command("start", "c64_!!!")
    await expect(citizen, "privacy")
    # A code with characters a payload cannot carry travels base64url-encoded.
    payload = commitment_payload("KAD RD/017")
    assert payload.startswith("c64_")
    await citizen.send_command("start", payload)
    unknown = await expect(citizen, "I do not know the commitment")
    assert "KAD RD/017" in text_of(unknown)


async def test_project_command_opens_the_commitment(harness: Harness) -> None:
    citizen = harness.user("en")
    await citizen.send_command("project")
    await expect(citizen, "Send the code after the command")
    await citizen.send_command("project", "kad-hc-004")
    notice = await expect(citizen, "privacy")
    await citizen.press_button("✅ I agree", message=notice)
    kind = await expect(citizen, "What kind of feedback")
    assert "Primary health centre" in text_of(kind)


async def test_text_too_short_or_too_long_is_refused_never_cut(harness: Harness) -> None:
    citizen = harness.user("en")
    await open_report(citizen)
    await citizen.send_text("bad")
    await expect(citizen, "at least 10 characters")
    long_text = " ".join(["Ọ̀nà"] * 402)  # Yoruba with combining marks: 2,009 code points
    assert len(long_text) == 2009
    await citizen.send_text(long_text)
    refusal = await expect(citizen, "a report can hold 2,000")
    assert "2,009" in text_of(refusal)
    draft = await draft_of(harness, citizen)
    assert draft is not None and draft.step == "description" and "text" not in draft.data
    await citizen.send_text(long_text[:1990])
    await expect(citizen, "Where is it?")


async def test_wrong_message_type_gets_a_hint_for_the_step(harness: Harness) -> None:
    citizen = harness.user("en")
    await open_report(citizen)
    await citizen.send_text("The drain is blocked with sand and plastic.")
    await expect(citizen, "Where is it?")
    await citizen.send_sticker()
    hint = await expect(citizen, "Now: share the location")
    assert hint is not None
    await citizen.send_text("next to the market")
    await expect(citizen, "Now: share the location")
    draft = await draft_of(harness, citizen)
    assert draft is not None and draft.step == "location"


async def test_location_outside_region_or_impossible_is_refused(harness: Harness) -> None:
    citizen = harness.user("en")
    await open_report(citizen)
    await citizen.send_text("The drain is blocked with sand and plastic.")
    await expect(citizen, "Where is it?")
    await citizen.send_location(51.5074, -0.1278)  # London, outside the Nigerian box
    refusal = await expect(citizen, "outside the area this service covers")
    assert "📍 Share my location" in refusal.reply_keyboard
    await citizen.send_location(91.0, 7.0)
    await expect(citizen, "not a place on Earth")
    draft = await draft_of(harness, citizen)
    assert draft is not None and draft.step == "location" and "location" not in draft.data
    await citizen.send_venue(10.52, 7.43, "Kawo market", "Kawo, Kaduna")
    await expect(citizen, "Location saved")
    draft = await draft_of(harness, citizen)
    assert draft is not None and draft.data["location"]["lat"] == 10.52


async def test_live_location_is_taken_at_its_first_position(harness: Harness) -> None:
    citizen = harness.user("en")
    await open_report(citizen)
    await citizen.send_text("The bridge rail is broken on the east side.")
    await expect(citizen, "Where is it?")
    await citizen.send_location(10.56, 7.43, live_period=900)  # by the road: no question
    await expect(citizen, "Add photos")
    await citizen.update_live_location(10.60, 7.50)
    await citizen.press_button("➡️ Skip photos")
    await expect(citizen, "Your report")
    draft = await draft_of(harness, citizen)
    assert draft is not None
    assert (draft.data["location"]["lat"], draft.data["location"]["lon"]) == (10.56, 7.43)


async def test_photos_limits_files_and_metadata(harness: Harness) -> None:
    citizen = harness.user("en")
    await reach_photos(citizen)
    await citizen.send_document(
        b"%PDF-1.4 not an image at all", file_name="photo.jpg", mime_type="image/jpeg"
    )
    await expect(citizen, "I can only take photos")
    await citizen.send_document(b"just text", file_name="notes.txt", mime_type="text/plain")
    await expect(citizen, "I can only take photos")
    await citizen.send_document(jpeg_with_gps(), file_name="IMG_0001.JPG", mime_type="image/jpeg")
    await expect(citizen, "1 photo added")
    for shade in range(4):
        await citizen.send_photo(png_image((shade * 40, 10, 10)))
        await expect(citizen, f"{shade + 2} photos added")
    await citizen.send_photo(png_image((250, 250, 250)))
    await expect(citizen, "can hold 5 photos")
    draft = await draft_of(harness, citizen)
    assert draft is not None and len(draft.data["photos"]) == 5
    await citizen.press_button("✅ Done with photos")
    await expect(citizen, "Your report")
    await citizen.press_button("✅ Send report")
    await expect(citizen, "Reference:")
    async with harness.db.read() as session:
        from storage.models import MediaFile, ReportPhoto

        photos = (await session.scalars(select(ReportPhoto).order_by(ReportPhoto.position))).all()
        assert len(photos) == 5
        first = await session.get(MediaFile, photos[0].content_sha256)
        assert first is not None and not has_metadata(first.content)


async def test_cancel_and_old_buttons(harness: Harness) -> None:
    citizen = harness.user("en")
    kind_buttons = await open_report(citizen)
    await citizen.send_command("cancel")
    await expect(citizen, "Your report was cancelled")
    assert await draft_of(harness, citizen) is None
    await citizen.send_callback(kind_buttons["⚠️ A problem"], message=None)
    await expect(citizen, "no report in progress")
    await citizen.send_command("cancel")
    await expect(citizen, "There is no report in progress")


async def test_stale_and_forged_buttons_change_nothing(harness: Harness) -> None:
    alice, mallory = harness.user("en"), harness.user("en")
    kind_buttons = await open_report(alice)
    before = await draft_of(harness, alice)
    assert before is not None
    # Alice's old kind button, pressed again after she moved on: out of date.
    await alice.send_callback(kind_buttons["👏 Praise"], message=None)
    await expect(alice, "out of date")
    # Mallory replays Alice's button data: it can only ever address Mallory's own draft.
    await mallory.send_callback(kind_buttons["👏 Praise"], message=None)
    await expect(mallory, "privacy")
    await mallory.send_callback("d:999:k:nonsense", message=None)
    await mallory.send_callback("consent-or-what", message=None)
    after = await draft_of(harness, alice)
    assert after is not None
    assert (after.step, after.version, after.data) == (before.step, before.version, before.data)
    assert mallory.callback_answers, "every button press is answered"


async def test_forged_kind_value_is_refused(harness: Harness) -> None:
    citizen = harness.user("en")
    await citizen.send_command("start", "c_KAD-RD-017")
    notice = await expect(citizen, "privacy")
    await citizen.press_button("✅ I agree", message=notice)
    kind_message = await expect(citizen, "What kind of feedback")
    version = kind_message.callback_data("⚠️ A problem").split(":")[1]
    await citizen.send_callback(f"d:{version}:k:bribe", message=kind_message)
    await expect(citizen, "no longer valid")
    draft = await draft_of(harness, citizen)
    assert draft is not None and draft.step == "kind"


async def test_unknown_command_and_help(harness: Harness) -> None:
    citizen = harness.user("en")
    await citizen.send_text("/frobnicate")
    listing = await expect(citizen, "I do not know that command")
    assert "/report" in text_of(listing) and "/status" in text_of(listing)
    await open_report(citizen)
    await citizen.send_command("help")
    await expect(citizen, "Now: describe what you see")


async def test_status_errors(harness: Harness) -> None:
    citizen = harness.user("en")
    await citizen.send_command("status")
    await expect(citizen, "Send the reference after the command")
    await citizen.send_command("status", "hello<b>")
    bad = await expect(citizen, "is not a report reference")
    assert "hello<b>" in text_of(bad)
    await citizen.send_command("status", "CW-7K3F9Q")
    await expect(citizen, "None of your reports has the reference CW-7K3F9Q")
    await citizen.send_command("myreports")
    await expect(citizen, "You have not sent any report yet")


async def test_someone_elses_reference_is_not_shown(harness: Harness) -> None:
    author, other = harness.user("en"), harness.user("en")
    await reach_photos(author)
    await author.press_button("➡️ Skip photos")
    await expect(author, "Your report")
    await author.press_button("✅ Send report")
    received = await expect(author, "Reference:")
    from tests.support.conversation import reference_in

    reference = reference_in(received)
    await other.send_command("status", reference)
    await expect(other, "None of your reports has the reference")
    async with harness.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Report)) == 1


async def test_a_photo_telegram_will_not_hand_over_is_asked_for_again(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    citizen = harness.user("en")
    await reach_photos(citizen)
    # Telegram's file service fails every time, past any retry: the citizen is asked again.
    harness.emulator.faults.set(rate=1.0, kinds={"5xx"}, methods={"getFile"})
    with caplog.at_level("WARNING"):
        await citizen.send_photo(png_image())
        await expect(citizen, "I could not download this photo. Please send it again.", timeout=20)
    assert not [r for r in caplog.records if r.exc_info], "an expected fault logged a traceback"
    assert any("could not download a photo" in r.getMessage() for r in caplog.records)
    draft = await draft_of(harness, citizen)
    assert draft is not None and not draft.data.get("photos")
    harness.emulator.faults.clear()
    await citizen.send_photo(png_image())
    await expect(citizen, "1 photo added")
