"""Limits on abuse (issue 13, item 6), each with a polite answer and nothing lost: reports a day
(REPORTS_PER_DAY) and messages a minute (the flood limit). The same photo twice in one report:
tests/test_flow_polish.py test_the_same_photo_twice_is_refused."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.catalog.deeplinks import commitment_payload
from bot.i18n.formatting import format_datetime
from bot.i18n.translate import set_locale
from emulator import BotMessage, SimulatedUser
from storage.models import Citizen, Report
from tests.support.clock import Clock
from tests.support.conversation import expect, text_of
from tests.support.flows import open_report
from tests.support.harness import Harness
from tests.test_report_errors import draft_of

SLOW_DOWN = "You are sending messages very fast"
# Ten reports take some sixty messages and presses: more than a person's flood limit allows in
# a minute on a clock that stands still, so the daily-limit tests raise it.
ROOMY = {"flood_messages_per_minute": 1000}


async def reports_of(harness: Harness, citizen: SimulatedUser) -> int:
    async with harness.db.read() as session:
        return (
            await session.scalar(
                select(func.count())
                .select_from(Report)
                .join(Citizen, Citizen.id == Report.citizen_id)
                .where(Citizen.telegram_user_id == citizen.id)
            )
            or 0
        )


async def write_report(citizen: SimulatedUser, text: str) -> BotMessage:
    """A consenting citizen's report from the deep link up to its summary."""
    await citizen.send_command("start", commitment_payload("KAD-RD-017"))
    await expect(citizen, "What kind of feedback")
    await citizen.press_button("⚠️ A problem")
    await expect(citizen, "Describe what you see")
    return await describe_to_summary(citizen, text)


async def describe_to_summary(citizen: SimulatedUser, text: str) -> BotMessage:
    """From "Describe what you see" to the summary: the text, no location, no photos."""
    await citizen.send_text(text)
    await expect(citizen, "Where is it?")
    await citizen.press_reply_button("➡️ Continue without location")
    await expect(citizen, "Add photos")
    await citizen.press_button("➡️ Skip photos")
    return await expect(citizen, "Your report")


async def send(citizen: SimulatedUser, summary: BotMessage) -> None:
    await citizen.press_button("✅ Send report", message=summary)
    await expect(citizen, "Reference:")


# --- REPORTS_PER_DAY --------------------------------------------------------------------------


@pytest.mark.both_databases
@pytest.mark.parametrize("harness_overrides", [ROOMY])
async def test_the_eleventh_report_of_the_day_waits_with_its_draft_kept(harness: Harness) -> None:
    # Telegram's pace of about a message a second per chat would stretch ten reports over a
    # minute and more; this test is not about it.
    harness.emulator.limits.enabled = False
    clock = Clock()
    harness.services.clock = clock
    first_at = clock.now
    citizen = harness.user("en")
    await open_report(citizen)  # consent on the way
    await send(citizen, await describe_to_summary(citizen, "Report number 1 about the road."))
    for n in range(2, 11):
        clock.now += timedelta(minutes=1)
        await send(citizen, await write_report(citizen, f"Report number {n} about the road."))
    assert await reports_of(harness, citizen) == 10

    # Starting the eleventh warns, and lets the citizen write it.
    clock.now += timedelta(minutes=1)
    await citizen.send_command("start", commitment_payload("KAD-RD-017"))
    warning = await expect(citizen, "You can send 10 reports in 24 hours")
    set_locale("en")
    again = format_datetime(first_at + timedelta(hours=24, minutes=1), "UTC")
    # The first report leaves the 24 hours at first_at + 24 h: said to the minute, rounded up.
    assert f"I will keep it, and you can send it from {again}." in text_of(warning)
    await expect(citizen, "What kind of feedback")
    await citizen.press_button("⚠️ A problem")
    await expect(citizen, "Describe what you see")
    summary = await describe_to_summary(citizen, "Report number 11 about the road.")

    await citizen.press_button("✅ Send report", message=summary)
    refused = await expect(citizen, "Your report is kept")
    assert "You can send 10 reports in 24 hours, and you have sent them." in text_of(refused)
    assert "«✅ Send report»" in text_of(refused) and "/report" in text_of(refused)
    assert f"you can send it from {again} with" in text_of(refused)
    assert await reports_of(harness, citizen) == 10
    draft = await draft_of(harness, citizen)
    assert draft is not None and draft.step == "summary"
    assert draft.data["text"] == "Report number 11 about the road."

    # A day later the same button sends it.
    clock.now += timedelta(hours=24)
    await send(citizen, summary)
    assert await reports_of(harness, citizen) == 11


