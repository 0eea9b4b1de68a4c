"""Benchmark of `export`: does a million reports export in constant memory, and how fast?

    .venv/bin/python -m bench.export_bench --reports 100000
    .venv/bin/python -m bench.export_bench --reports 1000000 [--database-url URL]

Fills a temporary SQLite file (or --database-url) with generated reports in bulk, then runs the
real command line (`run_bot.py export`) in a child process per format and records its duration
and peak resident memory (from the child's own rusage). Results are merged into
bench/results/export.json under the number of reports, so runs at several sizes sit side by side.
"""

from __future__ import annotations

import argparse
import asyncio
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

from bench.common import machine_info, merge_results
from bot.reports.references import ALPHABET, LENGTH, PREFIX
from storage.db import Database
from storage.migrate import upgrade_to_head
from storage.models import Agency, Citizen, Commitment, Report

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "export.json"
CHUNK = 20_000
COMMITMENTS = 500
CITIZENS = 20_000
STATUSES = (
    ["published"] * 30
    + ["acknowledged"] * 15
    + ["in_progress"] * 10
    + ["resolved"] * 20
    + ["reopened", "duplicate", "not_responsible", "no_action"] * 2
    + ["draft", "pending_review", "rejected"] * 4
)
WORDS = ["road", "school", "clinic", "water", "borehole", "light", "pothole", "broken", "flooded"]


def bench_reference(number: int) -> str:
    """The number-th reference, in the real format (CW- and six symbols of the alphabet)."""
    symbols = []
    for _ in range(LENGTH):
        number, digit = divmod(number, len(ALPHABET))
        symbols.append(ALPHABET[digit])
    return PREFIX + "".join(reversed(symbols))


async def generate(url: str, reports: int, seed: int = 7) -> float:
    """Bulk-insert `reports` reports (plus commitments and citizens); returns seconds taken."""
    rng = random.Random(seed)
    started = time.perf_counter()
    db = Database(url)
    try:
        await upgrade_to_head(db)
        async with db.engine.begin() as conn:
            if await conn.scalar(select(func.count()).select_from(Report)):
                raise SystemExit(f"{url} already holds reports; use an empty database")
            await conn.execute(
                insert(Agency.__table__),
                [{"code": f"bench-{i}", "names": {"en": f"Agency {i}"}} for i in range(20)],
            )
            await conn.execute(
                insert(Commitment.__table__),
                [
                    {
                        "code": f"BENCH-{i:04d}",
                        "titles": {"en": f"Commitment {i}"},
                        "agency_id": i % 20 + 1,
                        "search_text": f"bench-{i:04d}",
                    }
                    for i in range(COMMITMENTS)
                ],
            )
            await conn.execute(
                insert(Citizen.__table__),
                [{"telegram_user_id": 10_000_000 + i} for i in range(CITIZENS)],
            )
        start = datetime(2023, 1, 1, tzinfo=UTC)
        for offset in range(0, reports, CHUNK):
            rows = []
            for i in range(offset, min(offset + CHUNK, reports)):
                created = start + timedelta(seconds=i * 30)
                located = rng.random() < 0.7
                rows.append(
                    {
                        "reference": bench_reference(i),
                        "commitment_id": rng.randrange(COMMITMENTS) + 1,
                        "citizen_id": rng.randrange(CITIZENS) + 1,
                        "kind": "problem" if i % 3 else "progress",
                        "text": " ".join(rng.choices(WORDS, k=10)),
                        "language": "en" if i % 4 else "ha",
                        "latitude": 10.5 + rng.random() / 10 if located else None,
                        "longitude": 7.4 + rng.random() / 10 if located else None,
                        "status": rng.choice(STATUSES),
                        "created_at": created,
                        "updated_at": created,
                    }
                )
            async with db.engine.begin() as conn:
                await conn.execute(insert(Report.__table__), rows)
    finally:
        await db.dispose()
    return time.perf_counter() - started


def run_export(url: str, fmt: str, out: Path) -> dict[str, Any]:
    """One export in a child process; duration and the child's own peak RSS."""
    env = {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
    command = [
        sys.executable,
        str(ROOT / "run_bot.py"),
        "export",
        "--format",
        fmt,
        "--out",
        str(out),
    ]
    started = time.perf_counter()
    child = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    _pid, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    stdout, stderr = child.stdout.read().decode(), child.stderr.read().decode()  # type: ignore[union-attr]
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"export failed: {stderr.strip()}")
    # ru_maxrss is in kilobytes on Linux and in bytes on macOS.
    scale = 1 if sys.platform == "darwin" else 1024
    exported = int(stdout.split()[1])
    return {
        "format": fmt,
        "exported": exported,
        "seconds": round(seconds, 2),
        "rows_per_second": round(exported / seconds),
        "peak_rss_mb": round(usage.ru_maxrss * scale / 2**20, 1),
        "output_mb": round(out.stat().st_size / 2**20, 1),
    }


def baseline_rss_mb(url: str) -> float:
    """Peak RSS of the same command line exporting nothing: the interpreter and libraries."""
    env = {**os.environ, "DATABASE_URL": url}
    command = [sys.executable, str(ROOT / "run_bot.py"), "export", "--since", "2100-01-01"]
    child = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    _pid, _status, usage = os.wait4(child.pid, 0)
    scale = 1 if sys.platform == "darwin" else 1024
    return round(usage.ru_maxrss * scale / 2**20, 1)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--reports", type=int, default=1_000_000, help="how many reports")
    parser.add_argument(
        "--database-url", help="an empty database to fill (default: a temporary SQLite file)"
    )
    parser.add_argument("--formats", nargs="+", default=["csv", "geojson"])
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.reports < 1:
        parser.error("--reports must be at least 1")

    with tempfile.TemporaryDirectory(prefix="cw-export-bench-") as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        print(f"generating {args.reports:,} reports ...", flush=True)
        generate_seconds = asyncio.run(generate(url, args.reports))
        print(f"  {generate_seconds:.1f} s", flush=True)
        exports = []
        for fmt in args.formats:
            result = run_export(url, fmt, Path(tmp) / f"export.{fmt}")
            print(f"export {fmt}: {result}", flush=True)
            exports.append(result)
        baseline = baseline_rss_mb(url)

    entry = {
        "reports": args.reports,
        "database": url.split(":", 1)[0] if args.database_url else "sqlite (temporary file)",
        "generate_seconds": round(generate_seconds, 1),
        "baseline_rss_mb": baseline,
        "exports": exports,
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        **machine_info(),
    }
    merge_results(args.results, str(args.reports), entry)
    print(f"baseline (export of nothing): {baseline} MB; results in {args.results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
