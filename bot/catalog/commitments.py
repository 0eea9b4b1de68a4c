"""Commitments as citizens find them: by words, near them, by theme, or by a code on a sign."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.catalog.geo import distance_if_far, distance_m, search_boxes
from bot.core.services import Services
from storage.models import Commitment
from storage.queries import commitments as queries

PAGE_SIZE = 5
# A commitment with a point but no radius counts as "near" within this distance.
DEFAULT_RADIUS_M = 2_000.0
# The farthest any commitment's radius may reach, to bound the index lookup.
MAX_NEARBY_RADIUS_M = 50_000.0


@dataclass(frozen=True)
class CommitmentChoice:
    id: int
    code: str
    title: str
    distance_m: float | None = None


@dataclass(frozen=True)
class Page:
    items: list[CommitmentChoice]
    page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))


def localized(texts: Mapping[str, str], locale: str, default_locale: str) -> str:
    """The reader's language if present, else the deployment's default, else any."""
    for candidate in (locale, default_locale, "en"):
        if texts.get(candidate):
            return texts[candidate]
    return next((t for t in texts.values() if t), "")


def title_of(commitment: Commitment, locale: str, default_locale: str) -> str:
    return (
        localized(commitment.short_titles or {}, locale, default_locale)
        or localized(commitment.titles or {}, locale, default_locale)
        or commitment.code
    )


def distance_if_far_from(commitment: Commitment, lat: float, lon: float) -> float | None:
    """How far (lat, lon) is from the commitment's point when it lies far outside its area;
    None when it is near, or when the commitment has no point to compare with."""
    if commitment.latitude is None or commitment.longitude is None:
        return None
    radius = commitment.radius_m or DEFAULT_RADIUS_M
    return distance_if_far(lat, lon, commitment.latitude, commitment.longitude, radius)


def _choices(
    rows: Sequence[Commitment], locale: str, default_locale: str
) -> list[CommitmentChoice]:
    return [CommitmentChoice(c.id, c.code, title_of(c, locale, default_locale)) for c in rows]


async def search(services: Services, query: str, page: int, locale: str) -> Page:
    page = max(0, page)
    async with services.db.read() as session:
        rows, total = await queries.search(session, query, page * PAGE_SIZE, PAGE_SIZE)
    return Page(_choices(rows, locale, services.settings.default_locale), page, total)


async def nearby(services: Services, lat: float, lon: float, page: int, locale: str) -> Page:
    """Commitments whose point lies within their radius of (lat, lon), nearest first."""
    candidates: list[Commitment] = []
    async with services.db.read() as session:
        # Several boxes across the antimeridian, one spanning all longitudes near a pole.
        for box in search_boxes(lat, lon, MAX_NEARBY_RADIUS_M):
            candidates += await queries.in_box(session, box.south, box.west, box.north, box.east)
    found: list[CommitmentChoice] = []
    for c in candidates:
        assert c.latitude is not None and c.longitude is not None
        distance = distance_m(lat, lon, c.latitude, c.longitude)
        if distance <= (c.radius_m or DEFAULT_RADIUS_M):
            title = title_of(c, locale, services.settings.default_locale)
            found.append(CommitmentChoice(c.id, c.code, title, distance))
    found.sort(key=lambda choice: choice.distance_m or 0.0)
    page = max(0, page)
    return Page(found[page * PAGE_SIZE : (page + 1) * PAGE_SIZE], page, len(found))


async def themes(services: Services) -> list[str]:
    async with services.db.read() as session:
        return await queries.themes(session)


async def in_theme(services: Services, theme: str, page: int, locale: str) -> Page:
    page = max(0, page)
    async with services.db.read() as session:
        rows, total = await queries.by_theme(session, theme, page * PAGE_SIZE, PAGE_SIZE)
    return Page(_choices(rows, locale, services.settings.default_locale), page, total)


async def find_by_code(services: Services, code: str) -> Commitment | None:
    async with services.db.read() as session:
        return await queries.by_code(session, code.strip())


async def get(services: Services, commitment_id: int) -> Commitment | None:
    async with services.db.read() as session:
        return await queries.by_id(session, commitment_id)
