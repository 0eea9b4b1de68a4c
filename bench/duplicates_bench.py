"""Benchmark of the nearby-duplicate lookup: does its cost grow far slower than the reports?

    .venv/bin/python -m bench.duplicates_bench [--sizes 10000,100000,1000000] [--lookups 200]
                                               [--postgres-url URL | --no-postgres]

Fills a migrated temporary SQLite file and, when a PostgreSQL server is given (default: the
TEST_POSTGRES_URL environment variable), a temporary PostgreSQL database that the bench creates
and drops. Reports belong to 500 commitments, each a site somewhere in a Nigeria-sized box, and
lie scattered around their site; lookups are random points near a random commitment's site, as
a citizen standing at the works would send. The database grows through the sizes (10k, then
100k more, ...), with ANALYZE after each load.

At each size, the same query (storage.queries.duplicates) runs under these variants, each over
the same points and within one transaction that is rolled back at the end:

    indexed               the schema as migrated; the planner chooses
    no_index              the reference: SQLite NOT INDEXED, PostgreSQL index and bitmap scans off
    via_lat_lon           only ix_reports_lat_lon (SQLite INDEXED BY; PostgreSQL: the other
                          candidate index dropped inside the transaction)
    via_commitment_status only ix_reports_commitment_status_created (SQLite's own choice,
                          analyzed or not)
    commitment_lat_lon    a candidate index (commitment_id, latitude, longitude) created inside
                          the transaction; the planner chooses

Two times per lookup: as the application sees it (p50_ms, p99_ms: execute through the async
driver and the ORM, plus the exact distance check), and the database engine's own
(engine_p50_ms, engine_p99_ms: PostgreSQL's EXPLAIN ANALYZE execution time and pages touched;
SQLite through the plain sqlite3 module), which shows the index's effect without the fixed
per-query overhead of the async stack. The bot's whole call (bot.reports.duplicates.nearby_open_reports)
is measured too as `bot_lookup`. Results go to bench/results/duplicates.json: per database, size
and variant, p50/p99, plans, and the growth from the smallest to the largest size.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import Executable, insert, select, text
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from bench.common import percentile, write_results
from bot.catalog.geo import distance_m, search_boxes
from bot.reports.duplicates import (
    DUPLICATE_RADIUS_M,
    OPEN_STATUSES,
    nearby_open_reports,
)
from storage.db import Database
from storage.migrate import upgrade_to_head
from storage.models import Citizen, Commitment, Report
from storage.queries.duplicates import open_reports_near_query
from tools.scratch_db import temporary_postgres_database

COMMITMENTS = 500
CITIZENS = 2_000
# Nigeria, roughly: 4.3N-13.9N, 2.7E-14.6E.
SOUTH, NORTH, WEST, EAST = 4.3, 13.9, 2.7, 14.6
# Reports lie around their commitment's site (a road, a clinic) with this spread (one standard
# deviation, metres); the rest anywhere in the country (state-wide commitments, wrong pins).
SPREAD_M = 2_000.0
SCATTERED = 0.15
METRES_PER_DEGREE = 111_195.0
STATUSES = (
    ["published"] * 30
    + ["acknowledged"] * 15
    + ["in_progress"] * 10
    + ["resolved"] * 20
    + ["reopened", "duplicate", "not_responsible", "no_action"] * 2
    + ["pending_review", "rejected"] * 4
)
WORDS = ["road", "school", "clinic", "water", "borehole", "light", "pothole", "broken", "flooded"]
COLUMNS = (
    "reference",
    "commitment_id",
    "citizen_id",
    "kind",
    "text",
    "language",
    "latitude",
    "longitude",
    "status",
    "created_at",
    "updated_at",
)
LIMIT = 5  # what the bot asks for
WARMUP = 10
CANDIDATE_INDEX = "ix_bench_commitment_lat_lon"
CREATE_CANDIDATE = f"CREATE INDEX {CANDIDATE_INDEX} ON reports (commitment_id, latitude, longitude)"


# --- data --------------------------------------------------------------------------------------


def commitment_sites(seed: int) -> list[tuple[float, float]]:
    rng = random.Random(seed)
    return [(rng.uniform(SOUTH, NORTH), rng.uniform(WEST, EAST)) for _ in range(COMMITMENTS)]


def near(rng: random.Random, site: tuple[float, float]) -> tuple[float, float]:
    lat, lon = site
    dlat = rng.gauss(0.0, SPREAD_M) / METRES_PER_DEGREE
    dlon = rng.gauss(0.0, SPREAD_M) / (METRES_PER_DEGREE * math.cos(math.radians(lat)))
    return lat + dlat, lon + dlon


def report_rows(
    rng: random.Random, sites: list[tuple[float, float]], start: int, stop: int
) -> Iterator[tuple[Any, ...]]:
    """Plain row tuples in COLUMNS order; created_at as an aware datetime."""
    epoch = datetime(2023, 1, 1, tzinfo=UTC)
    for i in range(start, stop):
        commitment = rng.randrange(COMMITMENTS)
        if rng.random() < SCATTERED:
            lat, lon = rng.uniform(SOUTH, NORTH), rng.uniform(WEST, EAST)
        else:
            lat, lon = near(rng, sites[commitment])
        created = epoch + timedelta(seconds=i * 20)
        yield (
            f"CW-{i:09d}",
            commitment + 1,
            rng.randrange(CITIZENS) + 1,
            "problem" if i % 3 else "progress",
            " ".join(rng.choices(WORDS, k=8)),
            "en" if i % 4 else "ha",
            lat,
            lon,
            rng.choice(STATUSES),
            created,
            created,
        )


@dataclass(frozen=True)
class Lookup:
    commitment_id: int
    latitude: float
    longitude: float


def lookup_points(seed: int, sites: list[tuple[float, float]], count: int) -> list[Lookup]:
    rng = random.Random(seed)
    points = []
    for _ in range(count):
        commitment = rng.randrange(COMMITMENTS)
        lat, lon = near(rng, sites[commitment])
        points.append(Lookup(commitment + 1, lat, lon))
    return points


def lookup_query(point: Lookup) -> Executable:
    """The query the bot runs for this point (Nigeria is far from the poles and antimeridian)."""
    [box] = search_boxes(point.latitude, point.longitude, DUPLICATE_RADIUS_M)
    assert box.center_lon is not None
    return open_reports_near_query(
        commitment_id=point.commitment_id,
        south=box.south,
        west=box.west,
        north=box.north,
        east=box.east,
        statuses=OPEN_STATUSES,
        limit=LIMIT + 20,
        nearest_to=(point.latitude, box.center_lon),
    )


# --- databases ---------------------------------------------------------------------------------


@dataclass
class Variant:
    name: str
    setup: list[str] = field(default_factory=list)
    sqlite_hint: str | None = None  # inserted after "FROM reports"
    # Undoes `setup` where it was committed (the SQLite engine pass); elsewhere a rollback does.
    teardown: list[str] = field(default_factory=list)


SQLITE_VARIANTS = [
    Variant("indexed"),
    Variant("no_index", sqlite_hint="NOT INDEXED"),
    Variant("via_lat_lon", sqlite_hint="INDEXED BY ix_reports_lat_lon"),
    Variant("via_commitment_status", sqlite_hint="INDEXED BY ix_reports_commitment_status_created"),
    Variant(
        "commitment_lat_lon",
        setup=[CREATE_CANDIDATE, "ANALYZE reports"],
        teardown=[f"DROP INDEX {CANDIDATE_INDEX}"],
    ),
]
POSTGRES_VARIANTS = [
    Variant("indexed"),
    Variant(
        "no_index",
        setup=[
            "SET LOCAL enable_indexscan = off",
            "SET LOCAL enable_indexonlyscan = off",
            "SET LOCAL enable_bitmapscan = off",
        ],
    ),
    Variant("via_lat_lon", setup=["DROP INDEX ix_reports_commitment_status_created"]),
    Variant("via_commitment_status", setup=["DROP INDEX ix_reports_lat_lon"]),
    Variant("commitment_lat_lon", setup=[CREATE_CANDIDATE]),
]


class Target:
    """A database under test: how to fill it, analyze it, explain and time a query on it."""

    name: str
    variants: list[Variant]

    def __init__(self, url: str) -> None:
        self.url = url

    async def insert_rows(self, rows: list[tuple[Any, ...]]) -> None:
        raise NotImplementedError

    async def analyze(self, db: Database) -> None:
        async with db.engine.connect() as conn:
            await conn.exec_driver_sql("ANALYZE")
            await conn.commit()

    async def explain(
        self, session: AsyncSession, query: Executable, params: dict[str, Any]
    ) -> list[str]:
        raise NotImplementedError

    def statement(self, query: Executable, variant: Variant) -> tuple[Executable, dict[str, Any]]:
        return query, {}

    async def engine_sample(self, session: AsyncSession, query: Executable) -> EngineSample | None:
        """The database's own time for one run of the query, if it can tell."""
        return None


