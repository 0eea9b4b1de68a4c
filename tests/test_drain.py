"""The drain on stop (SIGTERM): the worker says "draining" on /healthz, takes no new updates and
claims no new outbox messages, finishes the update and the outbox message in hand, then shuts
down; what arrives meanwhile waits, untouched, for the next worker. Polling and webhook mode, the
drain running out of time, and the signal itself through run_bot.py."""

from __future__ import annotations

import asyncio
import logging
import re
import signal
import socket
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from bot.app.runner import BotRunner
from bot.citizens.blocking import block_citizen, notice_text, unblock_citizen
from emulator import BotApiEmulator, SimulatedUser
from storage.models import OutboxMessage
from tests.support.conversation import expect, text_of
from tests.support.harness import Harness
from tests.support.processes import start_bot

AGREED = "Let's start your report"
WELCOME = "Welcome to Commitment Watch"


@pytest.fixture
def harness_overrides() -> dict[str, Any]:
    return {"web_port": 0}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pending_update_ids(emulator: BotApiEmulator) -> list[int]:
    """The updates Telegram (the emulator) still holds for the bot: never confirmed."""
    return [update["update_id"] for update in emulator.state.bot().updates.pending]


async def press_in_hand(harness: Harness, citizen: SimulatedUser, slow_seconds: float) -> None:
    """The citizen agrees to the privacy notice; the bot's first call for it (answering the
    press) takes `slow_seconds` to come back, so the update is in hand for that long."""
    await citizen.send_command("start")
    notice = await expect(citizen, "privacy")
    harness.emulator.faults.set(
        rate=1.0,
        kinds={"slow"},
        methods={"answerCallbackQuery"},
        slow_seconds=slow_seconds,
        limit=1,
    )
    await citizen.press_button("✅ I agree", message=notice)
    await harness.emulator.wait_for_call(method="answerCallbackQuery")


async def drain_begun(harness: Harness, runner: BotRunner) -> asyncio.Task[None]:
    """stop() in the background, once it has marked the worker draining and stopped taking
    updates."""
    stopping = asyncio.create_task(harness.stop_worker(runner))
    for _ in range(500):
        updater = runner.application.updater
        if runner.services.draining and updater is not None and not updater.running:
            return stopping
        await asyncio.sleep(0.01)
    raise AssertionError("the drain did not begin")


def texts(citizen: SimulatedUser) -> list[str]:
    return [text_of(message) for message in citizen.messages]


