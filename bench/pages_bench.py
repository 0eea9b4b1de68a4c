"""Benchmark of the public web pages at scale: home, a commitment's scorecard, a report, the
agencies' table and the map.

    .venv/bin/python -m bench.pages_bench --reports 1000000 [--rounds 30]
    .venv/bin/python -m bench.pages_bench --reports 200000 \\
        --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test

Fills a temporary SQLite file (or, with --database-url of a PostgreSQL server, a throwaway
database created on that server and dropped afterwards, vacuumed and analyzed as autovacuum would
have it) with generated reports and their histories (bench/export_bench.py's generator with
histories: publication, the agency's answers with public notes, resolutions and reopenings,
supporters, commitments of unequal popularity), serves the real web application (bot/channels/web) on a local port, and measures side by side in
one run, p50 and p99 over --rounds requests each:
- GET /, GET /commitments/CODE of the busiest commitment, GET /reports/REF of a reopened report
  with supporters (the longest public history), GET /agencies and GET /map over real HTTP;
- the same work run bare for the home page, the scorecard and /agencies: the storage/ and
  bot/reports/ functions the page calls, without HTTP or rendering (nor the figures' cache);
- the scorecard and /agencies once more with PUBLIC_FIGURES_CACHE_SECONDS=0, each request
  computing its figures: what the first request of a process waits for.
Results are merged into bench/results/pages.json under the number of reports (then the database
for a run on PostgreSQL, and --label in brackets when given).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from bench.common import WebSide, measure, record_run, serving_web
from bench.export_bench import generate
from bot.channels.web.pages import commitment as commitment_page
from bot.channels.web.pages.common import PAGE_SIZE
from bot.reports import public, responsiveness
from bot.reports.lifecycle import PUBLIC, PUBLIC_OPEN, Status
from storage.db import Database
from storage.models import Commitment, Report, ReportSupporter
from storage.queries import scorecards as queries
from tools.scratch_db import temporary_postgres_database

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "pages.json"
PAGES = ("home", "commitment", "report", "agencies", "map")


async def subjects(side: WebSide) -> tuple[str, str]:
    """The busiest commitment's code, and the report the report page is measured on: one with
    supporters and the longest public history there is (reopened, else in progress, else any)."""
    async with side.db.read() as session:
        busiest = await session.scalar(
            select(Report.commitment_id)
            .group_by(Report.commitment_id)
            .order_by(func.count().desc())
            .limit(1)
        )
        row = await session.get(Commitment, busiest)
        for status in (Status.REOPENED, Status.IN_PROGRESS, *sorted(PUBLIC_OPEN)):
            reference = await session.scalar(
                select(Report.reference)
                .where(Report.status == status, Report.id.in_(select(ReportSupporter.report_id)))
                .order_by(Report.id.desc())
                .limit(1)
            )
            if reference is not None:
                break
    assert row is not None and reference is not None, "the generator made no such reports"
    return row.code, reference


async def run(url: str, rounds: int) -> dict[str, Any]:
    async with serving_web(url) as side:
        db, settings = side.db, side.services.settings
        code, reference = await subjects(side)
        minimum = settings.public_min_sample

        async def home_bare() -> Any:
            # bot/channels/web/pages/home.py: themes, agencies, the first page of commitments.
            async with db.read() as session:
                await queries.themes(session)
                await queries.agencies_with_commitments(session)
                return await queries.commitments(
                    session,
                    queries.CommitmentFilter(),
                    PUBLIC_OPEN,
                    {Status.RESOLVED},
                    0,
                    PAGE_SIZE,
                )

        async def commitment_bare() -> Any:
            # bot/channels/web/pages/commitment.py scorecard(), first page.
            async with db.read() as session:
                row = await queries.commitment(session, code)
                assert row is not None
                cid = row.Commitment.id
                await queries.monthly_counts(session, cid, PUBLIC)
                await queries.reports_of(session, cid, PUBLIC, 0, PAGE_SIZE)
                await queries.latest_notes(
                    session, cid, PUBLIC, public.PUBLIC_NOTE_ACTORS, commitment_page.LATEST_ANSWERS
                )
            return await responsiveness.of_commitment(db, cid, minimum)

        async def agencies_bare() -> Any:
            # bot/channels/web/pages/agencies.py agencies_page().
            figures = await responsiveness.of_agencies(db, minimum)
            async with db.read() as session:
                return await queries.agencies(session, figures)

        paths = {
            "home": "/",
            "commitment": f"/commitments/{code}",
            "report": f"/reports/{reference}",
            "agencies": "/agencies",
            "map": "/map",
        }
        for path in paths.values():  # every page answers 200 before anything is timed
            await side.getter(path)()
        figures = await commitment_bare()
        assert figures.to_answer.enough and figures.to_resolve.enough, "too few reports"
        results: dict[str, Any] = {"commitment": code, "report": reference}
        bare = {"home": home_bare, "commitment": commitment_bare, "agencies": agencies_bare}
        for name in PAGES:
            results[f"{name}_http"] = await measure(rounds, side.getter(paths[name]))
            if name in bare:
                results[f"{name}_bare"] = await measure(rounds, bare[name])
        results["busiest_commitment_public_reports"] = (
            await _public_count(side, code)  # the size of the scorecard's work
        )
        results["figures_cache_seconds"] = getattr(settings, "public_figures_cache_seconds", None)
    if results["figures_cache_seconds"]:
        # The same pages computing their figures on every request: what the request that
        # finds nothing cached yet (the first of a process) waits for.
        async with serving_web(url, PUBLIC_FIGURES_CACHE_SECONDS="0") as side:
            for name in ("commitment", "agencies"):
                results[f"{name}_http_uncached"] = await measure(rounds, side.getter(paths[name]))
    for name in bare:
        # HTTP and rendering over the same work (the figures computed, where they are cached).
        http_p50 = results.get(f"{name}_http_uncached", results[f"{name}_http"])["p50_ms"]
        bare_p50 = results[f"{name}_bare"]["p50_ms"]
        results[f"{name}_http_over_bare_p50"] = round(http_p50 / max(bare_p50, 0.1), 2)
    return results


async def _public_count(side: WebSide, code: str) -> int:
    async with side.db.read() as session:
        row = await queries.commitment(session, code)
        assert row is not None
        _rows, total = await queries.reports_of(session, row.Commitment.id, PUBLIC, 0, 1)
    return total


@asynccontextmanager
async def database(given: str | None, tmp: Path) -> AsyncIterator[str]:
    """A temporary SQLite file; a throwaway database on the PostgreSQL server of `given` (the
    database it names is left untouched); or the empty SQLite database `given`."""
    if given is None:
        yield f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    elif given.startswith(("postgresql", "postgres")):
        async with temporary_postgres_database(given, prefix="cw_pages_bench") as url:
            yield url
    else:
        yield given


async def settle(url: str) -> None:
    """On PostgreSQL, what autovacuum would have done by the time a live database held this many
    reports: statistics for the planner and the visibility map for index-only scans (a freshly
    bulk-loaded table has neither, and the planner guesses). SQLite keeps no statistics unless
    told to, and the bot never does."""
    if not url.startswith("postgresql"):
        return
    db = Database(url)
    try:
        async with db.engine.connect() as conn:
            autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text("VACUUM ANALYZE"))
    finally:
        await db.dispose()


async def bench(given: str | None, reports: int, rounds: int) -> tuple[float, dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="cw-pages-bench-") as tmp:
        async with database(given, Path(tmp)) as url:
            print(f"generating {reports:,} reports with their histories ...", flush=True)
            generated = await generate(url, reports, histories=True)
            await settle(url)
            print(f"  {generated:.1f} s; measuring ...", flush=True)
            return generated, await run(url, rounds)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server (a throwaway database is made on it) or an empty SQLite file",
    )
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument(
        "--label", help="kept apart in the results under 'REPORTS (LABEL)', e.g. before"
    )
    args = parser.parse_args()
    if args.reports < 10_000:
        parser.error("--reports must be at least 10000 (the figures need their minimum samples)")
    generated, results = asyncio.run(bench(args.database_url, args.reports, args.rounds))
    dialect = (args.database_url or "sqlite").split(":", 1)[0].split("+", 1)[0]
    head = {
        "reports": args.reports,
        "database": dialect if args.database_url else "sqlite (temporary file)",
        "label": args.label,
        "generate_seconds": round(generated, 1),
    }
    key = str(args.reports) if dialect == "sqlite" else f"{args.reports} {dialect}"
    if args.label:
        key += f" ({args.label})"
    record_run(args.results, key, head, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
