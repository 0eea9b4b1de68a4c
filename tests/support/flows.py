"""The first steps every report takes, played the same way by every test that needs them."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from bot.catalog.deeplinks import commitment_payload
from emulator import SimulatedUser
from storage.db import Database
from storage.models import Citizen, Report
from tests.support.conversation import expect, reference_in


async def open_report(
    citizen: SimulatedUser, code: str = "KAD-RD-017", kind: str = "⚠️ A problem"
) -> dict[str, str]:
    """Deep link, privacy consent, kind: the citizen is asked to describe. Returns the kind
    buttons' callback data as drawn, so a test can replay them later."""
    await citizen.send_command("start", commitment_payload(code))
    await citizen.press_button("✅ I agree", message=await expect(citizen, "privacy"))
    kind_message = await expect(citizen, "What kind of feedback")
    drawn = {label: kind_message.callback_data(label) for label in kind_message.buttons}
    await citizen.press_button(kind)
    await expect(citizen, "Describe what you see")
    return drawn


async def describe_another(citizen: SimulatedUser, text: str, code: str = "KAD-RD-017") -> None:
    """A citizen who already agreed to the privacy notice starts another report and describes
    it: they are asked where it is."""
    await citizen.send_command("start", commitment_payload(code))
    await expect(citizen, "What kind of feedback")
    await citizen.press_button("⚠️ A problem")
    await expect(citizen, "Describe what you see")
    await citizen.send_text(text)
    await expect(citizen, "Where is it?")


async def reach_summary(
    citizen: SimulatedUser,
    text: str = "The streetlights on the new road never worked.",
    code: str = "KAD-RD-017",
    kind: str = "⚠️ A problem",
) -> None:
    """A report with a text, no location and no photos, up to its summary."""
    await open_report(citizen, code, kind)
    await citizen.send_text(text)
    await expect(citizen, "Where is it?")
    await citizen.press_reply_button("➡️ Continue without location")
    await expect(citizen, "Add photos")
    await citizen.press_button("➡️ Skip photos")
    await expect(citizen, "Your report")


async def send_plain_report(citizen: SimulatedUser, **details: str) -> str:
    """reach_summary, then send; returns the reference."""
    await reach_summary(citizen, **details)
    await citizen.press_button("✅ Send report")
    return reference_in(await expect(citizen, "Reference:"))


async def send_from_summary(db: Database, citizen: SimulatedUser) -> Report:
    """At the summary: press send; returns the report as stored."""
    await citizen.press_button("✅ Send report")
    reference = reference_in(await expect(citizen, "Reference:"))
    async with db.read() as session:
        report = await session.scalar(select(Report).where(Report.reference == reference))
    assert report is not None
    return report


async def add_voice(
    citizen: SimulatedUser,
    reference: str,
    location: tuple[float, float],
    text: str = "Ruwa yana zuba a kan hanya kowace rana.",
) -> None:
    """Start a report next to `reference` and support that one instead, when it is offered."""
    await open_report(citizen)
    await citizen.send_text(text)
    await expect(citizen, "Where is it?")
    await citizen.send_location(*location)
    offer = await expect(citizen, "Someone already reported this here", timeout=10)
    await citizen.press_button(f"👍 Add my voice to {reference}", message=offer)
    await expect(citizen, "Your voice was added")


async def set_language(db: Database, telegram_user_id: int, language: str) -> None:
    """As if the citizen had chosen `language` with /language."""
    async with db.write() as session:
        row = await session.scalar(
            select(Citizen).where(Citizen.telegram_user_id == telegram_user_id)
        )
        assert row is not None
        row.language = language


async def photos_then_send(citizen: SimulatedUser, photos: Sequence[bytes] = ()) -> str:
    """At "Add photos": add these (one photo, or an album), or skip; then send. Returns the
    reference."""
    if photos:
        if len(photos) > 1:
            await citizen.send_album(list(photos))
        else:
            await citizen.send_photo(photos[0])
        await expect(citizen, "added")
        await citizen.press_button("✅ Done with photos")
    else:
        await citizen.press_button("➡️ Skip photos")
    await expect(citizen, "Your report")
    await citizen.press_button("✅ Send report")
    return reference_in(await expect(citizen, "Reference:"))
