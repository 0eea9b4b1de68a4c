"""A report's cleaned photos are public once it is approved, unless a moderator hides them.

Moderators hide and show them from the card (an event each, the card redrawn), nobody else can;
the web server serves them at /media/<reference>/<n>.jpg while the report is public and its
photos are not hidden, and a 404 like any unknown address otherwise; media_url in Open311 and the
open-data files points at the first one. Played through the Bot API emulator, over real HTTP.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import logging
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from alembic import command
from sqlalchemy import Connection, select, text

from bot.admin.export import export_reports
from bot.core.settings import ConfigError, load_settings
from bot.reports import public
from bot.reports.lifecycle import PUBLIC
from emulator import BotMessage, SimulatedUser
from storage.db import Database
from storage.migrate import alembic_config, head_revision, upgrade_to_head
from storage.models import MediaFile, Report, ReportPhoto
from storage.queries.exports import ReportFilter
from tests.public.test_open311 import schema_validator
from tests.support.conversation import expect, text_of
from tests.support.harness import Harness
from tests.support.public_side import Civic
from tests.test_forget import WITHDRAW, choose
from tests.test_moderation import (
    STAFF_CHAT,
    Staff,
    card_for,
    current_card,
    events_of,
    report_row,
    send_report,
)
from tests.test_photo_metadata import assert_pixels_only, samples

pytestmark = pytest.mark.both_databases

HIDE, SHOW = "🙈 Hide photos", "🖼 Show photos"
HIDDEN_LINE = "🙈 Photos hidden from the public"
PLACES = [(10.5731, 7.4412), (10.5790, 7.4480), (10.5850, 7.4550), (10.5910, 7.4620)]


@pytest.fixture
def harness_overrides() -> dict[str, Any]:
    return {"moderator_chat_id": STAFF_CHAT, "web_port": 0}  # 0: any free port


@pytest.fixture
def staff(harness: Harness) -> Staff:
    ada = harness.user("en", first_name="Ada")
    bala = harness.user("en", first_name="Bala")
    outsider = harness.user("en", first_name="Mallory")
    group = harness.emulator.add_group(
        STAFF_CHAT, "Commitment Watch staff", members=[bala], admins=[ada]
    )
    return Staff(group, ada, bala, outsider)


@pytest.fixture
async def civic(harness: Harness) -> AsyncIterator[Civic]:
    async with aiohttp.ClientSession() as http:
        yield Civic(harness, http)


def lines_of(card: BotMessage) -> list[str]:
    return text_of(card).splitlines()


async def answer_to(user: SimulatedUser, data: str, message: BotMessage | None = None) -> str:
    query_id = await user.send_callback(data, message=message)
    return (await user.wait_for_callback_answer(query_id, timeout=10)).text or ""


async def press(user: SimulatedUser, label: str, card: BotMessage) -> str:
    query_id = await user.press_button(label, message=card)
    return (await user.wait_for_callback_answer(query_id, timeout=10)).text or ""


async def stored_photos(harness: Harness, reference: str) -> list[MediaFile]:
    async with harness.db.read() as session:
        rows = await session.scalars(
            select(MediaFile)
            .join(ReportPhoto, ReportPhoto.content_sha256 == MediaFile.sha256)
            .join(Report, Report.id == ReportPhoto.report_id)
            .where(Report.reference == reference)
            .order_by(ReportPhoto.position)
        )
        return list(rows.all())


async def assert_not_found(civic: Civic, *paths: str) -> None:
    """Each path answers exactly as an address the server never had does: no oracle."""
    unknown = await civic.get("/media/nothing-here")
    assert unknown.status == 404
    for path in paths:
        for method in ("GET", "HEAD"):
            answer = await civic.get(path, method)
            assert answer.status == 404, (path, method)
            assert answer.headers.get("Content-Type") == unknown.headers.get("Content-Type")
            assert "ETag" not in answer.headers and "Cache-Control" not in answer.headers
            assert answer.body == (unknown.body if method == "GET" else b""), path


async def page_images(civic: Civic, reference: str) -> list[tuple[str, str]]:
    """The images on the report's public page, as (src, alt)."""
    answer = await civic.get(f"/reports/{reference}")
    assert answer.status == 200
    images: list[tuple[str, str]] = []

    class Images(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "img":
                found = dict(attrs)
                images.append((found.get("src") or "", found.get("alt") or ""))

    Images().feed(answer.body.decode())
    return images


async def open311_media_url(civic: Civic, reference: str) -> str | None:
    answer = await civic.get(f"/open311/v2/requests/{reference}.json")
    assert answer.status == 200, answer.body
    schema_validator("requests.json").validate(answer.json())
    [request] = answer.json()
    return request["media_url"]


async def download_media_urls(civic: Civic) -> dict[str, dict[str, Any]]:
    """reference -> media_url in the CSV and in the GeoJSON download."""
    found: dict[str, dict[str, Any]] = {}
    rows = csv.DictReader(io.StringIO((await civic.get("/data/reports.csv")).body.decode()))
    for row in rows:
        found.setdefault(row["reference"], {})["csv"] = row["media_url"]
    collection = json.loads((await civic.get("/data/reports.geojson")).body)
    for feature in collection["features"]:
        found.setdefault(feature["id"], {})["geojson"] = feature["properties"]["media_url"]
    return found


async def test_hide_and_show_from_the_card_and_what_the_web_serves(
    harness: Harness, staff: Staff, civic: Civic
) -> None:
    citizen = harness.user("en", first_name="Zainab", username="zainab_k")
    secrets = ["Zainab", "zainab_k", str(citizen.id)]
    made = samples(f"Zainab Kabir @zainab_k id {citizen.id}")
    # Two photos full of metadata (EXIF with GPS, XMP, ICC, a comment, IPTC; PNG text): an album
    # and a text card.
    reference = await send_report(
        citizen,
        photos=[made["jpeg-everything"].data, made["png-everything"].data],
        location=PLACES[0],
    )
    without = await send_report(harness.user("en"), "No photos here.", location=PLACES[1])
    card = await card_for(staff, reference)
    assert HIDE in card.buttons and HIDDEN_LINE not in lines_of(card)
    without_card = await card_for(staff, without)
    assert HIDE not in without_card.buttons  # nothing to hide
    await press(staff.bala, "✅ Approve", without_card)
    first, second = f"/media/{reference}/1.jpg", f"/media/{reference}/2.jpg"
    await assert_not_found(civic, first, second)  # waiting for review: not public

    # Hidden before approval: an event, the card says so and offers to undo it.
    assert await press(staff.ada, HIDE, card) == (
        f"🙈 The photos of {reference} are hidden from the public."
    )
    hidden = await current_card(harness, staff, reference, "Photos hidden by Ada")
    assert HIDDEN_LINE in lines_of(hidden)
    assert SHOW in hidden.buttons and HIDE not in hidden.buttons
    assert "✅ Approve" in hidden.buttons
    report = await report_row(harness, reference)
    assert report.photos_hidden and report.status == "pending_review"
    event = (await events_of(harness, report.id))[-1]
    assert (event.action, event.actor_kind, event.actor_id, event.actor_name) == (
        "photos_hidden",
        "moderator",
        staff.ada.id,
        "Ada",
    )
    assert event.from_status == event.to_status == "pending_review"

    # Approved, still hidden: nothing served, no media_url anywhere.
    assert await press(staff.ada, "✅ Approve", hidden) == f"✅ {reference} approved."
    approved = await current_card(harness, staff, reference, "Approved by Ada")
    assert HIDDEN_LINE in lines_of(approved) and SHOW in approved.buttons
    await assert_not_found(civic, first, second)
    assert await open311_media_url(civic, reference) is None
    assert (await download_media_urls(civic))[reference] == {"csv": "", "geojson": None}

    # Shown again: served, and linked.
    assert await press(staff.bala, SHOW, approved) == (
        f"🖼 The photos of {reference} are public again."
    )
    shown = await current_card(harness, staff, reference, "Photos shown again by Bala")
    assert HIDDEN_LINE not in lines_of(shown)
    assert HIDE in shown.buttons and SHOW not in shown.buttons
    assert not (await report_row(harness, reference)).photos_hidden
    assert [e.action for e in await events_of(harness, report.id)] == [
        "created",
        "photos_hidden",
        "status",
        "photos_shown",
    ]

    stored = await stored_photos(harness, reference)
    assert [m.mime_type for m in stored] == ["image/jpeg", "image/png"]
    for path, media, sample in zip(
        (first, second), stored, (made["jpeg-everything"], made["png-everything"]), strict=True
    ):
        answer = await civic.get(path)
        assert answer.status == 200, path
        assert answer.body == media.content
        assert hashlib.sha256(answer.body).hexdigest() == media.sha256
        assert answer.headers["Content-Type"] == media.mime_type
        assert answer.headers["ETag"] == f'"{media.sha256}"'
        assert answer.headers["Cache-Control"] == "public, max-age=300"
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert_pixels_only(answer.body, secrets, sample.fmt)  # no EXIF, GPS, XMP, ICC, comment
        head = await civic.get(path, "HEAD")
        assert (head.status, head.body) == (200, b"")
        assert head.headers["Content-Length"] == str(len(media.content))
        assert head.headers["ETag"] == answer.headers["ETag"]
        # A client with this copy is told it is still good, without the bytes.
        async with civic.http.get(
            civic.base + path, headers={"If-None-Match": answer.headers["ETag"]}
        ) as cached:
            assert (cached.status, await cached.read()) == (304, b"")
            assert cached.headers["ETag"] == answer.headers["ETag"]
        async with civic.http.get(civic.base + path, headers={"If-None-Match": '"other"'}) as r:
            assert r.status == 200
    # As people type references; and positions the report does not have.
    typed = reference.lower().replace("-", "")
    assert (await civic.get(f"/media/{typed}/1.jpg")).body == stored[0].content
    await assert_not_found(
        civic,
        f"/media/{reference}/3.jpg",
        f"/media/{reference}/0.jpg",
        f"/media/{reference}/01.jpg",
        f"/media/{reference}/1.png",
        f"/media/{without}/1.jpg",
        "/media/CW-ZZZZZZ/1.jpg",
        "/media/not-a-reference/1.jpg",
    )

    # media_url: this server's address (no PUBLIC_BASE_URL), the first photo; none without one.
    url = f"{civic.base}{first}"
    assert await open311_media_url(civic, reference) == url
    async with civic.http.get(url) as linked:
        assert linked.status == 200 and await linked.read() == stored[0].content
    requests = (await civic.get("/open311/v2/requests.json")).json()
    schema_validator("requests.json").validate(requests)
    assert {r["service_request_id"]: r["media_url"] for r in requests} == {
        reference: url,
        without: None,
    }
    files = await download_media_urls(civic)
    assert files[reference] == {"csv": url, "geojson": url}
    assert files[without] == {"csv": "", "geojson": None}
    csv_answer = await civic.get("/data/reports.csv")
    assert csv_answer.body.decode().splitlines()[0].endswith(",updated_at,media_url")

    # The report's public page shows both photos, in order, each with its alternative text.
    assert await page_images(civic, reference) == [
        (first, f"Photo 1 of 2 sent with report {reference}"),
        (second, f"Photo 2 of 2 sent with report {reference}"),
    ]
    assert await page_images(civic, without) == []

    # Hidden again once public: gone at once, and the downloads' ETag moves on.
    etag = csv_answer.headers["ETag"]
    await press(staff.ada, HIDE, shown)
    await current_card(harness, staff, reference, HIDDEN_LINE)
    await assert_not_found(civic, first, second)
    assert await open311_media_url(civic, reference) is None
    async with civic.http.get(
        civic.base + "/data/reports.csv", headers={"If-None-Match": etag}
    ) as download:
        assert download.status == 200, "hiding changed the file"
    assert await page_images(civic, reference) == []


async def test_only_moderators_and_forged_or_stale_presses_change_nothing(
    harness: Harness, staff: Staff, civic: Civic, caplog: pytest.LogCaptureFixture
) -> None:
    citizen = harness.user("en")
    # One photo: the card is that photo, with the card as its caption.
    photo = samples("x")["jpeg-exif-gps"].data
    reference = await send_report(citizen, photos=[photo], location=PLACES[0])
    card = await card_for(staff, reference)
    assert card.kind == "photo" and card.caption and HIDE in card.buttons
    report = await report_row(harness, reference)
    no_photos = await send_report(harness.user("en"), "Nothing to see.", location=PLACES[1])
    bare = await report_row(harness, no_photos)
    hide = card.callback_data(HIDE)
    assert hide == f"m:{report.id}:ph"

    # Not moderators: on the card, or forged in a private chat.
    refused = "Only moderators can do this."
    assert await press(staff.outsider, HIDE, card) == refused
    assert await answer_to(staff.outsider, f"m:{report.id}:ph") == refused
    assert await answer_to(citizen, f"m:{report.id}:ph") == refused
    assert await answer_to(citizen, f"m:{report.id}:ps") == refused
    # A moderator with forged data: no such report, one without photos, nothing to undo.
    assert await answer_to(staff.ada, f"m:{report.id + 1000}:ph", card) == (
        "This report no longer exists."
    )
    assert await answer_to(staff.ada, f"m:{bare.id}:ph", card) == "This report has no photos."
    assert await answer_to(staff.ada, f"m:{report.id}:ps", card) == (
        f"The photos of {reference} are not hidden."
    )
    assert [e.action for e in await events_of(harness, report.id)] == ["created"]
    assert [e.action for e in await events_of(harness, bare.id)] == ["created"]
    assert not (await report_row(harness, reference)).photos_hidden

    # Two moderators at once: one hides, the other is told it is done.
    answers = await asyncio.gather(
        answer_to(staff.ada, hide, card), answer_to(staff.bala, hide, card)
    )
    assert sorted(answers) == sorted(
        [
            f"🙈 The photos of {reference} are hidden from the public.",
            f"The photos of {reference} are already hidden.",
        ]
    )
    assert [e.action for e in await events_of(harness, report.id)] == ["created", "photos_hidden"]
    redrawn = await current_card(harness, staff, reference, HIDDEN_LINE)
    assert redrawn.kind == "photo" and SHOW in redrawn.buttons  # the caption was redrawn
    # A client that still shows the old Hide button presses it.
    assert await answer_to(staff.bala, hide, card) == (
        f"The photos of {reference} are already hidden."
    )

    # Rejected: never public, so nothing to hide or show; the card offers neither.
    assert await press(staff.ada, "🚫 Reject", redrawn) == ""
    reasons = await current_card(harness, staff, reference, reference)
    await press(staff.ada, "spam", reasons)
    rejected = await current_card(harness, staff, reference, "Rejected by Ada")
    assert SHOW not in rejected.buttons and HIDE not in rejected.buttons
    assert await answer_to(staff.ada, f"m:{report.id}:ps", rejected) == (
        f"{reference} was already handled by Ada: not published."
    )
    after = await report_row(harness, reference)
    assert after.photos_hidden and after.status == "rejected"
    assert [e.action for e in await events_of(harness, report.id)] == [
        "created",
        "photos_hidden",
        "status",
    ]
    await assert_not_found(civic, f"/media/{reference}/1.jpg")
    assert "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_photos_of_withdrawn_rejected_and_merged_reports(
    harness: Harness, staff: Staff, civic: Civic
) -> None:
    photo = samples("x")
    author = harness.user("en", first_name="Ngozi")
    published = await send_report(author, photos=[photo["jpeg-xmp"].data], location=PLACES[0])
    await press(staff.ada, "✅ Approve", await card_for(staff, published))
    await expect(author, "was approved and published", timeout=15)
    path = f"/media/{published}/1.jpg"
    assert (await civic.get(path)).status == 200

    # Merged into another report: public (closed), so its photos are too, and can be hidden.
    other = harness.user("en")
    merged = await send_report(other, photos=[photo["jpeg-comment"].data], location=PLACES[2])
    card = await card_for(staff, merged)
    target = await send_report(harness.user("en"), "The same culvert.", location=PLACES[3])
    await press(staff.ada, "✅ Approve", await card_for(staff, target))
    await press(staff.ada, "🔁 Merge", card)
    menu = await current_card(harness, staff, merged, merged)
    await press(staff.ada, "🔁 Another report: reply with its reference", menu)
    prompt = await expect(staff.group, "reply to this message with the reference")
    await staff.ada.send_text(target, chat=staff.group, reply_to=prompt)
    done = await current_card(harness, staff, merged, "Merged into")
    assert (await report_row(harness, merged)).status == "duplicate"
    assert (await civic.get(f"/media/{merged}/1.jpg")).status == 200
    assert HIDE in done.buttons
    await press(staff.ada, HIDE, done)
    await current_card(harness, staff, merged, HIDDEN_LINE)
    await assert_not_found(civic, f"/media/{merged}/1.jpg")

    # Withdrawn by its author as they erase their data: never public again.
    confirm, _yes = await choose(author, WITHDRAW)
    await author.press_button("Yes, erase me", message=confirm)
    await expect(author, "Done: everything stored about you is erased.")
    assert (await report_row(harness, published)).status == "withdrawn"
    await assert_not_found(civic, path)
    card = await current_card(harness, staff, published, "withdrawn by the citizen")
    assert HIDE not in card.buttons and SHOW not in card.buttons


