"""The open data as files over real HTTP: /data/reports.csv and .geojson hold what the admin's
`export` holds for the same filters, compressed when asked, and a client with the latest copy is
told so (304) instead of downloading it again."""

from __future__ import annotations

import csv
import gzip
import io
import json

import aiohttp

from bot.admin.export import export_reports
from bot.reports.lifecycle import PUBLIC
from storage.queries.exports import ReportFilter
from tests.support.agency_channels import approve
from tests.support.harness import Harness
from tests.support.public_side import EXACT, Civic, World, agency_answers


async def cli_export(harness: Harness, fmt: str) -> str:
    out = io.StringIO()
    grid = harness.services.settings.public_location_grid_m
    await export_reports(harness.db, ReportFilter(statuses=frozenset(PUBLIC)), fmt, out, grid)
    return out.getvalue()


async def test_the_files_hold_what_export_holds(
    civic: Civic, harness: Harness, world: World
) -> None:
    for fmt in ("csv", "geojson"):
        answer = await civic.get(f"/data/reports.{fmt}")
        assert answer.status == 200, answer.body
        assert answer.body.decode() == await cli_export(harness, fmt)
        assert answer.headers["Content-Disposition"] == f'attachment; filename="reports.{fmt}"'
    csv_answer = await civic.get("/data/reports.csv")
    assert csv_answer.headers["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(csv_answer.body.decode())))
    assert sorted(r["reference"] for r in rows) == sorted([world.published, world.answered])
    first = next(r for r in rows if r["reference"] == world.published)
    assert (float(first["latitude"]), float(first["longitude"])) != EXACT
    geojson = (await civic.get("/data/reports.geojson")).json()
    assert len(geojson["features"]) == 2
    for body in civic.seen:
        for private in world.private:
            assert private not in body.decode()


async def test_filters_are_exports_filters(civic: Civic, harness: Harness, world: World) -> None:
    async def references(**params: str) -> list[str]:
        answer = await civic.get("/data/reports.csv", **params)
        assert answer.status == 200, answer.body
        return sorted(r["reference"] for r in csv.DictReader(io.StringIO(answer.body.decode())))

    both = sorted([world.published, world.answered])
    assert await references(commitment="kad-rd-017") == both
    assert await references(commitment="KAD-HC-004") == []
    assert await references(agency="kaduna-works") == both
    assert await references(status="in_progress") == [world.answered]
    assert await references(status="published,in_progress") == both
    assert await references(since="2000-01-01", until="2000-01-31") == []

    refusals = [
        ({"status": "pending_review"}, 400, "status: pending_review is not public"),
        ({"status": "lost"}, 400, "status: unknown status 'lost'; known: acknowledged, dupl"),
        ({"since": "yesterday"}, 400, "since: expected a date such as 2024-01-31"),
        ({"since": "2024-05-03", "until": "2024-05-02"}, 400, "since must come before until"),
        ({"commitment": "NOPE-1"}, 404, "unknown commitment 'NOPE-1'"),
        ({"agency": "nobody"}, 404, "unknown agency 'nobody'"),
    ]
    for params, status, message in refusals:
        answer = await civic.get("/data/reports.csv", **params)
        assert answer.status == status, params
        assert answer.json()["error"].startswith(message), answer.json()


async def test_compressed_when_asked(civic: Civic, harness: Harness, world: World) -> None:
    async with (
        aiohttp.ClientSession(auto_decompress=False) as raw,
        raw.get(civic.base + "/data/reports.csv", headers={"Accept-Encoding": "gzip"}) as r,
    ):
        assert r.headers["Content-Encoding"] == "gzip"
        body = await r.read()
    assert gzip.decompress(body).decode() == await cli_export(harness, "csv")


async def test_a_client_with_the_latest_copy_gets_304_until_something_changes(
    civic: Civic, harness: Harness, world: World
) -> None:
    first = await civic.get("/data/reports.csv")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    async with civic.http.get(
        civic.base + "/data/reports.csv", headers={"If-None-Match": etag}
    ) as again:
        assert again.status == 304 and await again.read() == b""
        assert again.headers["ETag"] == etag
    async with civic.http.get(
        civic.base + "/data/reports.csv", headers={"If-Modified-Since": modified}
    ) as since:
        assert since.status == 304
    # Another filter is another file.
    other = await civic.get("/data/reports.csv", status="in_progress")
    assert other.headers["ETag"] != etag
    head = await civic.get("/data/reports.csv", method="HEAD")
    assert head.status == 200 and head.body == b"" and head.headers["ETag"] == etag
    # The agency answers: the report changes, so does the file.
    await agency_answers(harness, world.published, "acknowledged", "Seen, thank you.")
    async with civic.http.get(
        civic.base + "/data/reports.csv", headers={"If-None-Match": etag}
    ) as changed:
        assert changed.status == 200
        assert changed.headers["ETag"] != etag
        rows = list(csv.DictReader(io.StringIO(await changed.text())))
    assert {r["reference"]: r["status"] for r in rows}[world.published] == "acknowledged"
    # A report approved later joins the file.
    await approve(world.moderator, world.group, world.pending)
    latest = await civic.get("/data/reports.geojson")
    assert world.pending in json.dumps(latest.json())
