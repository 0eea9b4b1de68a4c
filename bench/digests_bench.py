"""Benchmark of agency digests: the digests of 100 agencies over a million reports.

    .venv/bin/python -m bench.digests_bench --reports 100000
    .venv/bin/python -m bench.digests_bench [--reports 1000000] [--agencies 100] [--database-url URL]

Fills a temporary SQLite file (or --database-url, an empty database) in bulk with reports spread
over a year, each with the event history its status implies (created, published, answered,
resolved, reopened...) and some supporters. Then a child process builds every agency's weekly
digest (figures, chart, CSV) for the last week, one after the other, exactly as the bot does,
and reports the total time, the per-digest p50/p99 and its own peak resident memory. Results are
merged into bench/results/digests.json under the number of reports.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from bench.common import machine_info, merge_results, percentile
from storage.db import Database
from storage.migrate import upgrade_to_head
from storage.models import Agency, Citizen, Commitment, Report, ReportEvent, ReportSupporter

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "digests.json"
CHUNK = 20_000
COMMITMENTS_PER_AGENCY = 10
CITIZENS = 20_000
START = datetime(2024, 1, 1, tzinfo=UTC)
SPACING = timedelta(seconds=30)  # a million reports span about 347 days
STATUSES = (
    ["published"] * 30
    + ["acknowledged"] * 15
    + ["in_progress"] * 10
    + ["resolved"] * 20
    + ["reopened", "duplicate", "not_responsible", "no_action"] * 2
    + ["pending_review", "rejected"] * 4
)
# The status path behind each final status, after pending_review.
PATHS = {
    "pending_review": [],
    "rejected": ["rejected"],
    "published": ["published"],
    "acknowledged": ["published", "acknowledged"],
    "in_progress": ["published", "acknowledged", "in_progress"],
    "resolved": ["published", "acknowledged", "resolved"],
    "reopened": ["published", "acknowledged", "resolved", "reopened"],
    "duplicate": ["published", "duplicate"],
    "not_responsible": ["published", "not_responsible"],
    "no_action": ["published", "acknowledged", "no_action"],
}
WORDS = ["road", "school", "clinic", "water", "borehole", "light", "pothole", "broken", "flooded"]


def end_of_data(reports: int) -> datetime:
    return START + SPACING * reports


async def generate(url: str, reports: int, agencies: int, seed: int = 11) -> dict[str, int]:
    """Bulk-insert the data set; returns how many rows of each kind."""
    rng = random.Random(seed)
    db = Database(url)
    counts = {"reports": 0, "events": 0, "supporters": 0}
    commitments = agencies * COMMITMENTS_PER_AGENCY
    try:
        await upgrade_to_head(db)
        async with db.engine.begin() as conn:
            if await conn.scalar(select(func.count()).select_from(Report)):
                raise SystemExit(f"{url} already holds reports; use an empty database")
            await conn.execute(
                insert(Agency.__table__),
                [
                    {
                        "id": i + 1,
                        "code": f"bench-{i}",
                        "names": {"en": f"Agency {i}"},
                        "timezone": "Africa/Lagos",
                        "digest_frequency": "weekly",
                        "created_at": START,
                        "updated_at": START,
                    }
                    for i in range(agencies)
                ],
            )
            await conn.execute(
                insert(Commitment.__table__),
                [
                    {
                        "id": i + 1,
                        "code": f"BENCH-{i:04d}",
                        "titles": {"en": f"Commitment {i}"},
                        "agency_id": i % agencies + 1,
                        "search_text": f"bench-{i:04d}",
                    }
                    for i in range(commitments)
                ],
            )
            await conn.execute(
                insert(Citizen.__table__),
                [{"id": i + 1, "telegram_user_id": 10_000_000 + i} for i in range(CITIZENS)],
            )
        for offset in range(0, reports, CHUNK):
            rows, events, supporters = [], [], []
            for i in range(offset, min(offset + CHUNK, reports)):
                report_id = i + 1
                created = START + SPACING * i
                status = rng.choice(STATUSES)
                at = created
                events.append(_event(report_id, "created", "draft", "pending_review", at))
                previous = "pending_review"
                for step in PATHS[status]:
                    at += timedelta(minutes=rng.randrange(10, 72 * 60))
                    events.append(_event(report_id, "status", previous, step, at))
                    previous = step
                located = rng.random() < 0.7
                rows.append(
                    {
                        "id": report_id,
                        "reference": f"CW-{i:09d}",
                        "commitment_id": rng.randrange(commitments) + 1,
                        "citizen_id": rng.randrange(CITIZENS) + 1,
                        "kind": "problem" if i % 3 else "progress",
                        "text": " ".join(rng.choices(WORDS, k=10)),
                        "language": "en" if i % 4 else "ha",
                        "latitude": 10.5 + rng.random() / 10 if located else None,
                        "longitude": 7.4 + rng.random() / 10 if located else None,
                        "status": status,
                        "created_at": created,
                        "updated_at": at,
                    }
                )
                if PATHS[status] and rng.random() < 0.1:
                    for citizen in rng.sample(range(1, CITIZENS + 1), rng.randint(1, 5)):
                        supporters.append(
                            {"report_id": report_id, "citizen_id": citizen, "created_at": at}
                        )
            async with db.engine.begin() as conn:
                await conn.execute(insert(Report.__table__), rows)
                await conn.execute(insert(ReportEvent.__table__), events)
                if supporters:
                    await conn.execute(insert(ReportSupporter.__table__), supporters)
            counts["reports"] += len(rows)
            counts["events"] += len(events)
            counts["supporters"] += len(supporters)
    finally:
        await db.dispose()
    return counts


def _event(report_id: int, action: str, old: str, new: str, at: datetime) -> dict[str, Any]:
    return {
        "report_id": report_id,
        "actor_kind": "citizen" if action == "created" else "official",
        "actor_id": 1,
        "action": action,
        "from_status": old,
        "to_status": new,
        "created_at": at,
    }


async def build_all(url: str, reports: int) -> dict[str, Any]:
    """In the child: every agency's digest for the last week of the data, one after another."""
    from bot.digests.figures import build_digest

    end = end_of_data(reports)
    start = end - timedelta(days=7)
    db = Database(url)
    timings, sizes = [], {"chart_kb": 0.0, "csv_kb": 0.0, "csv_rows": 0}
    try:
        async with db.read() as session:
            agency_ids = list((await session.scalars(select(Agency.id).order_by(Agency.id))).all())
        started = time.perf_counter()
        for agency_id in agency_ids:
            began = time.perf_counter()
            digest = await build_digest(db, agency_id, start, end, "en", grid_m=GRID_M)
            timings.append(time.perf_counter() - began)
            sizes["chart_kb"] += len(digest.chart_png) / 1024
            sizes["csv_kb"] += len(digest.csv) / 1024
            sizes["csv_rows"] += digest.csv_rows
        total = time.perf_counter() - started
    finally:
        await db.dispose()
    ordered = sorted(timings)
    n = len(agency_ids) or 1
    return {
        "digests": len(agency_ids),
        "period": [start.isoformat(), end.isoformat()],
        "total_seconds": round(total, 2),
        "per_digest_p50_ms": round(percentile(ordered, 50) * 1000, 1),
        "per_digest_p99_ms": round(percentile(ordered, 99) * 1000, 1),
        "per_digest_max_ms": round(max(ordered, default=0) * 1000, 1),
        "mean_chart_kb": round(sizes["chart_kb"] / n, 1),
        "mean_csv_kb": round(sizes["csv_kb"] / n, 1),
        "mean_csv_rows": round(sizes["csv_rows"] / n, 1),
    }