@pytest.mark.both_databases
async def test_polling_the_update_in_hand_is_finished_and_later_ones_wait(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.app.runner")
    emulator = harness.emulator
    amina, bello = harness.user("en"), harness.user("en")
    await press_in_hand(harness, amina, slow_seconds=1.5)
    stopping = await drain_begun(harness, harness.runner)
    late = await bello.send_command("start")  # arrives after the drain began
    await stopping
    # The press in hand was carried through, its reply delivered before the worker stopped.
    assert sum(AGREED in t for t in texts(amina)) == 1
    # The late update was not taken: nothing answered it, and Telegram still holds it.
    assert bello.messages == []
    assert late["update_id"] in pending_update_ids(emulator)
    assert min(pending_update_ids(emulator)) == late["update_id"]  # the press was confirmed
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.app.runner"]
    assert any(re.fullmatch(r"draining: .*1 update\(s\) in hand; up to 20 s", x) for x in lines)
    assert any(x.startswith("drained in ") for x in lines), lines
    token = harness.settings.telegram_bot_token
    assert token and not any(token in x for x in lines)
    # The next worker answers it, once; the press is not handled again.
    await harness.start_worker()
    await expect(bello, WELCOME)
    await emulator.wait_until_delivered()
    assert sum(AGREED in t for t in texts(amina)) == 1
    assert sum(WELCOME in t for t in texts(bello)) == 1


@pytest.mark.both_databases
async def test_webhook_the_update_in_hand_is_finished_and_later_ones_wait(
    harness: Harness,
) -> None:
    emulator = harness.emulator
    await harness.stop_worker(harness.runner)
    port = free_port()
    runner = await harness.start_worker(
        webhook_url=f"http://127.0.0.1:{port}", webhook_port=port, webhook_secret="drain-test"
    )
    amina, bello = harness.user("en"), harness.user("en")
    await press_in_hand(harness, amina, slow_seconds=1.5)
    stopping = await drain_begun(harness, runner)
    late = await bello.send_command("start")
    await stopping
    assert sum(AGREED in t for t in texts(amina)) == 1
    assert bello.messages == []
    assert late["update_id"] in pending_update_ids(emulator)  # refused at the door: kept
    # The next worker (here on another port) gets it through its own setWebhook.
    other = free_port()
    await harness.start_worker(
        webhook_url=f"http://127.0.0.1:{other}", webhook_port=other, webhook_secret="drain-test"
    )
    await expect(bello, WELCOME)
    assert sum(AGREED in t for t in texts(amina)) == 1


async def outbox_rows(harness: Harness) -> list[OutboxMessage]:
    async with harness.db.read() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


@pytest.mark.both_databases
async def test_the_outbox_message_in_flight_is_sent_and_nothing_new_is_claimed(
    harness: Harness,
) -> None:
    emulator = harness.emulator
    citizen = harness.user("en")
    await citizen.send_command("start")
    await citizen.press_button("✅ I agree", message=await expect(citizen, "privacy"))
    await expect(citizen, AGREED)
    since = len(emulator.calls)
    # The notice's sendMessage takes 1.5 s to come back: it is in flight when the drain begins.
    emulator.faults.set(
        rate=1.0, kinds={"slow"}, methods={"sendMessage"}, slow_seconds=1.5, limit=1
    )
    clock = harness.services.clock
    assert await block_citizen(harness.db, citizen.id, "spam", clock(), None)
    harness.services.outbox_bell.set()
    await emulator.wait_for_call(method="sendMessage", since=since)
    stopping = await drain_begun(harness, harness.runner)
    # Queued during the drain: left for the next worker, unclaimed.
    assert await unblock_citizen(harness.db, citizen.id, clock(), None)
    harness.services.outbox_bell.set()
    await stopping
    sent, waiting = await outbox_rows(harness)
    assert sent.status == "sent" and sent.payload["blocked"] is True
    assert waiting.status == "pending" and waiting.attempts == 0
    assert waiting.locked_until is None  # not claimed: the next worker takes it at once
    assert texts(citizen).count(notice_text(True)) == 1
    assert notice_text(False) not in texts(citizen)
    await harness.start_worker()
    await expect(citizen, "accepts new reports from you again")
    assert texts(citizen).count(notice_text(True)) == 1


async def test_a_drain_that_runs_out_cuts_the_update_off_and_says_so(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await harness.stop_worker(harness.runner)
    runner = await harness.start_worker(drain_seconds=1)
    caplog.set_level(logging.INFO, logger="bot.app.runner")
    citizen = harness.user("en")
    await press_in_hand(harness, citizen, slow_seconds=6)
    began = asyncio.get_running_loop().time()
    stopping = await drain_begun(harness, runner)
    await stopping
    took = asyncio.get_running_loop().time() - began
    assert 1 <= took < 4  # not the 6 s the update would have needed
    assert AGREED not in " ".join(texts(citizen))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(
        "drain ran out after 1 s: 1 update(s) cut off; outbox message in hand finished" in w
        for w in warnings
    ), warnings


async def test_sigterm_drains_and_exits_cleanly(harness: Harness, tmp_path: Path) -> None:
    """run_bot.py itself: healthy, then SIGTERM: /healthz says draining while the update in hand
    finishes, one line at each end of the drain, exit status 0."""
    await harness.stop_worker(harness.runner)  # the process below is the only worker
    web_port = free_port()
    process = await start_bot(
        harness, tmp_path, WEB_PORT=str(web_port), DRAIN_SECONDS="15", LOG_LEVEL="INFO"
    )
    try:
        citizen = harness.user("en")
        await citizen.send_command("start")
        await expect(citizen, "privacy", timeout=30)
        health = f"http://127.0.0.1:{web_port}/healthz"
        async with aiohttp.ClientSession() as http:
            async with http.get(health) as response:
                assert response.status == 200
            harness.emulator.faults.set(
                rate=1.0,
                kinds={"slow"},
                methods={"answerCallbackQuery"},
                slow_seconds=2,
                limit=1,
            )
            await citizen.press_button("✅ I agree")
            await harness.emulator.wait_for_call(method="answerCallbackQuery")
            process.send_signal(signal.SIGTERM)
            for _ in range(200):
                async with http.get(health) as response:
                    if response.status == 503:
                        assert (await response.json())["reason"] == "draining"
                        break
                await asyncio.sleep(0.02)
            else:
                raise AssertionError("/healthz never said draining")
        stdout, stderr = await asyncio.wait_for(process.communicate(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    output = (stdout + stderr).decode()
    assert process.returncode == 0, output
    assert "Traceback" not in output
    assert sum(AGREED in t for t in texts(citizen)) == 1
    drain_lines = [line for line in output.splitlines() if "drain" in line]
    assert len(drain_lines) == 2, output
    assert "draining: " in drain_lines[0] and "drained in " in drain_lines[1]
    token = harness.settings.telegram_bot_token
    assert token and token not in output
