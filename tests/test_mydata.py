"""/mydata and `citizens export`: everything stored about a citizen, and nothing about anyone
else, sent to their own chat (a summary in their language, a JSON file, their photos as zips) or
written to files by the admin command line."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import zipfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app.cli import main
from bot.catalog.deeplinks import commitment_payload
from bot.citizens import data_export
from bot.i18n.formatting import format_date
from bot.i18n.translate import use_locale
from bot.reports import moderation
from bot.reports.lifecycle import Actor, ActorKind
from bot.reports.public import timestamp
from emulator import BotMessage, SimulatedUser
from handlers import register_handlers
from storage.models import (
    Citizen,
    Draft,
    MediaFile,
    Report,
    ReportEvent,
    ReportPhoto,
    ReportQuestion,
    ReportSupporter,
)
from tests.support.conversation import expect, jpeg_with_gps, png_image, reference_in, text_of
from tests.support.flows import add_voice, set_language
from tests.support.harness import Harness

HERE = (10.5731, 7.4412)
AMINAS_PLACE = (10.6120, 7.4795)
BELLOS_TEXT = "Bello: the culvert by the Kawo bridge is cracked."
AMINAS_TEXT = "The streetlights on the new road never worked, call me on 0803 555 0199."
REDACTED = "The streetlights on the new road never worked."
QUESTION = "Which end of the road is dark?"
MODERATOR = Actor(ActorKind.MODERATOR, 424_242_424, "Ada Moderator")


async def next_document(user: SimulatedUser, timeout: float = 10.0) -> BotMessage:
    """The next document the bot sends; other messages in between are passed over."""
    while True:
        message = await user.next_message(timeout=timeout)
        if message.kind == "document":
            return message


async def report_with_photos(
    citizen: SimulatedUser, text: str | None, where: tuple[float, float], photos: list[bytes]
) -> str:
    """A consenting citizen's report with a location and photos, sent; returns its reference.
    Without a text, the report is a voice note of 7 seconds."""
    await citizen.send_command("start", commitment_payload("KAD-RD-017"))
    await citizen.press_button("⚠️ A problem", message=await expect(citizen, "What kind"))
    await expect(citizen, "Describe what you see")
    if text is None:
        await citizen.send_voice(b"OggS" + bytes(200), duration=7)
    else:
        await citizen.send_text(text)
    await expect(citizen, "Where is it?")
    await citizen.send_location(*where, horizontal_accuracy=8.0)
    await expect(citizen, "Add photos")
    if len(photos) > 1:
        await citizen.send_album(photos)
    else:
        await citizen.send_photo(photos[0])
    await expect(citizen, "added")
    await citizen.press_button("✅ Done with photos")
    await citizen.press_button("✅ Send report", message=await expect(citizen, "Your report"))
    return reference_in(await expect(citizen, "Reference:"))


async def citizen_with_everything(harness: Harness) -> tuple[SimulatedUser, SimulatedUser, str]:
    """Amina supports Bello's report, sends her own (two photos, a location; approved,
    redacted and questioned by a moderator) and leaves a second report half written with a
    photo. Returns (amina, bello, Bello's reference)."""
    bello = harness.user("en", first_name="Bello", username="bello_kawo")
    await bello.send_command("start", commitment_payload("KAD-RD-017"))
    await bello.press_button("✅ I agree", message=await expect(bello, "privacy"))
    bellos = await report_with_photos(bello, BELLOS_TEXT, HERE, [png_image((9, 9, 9))])
    amina = harness.user("en", first_name="Amina", username="amina_kawo")
    await add_voice(amina, bellos, HERE)
    mine = await report_with_photos(
        amina, AMINAS_TEXT, AMINAS_PLACE, [jpeg_with_gps(), png_image((200, 10, 10))]
    )
    async with harness.db.read() as session:
        report_id = await session.scalar(select(Report.id).where(Report.reference == mine))
    assert report_id is not None
    await moderation.approve(harness.services, report_id, MODERATOR)
    await moderation.redact(harness.services, report_id, REDACTED, MODERATOR)
    await moderation.ask(harness.services, report_id, QUESTION, MODERATOR)
    await expect(amina, QUESTION)
    harness.emulator.reset_rate_limits()  # a long conversation; its pace is not under test
    await leave_a_draft_with_a_photo(amina, jpeg_with_gps((10, 200, 10)))
    return amina, bello, bellos


async def leave_a_draft_with_a_photo(
    citizen: SimulatedUser, photo: bytes, *, first_contact: bool = False
) -> None:
    """A report left half written, at the photos step with one photo."""
    await citizen.send_command("start", commitment_payload("KAD-RD-017"))
    if first_contact:
        await citizen.press_button("✅ I agree", message=await expect(citizen, "privacy"))
    await citizen.press_button("⚠️ A problem", message=await expect(citizen, "What kind"))
    await expect(citizen, "Describe what you see")
    await citizen.send_text("The drain beside the market is blocked again.")
    await expect(citizen, "Where is it?")
    await citizen.press_reply_button("➡️ Continue without location")
    await expect(citizen, "Add photos")
    await citizen.send_photo(photo)
    await expect(citizen, "added")


async def stored_media(harness: Harness) -> dict[str, bytes]:
    async with harness.db.read() as session:
        rows = (await session.execute(select(MediaFile.sha256, MediaFile.content))).all()
    return {sha: content for sha, content in rows}


async def in_order(session: AsyncSession, model: Any, report_id: int, order: Any) -> list[Any]:
    """One report's rows of `model` (events, photos), in `order`."""
    found = await session.scalars(select(model).where(model.report_id == report_id).order_by(order))
    return list(found.all())


async def assert_matches_database(
    harness: Harness, document: dict[str, Any], telegram_user_id: int
) -> None:
    """The JSON holds what the database holds about this citizen, field by field."""
    async with harness.db.read() as session:
        citizen = await session.scalar(
            select(Citizen).where(Citizen.telegram_user_id == telegram_user_id)
        )
        assert citizen is not None
        reports = (
            await session.scalars(
                select(Report).where(Report.citizen_id == citizen.id).order_by(Report.id)
            )
        ).all()
        events = {r.id: await in_order(session, ReportEvent, r.id, ReportEvent.id) for r in reports}
        photos = {
            r.id: await in_order(session, ReportPhoto, r.id, ReportPhoto.position) for r in reports
        }
        supported = (
            await session.execute(
                select(Report.reference, ReportSupporter.created_at)
                .join(Report, Report.id == ReportSupporter.report_id)
                .where(ReportSupporter.citizen_id == citizen.id)
            )
        ).all()
        draft = await session.get(Draft, citizen.id)
        questions = (
            await session.scalars(
                select(ReportQuestion).where(ReportQuestion.citizen_id == citizen.id)
            )
        ).all()
    assert document["telegram_user_id"] == telegram_user_id
    assert document["language"] == citizen.language
    assert document["telegram_language"] == citizen.telegram_language
    assert document["consent_at"] == timestamp(citizen.consent_at)
    assert document["created_at"] == timestamp(citizen.created_at)
    assert [r["reference"] for r in document["reports"]] == [r.reference for r in reports]
    for entry, report in zip(document["reports"], reports, strict=True):
        assert entry["commitment"]["code"] == "KAD-RD-017"
        assert entry["kind"] == report.kind
        assert entry["text"] == report.text
        voice = {"telegram_file_id": report.voice_file_id, "duration_s": report.voice_duration}
        assert entry["voice_note"] == (voice if report.voice_file_id else None)
        assert entry["public_text"] == report.public_text
        assert entry["status"] == report.status
        assert entry["location"] == {
            "latitude": report.latitude,
            "longitude": report.longitude,
            "accuracy_m": report.accuracy_m,
        }
        assert entry["created_at"] == timestamp(report.created_at)
        assert entry["updated_at"] == timestamp(report.updated_at)
        assert [
            (e["action"], e["from_status"], e["to_status"], e["at"]) for e in entry["events"]
        ] == [
            (e.action, e.from_status, e.to_status, timestamp(e.created_at))
            for e in events[report.id]
        ]
        assert [(p["sha256"], p["telegram_file_id"]) for p in entry["photos"]] == [
            (p.content_sha256, p.telegram_file_id) for p in photos[report.id]
        ]
    assert [(s["reference"], s["supported_at"]) for s in document["supported_reports"]] == [
        (reference, timestamp(at)) for reference, at in supported
    ]
    assert draft is not None and document["draft"]["step"] == draft.step
    assert document["draft"]["data"] == draft.data
    assert [(q["question"], q["asked_at"]) for q in document["questions"]] == [
        (q.question, timestamp(q.asked_at)) for q in questions
    ]


@pytest.mark.both_databases
async def test_mydata_sends_a_summary_the_json_and_the_photos(harness: Harness) -> None:
    amina, bello, bellos = await citizen_with_everything(harness)
    await set_language(harness.db, amina.id, "fr")
    await amina.send_command("mydata")

    summary = text_of(await expect(amina, "Commitment Watch"))
    async with harness.db.read() as session:
        citizen = await session.scalar(select(Citizen).where(Citizen.telegram_user_id == amina.id))
    assert citizen is not None and citizen.consent_at is not None
    with use_locale("fr"):  # the consent date as a French reader writes it, e.g. "3 déc. 2026"
        consent_day = format_date(citizen.consent_at, harness.settings.timezone)
    assert consent_day in summary
    assert "Français" in summary
    assert "Vous avez envoyé 1 signalement." in summary
    assert "/forget" in summary

    json_message = await next_document(amina)
    assert json_message.file_names == [f"mydata-{amina.id}.json"]
    raw = json_message.media[0]
    document = json.loads(raw)
    await assert_matches_database(harness, document, amina.id)
    [report] = document["reports"]
    assert report["text"] == AMINAS_TEXT and report["public_text"] == REDACTED
    assert report["location"]["latitude"] == AMINAS_PLACE[0]  # exact: it is hers
    assert report["commitment"]["title"]
    assert [e["action"] for e in report["events"]] == ["created", "status", "redacted", "question"]
    assert {e["by"] for e in report["events"]} == {"citizen", "moderator"}
    assert document["supported_reports"][0]["reference"] == bellos
    assert document["draft"]["step"] == "photos" and len(document["draft"]["photos"]) == 1
    assert document["questions"][0]["question"] == QUESTION
    # Nothing about anyone else: not Bello, not the moderator.
    text = raw.decode()
    for secret in (
        str(bello.id), BELLOS_TEXT, "Bello", "bello_kawo", str(MODERATOR.id), "Ada",
        str(HERE[0]),
    ):  # fmt: skip
        assert secret not in text, secret

    zip_message = await next_document(amina)
    assert zip_message.file_names == [f"mydata-{amina.id}-photos.zip"]
    archive = zipfile.ZipFile(io.BytesIO(zip_message.media[0]))
    listed = [p for p in report["photos"] + document["draft"]["photos"]]
    assert archive.namelist() == [p["file"] for p in listed]
    media = await stored_media(harness)
    for photo in listed:
        assert archive.read(photo["file"]) == media[photo["sha256"]]
    assert len(set(archive.namelist())) == 3
    async with harness.db.read() as session:
        bellos_photo = await session.scalar(
            select(ReportPhoto.content_sha256)
            .join(Report, Report.id == ReportPhoto.report_id)
            .where(Report.reference == bellos)
        )
    assert bellos_photo is not None and bellos_photo not in text
    assert media[bellos_photo] not in [archive.read(name) for name in archive.namelist()]


async def test_a_new_user_hears_that_nothing_is_stored(harness: Harness) -> None:
    menu = {c["command"]: c["description"] for c in harness.emulator.commands()}
    assert menu["mydata"] == "Everything stored about you"
    stranger = harness.user("en")
    await stranger.send_command("mydata")
    await expect(stranger, "Nothing is stored about you")
    await asyncio.sleep(0.5)  # and no file follows, empty or not
    assert [m.kind for m in harness.emulator.sent_messages(stranger.id)] == ["text"]


async def test_a_citizen_stored_without_consent_is_answered_too(harness: Harness) -> None:
    """A row kept for someone who never agreed (as a block or an erasure may leave): /mydata
    answers with what there is."""
    person = harness.user("en")
    async with harness.db.write() as session:
        session.add(Citizen(telegram_user_id=person.id, telegram_language="en", consent_at=None))
    await person.send_command("mydata")
    summary = text_of(await expect(person, "Your data in Commitment Watch"))
    assert "You have not accepted the privacy notice." in summary
    document = json.loads((await next_document(person)).media[0])
    assert document["consent_at"] is None and document["draft"] is None
    assert document["telegram_user_id"] == person.id and document["reports"] == []


async def test_a_citizen_who_only_agreed_gets_their_row_and_no_zip(harness: Harness) -> None:
    amina = harness.user("en")
    await amina.send_command("start")
    await amina.press_button("✅ I agree", message=await expect(amina, "privacy"))
    await amina.send_command("mydata")
    summary = text_of(await expect(amina, "Your data in Commitment Watch"))
    assert "You have sent 0 reports." in summary
    assert "(from your Telegram settings)" in summary and "English" in summary
    assert "zip" not in summary
    document = json.loads((await next_document(amina)).media[0])
    assert document["telegram_user_id"] == amina.id
    assert document["reports"] == [] and document["supported_reports"] == []
    assert document["questions"] == []
    assert document["draft"]["step"] == "commitment" and document["draft"]["photos"] == []
    await asyncio.sleep(0.5)
    kinds = [m.kind for m in harness.emulator.sent_messages(amina.id)]
    assert kinds.count("document") == 1


async def consenting_citizen_with_photos(
    harness: Harness, photos: list[bytes], text: str | None = AMINAS_TEXT
) -> SimulatedUser:
    citizen = harness.user("en")
    await citizen.send_command("start", commitment_payload("KAD-RD-017"))
    await citizen.press_button("✅ I agree", message=await expect(citizen, "privacy"))
    await report_with_photos(citizen, text, AMINAS_PLACE, photos)
    return citizen


async def received_zips(citizen: SimulatedUser, count: int) -> list[BotMessage]:
    await next_document(citizen)  # the JSON
    return [await next_document(citizen) for _ in range(count)]


async def test_photos_above_the_document_limit_come_in_several_zips(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    colours = [(250, 0, 0), (0, 250, 0), (0, 0, 250)]
    citizen = await consenting_citizen_with_photos(harness, [png_image(c) for c in colours])
    media = await stored_media(harness)
    # A limit that holds one of these photos but not two: as 50 MB holds a few big ones.
    limit = 1024 + 128 + 2 * 40 + max(len(content) for content in media.values())
    monkeypatch.setattr(data_export, "ZIP_PART_LIMIT", limit)
    await citizen.send_command("mydata")
    summary = text_of(await expect(citizen, "Your data in Commitment Watch"))
    assert "Your photos follow in 3 zip files." in summary
    zips = await received_zips(citizen, 3)
    names: list[str] = []
    for number, message in enumerate(zips, 1):
        assert message.file_names == [f"mydata-{citizen.id}-photos-{number}-of-3.zip"]
        assert text_of(message) == f"Your photos, part {number} of 3."
        assert len(message.media[0]) <= limit
        archive = zipfile.ZipFile(io.BytesIO(message.media[0]))
        for name in archive.namelist():
            assert archive.read(name) in media.values()
        names += archive.namelist()
    reference = names[0].split("/")[1].rsplit("-", 1)[0]
    assert names == [f"photos/{reference}-{n}.png" for n in (1, 2, 3)]


async def test_photos_over_50_mb_are_sent_in_zips_telegram_accepts(harness: Harness) -> None:
    """With the real limit: 60 MB of photos in two zips, each under the 50 MB Telegram (and the
    emulator) accepts from a bot."""
    citizen = await consenting_citizen_with_photos(harness, [png_image()])
    big = [bytes([n]) * 1024 + os.urandom(20 * 1024 * 1024) for n in range(3)]
    async with harness.db.write() as session:
        report = await session.scalar(select(Report).order_by(Report.id.desc()))
        assert report is not None
        for position, content in enumerate(big, 1):
            sha = hashlib.sha256(content).hexdigest()
            session.add(
                MediaFile(sha256=sha, mime_type="image/jpeg", size=len(content), width=4000,
                          height=3000, content=content)
            )  # fmt: skip
            session.add(
                ReportPhoto(report_id=report.id, position=position, telegram_file_id=f"big{position}",
                            telegram_file_unique_id=f"big{position}", size=len(content),
                            content_sha256=sha)
            )  # fmt: skip
    del big
    await citizen.send_command("mydata")
    await expect(citizen, "Your photos follow in 2 zip files.")
    zips = await received_zips(citizen, 2)
    sizes = [len(message.media[0]) for message in zips]
    assert all(size < 50 * 1024 * 1024 for size in sizes), sizes
    counts = [len(zipfile.ZipFile(io.BytesIO(m.media[0])).namelist()) for m in zips]
    assert sum(counts) == 4


CliRun = Callable[..., Awaitable[tuple[int, str, str]]]


@pytest.fixture
def cli(
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> CliRun:
    """The real command line on the bot's database, in a thread (it runs its own event loop),
    from an empty folder; returns (exit status, standard output, standard error)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", database_url)

    async def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = await asyncio.to_thread(main, list(argv), register_handlers)
        printed = capsys.readouterr()
        return code, printed.out, printed.err

    return run


@pytest.mark.both_databases
async def test_cli_export_writes_the_same_json_and_zip(
    harness: Harness, cli: CliRun, tmp_path: Path
) -> None:
    # A voice note this time, instead of a text.
    citizen = await consenting_citizen_with_photos(harness, [jpeg_with_gps(), png_image()], None)
    await citizen.send_command("mydata")
    sent = json.loads((await next_document(citizen)).media[0])
    sent_zip = zipfile.ZipFile(io.BytesIO((await next_document(citizen)).media[0]))
    out = tmp_path / "request-17"
    code, printed, errors = await cli("citizens", "export", str(citizen.id), "--output", str(out))
    assert code == 0, errors
    json_file, zip_file = out / f"mydata-{citizen.id}.json", out / f"mydata-{citizen.id}-photos.zip"
    assert printed.strip() == (
        f"exported citizen {citizen.id} (1 report, 2 photos) to: {json_file}, {zip_file}"
    )
    written = json.loads(json_file.read_text(encoding="utf-8"))
    assert written["reports"][0]["text"] is None
    assert written["reports"][0]["voice_note"]["duration_s"] == 7
    assert written.pop("exported_at") and sent.pop("exported_at")
    assert written == sent
    await assert_matches_database(harness, written, citizen.id)
    archive = zipfile.ZipFile(zip_file)
    assert archive.namelist() == sent_zip.namelist()
    for name in archive.namelist():
        assert archive.read(name) == sent_zip.read(name)
    assert sorted(p.name for p in out.iterdir()) == sorted([json_file.name, zip_file.name])


async def test_cli_export_of_an_unknown_or_malformed_id_says_so(
    harness: Harness, cli: CliRun, tmp_path: Path
) -> None:
    code, printed, errors = await cli("citizens", "export", "777", "--output", "out")
    assert code == 1
    assert errors == "error: no citizen with Telegram user id 777 is stored\n"
    assert printed == ""
    assert not (tmp_path / "out").exists()
    code, printed, errors = await cli("citizens", "export", "amina")
    assert code == 2
    assert errors.startswith("error: USER_ID: expected a whole number of at least 1")
    citizen = harness.user("en")
    await citizen.send_command("start")
    await citizen.press_button("✅ I agree", message=await expect(citizen, "privacy"))
    await citizen.next_message()  # the first step of a report: she is stored now
    (tmp_path / "taken").write_text("not a folder")
    code, printed, errors = await cli("citizens", "export", str(citizen.id), "--output", "taken")
    assert (code, printed) == (1, "")
    assert errors == "error: File exists: taken\n"
    assert (tmp_path / "taken").read_text() == "not a folder"


async def test_photos_no_longer_stored_are_listed_without_a_file(harness: Harness) -> None:
    amina = harness.user("en")
    await leave_a_draft_with_a_photo(amina, png_image((1, 2, 3)), first_contact=True)
    async with harness.db.write() as session:  # its bytes deleted meanwhile (a retention job)
        await session.execute(delete(MediaFile))
    await amina.send_command("mydata")
    summary = text_of(await expect(amina, "Your data in Commitment Watch"))
    assert "photos are stored" not in summary and "zip" not in summary
    document = json.loads((await next_document(amina)).media[0])
    [photo] = document["draft"]["photos"]
    assert (
        photo["file"] is None
        and photo["sha256"] == document["draft"]["data"]["photos"][0]["sha256"]
    )
    await asyncio.sleep(0.5)
    assert [m.kind for m in harness.emulator.sent_messages(amina.id)].count("document") == 1


async def test_a_photo_deleted_while_the_zip_is_written_is_left_out(harness: Harness) -> None:
    citizen = await consenting_citizen_with_photos(harness, [png_image((1, 1, 1)), png_image()])
    data = await data_export.collect(
        harness.db, citizen.id, default_locale="en", now=harness.services.clock()
    )
    assert data is not None and len(data.photos) == 2
    gone, kept = data.photos
    async with harness.db.write() as session:
        await session.execute(delete(ReportPhoto).where(ReportPhoto.content_sha256 == gone.sha256))
        await session.execute(delete(MediaFile).where(MediaFile.sha256 == gone.sha256))
    out = io.BytesIO()
    assert await data_export.write_zip(harness.db, data.photos, out) == 1
    assert zipfile.ZipFile(out).namelist() == [kept.name]
