"""The nearby-duplicate lookup: which open reports on a commitment come back, in which order, and
that the database answers it from an index rather than a scan.

Report positions are computed from exact distances and bearings on the same sphere as bot.catalog.geo,
and each is checked against bot.catalog.geo.distance_m before use.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Select, insert, text

from bot.catalog.geo import EARTH_RADIUS_M, distance_m, search_boxes
from bot.reports.duplicates import (
    DUPLICATE_RADIUS_M,
    OPEN_STATUSES,
    PREVIEW_CHARS,
    nearby_open_reports,
)
from bot.reports.lifecycle import PUBLIC_OPEN, Status
from storage.db import Database
from storage.models import Citizen, Commitment, Report
from storage.queries.duplicates import open_reports_near, open_reports_near_query

pytestmark = pytest.mark.both_databases

# Abuja, near the Federal Secretariat.
HERE = (9.0579, 7.4951)
T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def destination(lat: float, lon: float, bearing_deg: float, metres: float) -> tuple[float, float]:
    """The point `metres` away along a great circle; checked against bot.catalog.geo.distance_m."""
    phi1, lmb1 = math.radians(lat), math.radians(lon)
    theta, delta = math.radians(bearing_deg), metres / EARTH_RADIUS_M
    phi2 = math.asin(
        math.sin(phi1) * math.cos(delta) + math.cos(phi1) * math.sin(delta) * math.cos(theta)
    )
    lmb2 = lmb1 + math.atan2(
        math.sin(theta) * math.sin(delta) * math.cos(phi1),
        math.cos(delta) - math.sin(phi1) * math.sin(phi2),
    )
    lat2 = math.degrees(phi2)
    lon2 = (math.degrees(lmb2) + 540.0) % 360.0 - 180.0
    # asin loses digits near the poles: a millimetre is still exact for these tests.
    assert abs(distance_m(lat, lon, lat2, lon2) - metres) < 1e-3
    return lat2, lon2


@dataclass(frozen=True)
class Spot:
    """A report to create: where (from a centre), on which commitment, in which status."""

    name: str
    metres: float
    bearing: float
    status: str
    other_commitment: bool = False


class World:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.commitment_id = 0
        self.other_commitment_id = 0
        self.citizen_id = 0
        self.ids: dict[str, int] = {}
        self._count = 0

    async def setup(self) -> None:
        async with self.db.write() as session:
            commitments = [
                Commitment(code=code, titles={"en": code}, search_text=code)
                for code in ("DUP-A", "DUP-B")
            ]
            citizen = Citizen(telegram_user_id=4242)
            session.add_all([*commitments, citizen])
            await session.flush()
            self.commitment_id, self.other_commitment_id = (c.id for c in commitments)
            self.citizen_id = citizen.id

    async def add(
        self,
        name: str,
        point: tuple[float, float] | None,
        status: str,
        *,
        commitment_id: int | None = None,
        text: str | None = None,
        public_text: str | None = None,
    ) -> int:
        self._count += 1
        report = Report(
            reference=f"CW-T{self._count:04d}",
            commitment_id=commitment_id or self.commitment_id,
            citizen_id=self.citizen_id,
            kind="problem",
            text=text if text is not None else f"report {name}",
            public_text=public_text,
            language="en",
            latitude=point[0] if point else None,
            longitude=point[1] if point else None,
            status=status,
            created_at=T0 + timedelta(minutes=self._count),
            updated_at=T0 + timedelta(minutes=self._count),
        )
        async with self.db.write() as session:
            session.add(report)
            await session.flush()
            self.ids[name] = report.id
        return report.id

    async def add_spots(self, centre: tuple[float, float], spots: list[Spot]) -> None:
        for spot in spots:
            point = destination(*centre, spot.bearing, spot.metres)
            commitment = self.other_commitment_id if spot.other_commitment else None
            await self.add(spot.name, point, spot.status, commitment_id=commitment)

    def names(self, found: list[int]) -> list[str]:
        by_id = {v: k for k, v in self.ids.items()}
        return [by_id[i] for i in found]


# Around HERE: what a 250 m lookup must and must not return.
SPOTS = [
    Spot("self-10m", 10, 300, Status.PENDING_REVIEW),
    Spot("published-100m-n", 100, 0, Status.PUBLISHED),
    Spot("reopened-150m-s", 150, 180, Status.REOPENED),
    Spot("in-progress-180m-w", 180, 270, Status.IN_PROGRESS),
    Spot("acknowledged-200m-ne", 200, 45, Status.ACKNOWLEDGED),
    Spot("pending-240m-e", 240, 90, Status.PENDING_REVIEW),
    Spot("published-260m-n", 260, 0, Status.PUBLISHED),
    Spot("published-1km-e", 1000, 90, Status.PUBLISHED),
    Spot("resolved-50m", 50, 120, Status.RESOLVED),
    Spot("rejected-60m", 60, 200, Status.REJECTED),
    Spot("duplicate-70m", 70, 10, Status.DUPLICATE),
    Spot("draft-80m", 80, 20, Status.DRAFT),
    Spot("no-action-90m", 90, 30, Status.NO_ACTION),
    Spot("not-responsible-95m", 95, 40, Status.NOT_RESPONSIBLE),
    Spot("other-commitment-30m", 30, 90, Status.PUBLISHED, other_commitment=True),
]


def expected(
    spots: list[Spot], radius: float, *, exclude: frozenset[str] = frozenset()
) -> list[str]:
    """The names a lookup should return, nearest first, derived from the spots themselves."""
    hits = [
        s
        for s in spots
        if s.metres <= radius
        and s.status in OPEN_STATUSES
        and not s.other_commitment
        and s.name not in exclude
    ]
    return [s.name for s in sorted(hits, key=lambda s: s.metres)]


@pytest.fixture
async def world(database: Database) -> World:
    w = World(database)
    await w.setup()
    await w.add_spots(HERE, SPOTS)
    await w.add("no-location", None, Status.PUBLISHED)
    return w


def test_open_means_pending_review_and_public_open() -> None:
    assert {Status.PENDING_REVIEW, *PUBLIC_OPEN} == OPEN_STATUSES


async def test_open_reports_within_radius_nearest_first(world: World) -> None:
    found = await nearby_open_reports(
        world.db, world.commitment_id, *HERE, exclude_report_id=world.ids["self-10m"], limit=20
    )
    names = world.names([r.report_id for r in found])
    assert names == expected(SPOTS, DUPLICATE_RADIUS_M, exclude=frozenset({"self-10m"}))
    assert names == [
        "published-100m-n",
        "reopened-150m-s",
        "in-progress-180m-w",
        "acknowledged-200m-ne",
        "pending-240m-e",
    ]
    metres = {s.name: s.metres for s in SPOTS}
    for report in found:
        assert report.distance_m == pytest.approx(metres[world.names([report.report_id])[0]])
        assert report.created_at.tzinfo is not None
        assert report.reference.startswith("CW-T")


async def test_default_limit_keeps_the_nearest_and_includes_unexcluded(world: World) -> None:
    found = await nearby_open_reports(world.db, world.commitment_id, *HERE)
    assert world.names([r.report_id for r in found]) == expected(SPOTS, DUPLICATE_RADIUS_M)[:5]
    assert found[0].status == Status.PENDING_REVIEW


async def test_radius_is_inclusive_and_exact(world: World) -> None:
    async def names(radius: float) -> list[str]:
        found = await nearby_open_reports(
            world.db, world.commitment_id, *HERE, radius_m=radius, limit=50
        )
        return world.names([r.report_id for r in found])

    assert await names(239.999) == expected(SPOTS, 239.999)
    assert "pending-240m-e" not in await names(239.999)
    assert (await names(240.001))[-1] == "pending-240m-e"
    assert await names(260.001) == expected(SPOTS, 260.001)
    assert await names(1000.001) == expected(SPOTS, 1000.001)
    assert (await names(1000.001))[-1] == "published-1km-e"


async def test_limit_keeps_the_nearest_among_many_candidates(database: Database) -> None:
    """More open reports in the box than the query fetches, added in an order unrelated to
    distance: the nearest must still win (the database orders by distance before LIMIT)."""
    world = World(database)
    await world.setup()
    rng = random.Random(5)
    spots = [
        Spot(f"r{i}", rng.uniform(5, 245), rng.uniform(0, 360), Status.PUBLISHED) for i in range(60)
    ]
    await world.add_spots(HERE, spots)
    found = await nearby_open_reports(database, world.commitment_id, *HERE, limit=3)
    assert world.names([r.report_id for r in found]) == expected(spots, DUPLICATE_RADIUS_M)[:3]
    everything = await nearby_open_reports(database, world.commitment_id, *HERE, limit=100)
    assert world.names([r.report_id for r in everything]) == expected(spots, DUPLICATE_RADIUS_M)


async def test_radius_zero_finds_only_the_same_point(world: World) -> None:
    assert await nearby_open_reports(world.db, world.commitment_id, *HERE, radius_m=0) == []
    same = await world.add("same-point", HERE, Status.PUBLISHED)
    found = await nearby_open_reports(world.db, world.commitment_id, *HERE, radius_m=0)
    assert [(r.report_id, r.distance_m) for r in found] == [(same, 0.0)]


async def test_other_commitment_has_its_own_candidates(world: World) -> None:
    found = await nearby_open_reports(world.db, world.other_commitment_id, *HERE)
    assert world.names([r.report_id for r in found]) == ["other-commitment-30m"]


@pytest.mark.parametrize(
    ("lat", "lon", "radius"),
    [
        (90.0001, 0.0, 250.0),
        (-91.0, 0.0, 250.0),
        (0.0, 180.5, 250.0),
        (0.0, -181.0, 250.0),
        (math.nan, 7.0, 250.0),
        (9.0, math.inf, 250.0),
        (9.0, 7.0, -1.0),
        (9.0, 7.0, math.nan),
        (9.0, 7.0, math.inf),
    ],
)
async def test_invalid_input_is_refused(
    database: Database, lat: float, lon: float, radius: float
) -> None:
    with pytest.raises(ValueError):
        await nearby_open_reports(database, 1, lat, lon, radius_m=radius)


async def test_across_the_antimeridian(database: Database) -> None:
    world = World(database)
    await world.setup()
    for centre in [(-16.5, 179.9990), (-16.5, -179.9990), (-16.5, 180.0)]:
        spots = [
            Spot(f"{centre[1]}-east-120m", 120, 90, Status.PUBLISHED),
            Spot(f"{centre[1]}-west-150m", 150, 270, Status.PUBLISHED),
            Spot(f"{centre[1]}-north-200m", 200, 0, Status.PUBLISHED),
            Spot(f"{centre[1]}-east-300m", 300, 90, Status.PUBLISHED),
        ]
        world.ids.clear()
        async with database.write() as session:
            await session.execute(text("DELETE FROM reports"))
        await world.add_spots(centre, spots)
        # The points straddle the line: some near +180, some near -180.
        lons = [destination(*centre, s.bearing, s.metres)[1] for s in spots]
        assert min(lons) < -179.99 and max(lons) > 179.99
        found = await nearby_open_reports(database, world.commitment_id, *centre)
        assert world.names([r.report_id for r in found]) == expected(spots, DUPLICATE_RADIUS_M)


async def test_around_a_pole(database: Database) -> None:
    world = World(database)
    await world.setup()
    # 55 m from the North Pole; reports across the pole are at longitudes a clamped box misses.
    centre = (89.9995, 30.0)
    spots = [
        Spot("across-pole", 150, 10, Status.PUBLISHED),  # passes the pole, to longitude ~-166
        Spot("east", 100, 90, Status.ACKNOWLEDGED),
        Spot("south-240m", 240, 180, Status.PUBLISHED),
        Spot("across-pole-far", 400, 0, Status.PUBLISHED),
    ]
    await world.add_spots(centre, spots)
    found = await nearby_open_reports(database, world.commitment_id, *centre)
    assert world.names([r.report_id for r in found]) == expected(spots, DUPLICATE_RADIUS_M)
    assert "across-pole" in world.names([r.report_id for r in found])


def test_search_boxes_cover_the_circle() -> None:
    """Random points within the radius fall in a box, anywhere on the globe."""
    rng = random.Random(11)
    for _ in range(3000):
        lat, lon = rng.uniform(-90, 90), rng.uniform(-180, 180)
        if rng.random() < 0.3:  # near the poles and the antimeridian, where boxes are hard
            lat = rng.choice([-1, 1]) * rng.uniform(89.99, 90)
        if rng.random() < 0.3:
            lon = rng.choice([-1, 1]) * rng.uniform(179.99, 180)
        radius = rng.choice([0.0, 1.0, 250.0, 5000.0])
        boxes = search_boxes(lat, lon, radius)
        assert all(
            -90 <= b.south <= b.north <= 90 and -180 <= b.west <= b.east <= 180 for b in boxes
        )
        p = destination(lat, lon, rng.uniform(0, 360), radius * rng.random())
        assert any(b.south <= p[0] <= b.north and b.west <= p[1] <= b.east for b in boxes), (
            lat,
            lon,
            radius,
            p,
        )


async def test_preview_prefers_public_text_and_is_short(database: Database) -> None:
    world = World(database)
    await world.setup()
    await world.add(
        "redacted",
        destination(*HERE, 0, 20),
        Status.PUBLISHED,
        text="Call me on +234 803 555 0101 about the road",
        public_text="Call me on [removed] about the road",
    )
    long_text = "The borehole   pump\nhas been broken " + "for weeks " * 20
    await world.add("long", destination(*HERE, 0, 30), Status.PUBLISHED, text=long_text)
    await world.add("voice", destination(*HERE, 0, 40), Status.PUBLISHED, text="")
    found = await nearby_open_reports(database, world.commitment_id, *HERE)
    previews = {world.names([r.report_id])[0]: r.preview for r in found}
    assert previews["redacted"] == "Call me on [removed] about the road"
    assert len(previews["long"]) <= PREVIEW_CHARS
    assert previews["long"].startswith("The borehole pump has been broken for weeks")
    assert previews["long"].endswith("…")
    assert previews["voice"] == ""


async def test_storage_query_filters_by_box_status_and_exclusion(world: World) -> None:
    [box] = search_boxes(*HERE, DUPLICATE_RADIUS_M)

    async def names(statuses: set[str], exclude: str | None = None) -> list[str]:
        async with world.db.read() as session:
            rows = await open_reports_near(
                session,
                commitment_id=world.commitment_id,
                south=box.south,
                west=box.west,
                north=box.north,
                east=box.east,
                statuses=statuses,
                exclude_report_id=world.ids[exclude] if exclude else None,
            )
        return world.names([r.id for r in rows])

    # 260 m north lies outside the box (it reaches 250 m north); 1 km east too.
    assert await names({Status.PUBLISHED}) == ["published-100m-n"]
    assert await names({Status.PUBLISHED}, exclude="published-100m-n") == []
    # Without a point to order by, rows come in id order (the order they were added).
    assert await names({Status.RESOLVED, Status.REJECTED}) == ["resolved-50m", "rejected-60m"]
    assert await names(set()) == []


# --- query plans ------------------------------------------------------------------------------


def bot_query(commitment_id: int, point: tuple[float, float]) -> Select[tuple[Report]]:
    """The statement nearby_open_reports runs for this point."""
    [box] = search_boxes(*point, DUPLICATE_RADIUS_M)
    assert box.center_lon is not None
    return open_reports_near_query(
        commitment_id=commitment_id,
        south=box.south,
        west=box.west,
        north=box.north,
        east=box.east,
        statuses=OPEN_STATUSES,
        limit=25,
        nearest_to=(point[0], box.center_lon),
    )


async def plan_of(db: Database, commitment_id: int, point: tuple[float, float]) -> list[str]:
    query = bot_query(commitment_id, point)
    sql = str(query.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}))
    async with db.read() as session:
        if db.is_sqlite:
            rows = await session.execute(text(f"EXPLAIN QUERY PLAN {sql}"))
            return [row[3] for row in rows]
        rows = await session.execute(text(f"EXPLAIN {sql}"))
        return [row[0] for row in rows]


def assert_indexed(plan: list[str], sqlite: bool) -> None:
    """The plan reads reports through an index whose leading column the query narrows (the
    commitment, or the latitude range), not the whole table or the whole of an index."""
    if sqlite:
        # "SEARCH reports USING INDEX ix (commitment_id=? ...)" is a range lookup; "SCAN
        # reports" reads everything, and "ANY(col)" is a skip-scan over every value of col.
        assert not any(line.startswith("SCAN reports") for line in plan), plan
        searches = [line for line in plan if line.startswith("SEARCH reports USING")]
        assert searches, plan
        assert all(re.search(r"\((commitment_id=\?|latitude>\?)", s) for s in searches), plan
    else:
        assert not any("Seq Scan on reports" in line for line in plan), plan
        # An Index Cond on the second column only (longitude) would still read the whole index.
        conditions = [line for line in plan if "Index Cond:" in line]
        assert conditions, plan
        assert all(re.search(r"\(\(?(commitment_id = |latitude >= )", c) for c in conditions), plan


async def test_plan_uses_an_index_without_statistics(database: Database) -> None:
    """SQLite as the bot runs it: never analyzed.

    Not asserted on PostgreSQL: for a table never analyzed it plans from guesses (an empty
    relpages counts as ten pages), and for a small table it has analyzed a sequential scan is the
    right plan; so PostgreSQL's plan is checked after ANALYZE on a realistic table (next test).
    """
    if not database.is_sqlite:
        pytest.skip("PostgreSQL's plan for a tiny unanalyzed table rests on guesses")
    world = World(database)
    await world.setup()
    await world.add_spots(HERE, SPOTS)
    assert_indexed(await plan_of(database, world.commitment_id, HERE), sqlite=True)


async def test_plan_uses_an_index_on_a_realistic_table(database: Database) -> None:
    world = World(database)
    await world.setup()
    rng = random.Random(3)
    commitments = [world.commitment_id, world.other_commitment_id]
    statuses = [str(s) for s in Status]
    rows = []
    for i in range(6000):
        point = destination(*HERE, rng.uniform(0, 360), rng.uniform(0, 30_000))
        rows.append(
            {
                "reference": f"CW-P{i:06d}",
                "commitment_id": rng.choice(commitments),
                "citizen_id": world.citizen_id,
                "kind": "problem",
                "text": "generated",
                "language": "en",
                "latitude": point[0],
                "longitude": point[1],
                "status": rng.choice(statuses),
                "created_at": T0,
                "updated_at": T0,
            }
        )
    async with database.write() as session:
        await session.execute(insert(Report), rows)
    async with database.engine.connect() as conn:
        await conn.exec_driver_sql("ANALYZE")
        await conn.commit()
    plan = await plan_of(database, world.commitment_id, destination(*HERE, 45, 5_000))
    assert_indexed(plan, sqlite=database.is_sqlite)