def run_child(url: str, reports: int) -> dict[str, Any]:
    """Build the digests in a child process, for its own peak RSS (ru_maxrss)."""
    command = [sys.executable, "-m", "bench.digests_bench", "--child", url, str(reports)]
    child = subprocess.Popen(
        command,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    _pid, status, usage = os.wait4(child.pid, 0)
    stdout, stderr = child.stdout.read().decode(), child.stderr.read().decode()  # type: ignore[union-attr]
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"building digests failed: {stderr.strip()[-2000:]}")
    scale = 1 if sys.platform == "darwin" else 1024  # kilobytes on Linux, bytes on macOS
    result = json.loads(stdout.strip().splitlines()[-1])
    result["peak_rss_mb"] = round(usage.ru_maxrss * scale / 2**20, 1)
    return result


def main() -> int:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        print(json.dumps(asyncio.run(build_all(sys.argv[2], int(sys.argv[3])))))
        return 0
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--reports", type=int, default=1_000_000, help="how many reports")
    parser.add_argument("--agencies", type=int, default=100, help="how many agencies")
    parser.add_argument(
        "--database-url", help="an empty database to fill (default: a temporary SQLite file)"
    )
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.reports < 1 or args.agencies < 1:
        parser.error("--reports and --agencies must be at least 1")

    with tempfile.TemporaryDirectory(prefix="cw-digests-bench-") as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        print(f"generating {args.reports:,} reports for {args.agencies} agencies ...", flush=True)
        started = time.perf_counter()
        counts = asyncio.run(generate(url, args.reports, args.agencies))
        generate_seconds = time.perf_counter() - started
        print(f"  {counts} in {generate_seconds:.1f} s", flush=True)
        built = run_child(url, args.reports)
        print(f"digests: {built}", flush=True)

    entry = {
        **counts,
        "agencies": args.agencies,
        "database": url.split(":", 1)[0] if args.database_url else "sqlite (temporary file)",
        "generate_seconds": round(generate_seconds, 1),
        **built,
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        **machine_info(),
    }
    merge_results(args.results, str(args.reports), entry)
    print(f"results in {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

GRID_M = 100.0  # PUBLIC_LOCATION_GRID_M's default
