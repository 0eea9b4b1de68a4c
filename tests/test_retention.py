"""Retention: abandoned drafts and their photos go after DRAFT_RETENTION_DAYS; a rejected report's
text, photos and voice note after REJECTED_RETENTION_DAYS, the report itself and its history
staying; a photo also in another report stays; `purge [--dry-run]`; the settings."""

from __future__ import annotations

import asyncio
import csv
import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.citizens import retention
from bot.core.services import Services
from bot.core.settings import ConfigError, load_settings, settings_help
from emulator import BotMessage, SimulatedGroup, SimulatedUser
from handlers import register_handlers
from storage.db import Database
from storage.models import (
    Citizen,
    Commitment,
    Draft,
    MediaFile,
    Report,
    ReportEvent,
    ReportPhoto,
    ReportQuestion,
)
from storage.queries import media
from tests.admin.admin_support import CliResult, run_cli
from tests.support.clock import Clock
from tests.support.conversation import expect, png_image, text_of
from tests.support.flows import open_report, photos_then_send
from tests.support.harness import Harness

STAFF_CHAT = -1001000000913
SECRET_TEXT = "The culvert by Musa Bello's house at 12 Ahmadu Bello Way has collapsed."


@pytest.fixture
def harness_overrides() -> dict[str, Any]:
    return {"moderator_chat_id": STAFF_CHAT}


# --- the citizen and the moderator, through the emulator ----------------------------------------


async def reach_photos(citizen: SimulatedUser, text: str = SECRET_TEXT) -> None:
    await open_report(citizen)
    await citizen.send_text(text)
    await expect(citizen, "Where is it?")
    await citizen.press_reply_button("➡️ Continue without location")
    await expect(citizen, "Add photos")


async def abandon_draft_with_photo(citizen: SimulatedUser, photo: bytes) -> None:
    """A citizen starts a report, adds a photo, and never comes back."""
    await reach_photos(citizen)
    await citizen.send_photo(photo)
    await expect(citizen, "1 photo added")


async def send_report(
    citizen: SimulatedUser, photo: bytes | None = None, *, voice: bool = False
) -> str:
    await open_report(citizen)
    if voice:
        await citizen.send_voice(b"OggS" + bytes(200), duration=7)
    else:
        await citizen.send_text(SECRET_TEXT)
    await expect(citizen, "Where is it?")
    await citizen.press_reply_button("➡️ Continue without location")
    await expect(citizen, "Add photos")
    return await photos_then_send(citizen, [photo] if photo is not None else [])


def staff_group(harness: Harness) -> tuple[SimulatedGroup, SimulatedUser]:
    moderator = harness.user("en", first_name="Bala")
    group = harness.emulator.add_group(STAFF_CHAT, "staff", admins=[moderator])
    return group, moderator


async def ask(
    citizen: SimulatedUser, group: SimulatedGroup, moderator: SimulatedUser, reference: str
) -> BotMessage:
    """The moderator asks, the citizen answers (with personal details)."""
    card = await expect(group, reference, "waiting for review", timeout=15)
    await moderator.press_button("❓ Ask the citizen", message=card)
    prompt = await expect(group, "your question for the author")
    await moderator.send_text("Which house is it?", chat=group, reply_to=prompt)
    question = await expect(citizen, "A moderator has a question about your report")
    await citizen.send_text("Number 12, where Musa Bello lives.", reply_to=question)
    await expect(citizen, "your answer was added to report")
    return await expect(group, reference, "Musa Bello lives", timeout=15)


async def reject(
    citizen: SimulatedUser,
    group: SimulatedGroup,
    moderator: SimulatedUser,
    reference: str,
    *,
    card: BotMessage | None = None,
) -> None:
    if card is None:
        card = await expect(group, reference, "waiting for review", timeout=15)
    await moderator.press_button("🚫 Reject", message=card)
    reasons = await expect(group, reference, "Commitment", timeout=15)
    await moderator.press_button("off-topic", message=reasons)
    await expect(citizen, "was not published")
    await expect(group, reference, "Rejected by Bala", timeout=15)


