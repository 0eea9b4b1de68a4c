"""The public pages in a real browser (Debian's Chromium through Playwright), in English and
Arabic: what a reader sees, laid out right to left in Arabic, with English words (untranslated
catalog text, agencies' notes, citizens' reports) in their own order within it; the map's list
when JavaScript or tiles are missing, with nothing fetched from anywhere but the server itself;
no citizen named in what is shown; hostile words shown as words; no console error or CSP
violation anywhere; and the search reached and sent with the keyboard alone.

Every tab fails its test on a console error, a script error, a CSP violation, a failed request,
a dialog or a request to another host (tests/support/chromium.py), so each check below also
checks those on every page it opens.
"""

from __future__ import annotations

import asyncio
import io
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp import web
from PIL import Image

from bot.i18n.translate import _, use_locale
from tests.support.agency_channels import approve, submit
from tests.support.chromium import Chromium, Tab
from tests.support.conversation import expect
from tests.support.harness import Harness
from tests.support.public_side import World
from tests.support.web_pages import (
    HOSTILE,
    T0,
    H,
    Planned,
    add_reports,
    hostile_catalog,
    rewrite_catalog,
)
from tools.chromium import WIDTH

pytestmark = pytest.mark.both_databases

ROAD = "KAD-RD-017"
PUBLISHED = ("published", T0 + H, "moderator", None)
# Where a selector's element sits across the viewport; with text=true the box of its text, not of
# its block (a heading's block spans the whole line either way).
BOX = """([selector, text]) => {
  const element = document.querySelector(selector);
  let box = element.getBoundingClientRect();
  if (text) {
    const range = document.createRange();
    range.selectNodeContents(element);
    box = range.getBoundingClientRect();
  }
  return [box.left, box.right];
}"""
DIRECTION = """() => [document.documentElement.getAttribute("dir"),
  getComputedStyle(document.documentElement).direction, getComputedStyle(document.body).direction]"""


@dataclass(frozen=True)
class Box:
    left: float
    right: float


@dataclass(frozen=True)
class Layout:
    direction: list[str]  # <html dir>, and the computed direction of <html> and <body>
    title: Box  # the h1's text
    first: Box  # the first column: a table's first header cell, or a fact's name (dl.facts dt)
    last: Box  # the last column: a table's last header cell, or a fact's value


async def layout(tab: Tab, path: str) -> Layout:
    await tab.open(path)

    async def box(selector: str, text: bool = False) -> Box:
        return Box(*await tab.eval(BOX, [selector, text]))

    return Layout(
        await tab.eval(DIRECTION),
        await box("h1", text=True),
        await box("table thead th:first-child, dl.facts dt"),
        await box("table thead th:last-child, dl.facts dd"),
    )


def base(harness: Harness) -> str:
    web = harness.runner.web
    assert web is not None and web.port
    return f"http://127.0.0.1:{web.port}"


def dead_port() -> int:
    """A local port where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def use_tiles(harness: Harness, url: str | None) -> None:
    harness.services.settings = replace(harness.services.settings, map_tile_url=url)


async def soon(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    """Wait until the browser's events have made the condition true."""
    for _wait in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the browser never reported it")


async def test_arabic_pages_are_laid_out_right_to_left(
    chromium: Chromium, harness: Harness
) -> None:
    with use_locale("ar"):
        arabic_title = _("Public commitments")
    for path in ("/", f"/commitments/{ROAD}"):
        async with chromium.tab(base(harness)) as tab:
            english = await layout(tab, path)
            arabic = await layout(tab, f"{path}?lang=ar")
            if path == "/":
                assert arabic_title in await tab.text("h1")
        if path == "/":  # a browser that asks for Arabic gets the same page, right to left
            async with chromium.tab(base(harness), locale="ar") as tab:
                assert await layout(tab, path) == arabic
        assert english.direction == ["ltr", "ltr", "ltr"], path
        assert arabic.direction == ["rtl", "rtl", "rtl"], path
        # English: the heading starts at the left margin; Arabic: it ends at the right one.
        assert english.title.left < 100 and english.title.right < WIDTH - 300, (path, english)
        assert arabic.title.right > WIDTH - 100, (path, arabic)
        assert arabic.title.left > english.title.left + 200, (path, english, arabic)
        # The first column is on the left in English, on the right in Arabic.
        assert english.first.left < english.last.left, (path, english)
        assert arabic.first.left > arabic.last.left, (path, arabic)
        assert arabic.first.right > WIDTH - 100, (path, arabic)


