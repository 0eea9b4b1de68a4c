"""The public shape of a report (bot/reports/public.py) is the same in every output: the open-data
CSV and GeoJSON, the digest's CSV and the agency's webhook agree on one real report, and none of
them shows who the citizen is or the text as written before a moderator redacted it. The
webhooks share one HTTP session, opened once and closed when the bot stops."""

from __future__ import annotations

import csv
import io
import json
import math
import random
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import select

import bot.core.http
from bot.admin.export import export_reports
from bot.channels.webhook import post_signed
from bot.digests.figures import build_digest
from bot.outbox.dispatcher import Outgoing
from bot.reports import moderation, public
from bot.reports.lifecycle import PUBLIC, Actor, ActorKind
from storage.models import Agency, Citizen, Report
from storage.queries.exports import ReportFilter
from tests.support.agency_channels import (
    AGENCY,
    SECRET,
    STAFF_CHAT,
    WebhookReceiver,
    approve,
    configure_agency,
    staff,
    submit,
)
from tests.support.geo import metres_between
from tests.support.harness import Harness

WRITTEN = "water pours onto the road"  # in the text as the citizen wrote it (tests/support)
REDACTED = "The new culvert is cracked [removed by a moderator]."


@pytest.fixture
def harness_overrides() -> dict[str, Any]:
    return {"moderator_chat_id": STAFF_CHAT}


class CountingReceiver(WebhookReceiver):
    """Also records the client's address and port of each request: one per TCP connection."""

    def __init__(self, secret: str) -> None:
        super().__init__(secret)
        self.peers: list[tuple[str, int]] = []

    async def _handle(self, request: web.Request) -> web.Response:
        assert request.transport is not None
        self.peers.append(request.transport.get_extra_info("peername")[:2])
        return await super()._handle(request)


@pytest.fixture
async def receiver() -> AsyncIterator[CountingReceiver]:
    server = CountingReceiver(SECRET)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def sessions_opened(monkeypatch: pytest.MonkeyPatch) -> list[aiohttp.ClientSession]:
    """Every ClientSession the bot's HTTP client opens."""
    opened: list[aiohttp.ClientSession] = []

    def counted(*args: Any, **kwargs: Any) -> aiohttp.ClientSession:
        session = aiohttp.ClientSession(*args, **kwargs)
        opened.append(session)
        return session

    monkeypatch.setattr(bot.core.http, "ClientSession", counted)
    return opened


async def redacted_and_approved(harness: Harness, receiver: CountingReceiver) -> dict[str, Any]:
    """A real report (a citizen with a name and a username, a place, a photo), redacted by a
    moderator, approved, delivered to the agency's webhook; returns the facts to look for."""
    await configure_agency(harness, webhook_url=receiver.url, webhook_secret=SECRET)
    moderator, group = staff(harness)
    citizen = harness.user(
        "en", first_name="Zainab", last_name="Bello", username="zainab_kaduna", user_id=48151623
    )
    reference = await submit(harness, citizen, where=(10.5731, 7.4412))
    async with harness.db.read() as session:
        report = await session.scalar(select(Report).where(Report.reference == reference))
        assert report is not None
        citizen_row = await session.get(Citizen, report.citizen_id)
        assert citizen_row is not None
    actor = Actor(ActorKind.MODERATOR, moderator.id, "Ada")
    await moderation.redact(harness.services, report.id, REDACTED, actor)
    await approve(moderator, group, reference)
    await receiver.wait_for(1, timeout=15)
    return {
        "reference": reference,
        "telegram_id": citizen.id,
        "citizen_id": citizen_row.id,
        "private": ("Zainab", "Bello", "zainab_kaduna", str(citizen.id), WRITTEN),
    }


def grid_m(harness: Harness) -> float:
    return harness.services.settings.public_location_grid_m


async def outputs(harness: Harness) -> dict[str, str]:
    """The open-data CSV and GeoJSON, and the digest's CSV, of everything public."""
    texts = {}
    for fmt in ("csv", "geojson"):
        out = io.StringIO()
        await export_reports(
            harness.db, ReportFilter(statuses=frozenset(PUBLIC)), fmt, out, grid_m(harness)
        )
        texts[fmt] = out.getvalue()
    async with harness.db.read() as session:
        agency = await session.scalar(select(Agency).where(Agency.code == AGENCY))
        assert agency is not None
    now = harness.services.clock()
    digest = await build_digest(
        harness.db,
        agency.id,
        now - timedelta(days=1),
        now + timedelta(days=1),
        "en",
        grid_m=grid_m(harness),
    )
    texts["digest"] = digest.csv.decode("utf-8")
    return texts