async def approve(
    citizen: SimulatedUser, group: SimulatedGroup, moderator: SimulatedUser, reference: str
) -> None:
    card = await expect(group, reference, "waiting for review", timeout=15)
    await moderator.press_button("✅ Approve", message=card)
    await expect(citizen, "was approved and published")


# --- what the database holds --------------------------------------------------------------------


async def citizen_id(db: Database, user: SimulatedUser) -> int:
    async with db.read() as session:
        found = await session.scalar(select(Citizen.id).where(Citizen.telegram_user_id == user.id))
    assert found is not None
    return found


async def draft_of(db: Database, user: SimulatedUser) -> Draft | None:
    cid = await citizen_id(db, user)
    async with db.read() as session:
        return await session.get(Draft, cid)


async def draft_hashes(db: Database, user: SimulatedUser) -> list[str]:
    draft = await draft_of(db, user)
    assert draft is not None
    return [p["sha256"] for p in draft.data["photos"]]


async def media_exists(db: Database, sha: str) -> bool:
    async with db.read() as session:
        return await session.get(MediaFile, sha) is not None


async def report_of(db: Database, reference: str) -> Report:
    async with db.read() as session:
        found = await session.scalar(select(Report).where(Report.reference == reference))
    assert found is not None
    return found


async def photo_hashes(db: Database, reference: str) -> list[str]:
    report = await report_of(db, reference)
    async with db.read() as session:
        rows = await session.scalars(
            select(ReportPhoto.content_sha256).where(ReportPhoto.report_id == report.id)
        )
        return list(rows)


async def events_of(db: Database, reference: str) -> list[ReportEvent]:
    report = await report_of(db, reference)
    async with db.read() as session:
        rows = await session.scalars(
            select(ReportEvent).where(ReportEvent.report_id == report.id).order_by(ReportEvent.id)
        )
        return list(rows)


async def counts(db: Database) -> dict[str, Any]:
    """Everything retention could change, to show that a dry run changed none of it."""
    async with db.read() as session:
        return {
            "drafts": await session.scalar(select(func.count()).select_from(Draft)),
            "media": await session.scalar(select(func.count()).select_from(MediaFile)),
            "photos": await session.scalar(select(func.count()).select_from(ReportPhoto)),
            "events": await session.scalar(select(func.count()).select_from(ReportEvent)),
            "texts": sorted(
                (r.reference, r.text, r.voice_file_id)
                for r in (await session.scalars(select(Report))).all()
            ),
        }


def use_clock(harness: Harness) -> Clock:
    clock = Clock()
    harness.services.clock = clock
    return clock


# --- drafts -------------------------------------------------------------------------------------


@pytest.mark.both_databases
async def test_an_abandoned_draft_and_its_photo_go_a_fresh_one_stays(harness: Harness) -> None:
    clock = use_clock(harness)
    db = harness.db
    gone, fresh, quitter = harness.user("en"), harness.user("en"), harness.user("en")
    await abandon_draft_with_photo(gone, png_image((200, 10, 10)))
    [gone_photo] = await draft_hashes(db, gone)
    # Another citizen cancels a draft with a photo: the draft goes at once, the photo stays
    # stored (nothing uses it) until the retention job.
    await abandon_draft_with_photo(quitter, png_image((10, 200, 10)))
    [quit_photo] = await draft_hashes(db, quitter)
    await quitter.send_command("cancel")
    await quitter.press_button("Yes, discard", message=await expect(quitter, "Discard this"))
    await expect(quitter, "cancelled")
    assert await draft_of(db, quitter) is None and await media_exists(db, quit_photo)

    clock.now += timedelta(days=20)
    await abandon_draft_with_photo(fresh, png_image((10, 10, 200)))
    [fresh_photo] = await draft_hashes(db, fresh)
    clock.now += timedelta(days=9)  # the first draft is 29 days old: kept
    assert not (await retention.run_retention(harness.services)).anything
    assert await draft_of(db, gone) is not None and await media_exists(db, gone_photo)

    clock.now += timedelta(days=1, minutes=1)  # 30 days and a minute
    result = await retention.run_retention(harness.services)
    assert [(d.step, d.photos) for d in result.drafts] == [("photos", 1)]
    assert result.media == 2  # the abandoned draft's photo and the cancelled one's
    assert await draft_of(db, gone) is None
    assert not await media_exists(db, gone_photo) and not await media_exists(db, quit_photo)
    assert await draft_of(db, fresh) is not None and await media_exists(db, fresh_photo)
    # Run again (the next hour, or another worker): nothing left to do.
    assert not (await retention.run_retention(harness.services)).anything

    # The citizen who left finds no draft, and is told how to start again.
    await gone.press_button("✅ Done with photos")
    await expect(gone, "You have no report in progress. Send /report to start one.")
    # The one still at it goes on as if nothing happened.
    await fresh.press_button("✅ Done with photos")
    await expect(fresh, "Your report")


