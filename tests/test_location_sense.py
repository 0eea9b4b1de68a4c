"""Location sense: a location far outside the chosen commitment's area is kept only after the
citizen confirms it, and a location outside REGION_BOUNDS is refused in words, not degrees."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
from sqlalchemy import select

from bot.core.settings import RegionBounds
from bot.i18n.translate import gettext, use_locale
from emulator import BotMessage, SimulatedUser
from storage.models import Citizen, Draft
from tests.support.conversation import expect, text_of
from tests.support.flows import open_report, send_from_summary, set_language
from tests.support.harness import Harness

ROAD = (10.5720, 7.4400)  # KAD-RD-017, "Kawo–Rigasa road rehabilitation", radius 1.5 km
BY_THE_ROAD = (10.5731, 7.4412)
FOUR_KM_AWAY = (10.6000, 7.4600)  # past the road's radius, within the margin
NAIROBI = (-1.2864, 36.8172)
LAGOS = (6.5244, 3.3792)
KADUNA_BOX = RegionBounds(9.0, 6.0, 11.5, 9.0)

pytestmark = pytest.mark.both_databases

QUESTION = "Is that right?"
YES, NO = "Yes, it is here", "No, send another location"


@pytest.fixture
def harness_overrides() -> dict[str, Any]:
    # The whole world: far locations reach the question, not the region's refusal.
    return {"region_bounds": RegionBounds()}


def km_between(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle kilometres by the spherical law of cosines (not the bot's haversine)."""
    p1, p2 = math.radians(a[0]), math.radians(b[0])
    dl = math.radians(b[1] - a[1])
    cos_angle = math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(dl)
    return 6_371.0088 * math.acos(min(1.0, cos_angle))


def in_locale(locale: str, msgid: str) -> str:
    with use_locale(locale):
        return gettext(msgid)


async def draft_of(harness: Harness, citizen: SimulatedUser) -> Draft:
    async with harness.db.read() as session:
        owner = await session.scalar(select(Citizen).where(Citizen.telegram_user_id == citizen.id))
        assert owner is not None
        draft = await session.get(Draft, owner.id)
    assert draft is not None
    return draft


def as_now(citizen: SimulatedUser, message: BotMessage) -> BotMessage:
    """The message as the chat shows it now (after the bot's edits)."""
    return next(m for m in citizen.messages if m.message_id == message.message_id)


async def at_location_step(citizen: SimulatedUser, code: str = "KAD-RD-017") -> None:
    await open_report(citizen, code)
    await citizen.send_text("The drainage along the road is blocked with sand.")
    await expect(citizen, "Where is it?")


async def ask_far(citizen: SimulatedUser, where: tuple[float, float] = NAIROBI) -> BotMessage:
    await citizen.send_location(*where)
    return await expect(citizen, QUESTION)


async def taken_at_once(citizen: SimulatedUser, where: tuple[float, float]) -> None:
    """The location is saved without a question, and the photos are asked for."""
    await citizen.send_location(*where)
    saved = await expect(citizen, "📍 Location saved.")
    photos = await expect(citizen, "Add photos")
    assert QUESTION not in text_of(saved) + text_of(photos)


async def change_commitment(citizen: SimulatedUser, code: str) -> None:
    """From the summary, another commitment found by its code."""
    await citizen.press_button("✏️ Commitment")
    await expect(citizen, "Which commitment")
    await citizen.send_text(code)
    found = await expect(citizen, "I found 1 commitment")
    await citizen.press_button(found.buttons[0], message=found)


async def test_a_location_in_or_near_the_area_goes_straight_on(harness: Harness) -> None:
    for where in (BY_THE_ROAD, FOUR_KM_AWAY):
        citizen = harness.user("en")
        await at_location_step(citizen)
        await taken_at_once(citizen, where)
        draft = await draft_of(harness, citizen)
        assert draft.step == "photos"
        assert (draft.data["location"]["lat"], draft.data["location"]["lon"]) == where


