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
from itertools import accumulate
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text

from bench.common import machine_info, merge_results
from bot.reports.lifecycle import PUBLIC_OPEN
from bot.reports.references import ALPHABET, LENGTH, PREFIX
from storage.db import Database
from storage.migrate import upgrade_to_head
from storage.models import Agency, Citizen, Commitment, Report, ReportEvent, ReportSupporter

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
THEMES = ["Roads", "Health", "Education", "Water", "Lighting", "Open data", "Procurement"]
AGENCIES = 20
# With histories: what agencies answer with (a public note on 60 % of their answers), and what
# a moderator writes when rejecting (never public).
NOTES = [
    "We have seen it and will inspect the site.",
    "A crew is scheduled for next week.",
    "Work has started.",
    "Repaired and checked by our engineer.",
    "This is the local government's responsibility.",
    "No funds this year; it is on next year's plan.",
]
HOUR = 3600.0
DAY = 24 * HOUR


def bench_reference(number: int) -> str:
    """The number-th reference, in the real format (CW- and six symbols of the alphabet)."""
    symbols = []
    for _ in range(LENGTH):
        number, digit = divmod(number, len(ALPHABET))
        symbols.append(ALPHABET[digit])
    return PREFIX + "".join(reversed(symbols))


async def generate(url: str, reports: int, seed: int = 7, *, histories: bool = False) -> float:
    """Bulk-insert `reports` reports (plus commitments and citizens); returns seconds taken.

    Reports come in 30 s apart from 2023-01-01 (a million fill a year), each with a status drawn
    from STATUSES. With `histories` (what the public pages read) they are also lifelike: each
    report has the events of its life up to its status, as far as it got by the time the last
    report came in (created, published by a moderator, the agency's answers with public notes,
    resolutions, citizens' reopenings), delays that differ from agency to agency, supporters on a fifth of the public ones (each with its "supported"
    event), commitments with themes, and commitments unequally popular (the busiest holds about
    8 % of the reports, as a roads commitment would).
    """
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
                [
                    {"id": i + 1, "code": f"bench-{i}", "names": {"en": f"Agency {i}"}}
                    for i in range(AGENCIES)
                ],
            )
            await conn.execute(
                insert(Commitment.__table__),
                [
                    {
                        "id": i + 1,
                        "code": f"BENCH-{i:04d}",
                        "titles": {"en": f"Commitment {i}"},
                        "agency_id": i % AGENCIES + 1,
                        "theme": THEMES[i % len(THEMES)] if histories else None,
                        "search_text": f"bench-{i:04d}",
                    }
                    for i in range(COMMITMENTS)
                ],
            )
            await conn.execute(
                insert(Citizen.__table__),
                [{"id": i + 1, "telegram_user_id": 10_000_000 + i} for i in range(CITIZENS)],
            )
        # Zipf-like popularity (commitment 1 the busiest), or every commitment alike.
        ids = range(1, COMMITMENTS + 1)
        popularity = list(accumulate(1 / k**0.8 for k in ids)) if histories else None
        start = datetime(2023, 1, 1, tzinfo=UTC)
        now = start + timedelta(seconds=reports * 30)  # when the last report came in
        for offset in range(0, reports, CHUNK):
            rows: list[dict[str, Any]] = []
            events: list[dict[str, Any]] = []
            supporters: list[dict[str, Any]] = []
            for i in range(offset, min(offset + CHUNK, reports)):
                if popularity is None:
                    commitment_id = rng.randrange(COMMITMENTS) + 1
                else:
                    commitment_id = rng.choices(ids, cum_weights=popularity)[0]
                created = start + timedelta(seconds=i * 30)
                located = rng.random() < 0.7
                row = {
                    "id": i + 1,
                    "reference": bench_reference(i),
                    "commitment_id": commitment_id,
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
                if histories:
                    agency = (commitment_id - 1) % AGENCIES
                    life = _history(rng, row["status"], created, agency, now)
                    events.extend(dict(e, report_id=i + 1) for e in life)
                    if life:
                        row["status"] = life[-1]["to_status"]  # as far as it got by now
                        row["updated_at"] = life[-1]["created_at"]
                    if row["status"] in PUBLIC_OPEN and rng.random() < 0.2:
                        published = life[1]["created_at"]
                        for citizen in rng.sample(range(1, CITIZENS + 1), rng.randint(1, 5)):
                            at = published + timedelta(seconds=rng.expovariate(1 / (3 * DAY)))
                            if at > now:
                                continue
                            supporters.append(
                                {"report_id": i + 1, "citizen_id": citizen, "created_at": at}
                            )
                            supported = _event(
                                i + 1, "citizen", "supported", row["status"], at, None
                            )
                            events.append(dict(supported, from_status=row["status"]))
                rows.append(row)
            async with db.engine.begin() as conn:
                await conn.execute(insert(Report.__table__), rows)
                if events:
                    await conn.execute(insert(ReportEvent.__table__), events)
                if supporters:
                    await conn.execute(insert(ReportSupporter.__table__), supporters)
        async with db.engine.begin() as conn:
            await _advance_sequences(conn)
    finally:
        await db.dispose()
    return time.perf_counter() - started


# Final status: the agency's answers on the way there, after publication.
_ANSWER_PATHS = {
    "acknowledged": [["acknowledged"]],
    "in_progress": [["in_progress"], ["acknowledged", "in_progress"]],
    "resolved": [
        ["resolved"],
        ["acknowledged", "resolved"],
        ["acknowledged", "in_progress", "resolved"],
    ],
    "reopened": [["resolved", "reopened"], ["acknowledged", "in_progress", "resolved", "reopened"]],
    "not_responsible": [["not_responsible"]],
    "no_action": [["no_action"], ["acknowledged", "no_action"]],
    "duplicate": [["duplicate"]],
    "published": [[]],
}


def _event(
    report_id: int | None, actor: str, action: str, to: str, at: datetime, note: str | None
) -> dict[str, Any]:
    return {
        "report_id": report_id,
        "actor_kind": actor,
        "actor_id": 1,
        "action": action,
        "from_status": None,
        "to_status": to,
        "note": note,
        "created_at": at,
    }


def _history(
    rng: random.Random, status: str, created: datetime, agency: int, now: datetime
) -> list[dict[str, Any]]:
    """The events of a report headed for `status`, the way the bot records them: created (by the
    citizen), then a moderator's decision, then the agency's answers (slower or faster by agency),
    a citizen's reopening; from_status chained. Only those before `now`: the latest reports are
    still waiting for their answers, as they would be at any moment of a live system."""
    if status == "draft":
        return []
    life = [_event(None, "citizen", "created", "pending_review", created, None)]
    at = created
    if status == "rejected":
        at += timedelta(seconds=rng.expovariate(1 / (6 * HOUR)))
        life.append(_event(None, "moderator", "status", "rejected", at, "off topic"))
    elif status != "pending_review":
        at += timedelta(seconds=rng.expovariate(1 / (6 * HOUR)))
        life.append(_event(None, "moderator", "status", "published", at, None))
        answer_mean = (4 + 8 * (agency % 5)) * HOUR  # 4 h to 36 h, by agency
        for step in rng.choice(_ANSWER_PATHS[status]):
            if step == "duplicate":
                at += timedelta(seconds=rng.expovariate(1 / (12 * HOUR)))
                life.append(_event(None, "moderator", "status", step, at, None))
            elif step == "reopened":
                at += timedelta(days=7, seconds=rng.expovariate(1 / DAY))
                life.append(_event(None, "citizen", "status", step, at, None))
            else:
                mean = answer_mean if step != "resolved" else answer_mean * 10
                at += timedelta(seconds=rng.expovariate(1 / mean))
                note = rng.choice(NOTES) if rng.random() < 0.6 else None
                actor = "official" if rng.random() < 0.7 else "agency"
                life.append(_event(None, actor, "status", step, at, note))
    life = [event for event in life if event["created_at"] <= now]
    previous = "draft"
    for event in life:
        event["from_status"] = previous
        previous = event["to_status"]
    return life


async def _advance_sequences(conn: Any) -> None:
    """Ids were given explicitly: on PostgreSQL move each table's sequence past them."""
    if conn.dialect.name != "postgresql":
        return
    for table in ("agencies", "commitments", "citizens", "reports"):
        await conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 1) FROM {table}))"
            )
        )


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