async def test_the_job_is_scheduled_every_hour(harness: Harness) -> None:
    job_queue = harness.runner.application.job_queue
    assert job_queue is not None
    [job] = job_queue.get_jobs_by_name(retention.JOB_NAME)
    assert job.job.trigger.interval == timedelta(seconds=3600)


# --- rejected reports ---------------------------------------------------------------------------


@pytest.mark.both_databases
async def test_a_rejected_report_loses_its_content_after_the_limit_and_keeps_its_record(
    harness: Harness,
) -> None:
    clock = use_clock(harness)
    db = harness.db
    group, moderator = staff_group(harness)
    citizen, speaker = harness.user("en"), harness.user("en")
    written = await send_report(citizen, png_image((123, 45, 67)))
    answered = await ask(citizen, group, moderator, written)
    await reject(citizen, group, moderator, written, card=answered)
    spoken = await send_report(speaker, voice=True)
    await reject(speaker, group, moderator, spoken)
    [photo] = await photo_hashes(db, written)
    before = await report_of(db, written)
    assert before.text == SECRET_TEXT
    assert (await report_of(db, spoken)).voice_file_id is not None
    events_before = await events_of(db, written)

    clock.now += timedelta(days=89, hours=23)
    # (The drafts kept as "already sent" markers went after 30 days.)
    assert not (await retention.run_retention(harness.services)).reports
    assert (await report_of(db, written)).text == SECRET_TEXT and await photo_hashes(db, written)

    clock.now += timedelta(hours=2)  # 90 days and an hour since the rejection
    result = await retention.run_retention(harness.services)
    assert sorted((r.reference, r.photos, r.text, r.voice) for r in result.reports) == sorted(
        [(written, 1, True, False), (spoken, 0, False, True)]
    )
    after = await report_of(db, written)
    assert (after.text, after.public_text, after.voice_file_id) == (None, None, None)
    assert (after.reference, after.status, after.created_at) == (
        written,
        "rejected",
        before.created_at,
    )
    assert await photo_hashes(db, written) == [] and not await media_exists(db, photo)
    voice = await report_of(db, spoken)
    assert (voice.voice_file_id, voice.voice_file_unique_id, voice.voice_duration) == (
        None,
        None,
        None,
    )
    events = await events_of(db, written)
    assert [e.id for e in events[:-1]] == [e.id for e in events_before]
    purged = events[-1]
    assert (purged.action, purged.actor_kind, purged.actor_id) == ("purged", "system", None)
    assert (purged.from_status, purged.to_status) == ("rejected", "rejected")
    assert purged.created_at == clock.now

    async with db.read() as session:
        answers = await session.scalars(
            select(ReportQuestion.answer).where(ReportQuestion.report_id == after.id)
        )
        assert list(answers) == [""]
    assert [e.note for e in events if e.action == "answer"] == [None]
    assert [e.note for e in events if e.action == "question"] == ["Which house is it?"]

    # Again, the next hour: no second "purged" event.
    assert not (await retention.run_retention(harness.services)).anything
    assert len(await events_of(db, written)) == len(events)

    # The staff card is drawn again without the citizen's words.
    card = await expect(group, written, "deleted (retention)", timeout=15)
    assert card.edited and "collapsed" not in text_of(card) and "0 photos" in text_of(card)
    assert "Musa" not in text_of(card) and "Which house is it?" in text_of(card)
    # The citizen still finds the report, and what became of it.
    await citizen.send_command("myreports")
    assert written in text_of(await expect(citizen, written))
    await citizen.send_command("status", written)
    status = await expect(citizen, written, "History")
    assert "its text, photos and voice note were deleted" in text_of(status)
    assert "Musa" not in text_of(status)
    assert "collapsed" not in text_of(status) and "photo" not in text_of(status).split("History")[0]
    await speaker.send_command("status", spoken)
    assert "Voice note" not in text_of(await expect(speaker, spoken, "History"))