# Where the last two characters of `words` sit, in the first text node under `selector` that holds
# them: [left, right, top] of each.
ENDS = """([selector, words]) => {
  for (const element of document.querySelectorAll(selector)) {
    const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const start = node.data.indexOf(words);
      if (start < 0) continue;
      const box = (at) => {
        const range = document.createRange();
        range.setStart(node, at);
        range.setEnd(node, at + 1);
        const r = range.getBoundingClientRect();
        return [r.left, r.right, r.top];
      };
      const end = start + words.length;
      return [box(end - 2), box(end - 1)];
    }
  }
  return null;
}"""
# English words from the catalog (no Arabic translation), an agency and a citizen, each ending in a
# full stop: in a right-to-left paragraph the full stop, a neutral character, takes the paragraph's
# direction and lands at the left end of the English words, unless they are isolated (<bdi>) or
# their block takes its own direction (dir="auto"). (A closing bracket would not show it: the
# bracket pair takes the direction of what it encloses.)
TITLE = "Kawo–Rigasa road, phase 2."
DESCRIPTION = "Twelve kilometres of road rebuilt, with drains."
AGENCY = "Kaduna State Ministry of Works, Roads Dept."
NOTE = "Work on the culvert started."
TEXT = "The culvert is blocked."
NOTED = "CW-BRZZX2"


async def test_english_words_end_at_their_right_end_on_arabic_pages(
    chromium: Chromium, harness: Harness
) -> None:
    """On the Arabic pages as on the English ones, English words keep their own order: the full
    stop that ends a commitment's title, description or agency, an agency's note or a citizen's
    text is at its right end, wherever the page shows it."""
    await rewrite_catalog(
        harness.db, ROAD, title=TITLE, description=DESCRIPTION, theme="Roads", agency=AGENCY
    )
    answered = ("acknowledged", T0 + 2 * H, "official", NOTE)
    await add_reports(
        harness.db, ROAD, [Planned(NOTED, "acknowledged", (PUBLISHED, answered), text=TEXT)]
    )
    places = [
        ("/", "table.commitments tbody th", TITLE),
        ("/", "table.commitments tbody td", AGENCY),
        (f"/commitments/{ROAD}", "h1", TITLE),
        (f"/commitments/{ROAD}", "dl.facts dd", AGENCY),
        (f"/commitments/{ROAD}", ".description p", DESCRIPTION),
        (f"/commitments/{ROAD}", "ul.answers q", NOTE),
        (f"/commitments/{ROAD}", "ul.reports p.text", TEXT),
        (f"/reports/{NOTED}", "dl.facts dd", TITLE),
        (f"/reports/{NOTED}", "blockquote.text p", TEXT),
        (f"/reports/{NOTED}", "table[aria-labelledby=history] td", NOTE),
        ("/agencies", "#agencies tbody th", AGENCY),
        ("/map", "main table tbody td", TITLE),
        ("/map", ".leaflet-popup-content p", TEXT),  # built by map.js
    ]
    tiles = f"http://127.0.0.1:{dead_port()}"
    use_tiles(harness, tiles + "/{z}/{x}/{y}.png")
    reversed_ends = []
    async with chromium.tab(base(harness), tolerate=lambda p: tiles + "/" in p) as tab:
        for lang in ("en", "ar"):
            for path, selector, words in places:
                if tab.url != f"{base(harness)}{path}?lang={lang}":
                    await tab.open(f"{path}?lang={lang}")
                if ".leaflet-popup" in selector:
                    await tab.click("#map .leaflet-marker-icon")
                    await tab.wait_for(".leaflet-popup-content")
                found = await tab.eval(ENDS, [selector, words])
                assert found is not None, (lang, path, selector, words)
                before, last = found
                assert before[2] == last[2], (lang, path, selector, "not on one line")
                # Left to right: the full stop is right of the character before it, in both
                # languages (compared with its neighbour, not the first character: a cell may
                # wrap the words onto two lines).
                if not last[1] > before[1]:
                    reversed_ends.append((lang, path, selector))
                if lang == "ar" and selector == "h1" and not last[1] > WIDTH - 100:
                    reversed_ends.append((lang, path, "h1 not at the right margin"))
    assert not reversed_ends, "\n".join(map(str, reversed_ends))


