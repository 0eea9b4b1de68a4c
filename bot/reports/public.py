"""The public shape of a report, declared once: what the open data (CSV, GeoJSON), the digests'
CSV and the agencies' webhooks may show of a report, in which order and computed how.

Storage hands over rows (or models) with the report's own columns, the original text among
them; only what is declared here leaves. Never the citizen (no Telegram id, no name, no
internal id), never the text as written when a moderator redacted it.

Audiences: the public (open data, digests) sees a location snapped to the centre of a grid cell
of PUBLIC_LOCATION_GRID_M metres (default 100), so that a report cannot point at a citizen's house;
the agency responsible (its webhook) and an admin's private export see the exact point, which they
need to fix things. `location` below is the one place where this is decided.

Photos: a report's cleaned photos (metadata stripped when they arrived) are public once the report
is, unless a moderator hid them; `public_photo_count` decides, `public_photo_paths` says where the
web server serves them (bot/channels/web/photos.py), and `media_url` is the first one's absolute
address, for an audience that knows the base (PUBLIC_BASE_URL, or the web request's own).
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol, TextIO

from bot.reports.lifecycle import PUBLIC, PUBLIC_CLOSED, PUBLIC_OPEN, ActorKind
from storage.models import Report

# Whose notes on a report are public record: the agency's answers (an official in Telegram, its
# system through the status endpoint); never a moderator's reasons or a citizen's words.
PUBLIC_NOTE_ACTORS = frozenset({ActorKind.OFFICIAL.value, ActorKind.AGENCY.value})


@dataclass(frozen=True)
class Audience:
    """Who reads an output, which decides how exact its locations are, and where its links to
    public photos start."""

    name: str
    grid_m: float | None  # the side of the public's grid cells; None: the exact point
    # The absolute base of photo links, e.g. "https://watch.example.org"; None: no links.
    base_url: str | None = None

    @classmethod
    def public(cls, grid_m: float, base_url: str | None = None) -> Audience:
        """Open data and digests: locations coarsened to cells of `grid_m` metres."""
        if not grid_m > 0:
            raise ValueError(f"a public grid needs a positive size, got {grid_m!r}")
        return cls("public", grid_m, _base(base_url))

    def linking_to(self, base_url: str | None) -> Audience:
        """The same audience, with photo links under `base_url`."""
        return replace(self, base_url=_base(base_url))


def _base(base_url: str | None) -> str | None:
    """ "https://watch.example.org/" -> "https://watch.example.org"; None for none."""
    return (base_url or "").rstrip("/") or None


AGENCY = Audience("agency", None)  # the agency's own system (webhook): the exact point
PRIVATE = Audience("private", None)  # an admin's --include-private export, never published


class ReportSource(Protocol):
    """What the serializer reads of a report: storage's row (storage/queries/exports.py
    report_columns) or `source_of(model)`."""

    @property
    def reference(self) -> str: ...
    @property
    def commitment_code(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def text(self) -> str | None: ...  # as written: never shown when public_text is set
    @property
    def public_text(self) -> str | None: ...  # the moderator's redaction
    @property
    def language(self) -> str | None: ...
    @property
    def latitude(self) -> float | None: ...
    @property
    def longitude(self) -> float | None: ...
    @property
    def status(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...
    @property
    def photo_count(self) -> int: ...  # how many photos it has
    @property
    def photos_hidden(self) -> bool: ...  # a moderator hid them from the public


@dataclass(frozen=True)
class ReportView:
    """A model's columns as a ReportSource (the webhook reads the model, exports read rows)."""

    reference: str
    commitment_code: str
    kind: str
    text: str | None
    public_text: str | None
    language: str | None
    latitude: float | None
    longitude: float | None
    status: str
    created_at: datetime
    updated_at: datetime
    photo_count: int
    photos_hidden: bool


def source_of(report: Report) -> ReportView:
    """Needs report.commitment and report.photos loaded."""
    return ReportView(
        reference=report.reference,
        commitment_code=report.commitment.code,
        kind=report.kind,
        text=report.text,
        public_text=report.public_text,
        language=report.language,
        latitude=report.latitude,
        longitude=report.longitude,
        status=report.status,
        created_at=report.created_at,
        updated_at=report.updated_at,
        photo_count=len(report.photos),
        photos_hidden=report.photos_hidden,
    )


def public_text(report: ReportSource) -> str | None:
    """The moderator's redacted text where there is one, else the text as written; None for a
    voice-only report."""
    return report.public_text if report.public_text is not None else report.text


def timestamp(value: datetime | None) -> str | None:
    """UTC, whole seconds, e.g. 2024-05-01T10:30:00Z."""
    # isoformat is several times faster than strftime, which counts at a million rows.
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