@pytest.mark.both_databases
async def test_a_photo_also_in_a_published_report_stays(harness: Harness) -> None:
    clock = use_clock(harness)
    db = harness.db
    group, moderator = staff_group(harness)
    first, second, drafter = harness.user("en"), harness.user("en"), harness.user("en")
    picture = png_image((77, 77, 77))
    published = await send_report(first, picture)
    await approve(first, group, moderator, published)
    rejected = await send_report(second, picture)
    await reject(second, group, moderator, rejected)
    await abandon_draft_with_photo(drafter, picture)
    [shared] = await photo_hashes(db, published)
    assert await photo_hashes(db, rejected) == [shared] and await draft_hashes(db, drafter) == [
        shared
    ]

    clock.now += timedelta(days=91)
    result = await retention.run_retention(harness.services)
    assert [d.step for d in result.drafts if d.step != "sent"] == ["photos"]
    assert [r.reference for r in result.reports] == [rejected]
    assert result.media == 0
    assert await draft_of(db, drafter) is None and await photo_hashes(db, rejected) == []
    assert await photo_hashes(db, published) == [shared] and await media_exists(db, shared)
    assert (await report_of(db, published)).text == SECRET_TEXT


# --- several workers, large backlogs ------------------------------------------------------------


async def seed_backlog(db: Database, now: datetime, reports: int, drafts: int) -> list[int]:
    """Old rejected reports and old drafts, written straight into the database."""
    async with db.write() as session:
        commitment = await session.scalar(select(Commitment.id).limit(1))
        assert commitment is not None
        ids = []
        for n in range(max(reports, drafts)):
            citizen = Citizen(telegram_user_id=9_100_000 + n, consent_at=now)
            session.add(citizen)
            await session.flush()
            if n < drafts:
                session.add(
                    Draft(
                        citizen_id=citizen.id,
                        chat_id=citizen.telegram_user_id,
                        step="description",
                        data={"kind": "problem"},
                        created_at=now - timedelta(days=40),
                        updated_at=now - timedelta(days=40),
                    )
                )
            if n < reports:
                report = Report(
                    reference=f"CW-OLD{n:03d}",
                    commitment_id=commitment,
                    citizen_id=citizen.id,
                    kind="problem",
                    text="an old rejected report",
                    language="en",
                    status="rejected",
                    created_at=now - timedelta(days=100),
                    updated_at=now - timedelta(days=100),
                )
                session.add(report)
                await session.flush()
                session.add(
                    ReportEvent(
                        report_id=report.id,
                        actor_kind="moderator",
                        action="status",
                        from_status="pending_review",
                        to_status="rejected",
                        note="spam",
                        created_at=now - timedelta(days=95),
                    )
                )
                ids.append(report.id)
    return ids


@pytest.mark.both_databases
async def test_several_workers_at_once_in_batches_do_everything_once(
    database: Database, database_url: str, catalog_ids: dict[str, int], monkeypatch: Any
) -> None:
    monkeypatch.setattr(retention, "REPORT_BATCH", 4)
    monkeypatch.setattr(retention, "DRAFT_BATCH", 7)
    now = datetime.now(UTC)
    ids = await seed_backlog(database, now, reports=30, drafts=45)
    settings = load_settings({"DATABASE_URL": database_url}, env_file=Path("/nonexistent"))
    workers = [Database(database_url) for _ in range(3)]
    try:
        results = await asyncio.gather(
            *(
                retention.purge(Services(settings=settings, db=db, clock=lambda: now))
                for db in workers
            )
        )
    finally:
        for db in workers:
            await db.dispose()
    assert sum(len(r.reports) for r in results) == 30
    assert sum(len(r.drafts) for r in results) == 45
    async with database.read() as session:
        purged = (
            await session.execute(
                select(ReportEvent.report_id, func.count())
                .where(ReportEvent.action == "purged")
                .group_by(ReportEvent.report_id)
            )
        ).all()
        assert sorted(purged) == sorted((i, 1) for i in ids)
        assert await session.scalar(select(func.count()).select_from(Draft)) == 0
        texts = await session.scalars(select(Report.text).where(Report.id.in_(ids)))
        assert set(texts) == {None}


