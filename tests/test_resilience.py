"""Telegram misbehaving around the bot's own replies: the apology after a failed step reaches the
person, direct replies survive transient faults without being sent twice, and start-up survives
a flaky or unreachable Bot API server."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from bot.app.bot_api import TRANSIENT_RETRIES
from emulator import BotApiEmulator, SimulatedGroup, SimulatedUser
from storage.models import OutboxMessage
from tests.support.conversation import expect, text_of
from tests.support.harness import Harness
from tests.test_moderation import send_report

STAFF_CHAT = -1001000000778
APOLOGY = "Sorry, something went wrong on our side"
STAFF_APOLOGY = "Sorry, that did not work because of a fault on our side"
# The step's own call fails this many times in a row: every attempt the bot makes of it.
STEP_FAILURES = 1 + TRANSIENT_RETRIES


@pytest.fixture
def harness_overrides() -> dict[str, Any]:
    return {"moderator_chat_id": STAFF_CHAT}


def fail_next(emulator: BotApiEmulator, method: str, times: int) -> None:
    """The next `times` calls of `method` are answered 502 Bad Gateway."""
    emulator.faults.set(rate=1.0, kinds={"5xx"}, methods={method}, limit=times)


def assert_no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    loud = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not loud, [r.getMessage() for r in loud]


async def at_privacy_notice(harness: Harness) -> SimulatedUser:
    citizen = harness.user("en")
    await citizen.send_command("start")
    await expect(citizen, "Welcome to Commitment Watch", "privacy")
    return citizen


# -- item 4: the apology after a failed button step --------------------------------------------


async def test_apology_arrives_as_a_message_when_the_press_was_answered(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """The consent handler answers the press, then its prompt fails for good: the citizen is
    told in a message, since Telegram refuses a second answer."""
    emulator = harness.emulator
    citizen = await at_privacy_notice(harness)
    since = len(emulator.calls)
    fail_next(emulator, "sendMessage", STEP_FAILURES)
    with caplog.at_level(logging.INFO):
        query_id = await citizen.press_button("✅ I agree")
        answer = await citizen.wait_for_callback_answer(query_id)
        assert answer.text is None  # the handler's own answer, before the step failed
        apology = await expect(citizen, APOLOGY)
    assert "please try again" in text_of(apology)
    calls = emulator.calls[since:]
    assert [c.status for c in calls if c.method == "answerCallbackQuery"] == [200, 400]
    assert_no_traceback(caplog)


async def test_apology_is_the_answer_when_the_press_was_not_answered(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    emulator = harness.emulator
    citizen = await at_privacy_notice(harness)
    fail_next(emulator, "answerCallbackQuery", STEP_FAILURES)
    with caplog.at_level(logging.INFO):
        query_id = await citizen.press_button("✅ I agree")
        answer = await citizen.wait_for_callback_answer(query_id)
    assert answer.text is not None and APOLOGY in answer.text and answer.show_alert
    assert not any(APOLOGY in text_of(m) for m in citizen.messages)
    assert_no_traceback(caplog)


async def staff_card(harness: Harness) -> tuple[SimulatedGroup, SimulatedUser, Any]:
    moderator = harness.user("en", first_name="Ada")
    group = harness.emulator.add_group(STAFF_CHAT, "staff", admins=[moderator])
    reference = await send_report(harness.user("en"))
    card = await expect(group, reference, "waiting for review", timeout=15)
    return group, moderator, card


async def test_staff_apology_is_a_short_reply_to_the_card_when_answered(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """Ask the citizen answers the press, then sends its prompt into the group; that fails."""
    group, moderator, card = await staff_card(harness)
    fail_next(harness.emulator, "sendMessage", STEP_FAILURES)
    with caplog.at_level(logging.INFO):
        await moderator.press_button("❓ Ask the citizen", message=card)
        reply = await expect(group, STAFF_APOLOGY)
    assert reply.reply_to_message_id == card.message_id
    assert_no_traceback(caplog)


async def test_staff_apology_is_the_answer_when_not_answered(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    group, moderator, card = await staff_card(harness)
    fail_next(harness.emulator, "answerCallbackQuery", STEP_FAILURES)
    before = len(group.messages)
    with caplog.at_level(logging.INFO):
        query_id = await moderator.press_button("🔁 Merge", message=card)
        answer = await moderator.wait_for_callback_answer(query_id)
    assert answer.text is not None and APOLOGY in answer.text
    assert not any(STAFF_APOLOGY in text_of(m) for m in group.messages[before:])
    assert_no_traceback(caplog)


async def until(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    """Wait (without asserting how long it took) until the condition holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.05)