METRES_PER_DEGREE = 111_320.0  # of latitude, and of longitude at the equator


def coarse(latitude: float, longitude: float, grid_m: float) -> tuple[float, float]:
    """The centre of the grid cell of about `grid_m` x `grid_m` metres the point lies in.

    The cell, not the point: every point in a cell gives the same answer, so the published value
    says nothing about where in its cell a report was made. Rows of cells are `grid_m` of latitude
    high; along a row, cells are `grid_m` wide at the row's middle (fewer, wider cells towards
    the poles, one cell for a whole row at the pole itself).
    """
    lat_step = grid_m / METRES_PER_DEGREE
    row = min(math.floor((latitude + 90.0) / lat_step), math.ceil(180.0 / lat_step) - 1)
    lat = min(-90.0 + (row + 0.5) * lat_step, 90.0)
    width = METRES_PER_DEGREE * math.cos(math.radians(lat))
    lon_step = 360.0 / max(1, math.floor(360.0 * width / grid_m)) if width > 0 else 360.0
    column = min(math.floor((longitude + 180.0) / lon_step), round(360.0 / lon_step) - 1)
    lon = -180.0 + (column + 0.5) * lon_step
    return round(lat, 6), round(lon, 6)


def location(report: ReportSource, audience: Audience) -> tuple[float | None, float | None]:
    """(latitude, longitude) as `audience` may see them; None when the report has no place."""
    if report.latitude is None or report.longitude is None:
        return None, None
    if audience.grid_m is None:
        return report.latitude, report.longitude
    return coarse(report.latitude, report.longitude, audience.grid_m)


def open311_status(status: str) -> str | None:
    """Open311 GeoReport v2's status: "open" or "closed"; None for a status never public."""
    if status in PUBLIC_OPEN:
        return "open"
    if status in PUBLIC_CLOSED:
        return "closed"
    return None


def public_photo_count(report: ReportSource) -> int:
    """How many of the report's photos the public may see: all of them once the report is
    public, unless a moderator hid them; none before, or ever for a rejected or withdrawn one."""
    if report.status not in PUBLIC or report.photos_hidden:
        return 0
    return report.photo_count


def public_photo_paths(reference: str, count: int) -> list[str]:
    """Where the web server serves a public report's photos, in order: /media/<reference>/<n>.jpg,
    n from 1 (bot/channels/web/photos.py). Pass public_photo_count(report) as `count`."""
    return [f"/media/{reference}/{n}.jpg" for n in range(1, count + 1)]


def media_url(report: ReportSource, audience: Audience) -> str | None:
    """The absolute address of the report's first public photo; None when it has none, or the
    audience has no base to link from (an export from the command line without PUBLIC_BASE_URL)."""
    if audience.base_url is None:
        return None
    paths = public_photo_paths(report.reference, min(public_photo_count(report), 1))
    return audience.base_url + paths[0] if paths else None


@dataclass(frozen=True)
class Field:
    name: str
    value: Callable[[ReportSource, Audience], Any]


# The public fields, in the order of the open-data columns (CSV header, GeoJSON properties).
FIELDS: tuple[Field, ...] = (
    Field("reference", lambda r, a: r.reference),
    Field("commitment_code", lambda r, a: r.commitment_code),
    Field("kind", lambda r, a: r.kind),
    Field("public_text", lambda r, a: public_text(r)),
    Field("language", lambda r, a: r.language),
    Field("latitude", lambda r, a: location(r, a)[0]),
    Field("longitude", lambda r, a: location(r, a)[1]),
    Field("status", lambda r, a: r.status),
    Field("created_at", lambda r, a: timestamp(r.created_at)),
    Field("updated_at", lambda r, a: timestamp(r.updated_at)),
    Field("media_url", media_url),
)
FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in FIELDS)
# Never in any public output (the export's --include-private adds the first two, for admins).
PRIVATE_NAMES = frozenset({"citizen_id", "original_text", "telegram_user_id", "username"})


def record(report: ReportSource, audience: Audience) -> dict[str, Any]:
    """The public fields of one report as `audience` sees them, by name, in order."""
    return {f.name: f.value(report, audience) for f in FIELDS}


# Extra columns the caller adds after the public ones (the admin's private export).
Extra = tuple[Sequence[str], Callable[[Any], Mapping[str, Any]]]


CHUNK_CHARS = 64 * 1024  # text handed on at a time: a few hundred rows, whatever the total


@dataclass
class Tally:
    """How many reports a stream of text held, known once it is consumed."""

    reports: int = 0


