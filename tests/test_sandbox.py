"""`run_bot.py --sandbox`: a person chats with the real bot offline, from the terminal."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


class Terminal:
    """The sandbox in a subprocess, typed into and read like a terminal."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.screen = ""

    async def type(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write((line + "\n").encode())
        await self.process.stdin.drain()

    async def wait_for(self, fragment: str, timeout: float = 30.0) -> str:
        assert self.process.stdout is not None
        start = len(self.screen)

        async def read() -> None:
            while fragment not in self.screen[start:]:
                chunk = await self.process.stdout.read(4096)
                if not chunk:
                    raise AssertionError(f"sandbox ended before {fragment!r}:\n{self.screen}")
                self.screen += chunk.decode()

        try:
            await asyncio.wait_for(read(), timeout)
        except TimeoutError:
            raise AssertionError(f"no {fragment!r} on screen:\n{self.screen[-3000:]}") from None
        return self.screen[start:]


@pytest.fixture
async def terminal(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEGRAM_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "run_bot.py"),
        "--sandbox",
        "--env-file",
        str(tmp_path / "none.env"),
        cwd=tmp_path,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    yield Terminal(process)
    if process.returncode is None:
        process.terminate()
    await asyncio.wait_for(process.wait(), 30)


async def test_sandbox_chats_offline_without_a_token(terminal: Terminal, tmp_path: Path) -> None:
    await terminal.wait_for("you are a citizen")
    await terminal.type("/start c_SAV-RD-001")
    await terminal.wait_for("[1] ✅ I agree")
    await terminal.type(":press 1")
    await terminal.wait_for("What kind of feedback")
    await terminal.type(":press ⚠️ A problem")
    await terminal.wait_for("Describe what you see")
    await terminal.type("The new drainage is already blocked with sand.")
    screen = await terminal.wait_for("Where is it?")
    assert "keyboard: 📍 Share my location | ➡️ Continue without location" in screen
    await terminal.type(":loc 10.5725 7.4405")
    await terminal.wait_for("Add photos")
    photo = tmp_path / "site.png"
    from PIL import Image

    Image.new("RGB", (32, 32), (10, 200, 10)).save(photo)
    await terminal.type(f":photo {photo}")
    await terminal.wait_for("1 photo added")
    await terminal.type(":press nonsense")
    await terminal.wait_for("no button")
    await terminal.type(":press 1")
    await terminal.wait_for("Your report")
    await terminal.type(":press ✅ Send report")
    screen = await terminal.wait_for("Reference:")
    assert "CW-" in screen
    await terminal.type(":quit")
    assert await asyncio.wait_for(terminal.process.wait(), 30) == 0