async def test_media_url_with_public_base_url_and_without_a_request(
    harness: Harness, staff: Staff
) -> None:
    reference = await send_report(
        harness.user("en"), photos=[samples("x")["png-text"].data], location=PLACES[0]
    )
    await press(staff.ada, "✅ Approve", await card_for(staff, reference))
    base = "https://watch.example.org"
    where = ReportFilter(statuses=frozenset(PUBLIC))
    grid = harness.services.settings.public_location_grid_m

    async def exported(fmt: str, base_url: str | None) -> str:
        out = io.StringIO()
        await export_reports(harness.db, where, fmt, out, grid, base_url)
        return out.getvalue()

    # The command line without PUBLIC_BASE_URL: no request to take an address from, no link.
    [row] = list(csv.DictReader(io.StringIO(await exported("csv", None))))
    assert row["media_url"] == ""
    [row] = list(csv.DictReader(io.StringIO(await exported("csv", base + "/"))))
    assert row["media_url"] == f"{base}/media/{reference}/1.jpg"
    [feature] = json.loads(await exported("geojson", base))["features"]
    assert feature["properties"]["media_url"] == f"{base}/media/{reference}/1.jpg"

    # A worker with PUBLIC_BASE_URL links there, whatever address the request came to.
    runner = await harness.start_worker(public_base_url=base, web_port=0)
    assert runner.web is not None and runner.web.port
    local = f"http://127.0.0.1:{runner.web.port}"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{local}/open311/v2/requests/{reference}.json") as answer:
            [request] = await answer.json()
        async with http.get(f"{local}/data/reports.csv") as answer:
            [row] = list(csv.DictReader(io.StringIO(await answer.text())))
        async with http.get(f"{local}/media/{reference}/1.jpg") as answer:
            assert answer.status == 200 and answer.content_type == "image/png"
    assert request["media_url"] == row["media_url"] == f"{base}/media/{reference}/1.jpg"
    assert public.public_photo_paths(reference, 2) == [
        f"/media/{reference}/1.jpg",
        f"/media/{reference}/2.jpg",
    ]