async def test_every_output_shows_the_same_public_report_and_nothing_private(
    harness: Harness, receiver: CountingReceiver
) -> None:
    facts = await redacted_and_approved(harness, receiver)
    texts = await outputs(harness)
    [exported] = list(csv.DictReader(io.StringIO(texts["csv"])))
    [in_digest] = list(csv.DictReader(io.StringIO(texts["digest"])))
    [feature] = json.loads(texts["geojson"])["features"]
    hook = json.loads(receiver.requests[-1].body)["report"]

    # One declaration, one order, for both CSVs and the GeoJSON properties.
    assert list(exported) == list(in_digest) == list(public.FIELD_NAMES)
    assert list(feature["properties"]) == [
        n for n in public.FIELD_NAMES if n not in ("latitude", "longitude")
    ]
    assert exported == in_digest
    assert exported["reference"] == facts["reference"] == feature["id"] == hook["reference"]
    assert exported["public_text"] == REDACTED == hook["text"]
    assert exported["status"] == "published" == hook["status"]
    assert exported["created_at"].endswith("Z") and exported["created_at"] == hook["created_at"]
    same = ("reference", "kind", "language", "status", "created_at", "updated_at")
    for name in same:
        assert feature["properties"][name] == hook[name], name
        assert exported[name] == str(hook[name]), name
    assert feature["properties"]["public_text"] == hook["text"]
    assert exported["commitment_code"] == hook["commitment"]["code"] == "KAD-RD-017"
    assert feature["properties"]["commitment_code"] == "KAD-RD-017"
    # The place: the agency gets the exact point; every public output the same coarse one, the
    # centre of the point's 100 m cell, which is not the point.
    assert hook["latitude"] == pytest.approx(10.5731) and hook["longitude"] == pytest.approx(7.4412)
    shown = (float(exported["latitude"]), float(exported["longitude"]))
    assert feature["geometry"]["coordinates"] == [shown[1], shown[0]]
    assert shown != (hook["latitude"], hook["longitude"])
    assert 0 < metres_between(shown, (10.5731, 7.4412)) <= 100 * math.sqrt(2) / 2
    assert hook["supporter_count"] == 0 and hook["photo_count"] == 0

    # Nothing about the citizen, nor the text before redaction, anywhere.
    everything = {**texts, "webhook": receiver.requests[-1].body.decode()}
    for where, text in everything.items():
        for private in facts["private"]:
            assert private not in text, (where, private)
        for key in public.PRIVATE_NAMES:
            assert f'"{key}"' not in text and f",{key}," not in text, (where, key)
    for record in (exported, in_digest, feature["properties"], hook):
        assert not set(record) & public.PRIVATE_NAMES


def test_open311_status() -> None:
    assert public.open311_status("published") == public.open311_status("reopened") == "open"
    assert public.open311_status("resolved") == public.open311_status("duplicate") == "closed"
    assert public.open311_status("pending_review") is None
    assert public.open311_status("rejected") is None


async def test_webhooks_share_one_session_closed_with_the_bot(
    harness: Harness, receiver: CountingReceiver, sessions_opened: list[aiohttp.ClientSession]
) -> None:
    http = harness.services.http
    assert not http.opened, "opened on first use, not before"
    for n in range(5):
        message = Outgoing(id=n + 1, kind="agency_webhook", chat_id=None, payload={}, attempts=0)
        await post_signed(
            http, receiver.url, SECRET, b'{"n": %d}' % n, f"k{n}", message, harness.services.clock()
        )
    assert [r.answered for r in receiver.requests] == [200] * 5
    assert len(sessions_opened) == 1 and http.session() is sessions_opened[0]
    assert len(set(receiver.peers)) == 1, "five deliveries over one kept-alive connection"

    # Real deliveries through the outbox use the same session.
    moderator, group = staff(harness)
    await configure_agency(harness, webhook_url=receiver.url, webhook_secret=SECRET)
    for n in range(3):
        reference = await submit(harness, harness.user("en"), where=(10.5731, 7.4412 + n / 100))
        await approve(moderator, group, reference)
    await receiver.wait_for(8, timeout=20)
    assert len(sessions_opened) == 1

    [runner] = harness.runners
    await harness.stop_worker(runner)
    assert sessions_opened[0].closed and not http.opened
    with pytest.raises(RuntimeError):
        http.session()


@pytest.mark.parametrize("grid", [10.0, 100.0, 1000.0])
def test_a_coarse_location_is_its_cells_centre_and_cells_are_never_smaller_than_the_grid(
    grid: float,
) -> None:
    rng = random.Random(20261203)
    for _ in range(5_000):
        point = (rng.uniform(-85, 85), rng.uniform(-180, 180))
        shown = public.coarse(*point, grid)
        # Cells are grid tall and between one and two grids wide: within half such a diagonal.
        assert metres_between(shown, point) <= grid * math.sqrt(5) / 2, (point, shown)
        assert public.coarse(*shown, grid) == shown  # the centre lies in its own cell
    # Walking ten grids east or north in tenths of a grid crosses at most eleven cells: no cell is
    # narrower than the grid, so a published value stands for at least grid x grid metres.
    for lat, lon in ((10.5731, 7.4412), (-33.9, 18.4), (64.1, -21.9)):
        step = grid / 10 / (111_320 * math.cos(math.radians(lat)))
        east = {public.coarse(lat, lon + i * step, grid) for i in range(100)}
        north = {public.coarse(lat + i * grid / 10 / 111_320, lon, grid) for i in range(100)}
        assert 10 <= len(east) <= 11 and 10 <= len(north) <= 11, (lat, lon)


def test_coarse_locations_stay_on_the_globe() -> None:
    for point in ((90.0, 0.0), (-90.0, 180.0), (89.9999, -179.9999), (0.0, 180.0), (0.0, -180.0)):
        lat, lon = public.coarse(*point, 100.0)
        assert -90 <= lat <= 90 and -180 <= lon <= 180, (point, lat, lon)
    # Either side of the antimeridian: two different cells, both real longitudes.
    west, east = public.coarse(0.0, 179.9999, 100.0), public.coarse(0.0, -179.9999, 100.0)
    assert west != east and west[1] > 179.99 and east[1] < -179.99
