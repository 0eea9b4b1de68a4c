"""Open reports near a point on one commitment: the candidates for "someone already reported this".

The caller turns a point and radius into a latitude/longitude box; this query returns the reports
inside it and the caller keeps those within the exact distance. The conditions are plain column
ranges and equalities so the database answers them from an index, never with a full scan.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Report, ReportSupporter


def open_reports_near_query(
    *,
    commitment_id: int,
    south: float,
    west: float,
    north: float,
    east: float,
    statuses: Collection[str],
    exclude_report_id: int | None = None,
    exclude_citizen_id: int | None = None,
    limit: int | None = 50,
    nearest_to: tuple[float, float] | None = None,
) -> Select[Report]:
    """The statement behind `open_reports_near` (the benchmark runs it with hints added)."""
    conditions = [
        Report.commitment_id == commitment_id,
        Report.status.in_(sorted(statuses)),
        Report.latitude.between(south, north),
        Report.longitude.between(west, east),
    ]
    if exclude_report_id is not None:
        conditions.append(Report.id != exclude_report_id)
    if exclude_citizen_id is not None:
        # Not "someone else's report": the citizen's own, or one they already support.
        conditions.append(Report.citizen_id != exclude_citizen_id)
        supported = select(ReportSupporter.id).where(
            ReportSupporter.report_id == Report.id,
            ReportSupporter.citizen_id == exclude_citizen_id,
        )
        conditions.append(~supported.exists())
    query = select(Report).where(*conditions)
    if nearest_to is not None:
        # Squared equirectangular distance: at a few hundred metres it orders like the
        # great-circle distance, so a LIMIT keeps the nearest rows rather than arbitrary ones.
        lat, lon = nearest_to
        scale = math.cos(math.radians(lat))
        dlat = Report.latitude - lat
        dlon = (Report.longitude - lon) * scale
        query = query.order_by(dlat * dlat + dlon * dlon, Report.id)
    else:
        query = query.order_by(Report.id)
    if limit is not None:
        query = query.limit(limit)
    return query


async def open_reports_near(
    session: AsyncSession,
    *,
    commitment_id: int,
    south: float,
    west: float,
    north: float,
    east: float,
    statuses: Collection[str],
    exclude_report_id: int | None = None,
    exclude_citizen_id: int | None = None,
    limit: int | None = 50,
    nearest_to: tuple[float, float] | None = None,
) -> Sequence[Report]:
    """Reports on `commitment_id` in one of `statuses` whose point lies inside the box.

    The box must not cross the antimeridian (west <= east); split such a box in two. With
    `nearest_to`, the rows nearest that point come first (and survive the limit); `limit=None`
    returns every row in the box.
    """
    if not statuses or (limit is not None and limit <= 0):
        return []
    rows = await session.scalars(
        open_reports_near_query(
            commitment_id=commitment_id,
            south=south,
            west=west,
            north=north,
            east=east,
            statuses=statuses,
            exclude_report_id=exclude_report_id,
            exclude_citizen_id=exclude_citizen_id,
            limit=limit,
            nearest_to=nearest_to,
        )
    )
    return rows.all()