async def test_an_apology_that_cannot_be_sent_is_one_warning(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """The step fails and so does the apology: one warning line, nothing more."""
    citizen = await at_privacy_notice(harness)
    fail_next(harness.emulator, "sendMessage", 2 * STEP_FAILURES)
    with caplog.at_level(logging.INFO):
        await citizen.press_button("✅ I agree")
        await until(lambda: "could not tell anyone" in caplog.text)
    assert not any(APOLOGY in text_of(m) for m in citizen.messages)
    assert_no_traceback(caplog)


# -- item 5: direct replies retried, never sent twice ------------------------------------------


def welcomes(citizen: SimulatedUser) -> int:
    return sum("Welcome to Commitment Watch" in text_of(m) for m in citizen.messages)


async def test_a_502_on_a_reply_is_retried_and_arrives_once(harness: Harness) -> None:
    emulator = harness.emulator
    citizen = harness.user("en")
    since = len(emulator.calls)
    fail_next(emulator, "sendMessage", 1)
    await citizen.send_command("start")
    await expect(citizen, "Welcome to Commitment Watch", "privacy")
    sends = [c.status for c in emulator.calls[since:] if c.method == "sendMessage"]
    assert sends == [502, 200]
    assert welcomes(citizen) == 1


@pytest.mark.parametrize("fault", ["drop_after", "slow"])
async def test_a_reply_whose_answer_was_lost_is_not_sent_again(
    harness: Harness, fault: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The privacy notice reaches Telegram but its answer never comes back (the connection dies,
    or the answer comes after the bot's 5 s read timeout): the bot must not send it again."""
    emulator = harness.emulator
    citizen = harness.user("en")
    since = len(emulator.calls)
    emulator.faults.set(rate=1.0, kinds={fault}, methods={"sendMessage"}, slow_seconds=6, limit=1)
    with caplog.at_level(logging.INFO):
        await citizen.send_command("start")
        await expect(citizen, "Welcome to Commitment Watch", "privacy")
        await expect(citizen, APOLOGY, timeout=15)  # the bot cannot know it arrived
    sends = [c for c in emulator.calls[since:] if c.method == "sendMessage"]
    assert len(sends) == 2  # the notice once, then the apology
    assert welcomes(citizen) == 1
    assert_no_traceback(caplog)


async def test_an_idempotent_call_is_tried_again_after_a_dropped_connection(
    harness: Harness,
) -> None:
    emulator = harness.emulator
    citizen = await at_privacy_notice(harness)
    since = len(emulator.calls)
    emulator.faults.set(rate=1.0, kinds={"drop_after"}, methods={"answerCallbackQuery"}, limit=1)
    query_id = await citizen.press_button("✅ I agree")
    await citizen.wait_for_callback_answer(query_id)
    await expect(citizen, "Let's start your report")
    answers = [c for c in emulator.calls[since:] if c.method == "answerCallbackQuery"]
    # Answered but the answer lost; the retry hears "already answered", which is fine.
    assert [(c.status, c.fault) for c in answers] == [(200, "drop_after"), (400, None)]
    assert not any(APOLOGY in text_of(m) for m in citizen.messages)


async def test_outbox_sends_are_retried_by_the_outbox_only(harness: Harness) -> None:
    """A moderation card that meets a 502 is tried once per delivery round: the dispatcher's
    schedule decides when again, not the request layer."""
    emulator = harness.emulator
    emulator.add_group(STAFF_CHAT, "staff", admins=[harness.user("en")])
    dispatcher = harness.runner.dispatcher
    await dispatcher.stop()
    reference = await send_report(harness.user("en"))
    since = len(emulator.calls)
    fail_next(emulator, "sendMessage", 1)
    await dispatcher.drain_once()
    to_staff = [
        c.status
        for c in emulator.calls[since:]
        if c.method == "sendMessage" and int(c.params.get("chat_id", 0)) == STAFF_CHAT
    ]
    assert to_staff == [502]
    async with harness.db.read() as session:
        card = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.kind == "moderation_card")
        )
    assert card is not None and card.status != "sent" and card.attempts == 1, reference
