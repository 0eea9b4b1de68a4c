"""The citizen's report flow, polished where it was tried hard (issue 11, items 11 to 14): the
theme button with the commitment prompt, "add my voice" that tells the truth, blank and
word-less messages answered, and a draft that is not thrown away without asking."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from emulator import SimulatedUser
from storage.models import Citizen, Commitment, Draft
from tests.support.conversation import expect, text_of
from tests.support.harness import Harness


async def draft_of(harness: Harness, citizen: SimulatedUser) -> Draft | None:
    async with harness.db.read() as session:
        owner = await session.scalar(select(Citizen).where(Citizen.telegram_user_id == citizen.id))
        assert owner is not None
        return await session.get(Draft, owner.id)


async def draft_data(harness: Harness, citizen: SimulatedUser) -> dict[str, Any]:
    draft = await draft_of(harness, citizen)
    assert draft is not None
    return dict(draft.data)


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
