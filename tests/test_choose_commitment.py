"""Finding the commitment: words in any language, nearby, by theme, and long lists paged."""

from __future__ import annotations

from emulator import SimulatedUser
from tests.support.catalog import SeedCommitment, seed_catalog
from tests.support.conversation import expect, text_of
from tests.support.harness import Harness


async def at_commitment_step(citizen: SimulatedUser) -> None:
    await citizen.send_command("report")
    notice = await expect(citizen, "privacy")
    await citizen.press_button("✅ I agree", message=notice)
    prompt = await expect(citizen, "Which commitment is your report about?")
    assert "📍 Commitments near me" in prompt.reply_keyboard


async def test_search_is_case_and_accent_insensitive_in_every_language(harness: Harness) -> None:
    citizen = harness.user("en")
    await at_commitment_step(citizen)
    await citizen.send_text("GYARAN titin")  # Hausa title
    found = await expect(citizen, "I found 1 commitment")
    assert "KAD-RD-017" in text_of(found)
    await citizen.send_text("santé")  # French title, typed with an accent
    found = await expect(citizen, "I found 1 commitment")
    assert "KAD-HC-004" in text_of(found)
    await citizen.send_text("SANTE")
    await expect(citizen, "I found 1 commitment")
    await citizen.send_text("kad-sc-021")
    await expect(citizen, "KAD-SC-021")
    await citizen.send_text("100% <script>")
    nothing = await expect(citizen, "I found no commitment matching")
    assert "100% <script>" in text_of(nothing)


async def test_nearby_lists_commitments_within_their_radius_nearest_first(harness: Harness) -> None:
    citizen = harness.user("en")
    await at_commitment_step(citizen)
    await citizen.press_reply_button("📍 Commitments near me", location=(10.5725, 7.4405))
    near = await expect(citizen, "I found 1 commitment")
    assert "KAD-RD-017" in text_of(near) and " m)" in text_of(near)
    await citizen.press_button(next(label for label in near.buttons if "KAD-RD-017" in label))
    await expect(citizen, "What kind of feedback")


async def test_nothing_nearby_and_outside_region(harness: Harness) -> None:
    citizen = harness.user("en")
    await at_commitment_step(citizen)
    await citizen.send_location(6.52, 3.37)  # Lagos: inside the region, no commitment near
    await expect(citizen, "I found no commitment near this location")
    await citizen.send_location(48.85, 2.35)
    await expect(citizen, "outside the area this service covers")


async def test_browse_by_theme(harness: Harness) -> None:
    citizen = harness.user("en")
    await at_commitment_step(citizen)
    await citizen.send_text("zzz")
    await expect(citizen, "I found no commitment matching")
    await citizen.press_button("🗂 Browse by theme")
    themes = await expect(citizen, "Choose a theme")
    assert {"Roads", "Health", "Fiscal transparency"} <= set(themes.buttons)
    await citizen.press_button("Fiscal transparency")
    listed = await expect(citizen, "I found 2 commitments")
    assert "NG-FT-001" in text_of(listed) and "NG-BO-002" in text_of(listed)
    await citizen.press_button(next(b for b in listed.buttons if "NG-BO-002" in b))
    kind = await expect(citizen, "What kind of feedback")
    assert "beneficial owners" in text_of(kind)


async def test_long_result_lists_are_paged(harness: Harness) -> None:
    boreholes = tuple(
        SeedCommitment(f"KAD-BH-{n:03d}", f"Borehole number {n}", "Water") for n in range(1, 13)
    )
    await seed_catalog(harness.db, boreholes, agency_code="kaduna-water")
    citizen = harness.user("en")
    await at_commitment_step(citizen)
    await citizen.send_text("borehole")
    first = await expect(citizen, "I found 13 commitments")  # 12 + the Zaria water scheme
    assert "Page 1 of 3" in text_of(first)
    await citizen.press_button("More ▶️", message=first)
    second = await expect(citizen, "Page 2 of 3")
    assert second.message_id == first.message_id  # the same message, edited in place
    assert "◀️ Back" in second.buttons


async def test_nearby_finds_commitments_across_the_antimeridian(database) -> None:
    from bot.catalog import commitments as catalog
    from bot.core.services import Services
    from bot.core.settings import Settings

    fiji = (SeedCommitment("FJ-RD-001", "Taveuni coastal road", "Roads", -16.80, 179.9995, 2000),)
    await seed_catalog(database, fiji, agency_code="fiji-works")
    services = Services(settings=Settings(database_url="unused"), db=database)
    page = await catalog.nearby(services, -16.80, -179.9995, 0, "en")  # 100 m away, across
    assert [choice.code for choice in page.items] == ["FJ-RD-001"]
    assert page.items[0].distance_m is not None and page.items[0].distance_m < 200
