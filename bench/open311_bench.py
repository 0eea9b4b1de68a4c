"""Benchmark of the public side at scale: an Open311 page of 1,000 requests, and the downloads.

    .venv/bin/python -m bench.open311_bench --reports 1000000 [--database-url URL] [--rounds 30]

Fills a temporary SQLite file (or --database-url) with generated reports (bench/export_bench.py's
generator), serves the real web application (bot/channels/web) on a local port, and measures,
side by side in one run:
- GET /open311/v2/requests.json for a 90-day window, 1,000 requests per page (first page and a
  deep page), against the same query run bare (storage/queries/open311.py, no HTTP, no JSON);
- GET /open311/v2/requests/ID.json and /open311/v2/services.json;
- the peak memory the server's Python allocates (tracemalloc) while a client downloads
  /data/reports.csv and .geojson of every public report, against the download of an empty selection.
Medians and p99 of --rounds requests each; results merged into bench/results/open311.json under the
number of reports.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import measure, record_run, serving_web
from bench.export_bench import generate
from bot.channels.web.open311 import PUBLIC_NOTES
from bot.reports.lifecycle import PUBLIC
from storage.queries import open311 as queries

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "open311.json"
# The generator spaces reports 30 s apart from 2023-01-01: 100,000 fill 35 days of this window,
# a million all of it (about 260,000 reports).
WINDOW = {"start_date": "2023-01-01T00:00:00Z", "end_date": "2023-03-31T00:00:00Z"}


async def read_all(http: aiohttp.ClientSession, url: str) -> int:
    size = 0
    async with http.get(url) as response:
        response.raise_for_status()
        async for chunk in response.content.iter_chunked(1 << 16):
            size += len(chunk)
    return size


async def download(http: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    """The whole file read and dropped: once timed, once with the (in-process) server's Python
    allocations traced for their peak (tracing slows it several times over)."""
    started = time.perf_counter()
    size = await read_all(http, url)
    seconds = time.perf_counter() - started
    tracemalloc.start()
    await read_all(http, url)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"mb": round(size / 2**20, 1), "seconds": round(seconds, 2), "peak_mb": peak / 2**20}


async def run(url: str, rounds: int) -> dict[str, Any]:
    async with serving_web(url) as side:
        db, base, http = side.db, side.base, side.http
        page = side.getter("/open311/v2/requests.json", **WINDOW)
        deep = side.getter("/open311/v2/requests.json", **WINDOW, page="100")
        body = await page()
        assert body.count(b"service_request_id") == 1000, "the window holds fewer requests"
        start, end = (datetime.fromisoformat(WINDOW[k]) for k in ("start_date", "end_date"))

        async def bare() -> Any:
            query = queries.RequestQuery(
                frozenset(PUBLIC), PUBLIC_NOTES, start=start, end=end, limit=1001
            )
            async with db.read() as session:
                return await queries.service_requests(session, query)

        one_id = body.split(b'"service_request_id":"')[1].split(b'"')[0].decode()
        results: dict[str, Any] = {
            "requests_page_http": await measure(rounds, page),
            "requests_page_bare_query": await measure(rounds, bare),
            "requests_page_100_http": await measure(rounds, deep),
            "one_request_http": await measure(
                rounds, side.getter(f"/open311/v2/requests/{one_id}.json")
            ),
            "services_http": await measure(rounds, side.getter("/open311/v2/services.json")),
        }
        http_p50 = results["requests_page_http"]["p50_ms"]
        bare_p50 = results["requests_page_bare_query"]["p50_ms"]
        results["requests_page_http_over_bare_p50"] = round(http_p50 / bare_p50, 2)
        downloads = {}
        for fmt in ("csv", "geojson"):
            empty = await download(http, f"{base}/data/reports.{fmt}?since=2100-01-01")
            full = await download(http, f"{base}/data/reports.{fmt}")
            downloads[fmt] = {
                "mb": full["mb"],
                "seconds": full["seconds"],
                "peak_python_mb": round(full["peak_mb"], 1),
                "peak_python_mb_empty_selection": round(empty["peak_mb"], 1),
            }
        results["downloads"] = downloads
        return results


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--database-url", help="an empty database to fill (default: temporary)")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.reports < 100_000:
        parser.error("--reports must be at least 100000 (the 90-day window needs 1,000)")
    with tempfile.TemporaryDirectory(prefix="cw-open311-bench-") as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        print(f"generating {args.reports:,} reports ...", flush=True)
        generated = asyncio.run(generate(url, args.reports))
        print(f"  {generated:.1f} s; measuring ...", flush=True)
        results = asyncio.run(run(url, args.rounds))
    head = {
        "reports": args.reports,
        "database": url.split(":", 1)[0] if args.database_url else "sqlite (temporary file)",
    }
    record_run(args.results, str(args.reports), head, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
