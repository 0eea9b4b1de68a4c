"""The first steps every report takes, played the same way by every test that needs them."""

from __future__ import annotations

from bot.deeplinks import commitment_payload
from bot.emulator import SimulatedUser
from tests.support.conversation import expect


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
