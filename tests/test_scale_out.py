"""Three webhook workers (real run_bot.py processes) behind a real HAProxy with deploy/haproxy.cfg,
the emulator delivering updates to HAProxy as Telegram would: one worker is SIGKILLed while it
holds citizens' button presses, and every citizen still gets each answer exactly once, with nothing
to repeat (issue 14's kill test, in short)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select

from storage.models import InboxUpdate
from tests.support.conversation import expect, text_of
from tests.support.harness import Harness
from tests.support.processes import start_bot
from tests.test_drain import AGREED, free_port, pending_update_ids

ROOT = Path(__file__).resolve().parent.parent
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
SECRET = "scale-out-secret"
CITIZENS = 12


def haproxy_present() -> bool:
    if os.path.exists(HAPROXY):
        return True
    if os.environ.get("CI"):
        raise AssertionError("HAProxy is missing: .ci/run installs it with apt-get")
    return False


async def healthy(http: aiohttp.ClientSession, url: str, seconds: float = 60) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        try:
            async with http.get(url) as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.2)
    raise AssertionError(f"{url} never became healthy")


@asynccontextmanager
async def processes() -> AsyncIterator[list[asyncio.subprocess.Process]]:
    started: list[asyncio.subprocess.Process] = []
    try:
        yield started
    finally:
        for process in started:
            if process.returncode is None:
                process.kill()
                await process.wait()


@pytest.mark.both_databases
async def test_a_worker_killed_behind_haproxy_loses_and_repeats_nothing(
    harness: Harness, tmp_path: Path
) -> None:
    if not haproxy_present():
        pytest.skip("HAProxy is not installed (apt-get install haproxy)")
    await harness.stop_worker(harness.runner)
    telegram_port, web_port = free_port(), free_port()
    workers = [(free_port(), free_port()) for _ in range(3)]
    balancer = {
        "CW_TELEGRAM_BIND": f"127.0.0.1:{telegram_port}",
        "CW_WEB_BIND": f"127.0.0.1:{web_port}",
    }
    for number, (webhook, web) in enumerate(workers, start=1):
        balancer[f"CW_W{number}_HOST"] = "127.0.0.1"
        balancer[f"CW_W{number}_WEBHOOK_PORT"] = str(webhook)
        balancer[f"CW_W{number}_WEB_PORT"] = str(web)
    async with processes() as running, aiohttp.ClientSession() as http:
        running.append(
            await asyncio.create_subprocess_exec(
                HAPROXY,
                "-db",
                "-f",
                str(ROOT / "deploy" / "haproxy.cfg"),
                env={**os.environ, **balancer},
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
        )
        for webhook, web in workers:
            running.append(
                await start_bot(
                    harness,
                    tmp_path,
                    output=False,
                    WEBHOOK_URL=f"http://127.0.0.1:{telegram_port}",
                    WEBHOOK_PORT=str(webhook),
                    WEBHOOK_SECRET=SECRET,
                    WEB_PORT=str(web),
                    INBOX_LEASE_SECONDS="3",
                )
            )
            await healthy(http, f"http://127.0.0.1:{web}/healthz")
        await healthy(http, f"http://127.0.0.1:{web_port}/healthz")

        citizens = [harness.user("en") for _ in range(CITIZENS)]
        for citizen in citizens:
            await citizen.send_command("start")
        for citizen in citizens:
            await expect(citizen, "privacy", timeout=30)
        # Every press is slow to answer, so each worker holds some when the first one dies.
        harness.emulator.faults.set(
            rate=1.0, kinds={"slow"}, methods={"answerCallbackQuery"}, slow_seconds=1.5
        )
        for citizen in citizens:
            await citizen.press_button("✅ I agree")
        await harness.emulator.wait_until_delivered(timeout=20)
        victim = running[1]
        victim.send_signal(signal.SIGKILL)
        await victim.wait()
        harness.emulator.faults.clear()
        for citizen in citizens:
            await expect(citizen, AGREED, timeout=30)
        # A second round after the kill: the two survivors take everything.
        for citizen in citizens:
            await citizen.send_command("help")
        for citizen in citizens:
            await expect(citizen, "I help you report", timeout=30)
        await asyncio.sleep(1.0)

    assert pending_update_ids(harness.emulator) == []
    for citizen in citizens:
        replies = [text_of(message) for message in citizen.messages]
        assert sum(AGREED in t for t in replies) == 1, replies
        assert sum("privacy" in t for t in replies) == 1, replies
        assert sum("I help you report" in t for t in replies) == 1, replies
    async with harness.db.read() as session:
        open_rows = await session.scalar(
            select(func.count()).select_from(InboxUpdate).where(InboxUpdate.done_at.is_(None))
        )
        handled = await session.scalar(select(func.count()).select_from(InboxUpdate))
    assert open_rows == 0
    assert handled == 3 * CITIZENS
