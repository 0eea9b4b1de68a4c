"""Debian's Chromium (package `chromium`, /usr/bin/chromium) driven by Playwright, for the public
pages' browser tests (tests/support/chromium.py) and the screenshot (tools/screenshot.py).

Playwright never downloads a browser here: it starts the system's, headless. Install it with
`apt-get install chromium` (.ci/run does when it is missing).
"""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Browser, Playwright

CHROMIUM = Path("/usr/bin/chromium")
WIDTH = 1200  # the screenshot's width, and the tests' viewport


def missing() -> str | None:
    """Why the browser cannot start here, or None when it can."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)"
    return None


async def launch(playwright: Playwright) -> Browser:
    return await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