@dataclass(frozen=True)
class EngineSample:
    seconds: float
    buffers: int | None = None  # PostgreSQL: shared buffers hit or read


class SqliteTarget(Target):
    name = "sqlite"
    variants = SQLITE_VARIANTS
    _dialect = SQLiteDialect_pysqlite(paramstyle="named")

    @property
    def path(self) -> str:
        database = make_url(self.url).database
        assert database
        return database

    async def insert_rows(self, rows: list[tuple[Any, ...]]) -> None:
        # SQLAlchemy stores datetimes in SQLite as this text; write them the same way.
        ready = [
            (
                *row[:9],
                row[9].strftime("%Y-%m-%d %H:%M:%S.%f"),
                row[10].strftime("%Y-%m-%d %H:%M:%S.%f"),
            )
            for row in rows
        ]
        marks = ", ".join("?" for _ in COLUMNS)
        loader = Database(self.url)
        try:
            async with loader.engine.begin() as conn:
                # A large cache for the load only (its own engine); lookups use the default.
                await conn.exec_driver_sql("PRAGMA cache_size = -262144")
                await conn.exec_driver_sql(
                    f"INSERT INTO reports ({', '.join(COLUMNS)}) VALUES ({marks})", ready
                )
        finally:
            await loader.dispose()

    def sql(self, query: Executable, variant: Variant) -> tuple[str, dict[str, Any]]:
        """The compiled text with the variant's hint, and its named parameters."""
        # SQLAlchemy renders no table hints on SQLite, so splice the hint into the text; every
        # SQLite variant goes this way so that they differ only by the hint.
        compiled = query.compile(dialect=self._dialect, compile_kwargs={"render_postcompile": True})
        sql = str(compiled)
        if variant.sqlite_hint:
            hinted = sql.replace("FROM reports ", f"FROM reports {variant.sqlite_hint} ", 1)
            assert hinted != sql, "the hint did not apply"
            sql = hinted
        params = {k: str(v) if isinstance(v, str) else v for k, v in compiled.params.items()}
        return sql, params

    def statement(self, query: Executable, variant: Variant) -> tuple[Executable, dict[str, Any]]:
        sql, params = self.sql(query, variant)
        return select(Report).from_statement(text(sql)), params

    async def explain(
        self, session: AsyncSession, query: Executable, params: dict[str, Any]
    ) -> list[str]:
        sql = str(query.compile(dialect=self._dialect))  # type: ignore[attr-defined]
        rows = await session.execute(text(f"EXPLAIN QUERY PLAN {sql}"), params)
        return [row[3] for row in rows]

    def engine_pass(self, points: list[Lookup]) -> dict[str, list[EngineSample]]:
        """Every variant again through the plain sqlite3 module, in this thread: the engine's
        time without aiosqlite's thread hops and the ORM (run with no other connection busy)."""
        out: dict[str, list[EngineSample]] = {}
        conn = sqlite3.connect(self.path, isolation_level=None)
        try:
            for variant in self.variants:
                for setup in variant.setup:
                    conn.execute(setup)
                try:
                    queries = [self.sql(lookup_query(p), variant) for p in points]
                    for sql, params in queries[:WARMUP]:
                        conn.execute(sql, params).fetchall()
                    samples = []
                    for sql, params in queries:
                        started = time.perf_counter()
                        conn.execute(sql, params).fetchall()
                        samples.append(EngineSample(time.perf_counter() - started))
                    out[variant.name] = samples
                finally:
                    for teardown in variant.teardown:
                        conn.execute(teardown)
        finally:
            conn.close()
        return out