async def located_reports(harness: Harness) -> None:
    await add_reports(
        harness.db,
        ROAD,
        [
            Planned("CW-BRZZZY", "published", (PUBLISHED,), place=(10.5731, 7.4412)),
            Planned(
                "CW-BRZZZ2",
                "in_progress",
                (PUBLISHED, ("in_progress", T0 + 2 * H, "official", None)),
                place=(10.58, 7.45),
            ),
            Planned(
                "CW-BRZZZ3",
                "resolved",
                (PUBLISHED, ("resolved", T0 + 3 * H, "official", None)),
                place=(10.59, 7.46),
            ),
        ],
    )


async def map_list(tab: Tab) -> list[str]:
    """The references in the map page's list, as shown."""
    await tab.wait_for("main table tbody tr")
    rows = await tab.eval(
        """() => [...document.querySelectorAll("main table tbody tr")]
          .filter((row) => row.offsetParent !== null)
          .map((row) => row.querySelector("th a").textContent)"""
    )
    assert isinstance(rows, list)
    return rows


async def test_the_map_lists_open_reports_without_javascript_or_tiles(
    chromium: Chromium, harness: Harness
) -> None:
    await located_reports(harness)
    open_reports = ["CW-BRZZZ2", "CW-BRZZZY"]  # newest first; the resolved one is not open
    async with chromium.tab(base(harness), javascript=False) as tab:
        await tab.open("/map")
        assert await map_list(tab) == open_reports
        assert await tab.count("#map") == 0
    # JavaScript on, but no tile server set: the same list, and no script at all.
    async with chromium.tab(base(harness)) as tab:
        await tab.open("/map?lang=ar")
        assert await map_list(tab) == open_reports
        assert await tab.count("script") == 0 and await tab.count("#map") == 0

    # Tiles from a local address that serves nothing: Leaflet (vendored) draws the markers from
    # the server's own GeoJSON, the tiles fail, and the list stays whole and usable.
    tiles = f"http://127.0.0.1:{dead_port()}"
    use_tiles(harness, tiles + "/{z}/{x}/{y}.png")
    site = base(harness)

    def tile_failure(problem: str) -> bool:
        return tiles + "/" in problem

    async with chromium.tab(site, tolerate=tile_failure) as tab:
        await tab.open("/map")
        await tab.wait_for("#map .leaflet-marker-icon")
        assert await tab.visible("#map")
        assert await tab.count("#map .leaflet-marker-icon") == 2
        assert await map_list(tab) == open_reports
        await tab.click("main table tbody tr th a")
        await tab.wait_for_url(lambda url: url.endswith("/reports/CW-BRZZZ2"))
        assert "CW-BRZZZ2" in await tab.text("h1")
        # Everything the page asked for was on this machine: the server's own files, and the
        # (dead) tile server; nothing from a CDN.
        hosts = {urlsplit(url).netloc for url in tab.requests}
        assert hosts == {urlsplit(site).netloc, urlsplit(tiles).netloc}, tab.requests
        assert any(url.startswith(tiles + "/") for url in tab.requests)
        assert {urlsplit(url).path for url in tab.requests if url.startswith(site)} >= {
            "/map",
            "/static/leaflet/leaflet.js",
            "/static/leaflet/leaflet.css",
            "/static/map.js",
            "/map/reports.geojson",
        }


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (40, 120, 200)).save(out, "JPEG")
    return out.getvalue()