# --- the admin command line ---------------------------------------------------------------------


async def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> CliResult:
    """The real `run_bot.py` command line, in a thread (it runs its own event loop)."""
    return await asyncio.to_thread(run_cli, capsys, *argv)


@pytest.fixture
def cli_env(harness: Harness, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("TELEGRAM_BOT_TOKEN", "DRAFT_RETENTION_DAYS", "REJECTED_RETENTION_DAYS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", harness.settings.database_url)
    monkeypatch.chdir(tmp_path)  # no stray .env


@pytest.mark.both_databases
async def test_purge_dry_run_lists_without_personal_data_and_changes_nothing(
    harness: Harness, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # The story happened 100 days ago (the command line runs on the real clock).
    clock = use_clock(harness)
    clock.now -= timedelta(days=100)
    db = harness.db
    group, moderator = staff_group(harness)
    drafter, citizen = harness.user("en"), harness.user("en")
    await abandon_draft_with_photo(drafter, png_image((1, 99, 1)))
    reference = await send_report(citizen, png_image((99, 1, 1)))
    await reject(citizen, group, moderator, reference)
    held = await counts(db)

    dry = await cli(capsys, "purge", "--dry-run")
    assert dry.code == 0, dry.err
    lines = dry.out.splitlines()
    # The abandoned draft, and the one the sent report left as its "already sent" marker.
    assert lines[:3] == [
        "drafts unchanged for more than 30 days, would be deleted: 2",
        "  idle 100 days, at step photos, 1 photo",
        "  idle 100 days, at step sent, 0 photos",
    ]
    assert lines[3] == (
        "rejected reports more than 90 days ago whose text, photos and voice note "
        "would be deleted: 1"
    )
    assert lines[4].startswith(f"  {reference}  rejected ")
    assert lines[4].endswith("(100 days ago): 1 photo, text")
    assert lines[5] == "stored photos nothing uses any more, would be deleted: 2"
    assert "nothing was changed" in lines[6]
    for personal in ("Musa", "culvert", str(drafter.id), str(citizen.id)):
        assert personal not in dry.out
    assert await counts(db) == held

    done = await cli(capsys, "purge")
    assert done.code == 0, done.err
    assert "drafts unchanged for more than 30 days, deleted: 2" in done.out
    assert f"  {reference}  rejected " in done.out
    assert "stored photos nothing uses any more, deleted: 2" in done.out
    assert "dry run" not in done.out
    assert await draft_of(db, drafter) is None
    assert (await report_of(db, reference)).text is None
    assert await photo_hashes(db, reference) == []
    assert (await events_of(db, reference))[-1].action == "purged"

    # The private export still lists the report, with nothing left of its content.
    export = await cli(capsys, "export", "--include-private", "--status", "rejected")
    assert export.code == 0, export.err
    [row] = list(csv.DictReader(io.StringIO(export.out)))
    assert row["reference"] == reference and row["status"] == "rejected"
    assert row["original_text"] == "" and "culvert" not in export.out

    again = await cli(capsys, "purge", "--dry-run")
    assert "would be deleted: 0" in again.out and reference not in again.out


async def test_zero_days_keeps_everything(
    harness: Harness, cli_env: None, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    clock = use_clock(harness)
    clock.now -= timedelta(days=400)
    group, moderator = staff_group(harness)
    drafter, citizen = harness.user("en"), harness.user("en")
    await abandon_draft_with_photo(drafter, png_image((5, 5, 5)))
    reference = await send_report(citizen)
    await reject(citizen, group, moderator, reference)
    held = await counts(harness.db)
    monkeypatch.setenv("DRAFT_RETENTION_DAYS", "0")
    monkeypatch.setenv("REJECTED_RETENTION_DAYS", "0")
    result = await cli(capsys, "purge")
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        "drafts: kept forever (DRAFT_RETENTION_DAYS=0)",
        "rejected reports: content kept forever (REJECTED_RETENTION_DAYS=0)",
        "stored photos nothing uses any more, deleted: 0",
    ]
    assert await counts(harness.db) == held
    # The job, with the same settings, keeps everything too.
    services = harness.services
    services.settings = replace(
        services.settings, draft_retention_days=0, rejected_retention_days=0
    )
    clock.now += timedelta(days=800)
    assert not (await retention.run_retention(services)).anything
    assert await counts(harness.db) == held


async def test_a_bad_retention_setting_is_one_line_at_start(
    harness: Harness, cli_env: None, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    monkeypatch.setenv("REJECTED_RETENTION_DAYS", "-5")
    result = await cli(capsys, "purge", "--dry-run")
    assert result.code != 0 and result.out == ""
    assert result.err.strip() == (
        "configuration error: REJECTED_RETENTION_DAYS is invalid: expected a whole number of "
        "days from 1 to 36500, or 0 to keep forever, got '-5'"
    )


# --- the settings -------------------------------------------------------------------------------


def test_retention_settings_defaults_and_validation() -> None:
    none = Path("/nonexistent/.env")
    settings = load_settings({}, env_file=none)
    assert (settings.draft_retention_days, settings.rejected_retention_days) == (30, 90)
    assert load_settings({"DRAFT_RETENTION_DAYS": " 7 "}, env_file=none).draft_retention_days == 7
    assert load_settings({"DRAFT_RETENTION_DAYS": "0"}, env_file=none).draft_retention_days == 0
    assert load_settings({"DRAFT_RETENTION_DAYS": ""}, env_file=none).draft_retention_days == 30
    for name in ("DRAFT_RETENTION_DAYS", "REJECTED_RETENTION_DAYS"):
        for bad in ("-1", "1.5", "thirty", "36501"):
            with pytest.raises(ConfigError) as refused:
                load_settings({name: bad}, env_file=none)
            assert str(refused.value) == (
                f"{name} is invalid: expected a whole number of days from 1 to 36500, "
                f"or 0 to keep forever, got {bad!r}"
            )
    shown = settings_help()
    assert "DRAFT_RETENTION_DAYS" in shown and "(default: 30)" in shown
    assert "REJECTED_RETENTION_DAYS" in shown and "(default: 90)" in shown


def test_purge_is_in_the_admin_help(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "purge", "--help")
    assert (
        result.code == 0 and "--dry-run" in result.out and "REJECTED_RETENTION_DAYS" in result.out
    )
    assert register_handlers is not None


@pytest.mark.both_databases
async def test_a_photo_being_taken_again_is_not_deleted_under_the_draft(
    backend: str, database: Database, database_url: str, catalog_ids: dict[str, int]
) -> None:
    """A stored photo nothing uses (left by a cancelled draft), sent again by a citizen while
    the purge runs: the draft's transaction holds it, the purge passes it over."""
    if backend == "sqlite":
        pytest.skip("SQLite has one writer at a time: the purge simply waits")
    now = datetime.now(UTC)
    sha = "ab" * 32
    async with database.write() as session:
        session.add(
            MediaFile(
                sha256=sha,
                mime_type="image/png",
                size=3,
                width=1,
                height=1,
                content=b"png",
                created_at=now - timedelta(days=40),
            )
        )
    settings = load_settings({"DATABASE_URL": database_url}, env_file=Path("/nonexistent"))
    worker = Database(database_url)
    try:
        async with database.write() as session:
            await media.store(session, sha, "image/png", 1, 1, b"png", now)  # FOR SHARE
            result = await retention.purge(
                Services(settings=settings, db=worker, clock=lambda: now)
            )
            assert result.media == 0
        assert await media_exists(database, sha)
        # Once nothing holds it and nothing uses it, it goes.
        result = await retention.purge(Services(settings=settings, db=worker, clock=lambda: now))
        assert result.media == 1 and not await media_exists(database, sha)
    finally:
        await worker.dispose()
