"""Fixtures for the public side: the bot with its web server on a free port, a civic app reading
it, and a few reports made in Telegram."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.support.agency_channels import STAFF_CHAT
from tests.support.harness import Harness
from tests.support.public_side import Civic, World, make_world


@pytest.fixture
def harness_overrides() -> dict[str, Any]:
    return {"moderator_chat_id": STAFF_CHAT, "web_port": 0}  # 0: any free port


@pytest.fixture
async def civic(harness: Harness) -> AsyncIterator[Civic]:
    async with aiohttp.ClientSession() as http:
        yield Civic(harness, http)


@pytest.fixture
async def world(harness: Harness) -> World:
    return await make_world(harness)