class PostgresTarget(Target):
    name = "postgresql"
    variants = POSTGRES_VARIANTS

    @property
    def dsn(self) -> str:
        return make_url(self.url).set(drivername="postgresql").render_as_string(hide_password=False)

    async def insert_rows(self, rows: list[tuple[Any, ...]]) -> None:
        conn = await asyncpg.connect(self.dsn)
        try:
            await conn.copy_records_to_table("reports", records=rows, columns=list(COLUMNS))
        finally:
            await conn.close()

    @staticmethod
    def _literal(session: AsyncSession, query: Executable) -> str:
        dialect = session.get_bind().dialect
        return str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))  # type: ignore[attr-defined]

    async def explain(
        self, session: AsyncSession, query: Executable, params: dict[str, Any]
    ) -> list[str]:
        rows = await session.execute(text(f"EXPLAIN {self._literal(session, query)}"))
        return [row[0] for row in rows]

    async def engine_sample(self, session: AsyncSession, query: Executable) -> EngineSample | None:
        # The server's execution time and pages touched; TIMING OFF keeps the instrumentation
        # overhead out of it.
        sql = f"EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, FORMAT JSON) {self._literal(session, query)}"
        report = (await session.execute(text(sql))).scalar_one()
        if isinstance(report, str):
            report = json.loads(report)
        plan = report[0]["Plan"]
        buffers = plan.get("Shared Hit Blocks", 0) + plan.get("Shared Read Blocks", 0)
        return EngineSample(report[0]["Execution Time"] / 1000, buffers)


