"""Distances and bounding boxes on the sphere, enough for "near me" at city scale."""

from __future__ import annotations

import math
from dataclasses import dataclass

EARTH_RADIUS_M = 6_371_008.8


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in metres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


# How far beyond its radius a point still counts as the place of a commitment. The check is there
# to catch gross mistakes (a place picked on the map in another town, a phone's stale fix, a default
# pin in the capital), not to police where a citizen stands: catalog radii are rough figures, a road
# or a scheme often reaches past them, and people report from where they can see the works. A
# question asked too often teaches people to press "yes" unread, so the margin is generous: twice
# the radius for a wide area, and at least 5 km past a small one (the next neighbourhood along).
FAR_FACTOR = 2.0
FAR_MIN_MARGIN_M = 5_000.0


def far_limit_m(radius_m: float) -> float:
    """The distance from an area's centre beyond which a point is far outside it."""
    return max(radius_m * FAR_FACTOR, radius_m + FAR_MIN_MARGIN_M)


def distance_if_far(
    lat: float, lon: float, centre_lat: float, centre_lon: float, radius_m: float
) -> float | None:
    """The distance in metres from the area's centre when (lat, lon) lies far outside it, else None."""
    distance = distance_m(lat, lon, centre_lat, centre_lon)
    return distance if distance > far_limit_m(radius_m) else None


# Widen boxes by a hair so float rounding never drops a point that sits on the edge.
_EDGE_DEG = 1e-8


@dataclass(frozen=True)
class SearchBox:
    """A latitude/longitude box that does not cross the antimeridian (west <= east)."""

    south: float
    west: float
    north: float
    east: float
    # The search point's longitude seen from this box (shifted by 360 across the antimeridian),
    # or None when the box holds a pole, where planar ordering means nothing.
    center_lon: float | None


def search_boxes(lat: float, lon: float, radius_m: float) -> list[SearchBox]:
    """Boxes that together hold every point within radius_m of (lat, lon), none crossing the
    antimeridian.

    Unlike bot.catalog.geo.bounding_box, which clamps, this splits a box that crosses the antimeridian
    and spans every longitude when the circle holds a pole; its longitude half-width is the
    exact one for a spherical cap, asin(sin d / cos lat), which near the poles is wider than
    d / cos lat.
    """
    d = radius_m / EARTH_RADIUS_M  # angular radius
    dlat = math.degrees(d) + _EDGE_DEG
    south, north = lat - dlat, lat + dlat
    if north >= 90.0 or south <= -90.0:
        return [SearchBox(max(-90.0, south), -180.0, min(90.0, north), 180.0, None)]
    ratio = min(1.0, math.sin(d) / math.cos(math.radians(lat)))
    dlon = math.degrees(math.asin(ratio)) + _EDGE_DEG  # at most 90 degrees here
    west, east = lon - dlon, lon + dlon
    if west < -180.0:
        return [
            SearchBox(south, -180.0, north, east, lon),
            SearchBox(south, west + 360.0, north, 180.0, lon + 360.0),
        ]
    if east > 180.0:
        return [
            SearchBox(south, west, north, 180.0, lon),
            SearchBox(south, -180.0, north, east - 360.0, lon - 360.0),
        ]
    return [SearchBox(south, west, north, east, lon)]


def valid_coordinates(lat: float, lon: float) -> bool:
    return (
        math.isfinite(lat)
        and math.isfinite(lon)
        and -90.0 <= lat <= 90.0
        and -180.0 <= lon <= 180.0
    )