async def test_no_citizen_is_named_in_what_the_browser_shows(
    chromium: Chromium, harness: Harness, world: World
) -> None:
    # One more: a photo, and a citizen who gave their name and phone in the text, which the
    # moderator redacted.
    author = harness.user("en", first_name="Amina", username="amina_barnawi")
    photographed = await submit(harness, author, photo=jpeg(), where=(10.5990, 7.4700))
    card = await expect(world.group, photographed, "waiting for review", timeout=15)
    await approve(world.moderator, world.group, photographed, card)
    await add_reports(
        harness.db,
        ROAD,
        [
            Planned(
                "CW-BRZZYZ",
                "published",
                (PUBLISHED,),
                text="My name is Amina Bello, call 0803 555 0101 about the pothole",
                public_text="Call [redacted] about the pothole",
            )
        ],
    )
    private = (
        *world.private,
        str(author.id),
        "Amina",
        "amina_barnawi",
        "0803 555 0101",
        "08035550101",
    )
    pages = [
        "/",
        f"/commitments/{ROAD}",
        f"/reports/{world.published}",
        f"/reports/{world.answered}",
        f"/reports/{photographed}",
        "/reports/CW-BRZZYZ",
        "/agencies",
        "/map",
    ]
    for lang in ("en", "ar"):
        async with chromium.tab(base(harness)) as tab:
            shown: dict[str, str] = {}
            for path in pages:
                await tab.open(f"{path}?lang={lang}")
                shown[path], html = await tab.text(), await tab.html()
                for value in private:
                    assert value not in shown[path], (lang, path, value)
                    assert value not in html, (lang, path, value)
                if path == f"/reports/{photographed}":
                    widths = await tab.eval(
                        "() => [...document.querySelectorAll('.photos img')]"
                        ".map((image) => image.naturalWidth)"
                    )
                    assert widths == [320]  # the photo is there, and shown
            # The pages did show the reports: the words, and the moderator's redaction.
            assert "The new culvert is cracked" in shown[f"/reports/{world.published}"]
            assert "Call [redacted] about the pothole" in shown["/reports/CW-BRZZYZ"]
            assert world.published in shown["/map"] and photographed in shown["/map"]


async def test_hostile_words_are_shown_as_words_and_never_run(
    chromium: Chromium, harness: Harness
) -> None:
    await hostile_catalog(harness.db, ROAD)
    await add_reports(
        harness.db,
        ROAD,
        [
            Planned(
                "CW-BRZZY2",
                "acknowledged",
                (PUBLISHED, ("acknowledged", T0 + 2 * H, "official", f"Note {HOSTILE}")),
                text=f"Text {HOSTILE}",
                place=(10.5731, 7.4412),
            )
        ],
    )
    tiles = f"http://127.0.0.1:{dead_port()}"
    use_tiles(harness, tiles + "/{z}/{x}/{y}.png")
    pages = ["/", f"/commitments/{ROAD}", "/reports/CW-BRZZY2", "/agencies", "/map"]
    async with chromium.tab(base(harness), tolerate=lambda p: tiles + "/" in p) as tab:
        for path in pages:
            for lang in ("en", "ar"):
                await tab.open(f"{path}?lang={lang}")
                assert HOSTILE in await tab.text(), (path, lang)
                assert await tab.count('img[src="x"]') == 0, path
                scripts = await tab.eval("() => [...document.scripts].map((s) => s.src)")
                assert all(scripts), (path, scripts)  # only our own files
        # The map's popup: built by our script, from the report's words, as text.
        await tab.open("/map")
        await tab.click("#map .leaflet-marker-icon")
        await tab.wait_for(".leaflet-popup-content")
        assert f"Text {HOSTILE}" in await tab.text(".leaflet-popup-content")
        assert await tab.count(".leaflet-popup-content img, .leaflet-popup-content script") == 0
        # And a search for markup is only a search.
        await tab.open("/?q=%3Cscript%3Ealert(1)%3C/script%3E")
        assert (
            await tab.eval("() => document.querySelector('#q').value")
            == "<script>alert(1)</script>"
        )