async def test_far_location_asks_with_distance_and_title_then_yes_keeps_it(
    harness: Harness,
) -> None:
    citizen = harness.user("en")
    await at_location_step(citizen)
    question = await ask_far(citizen)
    km = round(km_between(ROAD, NAIROBI))
    assert km == 3_507
    assert text_of(question) == (
        f"📍 This location is {km:,} km from Kawo–Rigasa road rehabilitation. {QUESTION}"
    )
    assert question.buttons == [YES, NO]
    draft = await draft_of(harness, citizen)
    assert draft.step == "location" and "location" not in draft.data  # not taken yet

    await citizen.press_button(YES, message=question)
    await expect(citizen, "📍 Location saved.")
    await expect(citizen, "Add photos")
    assert as_now(citizen, question).buttons == []  # the question is answered
    await citizen.press_button("➡️ Skip photos")
    summary = await expect(citizen, "Your report")
    assert "-1.28640, 36.81720" in text_of(summary)
    report = await send_from_summary(harness.db, citizen)
    assert (report.latitude, report.longitude) == NAIROBI


@pytest.mark.parametrize(
    ("locale", "title", "distance"),
    [
        # French groups thousands with a narrow no-break space, and one before the unit too.
        ("fr", "Centre de santé primaire, Ungwan Rimi", "3\u202f505\u202fkm"),
        # Arabic (Western digits, as everywhere in the bot): no English title of its own.
        ("ar", "Primary health centre, Ungwan Rimi", "3,505 كم"),
    ],
)
async def test_the_question_speaks_the_citizens_language(
    harness: Harness, locale: str, title: str, distance: str
) -> None:
    assert round(km_between((10.54, 7.45), NAIROBI)) == 3_505
    citizen = harness.user("en")
    await at_location_step(citizen, "KAD-HC-004")
    await set_language(harness.db, citizen.id, locale)
    await citizen.send_location(*NAIROBI)
    question = await citizen.next_message()
    assert title in text_of(question)
    assert distance in text_of(question), text_of(question)
    assert question.buttons == [in_locale(locale, YES), in_locale(locale, NO)]
    await citizen.press_button(in_locale(locale, YES), message=question)
    await expect(citizen, in_locale(locale, "📍 Location saved."))
    assert (await draft_of(harness, citizen)).step == "photos"


async def test_no_asks_again_and_a_nearby_location_goes_on(harness: Harness) -> None:
    citizen = harness.user("en")
    await at_location_step(citizen)
    question = await ask_far(citizen)
    await citizen.press_button(NO, message=question)
    again = await expect(citizen, "OK, that location was not kept.", "Where is it?")
    assert again.reply_keyboard == ["📍 Share my location", "➡️ Continue without location"]
    assert as_now(citizen, question).buttons == []
    draft = await draft_of(harness, citizen)
    assert draft.step == "location" and draft.data.keys().isdisjoint(
        {"location", "unconfirmed_location"}
    )
    await taken_at_once(citizen, BY_THE_ROAD)
    draft = await draft_of(harness, citizen)
    assert draft.step == "photos" and draft.data["location"]["lat"] == BY_THE_ROAD[0]


async def test_without_location_after_the_question(harness: Harness) -> None:
    citizen = harness.user("en")
    await at_location_step(citizen)
    await ask_far(citizen)
    await citizen.press_reply_button("➡️ Continue without location")
    await expect(citizen, "OK, no location.")
    await expect(citizen, "Add photos")
    draft = await draft_of(harness, citizen)
    assert draft.data["location"] is None and "unconfirmed_location" not in draft.data


async def test_stale_and_forged_presses_change_nothing(harness: Harness) -> None:
    citizen = harness.user("en")
    await at_location_step(citizen)
    first = await ask_far(citizen)
    cairo = (30.0444, 31.2357)
    second = await ask_far(citizen, cairo)  # another far one: a new question, a new version
    assert f"{round(km_between(ROAD, cairo)):,} km" in text_of(second)
    before = await draft_of(harness, citizen)

    await citizen.press_button(YES, message=first)
    await expect(citizen, "That button is out of date")
    shown_again = await expect(citizen, QUESTION)  # where the report stands: the new question
    assert text_of(shown_again) == text_of(second)
    after = await draft_of(harness, citizen)
    assert (after.version, after.data) == (before.version, before.data)

    # Answered with "no": a forged "yes" with the now-current version has nothing to confirm.
    await citizen.press_button(NO, message=shown_again)
    await expect(citizen, "Where is it?")
    current = await draft_of(harness, citizen)
    await citizen.send_callback(f"d:{current.version}:ly")
    await expect(citizen, "That button is out of date")
    await expect(citizen, "Where is it?")
    assert (await draft_of(harness, citizen)).data == current.data


