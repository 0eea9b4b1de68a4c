"""Fixtures for the emulator's own tests: a running emulator, a bot token, raw HTTP, PTB's Bot."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from PIL import Image
from telegram import Bot

from emulator import BotApiEmulator


class FakeClock:
    """A monotonic clock tests move by hand, so rate limits do not depend on machine speed."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class RawApi:
    """Plain aiohttp calls, to see Telegram's envelopes and status codes as they are."""

    def __init__(self, session: aiohttp.ClientSession, emu: BotApiEmulator, token: str) -> None:
        self.session = session
        self.emu = emu
        self.token = token

    async def call(
        self, method: str, *, token: str | None = None, http: str = "POST", **params: Any
    ) -> tuple[int, dict[str, Any]]:
        url = f"{self.emu.base_url}{token or self.token}/{method}"
        if http == "GET":
            response = await self.session.get(url, params={k: str(v) for k, v in params.items()})
        else:
            response = await self.session.post(url, json=params)
        async with response:
            return response.status, await response.json(content_type=None)


def _make_jpeg(width: int = 640, height: int = 480, *, exif: bool = False) -> bytes:
    image = Image.new("RGB", (width, height), (200, 30, 30))
    buffer = io.BytesIO()
    if exif:
        data = Image.Exif()
        data[0x010F] = "TestCamera"  # Make
        image.save(buffer, format="JPEG", exif=data)
    else:
        image.save(buffer, format="JPEG")
    return buffer.getvalue()


@pytest.fixture
def make_jpeg() -> Any:
    """make_jpeg(width=640, height=480, exif=False) -> JPEG bytes."""
    return _make_jpeg


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest_asyncio.fixture
async def emu(clock: FakeClock) -> AsyncIterator[BotApiEmulator]:
    emulator = BotApiEmulator(clock=clock)
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()


@pytest.fixture
def token(emu: BotApiEmulator) -> str:
    return emu.create_bot(username="commitment_watch_bot", first_name="Commitment Watch")


@pytest_asyncio.fixture
async def raw(emu: BotApiEmulator, token: str) -> AsyncIterator[RawApi]:
    async with aiohttp.ClientSession() as session:
        yield RawApi(session, emu, token)


@pytest_asyncio.fixture
async def ptb(emu: BotApiEmulator, token: str) -> AsyncIterator[Bot]:
    async with Bot(token, base_url=emu.base_url, base_file_url=emu.base_file_url) as bot:
        yield bot
