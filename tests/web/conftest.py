"""Fixtures for the public pages: the bot with its web server on a free port, and a browser
without JavaScript reading it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.support.agency_channels import STAFF_CHAT
from tests.support.harness import Harness
from tests.support.public_side import World, make_world
from tests.support.web_pages import Browser


@pytest.fixture
def harness_overrides() -> dict[str, Any]:
    return {"moderator_chat_id": STAFF_CHAT, "web_port": 0}  # 0: any free port


@pytest.fixture
async def browser(harness: Harness) -> AsyncIterator[Browser]:
    async with aiohttp.ClientSession() as http:
        yield Browser.of(harness, http)


@pytest.fixture
async def world(harness: Harness) -> World:
    return await make_world(harness)
