"""Distances for asserting on places, computed independently of the bot's own geometry."""

from __future__ import annotations

import math


def metres_between(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Equirectangular distance between (lat, lon) points: exact enough at a few kilometres."""
    dy = (a[0] - b[0]) * 111_320
    dx = (a[1] - b[1]) * 111_320 * math.cos(math.radians((a[0] + b[0]) / 2))
    return math.hypot(dx, dy)
