"""Fixtures for the public pages: the bot with its web server on a free port, a browser without
JavaScript reading it, and a real one (Chromium, one per test module)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

from tests.support.agency_channels import STAFF_CHAT
from tests.support.harness import Harness
from tests.support.public_side import World, make_world
from tests.support.web_pages import Browser

if TYPE_CHECKING:
    from tests.support.chromium import Chromium


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


def unavailable(reason: str) -> None:
    """Skip the browser tests here, with the reason; in CI (CI=true) fail them instead: CI must
    run them (.ci/run installs Chromium)."""
    if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
        pytest.fail(f"CI=true but the browser tests cannot run: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Chromium]:
    """Debian's Chromium through Playwright; without either the tests skip, except in CI
    (CI=true), where they fail."""
    try:
        from tests.support.chromium import Chromium
        from tools.chromium import missing
    except ImportError as error:  # playwright is in the test extra
        unavailable(f"Playwright is not installed ({error}): pip install -e '.[test]'")
        raise
    reason = missing()
    if reason is not None:
        unavailable(reason)
    browser = Chromium()
    try:
        yield browser
    finally:
        browser.close()
