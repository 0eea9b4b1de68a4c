"""Possible duplicates: open reports on the same commitment near a point, nearest first.

Used when a citizen shares a location ("someone already reported this here") and on moderation
cards. The database narrows the search with a latitude/longitude box (an index range); the exact
great-circle distance decides.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from bot.catalog.geo import distance_m, search_boxes, valid_coordinates
from bot.reports.lifecycle import PUBLIC_OPEN, Status
from storage.db import Database
from storage.models import Report
from storage.queries.duplicates import open_reports_near

DUPLICATE_RADIUS_M = 250.0
PREVIEW_CHARS = 80
# A report waiting for review is still a duplicate of a new one at the same place.
OPEN_STATUSES: frozenset[str] = frozenset(PUBLIC_OPEN | {Status.PENDING_REVIEW})
# Rows fetched per box beyond `limit`: the database orders by an approximate distance, so a
# few spare rows make sure the exact order cannot lose one of the nearest.
_SPARE_CANDIDATES = 20
# Widen boxes by about a millimetre so that rounding cannot drop a point on their edge; the
# exact distance check removes anything outside the radius.


@dataclass(frozen=True)
class NearbyReport:
    report_id: int
    reference: str
    distance_m: float
    status: str
    created_at: datetime
    preview: str


def preview_of(report: Report, max_chars: int = PREVIEW_CHARS) -> str:
    """What staff and citizens may see of the text: the redacted version when there is one."""
    text = " ".join((report.public_text or report.text or "").split())
    if len(text) <= max_chars:
        return text
    return text[: max_chars - 1].rstrip() + "…"


async def nearby_open_reports(
    db: Database,
    commitment_id: int,
    latitude: float,
    longitude: float,
    radius_m: float = DUPLICATE_RADIUS_M,
    exclude_report_id: int | None = None,
    limit: int = 5,
    exclude_citizen_id: int | None = None,
) -> list[NearbyReport]:
    """Open reports on the commitment within radius_m of the point, nearest first; without
    those of `exclude_citizen_id` (a citizen is never offered their own report).

    Radius 0 finds only reports at exactly the same point. Raises ValueError for coordinates
    off the globe, a negative or non-finite radius, or a negative limit.
    """
    if not valid_coordinates(latitude, longitude):
        raise ValueError(f"invalid coordinates: {latitude!r}, {longitude!r}")
    if not math.isfinite(radius_m) or radius_m < 0:
        raise ValueError(f"invalid radius: {radius_m!r}")
    if limit < 0:
        raise ValueError(f"invalid limit: {limit!r}")
    if limit == 0:
        return []
    found: dict[int, NearbyReport] = {}
    async with db.read() as session:
        for box in search_boxes(latitude, longitude, radius_m):
            nearest = None if box.center_lon is None else (latitude, box.center_lon)
            rows = await open_reports_near(
                session,
                commitment_id=commitment_id,
                south=box.south,
                west=box.west,
                north=box.north,
                east=box.east,
                statuses=OPEN_STATUSES,
                exclude_report_id=exclude_report_id,
                exclude_citizen_id=exclude_citizen_id,
                # Around a pole the box is a whole cap of longitudes and planar order is
                # wrong, so take every row in it (a cap a few hundred metres wide holds few).
                limit=None if nearest is None else limit + _SPARE_CANDIDATES,
                nearest_to=nearest,
            )
            for report in rows:
                assert report.latitude is not None and report.longitude is not None
                distance = distance_m(latitude, longitude, report.latitude, report.longitude)
                if distance <= radius_m:
                    found[report.id] = NearbyReport(
                        report_id=report.id,
                        reference=report.reference,
                        distance_m=distance,
                        status=report.status,
                        created_at=report.created_at,
                        preview=preview_of(report),
                    )
    ordered = sorted(found.values(), key=lambda r: (r.distance_m, r.created_at, r.report_id))
    return ordered[:limit]