# --- measuring ---------------------------------------------------------------------------------


def summary(latencies: list[float], prefix: str = "") -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        f"{prefix}p50_ms": round(percentile(ordered, 50) * 1000, 3),
        f"{prefix}p99_ms": round(percentile(ordered, 99) * 1000, 3),
        f"{prefix}mean_ms": round(statistics.fmean(ordered) * 1000, 3),
    }


def engine_summary(samples: list[EngineSample]) -> dict[str, float]:
    out = summary([s.seconds for s in samples], prefix="engine_")
    buffers = [s.buffers for s in samples if s.buffers is not None]
    if buffers:
        out["engine_buffers_mean"] = round(statistics.fmean(buffers), 1)
    return out


async def run_variant(target: Target, variant: Variant, points: list[Lookup]) -> dict[str, Any]:
    """All lookups of one variant in one transaction, rolled back (undoing any setup).

    Each variant gets its own engine, hence a new connection: PostgreSQL keeps a prepared
    statement's generic plan across SET LOCAL, so a connection reused from another variant
    could run the reference with the index plan it cached before.
    """
    prepared = [target.statement(lookup_query(p), variant) for p in points]
    latencies: list[float] = []
    matches: list[int] = []
    db = Database(target.url)
    try:
        async with db.engine.connect() as conn:
            transaction = await conn.begin()
            setup_started = time.perf_counter()
            for setup in variant.setup:
                await conn.exec_driver_sql(setup)
            setup_seconds = time.perf_counter() - setup_started
            session = AsyncSession(bind=conn)
            try:
                plan = await target.explain(session, *prepared[0])
                for statement, params in prepared[:WARMUP]:
                    (await session.scalars(statement, params)).all()
                session.expunge_all()
                for point, (statement, params) in zip(points, prepared, strict=True):
                    started = time.perf_counter()
                    rows = (await session.scalars(statement, params)).all()
                    within = [r for r in rows if _distance(point, r) <= DUPLICATE_RADIUS_M]
                    latencies.append(time.perf_counter() - started)
                    matches.append(len(within))
                    session.expunge_all()
                engine: list[EngineSample] = []
                for point in points:
                    sample = await target.engine_sample(session, lookup_query(point))
                    if sample is not None:
                        engine.append(sample)
            finally:
                await session.close()
                await transaction.rollback()
    finally:
        await db.dispose()
    return {
        **summary(latencies),
        **(engine_summary(engine) if engine else {}),
        "mean_matches": round(statistics.fmean(matches), 2),
        "setup_seconds": round(setup_seconds, 2),
        "plan": plan,
        "_matches": matches,
    }