async def csv_text(
    rows: AsyncIterable[ReportSource],
    audience: Audience,
    extra: Extra | None = None,
    tally: Tally | None = None,
) -> AsyncIterator[str]:
    """The open-data CSV (header, then one line per report), in chunks of about CHUNK_CHARS."""
    names, more = extra if extra is not None else ((), None)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow((*FIELD_NAMES, *names))
    async for row in rows:
        values = record(row, audience)
        if more is not None:
            values |= more(row)
        writer.writerow([values[name] for name in (*FIELD_NAMES, *names)])
        if tally is not None:
            tally.reports += 1
        if buffer.tell() >= CHUNK_CHARS:
            yield _drain(buffer)
    yield _drain(buffer)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


async def write_csv(
    rows: AsyncIterable[ReportSource],
    out: TextIO,
    audience: Audience,
    extra: Extra | None = None,
) -> int:
    """The open-data CSV written to `out`; returns how many reports."""
    tally = Tally()
    async for text in csv_text(rows, audience, extra, tally):
        out.write(text)
    return tally.reports


def geojson_feature(
    report: ReportSource, audience: Audience, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """One GeoJSON Feature: the place as geometry (null without one), the rest as properties."""
    properties = record(report, audience)
    lat, lon = properties.pop("latitude"), properties.pop("longitude")
    if extra:
        properties |= extra
    geometry = None
    if lat is not None and lon is not None:
        geometry = {"type": "Point", "coordinates": [lon, lat]}
    return {
        "type": "Feature",
        "id": properties["reference"],
        "geometry": geometry,
        "properties": properties,
    }


async def geojson_text(
    rows: AsyncIterable[ReportSource],
    audience: Audience,
    extra: Callable[[Any], Mapping[str, Any]] | None = None,
    tally: Tally | None = None,
) -> AsyncIterator[str]:
    """A FeatureCollection, feature by feature, in chunks of about CHUNK_CHARS."""
    parts = ['{"type": "FeatureCollection", "features": [\n']
    size, count = len(parts[0]), 0
    async for row in rows:
        feature = geojson_feature(row, audience, extra(row) if extra is not None else None)
        part = (",\n" if count else "") + json.dumps(feature, ensure_ascii=False)
        parts.append(part)
        size, count = size + len(part), count + 1
        if tally is not None:
            tally.reports += 1
        if size >= CHUNK_CHARS:
            yield "".join(parts)
            parts, size = [], 0
    parts.append("\n]}\n")
    yield "".join(parts)


async def write_geojson(
    rows: AsyncIterable[ReportSource],
    out: TextIO,
    audience: Audience,
    extra: Callable[[Any], Mapping[str, Any]] | None = None,
) -> int:
    """The FeatureCollection written to `out`; returns how many features."""
    tally = Tally()
    async for text in geojson_text(rows, audience, extra, tally):
        out.write(text)
    return tally.reports


def agency_document(
    report: ReportSource, commitment_title: str, photo_count: int, supporter_count: int
) -> dict[str, Any]:
    """The report as the agency's webhook receives it: the public fields (public_text as
    "text", the commitment as {code, title}) and how many photos and supporters it has."""
    fields = record(report, AGENCY)
    return {
        "reference": fields["reference"],
        "commitment": {"code": fields["commitment_code"], "title": commitment_title},
        "kind": fields["kind"],
        "text": fields["public_text"],
        "language": fields["language"],
        "latitude": fields["latitude"],
        "longitude": fields["longitude"],
        "status": fields["status"],
        "created_at": fields["created_at"],
        "updated_at": fields["updated_at"],
        "photo_count": photo_count,
        "supporter_count": supporter_count,
    }


def open311_request(
    report: ReportSource,
    audience: Audience,
    *,
    service_name: str,
    agency_responsible: str | None,
    status_notes: str | None,
    supporter_count: int,
) -> dict[str, Any]:
    """The report as an Open311 GeoReport v2 service request: the public fields under the spec's
    names (every field of the spec, null where we have nothing to say), then two extensions:
    the report's kind and how many citizens support it."""
    fields = record(report, audience)
    return {
        "service_request_id": fields["reference"],
        "status": open311_status(report.status),
        "status_notes": status_notes,
        "service_name": service_name,
        "service_code": fields["commitment_code"],
        "description": fields["public_text"],
        "agency_responsible": agency_responsible,
        "service_notice": None,
        "requested_datetime": fields["created_at"],
        "updated_datetime": fields["updated_at"],
        "expected_datetime": None,
        "address": None,
        "address_id": None,
        "zipcode": None,
        "lat": fields["latitude"],
        "long": fields["longitude"],
        "media_url": fields["media_url"],
        "kind": fields["kind"],
        "supporter_count": supporter_count,
    }
