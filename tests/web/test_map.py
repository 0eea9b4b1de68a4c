"""The map page: a list of the open reports that works without JavaScript or tiles, and with
MAP_TILE_URL the vendored Leaflet and our own script drawing /map/reports.geojson."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from bot.channels.web.pages.common import PAGE_CSP
from bot.reports.public import coarse
from tests.support.harness import Harness
from tests.support.web_pages import HOSTILE, T0, Browser, H, Planned, add_reports

ROAD = "KAD-RD-017"
PLACE = (10.57316, 7.44127)


async def some_reports(harness: Harness) -> None:
    published = ("published", T0 + H, "moderator", None)
    await add_reports(
        harness.db,
        ROAD,
        [
            Planned("CW-MAP2A2", "published", (published,), text=f"Open {HOSTILE}", place=PLACE),
            Planned(
                "CW-MAP2A3",
                "in_progress",
                (published, ("in_progress", T0 + 2 * H, "official", None)),
                place=(10.58, 7.45),
            ),
            Planned("CW-MAP2A4", "published", (published,), place=None),  # no place: not on it
            Planned(
                "CW-MAP2A5",
                "resolved",
                (published, ("resolved", T0 + 3 * H, "official", None)),
                place=(10.59, 7.46),
            ),
            Planned("CW-MAP2A6", "pending_review", (), place=(10.60, 7.47)),
        ],
    )


@pytest.mark.both_databases
async def test_the_map_lists_open_reports_without_javascript(
    browser: Browser, harness: Harness
) -> None:
    await some_reports(harness)
    answer = await browser.get("/map")
    assert answer.status == 200
    page = answer.page
    assert page.find("script") == [] and page.find("div", id="map") == []  # no tiles: a list
    assert answer.headers["Content-Security-Policy"] == PAGE_CSP
    assert "2 open reports with a place" in page.text
    references = [h for h in page.links() if h.startswith("/reports/")]
    assert references == ["/reports/CW-MAP2A3", "/reports/CW-MAP2A2"]
    latitude, longitude = coarse(*PLACE, 100.0)
    assert f"{latitude:.4f}, {longitude:.4f}" in page.text
    assert "10.57316" not in answer.body
    assert "<script" not in answer.body

    data = await browser.get("/map/reports.geojson")
    assert data.status == 200 and data.headers["Content-Type"].startswith("application/geo+json")
    features = json.loads(data.body)["features"]
    assert [f["id"] for f in features] == ["CW-MAP2A3", "CW-MAP2A2"]
    assert features[1]["geometry"]["coordinates"] == [longitude, latitude]
    assert features[1]["properties"]["public_text"] == f"Open {HOSTILE}"
    assert set(features[1]["properties"]) == {
        "reference", "commitment_code", "kind", "public_text", "language", "status",
        "created_at", "updated_at", "media_url",
    }  # fmt: skip


async def test_with_tiles_the_map_loads_leaflet_and_allows_the_tile_server(
    browser: Browser, harness: Harness
) -> None:
    await some_reports(harness)
    harness.services.settings = replace(
        harness.services.settings,
        map_tile_url="https://{s}.tile.example.org/{z}/{x}/{y}.png",
        map_attribution="© Example <contributors>",
    )
    answer = await browser.get("/map", lang="fr")
    page = answer.page
    assert [s["src"] for s in page.find("script")] == [
        "/static/leaflet/leaflet.js",
        "/static/map.js",
    ]
    assert page.inline == []
    [element] = page.find("div", id="map")
    assert element["data-tiles"] == "https://{s}.tile.example.org/{z}/{x}/{y}.png"
    assert element["data-attribution"] == "© Example <contributors>"
    assert element["data-source"] == "/map/reports.geojson"
    assert element["data-report-path"] == "/reports/?lang=fr"
    assert "hidden" in element  # shown by the script once it runs
    assert "&lt;contributors&gt;" in answer.body
    policy = answer.headers["Content-Security-Policy"]
    assert "img-src 'self' data: https://*.tile.example.org;" in policy
    assert "script-src 'self';" in policy
    # The list is there all the same, for readers without JavaScript or tiles.
    assert [h for h in page.links() if h.startswith("/reports/")] == [
        "/reports/CW-MAP2A3?lang=fr",
        "/reports/CW-MAP2A2?lang=fr",
    ]
    for asset in ("/static/leaflet/leaflet.js", "/static/leaflet/leaflet.css", "/static/map.js"):
        served = await browser.get(asset)
        assert served.status == 200, asset
    assert "BSD" in (await browser.get("/static/leaflet/LICENSE")).body
    assert (await browser.get("/static/leaflet/images/marker-icon.png")).status == 200
    # Other pages keep the strict policy.
    assert (await browser.get("/")).headers["Content-Security-Policy"] == PAGE_CSP