def _distance(point: Lookup, report: Report) -> float:
    assert report.latitude is not None and report.longitude is not None
    return distance_m(point.latitude, point.longitude, report.latitude, report.longitude)


async def run_bot_lookup(db: Database, points: list[Lookup]) -> dict[str, Any]:
    """The bot's own call, a session per lookup, on the schema as migrated."""
    for p in points[:WARMUP]:
        await nearby_open_reports(db, p.commitment_id, p.latitude, p.longitude)
    latencies = []
    for p in points:
        started = time.perf_counter()
        await nearby_open_reports(db, p.commitment_id, p.latitude, p.longitude)
        latencies.append(time.perf_counter() - started)
    return summary(latencies)


async def seed_catalog(db: Database) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(
            insert(Commitment.__table__),
            [
                {
                    "code": f"BENCH-{i:04d}",
                    "titles": {"en": f"Commitment {i}"},
                    "search_text": f"bench-{i:04d}",
                    "created_at": datetime.now(UTC),
                    "updated_at": datetime.now(UTC),
                }
                for i in range(COMMITMENTS)
            ],
        )
        await conn.execute(
            insert(Citizen.__table__),
            [
                {"telegram_user_id": 10_000_000 + i, "created_at": datetime.now(UTC)}
                for i in range(CITIZENS)
            ],
        )


async def bench_target(
    target: Target, sizes: list[int], points: list[Lookup], seed: int
) -> dict[str, Any]:
    sites = commitment_sites(seed)
    rng = random.Random(seed + 1)
    out: dict[str, Any] = {}
    db = Database(target.url)
    try:
        await upgrade_to_head(db)
        await seed_catalog(db)
        # What the planner does on a database never analyzed (the bot runs no ANALYZE).
        async with db.read() as session:
            unanalyzed_plan = await target.explain(
                session, *target.statement(lookup_query(points[0]), Variant("indexed"))
            )
        loaded = 0
        for size in sizes:
            started = time.perf_counter()
            chunk = 100_000
            for offset in range(loaded, size, chunk):
                await target.insert_rows(
                    list(report_rows(rng, sites, offset, min(offset + chunk, size)))
                )
            load_seconds = time.perf_counter() - started
            loaded = size
            started = time.perf_counter()
            await target.analyze(db)
            analyze_seconds = time.perf_counter() - started
            print(
                f"{target.name} {size:>9,} reports: load {load_seconds:.1f} s, "
                f"analyze {analyze_seconds:.1f} s",
                flush=True,
            )
            entry: dict[str, Any] = {
                "load_seconds": round(load_seconds, 1),
                "analyze_seconds": round(analyze_seconds, 1),
                "variants": {},
            }
            reference: list[int] | None = None
            for variant in target.variants:
                result = await run_variant(target, variant, points)
                found = result.pop("_matches")
                # Every variant is the same query: they must find the same reports.
                if reference is None:
                    reference = found
                elif found != reference:
                    raise SystemExit(f"{target.name} {variant.name}: different results")
                entry["variants"][variant.name] = result
            if isinstance(target, SqliteTarget):
                passes = await asyncio.to_thread(target.engine_pass, points)
                for name, samples in passes.items():
                    entry["variants"][name].update(engine_summary(samples))
            for name, result in entry["variants"].items():
                print(
                    f"  {name:<22} p50 {result['p50_ms']:>8.3f} ms  p99 {result['p99_ms']:>8.3f} ms"
                    f"  engine p50 {result['engine_p50_ms']:>8.3f} ms  "
                    f"p99 {result['engine_p99_ms']:>8.3f} ms  matches {result['mean_matches']:.2f}"
                    f"  {scan_lines(result['plan'])[:90]}",
                    flush=True,
                )
            entry["bot_lookup"] = await run_bot_lookup(db, points)
            print(
                f"  {'bot_lookup':<22} p50 {entry['bot_lookup']['p50_ms']:>9.3f} ms  "
                f"p99 {entry['bot_lookup']['p99_ms']:>9.3f} ms",
                flush=True,
            )
            out[str(size)] = entry
    finally:
        await db.dispose()
    return {"plan_before_analyze": unanalyzed_plan, "sizes": out}