@pytest.mark.parametrize(
    "harness_overrides", [{**ROOMY, "reports_per_day": 1, "timezone": "Africa/Lagos"}]
)
async def test_at_the_limit_report_warns_and_the_kept_draft_comes_back(harness: Harness) -> None:
    clock = Clock()
    harness.services.clock = clock
    citizen = harness.user("en")
    await open_report(citizen)
    await send(citizen, await describe_to_summary(citizen, "The road has deep potholes again."))
    summary = await write_report(citizen, "The drain next to it is blocked.")
    await citizen.press_button("✅ Send report", message=summary)
    refused = await expect(citizen, "Your report is kept")
    assert "You can send 1 report in 24 hours, and you have sent it." in text_of(refused)
    set_locale("en")
    # In the deployment's time zone (Lagos, UTC+1).
    lagos = format_datetime(clock.now + timedelta(hours=24, minutes=1), "Africa/Lagos")
    utc = format_datetime(clock.now + timedelta(hours=24, minutes=1), "UTC")
    assert lagos != utc and f"from {lagos} with" in text_of(refused)

    await citizen.send_command("report")
    await expect(citizen, "You have a report in progress")
    await expect(citizen, "You can send 1 report in 24 hours", "I will keep it")
    again = await expect(citizen, "Your report")
    assert "The drain next to it is blocked." in text_of(again)
    assert await reports_of(harness, citizen) == 1


# --- the flood limit -------------------------------------------------------------------------

FLOOD = {"flood_messages_per_minute": 10, "flood_cooldown_seconds": 60}


async def at_the_commitment_step(citizen: SimulatedUser) -> None:
    """Two updates: /start and the consent. Every text after it is a search the draft stores."""
    await citizen.send_command("start")
    await citizen.press_button("✅ I agree", message=await expect(citizen, "privacy"))
    await expect(citizen, "Which commitment")


async def stored_search(harness: Harness, citizen: SimulatedUser) -> str | None:
    draft = await draft_of(harness, citizen)
    assert draft is not None
    return (draft.data.get("search") or {}).get("q")


async def replies_until_quiet(citizen: SimulatedUser, quiet: float = 1.5) -> list[str]:
    said: list[str] = []
    while True:
        try:
            said.append(text_of(await citizen.next_message(timeout=quiet)))
        except TimeoutError:
            return said