async def test_a_restart_mid_question_loses_nothing(harness: Harness) -> None:
    citizen = harness.user("en")
    await at_location_step(citizen)
    question = await ask_far(citizen)
    await harness.restart()
    await citizen.send_sticker()  # anything else: the hint, and the question once more
    await expect(citizen, QUESTION)
    await citizen.press_button(YES, message=question)
    await expect(citizen, "📍 Location saved.")
    draft = await draft_of(harness, citizen)
    assert draft.step == "photos" and draft.data["location"]["lon"] == NAIROBI[1]


async def test_another_commitment_far_from_the_location_asks_again(harness: Harness) -> None:
    """At the summary the citizen picks another commitment, 64 km from the location kept."""
    citizen = harness.user("en")
    await at_location_step(citizen)
    await taken_at_once(citizen, BY_THE_ROAD)
    await citizen.press_button("➡️ Skip photos")
    await expect(citizen, "Your report")
    await change_commitment(citizen, "KAD-WS-009")
    question = await expect(citizen, QUESTION)
    km = round(km_between((11.0850, 7.7100), BY_THE_ROAD))
    assert f"{km} km from Borehole and water scheme, Zaria city" in text_of(question)
    assert "location" not in (await draft_of(harness, citizen)).data
    await citizen.press_button(YES, message=question)
    summary = await expect(citizen, "Your report")
    assert "KAD-WS-009" in text_of(summary) and "10.57310, 7.44120" in text_of(summary)

    # Once more, to the road and back to Zaria, this time with "no" and no location.
    await change_commitment(citizen, "KAD-RD-017")
    await expect(citizen, "Your report")  # by the road: no question
    await change_commitment(citizen, "KAD-WS-009")
    await citizen.press_button(NO, message=await expect(citizen, QUESTION))
    await expect(citizen, "Where is it?")
    await citizen.press_reply_button("➡️ Continue without location")
    summary = await expect(citizen, "Your report")
    assert "KAD-WS-009" in text_of(summary) and "no location" in text_of(summary)


async def test_a_commitment_without_a_point_has_no_check(harness: Harness) -> None:
    citizen = harness.user("en")
    await at_location_step(citizen, "NG-FT-001")
    await taken_at_once(citizen, NAIROBI)
    assert (await draft_of(harness, citizen)).data["location"]["lat"] == NAIROBI[0]


@pytest.mark.parametrize(
    ("region_name", "refusal"),
    [
        (
            "Kaduna State",
            "This location is outside Kaduna State, where this service runs. Please send a "
            "location inside it.",
        ),
        (
            None,
            "This location is outside the area this service covers. Please send a location "
            "inside it.",
        ),
    ],
)
async def test_outside_region_bounds_is_refused_in_words(
    harness: Harness, region_name: str | None, refusal: str
) -> None:
    await harness.stop_worker(harness.runner)
    await harness.start_worker(region_bounds=KADUNA_BOX, region_name=region_name)
    citizen = harness.user("en")
    await at_location_step(citizen)
    before = await draft_of(harness, citizen)
    await citizen.send_location(*LAGOS)
    refused = await expect(citizen, "This location is outside")
    assert text_of(refused) == refusal
    assert not re.search(r"\d", text_of(refused))  # no degrees
    assert "📍 Share my location" in refused.reply_keyboard
    after = await draft_of(harness, citizen)
    assert (after.step, after.version, after.data) == (before.step, before.version, before.data)

    # The "near me" search at the commitment step says the same.
    searcher = harness.user("en")
    await searcher.send_command("start")
    await searcher.press_button("✅ I agree", message=await expect(searcher, "privacy"))
    await expect(searcher, "Which commitment")
    await searcher.send_location(*LAGOS)
    refused = await expect(searcher, "This location is outside")
    assert text_of(refused) == refusal
    assert refused.reply_keyboard == ["📍 Commitments near me", "🗂 Browse by theme"]