def test_public_base_url_setting() -> None:
    def loaded(value: str) -> str | None:
        return load_settings(
            {"PUBLIC_BASE_URL": value}, env_file=Path("/nonexistent")
        ).public_base_url

    assert loaded("https://watch.example.org/") == "https://watch.example.org"
    assert loaded("http://10.0.0.5:8080/watch/") == "http://10.0.0.5:8080/watch"
    assert loaded("") is None
    for bad in ("watch.example.org", "ftp://watch.example.org", "https://", "https://a.org/?x=1"):
        with pytest.raises(ConfigError, match=r"^PUBLIC_BASE_URL is invalid: "):
            loaded(bad)
    with pytest.raises(ConfigError) as caught:
        loaded("https://admin:hunter2@watch.example.org")
    assert "hunter2" not in str(caught.value)


async def test_upgrading_from_0007_keeps_every_report_and_its_history(
    database_url: str,
) -> None:
    """0008 adds the column in place: rebuilding `reports` on SQLite would delete its events and
    photos through their cascading foreign keys."""
    db = Database(database_url)

    def to(revision: str) -> Any:
        def run(connection: Connection) -> None:
            command.upgrade(alembic_config(connection), revision)

        return run

    try:
        async with db.write_engine.begin() as connection:
            await connection.run_sync(to("0007"))
        async with db.write_engine.begin() as connection:
            for statement in (
                "INSERT INTO commitments (id, code, titles, short_titles, descriptions,"
                " search_text, created_at, updated_at) VALUES (1, 'A-1', '{}', '{}', '{}', '',"
                " '2024-05-01 10:00:00', '2024-05-01 10:00:00')",
                "INSERT INTO citizens (id, telegram_user_id, created_at)"
                " VALUES (1, 42, '2024-05-01 10:00:00')",
                "INSERT INTO reports (id, reference, commitment_id, citizen_id, kind, language,"
                " status, created_at, updated_at) VALUES (1, 'CW-AAAAAA', 1, 1, 'problem', 'en',"
                " 'published', '2024-05-01 10:00:00', '2024-05-01 10:00:00')",
                "INSERT INTO report_events (report_id, actor_kind, action, to_status, created_at)"
                " VALUES (1, 'citizen', 'created', 'pending_review', '2024-05-01 10:00:00')",
            ):
                await connection.execute(text(statement))
        await upgrade_to_head(db)
        async with db.engine.connect() as connection:
            events = await connection.scalar(text("SELECT count(*) FROM report_events"))
            hidden = await connection.scalar(text("SELECT photos_hidden FROM reports"))
        assert events == 1
        assert hidden in (False, 0)
        async with db.write_engine.begin() as connection:
            await connection.run_sync(lambda c: command.downgrade(alembic_config(c), "0007"))
        async with db.engine.connect() as connection:
            assert await connection.scalar(text("SELECT count(*) FROM report_events")) == 1
        await upgrade_to_head(db)
        async with db.engine.connect() as connection:
            revision = await connection.scalar(text("SELECT version_num FROM alembic_version"))
        assert revision == head_revision()
    finally:
        await db.dispose()