@pytest.mark.both_databases
@pytest.mark.parametrize("harness_overrides", [FLOOD])
async def test_a_flood_gets_one_slow_down_then_silence_until_the_cool_down(
    harness: Harness,
) -> None:
    clock = Clock()
    harness.services.clock = clock
    flooder = harness.user("en")
    await at_the_commitment_step(flooder)
    for n in range(1, 5):  # at a person's pace: each answered
        await flooder.send_text(f"zzq {n}")
        await expect(flooder, f"«zzq {n}»")
    for n in range(5, 101):  # then all at once
        await flooder.send_text(f"zzq {n}")
    # Meanwhile another citizen is served as usual.
    other = harness.user("en")
    await other.send_command("start")
    await expect(other, "Welcome to Commitment Watch")

    said = await replies_until_quiet(flooder)
    slow_downs = [text for text in said if SLOW_DOWN in text]
    assert len(slow_downs) == 1 and said[-1] == slow_downs[0]
    assert slow_downs[0] == (
        "You are sending messages very fast, so I will not read what you send for the next "
        "60 seconds. Please slow down, then carry on. Your report in progress is kept."
    )
    # A bucket of 10, two spent on /start and the consent, four on the first searches: of the
    # burst, zzq 5 to 8 are let in, zzq 9 is answered "slow down", the other 91 dropped as they
    # arrive. Of those let in, the ones still waiting for their turn when zzq 9 came are dropped
    # too (the same flood): zzq 5 at least is answered. Nothing dropped is stored.
    searches = [text for text in said if "I found no commitment matching" in text]
    assert 1 <= len(searches) <= 4 and "«zzq 5»" in searches[0]
    last = int(searches[-1].split("«zzq ")[1].split("»")[0])
    assert await stored_search(harness, flooder) == f"zzq {last}"

    # In the cool-down, nothing: no reply and nothing stored, and a press is not answered.
    clock.now += timedelta(seconds=59)
    await flooder.send_text("zzq after")
    press = await flooder.send_callback("d:1:x")
    assert await replies_until_quiet(flooder, quiet=1.0) == []
    with pytest.raises(TimeoutError):
        await flooder.wait_for_callback_answer(press, timeout=0.5)
    assert await stored_search(harness, flooder) == f"zzq {last}"

    # After it, the person is answered again, with a full minute's allowance.
    clock.now += timedelta(seconds=2)
    await flooder.send_text("zzq again")
    await expect(flooder, "«zzq again»")
    assert await stored_search(harness, flooder) == "zzq again"


@pytest.mark.parametrize("harness_overrides", [FLOOD])
async def test_a_flood_of_presses_gets_one_answer_that_says_why(harness: Harness) -> None:
    clock = Clock()
    harness.services.clock = clock
    presser = harness.user("en")
    await at_the_commitment_step(presser)
    presses = []
    for _ in range(8):  # "my reports" pages, pressed at a person's pace
        presses.append(await presser.send_callback("mr:0"))
        await presser.wait_for_callback_answer(presses[-1], timeout=10)
    presses += [await presser.send_callback("mr:0") for _ in range(22)]
    await presser.wait_for_callback_answer(presses[8], timeout=10)
    await replies_until_quiet(presser, quiet=1.0)
    answers = {a.query_id: a for a in presser.callback_answers if a.query_id in presses}
    assert set(answers) == set(presses[:9])  # 8 handled, the 9th told, 21 dropped
    told = answers[presses[8]]
    assert told.text is not None and told.text.startswith(SLOW_DOWN)
    assert told.show_alert
    assert not any(SLOW_DOWN in text_of(m) for m in presser.messages)


async def test_one_persons_429_does_not_hold_back_the_others(harness: Harness) -> None:
    """A flooder that made the bot answer it fast meets Telegram's limit on its own chat; the
    429's wait is that chat's, not everyone's (bot/app/bot_api.py)."""
    emulator = harness.emulator
    emulator.limits.per_chat_burst = 1
    emulator.limits.per_chat_per_second = 0.25  # a second message waits about 4 s
    emulator.reset_rate_limits()
    hurried, other = harness.user("en"), harness.user("en")
    since = len(emulator.calls)
    # Two messages at once: "I do not know the commitment..." and the privacy notice.
    await hurried.send_command("start", "c_NOT-A-CODE")
    await expect(hurried, "I do not know the commitment")
    await _until_limited(emulator, since, hurried.id)
    await other.send_command("help")
    started = asyncio.get_running_loop().time()
    await expect(other, "/report", timeout=10)
    assert asyncio.get_running_loop().time() - started < 2.0, "served while the other waits"
    await expect(hurried, "privacy", timeout=15)  # and nothing is lost


async def _until_limited(emulator: Any, since: int, chat_id: int) -> None:
    for _ in range(100):
        if any(
            c.status == 429 and str(c.params.get("chat_id")) == str(chat_id)
            for c in emulator.calls[since:]
        ):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the emulator did not answer 429")