@asynccontextmanager
async def tile_server() -> AsyncIterator[tuple[str, list[str]]]:
    """A local tile server, the same small PNG for every tile: its address, and the tiles it
    served."""
    out = io.BytesIO()
    Image.new("RGB", (256, 256), (230, 236, 240)).save(out, "PNG")
    tile = out.getvalue()
    served: list[str] = []

    async def answer(request: web.Request) -> web.Response:
        served.append(request.path)
        return web.Response(body=tile, content_type="image/png")

    app = web.Application()
    app.router.add_get("/{z}/{x}/{y}.png", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", served
    finally:
        await runner.cleanup()


async def test_no_console_error_or_csp_violation_on_any_page(
    chromium: Chromium, harness: Harness
) -> None:
    await located_reports(harness)
    pages = ["/", f"/commitments/{ROAD}", "/reports/CW-BRZZZ2", "/agencies", "/map", "/?q=road"]
    async with chromium.tab(base(harness)) as tab:
        for path in pages:
            for lang in ("en", "ar"):
                await tab.open(f"{path}{'&' if '?' in path else '?'}lang={lang}")
    # The map with tiles from a (local) tile server: the policy lets its tiles in, and nothing
    # else is refused.
    async with tile_server() as (tiles, served):
        use_tiles(harness, tiles + "/{z}/{x}/{y}.png")
        async with chromium.tab(base(harness)) as tab:
            for lang in ("en", "ar"):
                await tab.open(f"/map?lang={lang}")
                await tab.wait_for("#map .leaflet-tile-loaded")
                assert await tab.count("#map .leaflet-marker-icon") == 2
        assert served
    # The watch sees what it must: a script the page's policy refuses, and a request elsewhere.
    async with chromium.tab(base(harness)) as tab:
        await tab.open("/")
        await tab.eval(
            """() => {
              const script = document.createElement("script");
              script.textContent = "alert('inline')";
              document.body.append(script);
            }"""
        )
        await soon(lambda: any("script-src" in p and "inline" in p for p in tab.problems))
        assert tab.dialogs == []  # the policy stopped the alert
        await tab.eval("() => fetch('https://cdn.example.org/x.js').catch(() => null)")
        await soon(lambda: any("connect-src" in p and "cdn.example.org" in p for p in tab.problems))
        # A navigation is not the page's policy's to refuse: the tab stops it at the door.
        await tab.eval("() => { location.href = 'https://cdn.example.org/'; }")
        await soon(lambda: tab.outside == ["https://cdn.example.org/"])
        tab.problems.clear()
        tab.outside.clear()


async def test_the_search_is_reached_and_sent_with_the_keyboard(
    chromium: Chromium, harness: Harness
) -> None:
    async with chromium.tab(base(harness)) as tab:
        await tab.open("/")
        all_rows = await tab.count("table.commitments tbody tr")
        assert all_rows > 1
        # The first Tab reaches the skip link; then on through the header to the search field.
        await tab.press("Tab")
        assert await tab.eval("() => document.activeElement.getAttribute('href')") == "#main"
        for _presses in range(40):
            if await tab.eval("() => document.activeElement.id") == "q":
                break
            await tab.press("Tab")
        else:
            raise AssertionError("Tab never reached the search field")
        # Where the focus is, the reader sees it.
        outline = await tab.eval("() => getComputedStyle(document.activeElement).outlineStyle")
        assert outline == "solid"
        await tab.type("kawo road")
        await tab.press("Enter")
        await tab.wait_for_url(lambda url: "q=" in url)
        assert parse_qs(urlsplit(tab.url).query)["q"] == ["kawo road"]
        rows = await tab.eval(
            "() => [...document.querySelectorAll('table.commitments tbody tr')]"
            ".map((row) => row.querySelector('.code').textContent)"
        )
        assert rows == [ROAD]
        assert "1 commitment" in await tab.text("#results")
