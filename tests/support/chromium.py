"""The public pages in a real browser: Debian's Chromium driven by Playwright (tools/chromium.py).

One Chromium serves a whole test module, in a thread and event loop of its own: each test has its
own event loop (where the bot and its web server run), and Playwright objects belong to the loop
that made them. A Tab's methods hand their work to the browser's loop and wait for it without
blocking the test's loop, so the web server keeps answering while the browser reads.

Every tab is a fresh browser context (no cookies, cache or storage from another test) that
records what a reader would never want to happen, and the tab fails the test when any did:
a console error (Chromium reports a Content-Security-Policy violation as one), a script error, a
failed request or an HTTP error, a dialog (alert, confirm, prompt), and any request to a host other
than the local test server (refused before it leaves the machine).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Dialog,
    Page,
    Playwright,
    Request,
    Response,
    Route,
    async_playwright,
)

from tools.chromium import WIDTH, launch

T = TypeVar("T")
LOCAL = "127.0.0.1"
# A CSP violation is a console error too; this makes it say which directive refused what (with
# JavaScript off nothing of ours runs, and Chromium's own console error still reports it).
REPORT_CSP = """
document.addEventListener("securitypolicyviolation", function (e) {
  console.error("CSP violation: " + e.violatedDirective + " refused " + e.blockedURI);
});
"""


@dataclass
class Tab:
    """One page in a fresh context, and everything it saw go wrong."""

    chromium: Chromium
    base: str
    context: BrowserContext
    page: Page
    problems: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)  # requests refused: not to the test server
    requests: list[str] = field(default_factory=list)
    tolerate: Callable[[str], bool] = lambda problem: False

    def _problem(self, text: str) -> None:
        if not self.tolerate(text):
            self.problems.append(text)

    async def _watch(self) -> None:
        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                self._problem(f"console error: {message.text} ({message.location.get('url')})")

        async def on_dialog(dialog: Dialog) -> None:
            self.dialogs.append(f"{dialog.type}: {dialog.message}")
            await dialog.dismiss()

        def on_failed(request: Request) -> None:
            # Not failures: refused by guard() below (counted there), or cancelled because the
            # reader moved on to another page before it finished (a marker's shadow, say).
            if request.failure not in ("net::ERR_BLOCKED_BY_CLIENT", "net::ERR_ABORTED"):
                self._problem(f"request failed: {request.url} ({request.failure})")

        def on_response(response: Response) -> None:
            if response.status >= 400:
                self._problem(f"HTTP {response.status}: {response.url}")

        async def guard(route: Route) -> None:
            url = route.request.url
            self.requests.append(url)
            if urlsplit(url).hostname == LOCAL:
                await route.continue_()
            else:
                self.outside.append(url)
                await route.abort("blockedbyclient")

        self.page.on("console", on_console)
        self.page.on("pageerror", lambda error: self._problem(f"script error: {error}"))
        self.page.on("dialog", on_dialog)
        self.context.on("requestfailed", on_failed)
        self.context.on("response", on_response)
        await self.context.route("**/*", guard)
        await self.context.add_init_script(REPORT_CSP)

    async def _do(self, work: Coroutine[Any, Any, T]) -> T:
        return await self.chromium.call(work)

    # --- what a reader does and sees -------------------------------------------------------------

    async def open(self, path: str) -> None:
        response = await self._do(self.page.goto(self.base + path))
        assert response is not None and response.status == 200, (path, response)

    async def text(self, selector: str = "body") -> str:
        """What is on the screen, as the browser lays it out (hidden elements left out)."""
        return await self._do(self.page.inner_text(selector))

    async def html(self) -> str:
        """The document as the browser holds it now (after any script ran)."""
        return await self._do(self.page.content())

    async def eval(self, expression: str, argument: Any = None) -> Any:
        return await self._do(self.page.evaluate(expression, argument))

    async def count(self, selector: str) -> int:
        return await self._do(self.page.locator(selector).count())

    async def visible(self, selector: str) -> bool:
        return await self._do(self.page.locator(selector).first.is_visible())

    async def press(self, key: str) -> None:
        await self._do(self.page.keyboard.press(key))

    async def type(self, text: str) -> None:
        await self._do(self.page.keyboard.type(text))

    async def click(self, selector: str) -> None:
        await self._do(self.page.locator(selector).first.click())

    async def wait_for(self, selector: str, state: str = "visible") -> None:
        await self._do(self.page.wait_for_selector(selector, state=state))  # type: ignore[arg-type]

    async def wait_for_url(self, predicate: Callable[[str], bool]) -> None:
        await self._do(self.page.wait_for_url(predicate))

    @property
    def url(self) -> str:
        return self.page.url


class Chromium:
    """One headless Chromium, driven from its own thread."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="chromium", daemon=True)
        self._thread.start()
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._wait(self._start())

    def _wait(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout=60)

    async def _start(self) -> None:
        self._playwright = await async_playwright().start()
        self._browser = await launch(self._playwright)

    async def _stop(self) -> None:
        if self._browser is not None:
            await self._browser.close()
        if self._playwright is not None:
            await self._playwright.stop()

    def close(self) -> None:
        try:
            self._wait(self._stop())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()

    async def call(self, work: Coroutine[Any, Any, T]) -> T:
        """Run a Playwright coroutine on the browser's loop; the caller's loop keeps running."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, self._loop))

    async def _open_tab(self, base: str, javascript: bool, locale: str | None) -> Tab:
        assert self._browser is not None
        context = await self._browser.new_context(
            viewport={"width": WIDTH, "height": 900},
            java_script_enabled=javascript,
            locale=locale,
        )
        context.set_default_timeout(10_000)
        page = await context.new_page()
        tab = Tab(self, base, context, page)
        await tab._watch()
        return tab

    @asynccontextmanager
    async def tab(
        self,
        base: str,
        *,
        javascript: bool = True,
        locale: str | None = None,
        tolerate: Callable[[str], bool] | None = None,
    ) -> AsyncIterator[Tab]:
        """A fresh context on the site at `base`; on leaving, the test fails if anything went
        wrong in it (console or script errors, CSP violations, failed requests, dialogs, requests
        that would have left the machine). `tolerate` names problems the test expects."""
        tab = await self.call(self._open_tab(base, javascript, locale))
        if tolerate is not None:
            tab.tolerate = tolerate
        try:
            yield tab
        finally:
            await self.call(tab.context.close())
        assert tab.problems == [], tab.problems
        assert tab.dialogs == [], tab.dialogs
        assert tab.outside == [], tab.outside
