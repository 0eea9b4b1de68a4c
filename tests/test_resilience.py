"""Telegram misbehaving around the bot's own replies: the apology after a failed step reaches the
person, direct replies survive transient faults without being sent twice, and start-up survives
a flaky or unreachable Bot API server."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.app.bot_api import TRANSIENT_RETRIES
from bot.app.runner import BotRunner, StartupError
from bot.core.services import Services
from emulator import BotApiEmulator, SimulatedGroup, SimulatedUser
from handlers import register_handlers
from storage.models import OutboxMessage
from tests.support.conversation import expect, text_of
from tests.support.harness import Harness
from tests.test_moderation import send_report

ROOT = Path(__file__).resolve().parent.parent
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


# -- item 6: start-up against a flaky or unreachable Bot API ------------------------------------


async def start_again(harness: Harness, **overrides: Any) -> BotRunner:
    """Stop the harness's bot and start a fresh one (quick start-up patience for the test)."""
    for running in list(harness.runners):
        await harness.stop_worker(running)
    settings = replace(harness.settings, **overrides)
    runner = BotRunner(
        Services(settings=settings, db=harness.db),
        settings.require_token(),
        register_handlers,
        poll_timeout=1,
        startup_attempts=3,
        startup_backoff=0.05,
    )
    await runner.start()
    harness.runners.append(runner)
    return runner


async def failed_start(harness: Harness, **overrides: Any) -> str:
    with pytest.raises(StartupError) as raised:
        await start_again(harness, **overrides)
    message = str(raised.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    ("method", "failures", "said"),
    [
        # Every menu refused, however often asked: a warning, and the bot works without it.
        ("setMyCommands", None, "could not set the command menu"),
        # Through all of the request layer's attempts, once: start-up tries again.
        ("getMe", STEP_FAILURES + 1, "cannot reach the Bot API (getMe)"),
        ("deleteWebhook", STEP_FAILURES + 1, "cannot reach the Bot API (deleteWebhook)"),
    ],
)
async def test_the_bot_starts_through_failing_start_up_calls(
    harness: Harness,
    caplog: pytest.LogCaptureFixture,
    method: str,
    failures: int | None,
    said: str,
) -> None:
    harness.emulator.faults.set(rate=1.0, kinds={"5xx"}, methods={method}, limit=failures)
    with caplog.at_level(logging.INFO):
        await start_again(harness)
    harness.emulator.faults.clear()
    assert said in caplog.text
    citizen = harness.user("en")
    await citizen.send_command("start")
    await expect(citizen, "Welcome to Commitment Watch")
    assert_no_traceback(caplog)


async def test_telegram_staying_down_is_one_line(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    harness.emulator.faults.set(rate=1.0, kinds={"5xx"}, methods={"getMe"})
    with caplog.at_level(logging.INFO):
        message = await failed_start(harness)
    assert "cannot reach the Bot API" in message and "Bad Gateway" in message, message
    assert "gave up after 3 attempts" in message
    assert_no_traceback(caplog)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_unreachable_and_unknown_host_say_so(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        refused = await failed_start(
            harness, telegram_api_base_url=f"http://127.0.0.1:{closed_port()}/bot"
        )
        unknown = await failed_start(harness, telegram_api_base_url="http://bot-api.invalid/bot")
    assert "connection was refused" in refused, refused
    assert "bot-api.invalid does not resolve (DNS)" in unknown, unknown
    assert_no_traceback(caplog)


async def test_a_refused_token_is_one_line_without_the_token(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    token = "123456789:" + "A" * 35
    with caplog.at_level(logging.INFO):
        message = await failed_start(harness, telegram_bot_token=token)
    assert "refused the bot token" in message and "TELEGRAM_BOT_TOKEN" in message
    assert token not in message
    assert_no_traceback(caplog)


async def test_the_command_line_says_it_in_one_line(harness: Harness, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": "123456789:" + "B" * 35,  # well formed, unknown to Telegram
        "TELEGRAM_API_BASE_URL": harness.emulator.base_url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/cli.db",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "run_bot.py"),
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    output = (stdout + stderr).decode()
    assert process.returncode == 3, output
    assert "Traceback" not in output
    lines = stderr.decode().strip().splitlines()
    assert lines[-1].startswith("cannot start: ") and "refused the bot token" in lines[-1], output
    assert not [line for line in lines[:-1] if "ERROR" in line], output