def scan_lines(plan: list[str]) -> str:
    """The lines of a plan that say how the table is read."""
    return " / ".join(line.strip() for line in plan if "reports" in line or "Index" in line)


def growth(per_size: dict[str, Any]) -> dict[str, Any]:
    """Ratios from the smallest to the largest size, per variant: cost versus reports."""
    sizes = sorted(per_size, key=int)
    small, large = per_size[sizes[0]], per_size[sizes[-1]]
    ratios: dict[str, Any] = {"reports": round(int(sizes[-1]) / int(sizes[0]), 1)}
    for name, result in large["variants"].items():
        base = small["variants"][name]
        ratios[name] = {
            "p50": round(result["p50_ms"] / base["p50_ms"], 2),
            "p99": round(result["p99_ms"] / base["p99_ms"], 2),
            "engine_p50": round(result["engine_p50_ms"] / base["engine_p50_ms"], 2),
            "engine_p99": round(result["engine_p99_ms"] / base["engine_p99_ms"], 2),
        }
    ratios["bot_lookup"] = {
        "p50": round(large["bot_lookup"]["p50_ms"] / small["bot_lookup"]["p50_ms"], 2),
        "p99": round(large["bot_lookup"]["p99_ms"] / small["bot_lookup"]["p99_ms"], 2),
    }
    return ratios


async def run(args: argparse.Namespace) -> dict[str, Any]:
    sites = commitment_sites(args.seed)
    points = lookup_points(args.seed + 2, sites, args.lookups)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="cw-duplicates-bench-") as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        results["sqlite"] = await bench_target(SqliteTarget(url), args.sizes, points, args.seed)
    if args.postgres_url:
        async with temporary_postgres_database(args.postgres_url) as url:
            results["postgresql"] = await bench_target(
                PostgresTarget(url), args.sizes, points, args.seed
            )
    return results


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated")
    parser.add_argument("--lookups", type=int, default=200)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("TEST_POSTGRES_URL"),
        help="a PostgreSQL server to create a temporary database on (default: TEST_POSTGRES_URL)",
    )
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    args.sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    if not args.sizes or args.sizes[0] < 1 or args.lookups < WARMUP:
        parser.error(f"sizes must be positive and --lookups at least {WARMUP}")
    if args.no_postgres:
        args.postgres_url = None

    started = time.perf_counter()
    results = asyncio.run(run(args))
    payload = {
        "config": {
            "sizes": args.sizes,
            "lookups": args.lookups,
            "commitments": COMMITMENTS,
            "radius_m": DUPLICATE_RADIUS_M,
            "limit": LIMIT,
            "spread_m": SPREAD_M,
            "scattered_fraction": SCATTERED,
            "box": {"south": SOUTH, "north": NORTH, "west": WEST, "east": EAST},
            "seed": args.seed,
        },
        "databases": results,
        "growth": {name: growth(r["sizes"]) for name, r in results.items() if len(r["sizes"]) > 1},
        "seconds": round(time.perf_counter() - started, 1),
    }
    path = write_results("duplicates", payload)
    print(f"results in {path} ({payload['seconds']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
