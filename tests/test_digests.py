"""Agency digests: the figures of a known data set, the chart and the CSV; the schedules in the
agency's time zone (across daylight-saving changes); once per agency and period with two
workers, in Telegram, by e-mail and by webhook; /digest for officials and a polite refusal for
everyone else."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from PIL import Image
from sqlalchemy import select

from bot.digests.chart import PALETTE, WIDTH
from bot.digests.delivery import JOB_NAME, queue_digest_deliveries_in, queue_due_digests
from bot.digests.figures import UnknownAgency, build_digest
from bot.digests.schedule import Period, current_period, last_run, scheduled_period, zone
from bot.digests.text import render_digest
from bot.i18n.translate import use_locale
from bot.outbox.queue import Kind, enqueue
from storage.db import Database
from storage.models import (
    Agency,
    Citizen,
    Official,
    OutboxMessage,
    Report,
    ReportEvent,
    ReportSupporter,
)
from tests.support.agency_channels import (
    SECRET,
    Mailbox,
    WebhookReceiver,
    configure_agency,
    free_port,
)
from tests.support.clock import Clock
from tests.support.conversation import expect, text_of
from tests.support.harness import Harness

# The period under test: a day from 08:00 to 08:00 in Lagos (UTC+1, no daylight saving).
T0 = datetime(2025, 3, 10, 7, 0, tzinfo=UTC)
T1 = T0 + timedelta(days=1)
GRID_M = 100.0  # PUBLIC_LOCATION_GRID_M's default
H = timedelta(hours=1)
D = timedelta(days=1)


async def agency_of(db: Database) -> Agency:
    async with db.write() as session:
        agency = await session.scalar(select(Agency).where(Agency.code == "kaduna-works"))
        assert agency is not None
        agency.timezone = "Africa/Lagos"
        agency.digest_frequency = "daily"
        agency.digest_time = time(8, 0)
        agency.created_at = datetime(2025, 1, 1, tzinfo=UTC)
        return agency


async def seed_period(db: Database, ids: dict[str, int]) -> dict[str, int]:
    """Ten reports with their histories at known times; returns report ids by name.

    Expected, for [T0, T1):
      KAD-RD-017: new R2, R7; open R1, R2, R7, R8; resolved R3; reopened none
      KAD-HC-004: new R4; open R5; resolved R4; reopened R5   (R6 pending, R9 not ours)
      KAD-SC-021: new R10; open R10
      first answer in the period: R2 3 h, R4 6 h, R9 25 h  -> median 6 h over 3
      resolved in the period: R3 5 d 2 h, R4 6 h            -> median 64 h over 2
    """
    rd, hc, sc = ids["KAD-RD-017"], ids["KAD-HC-004"], ids["KAD-SC-021"]
    # (name, commitment, status now, text, public text, [(to_status, at)...] after creation)
    plan: list[tuple[str, int, str, str, str | None, list[tuple[str, datetime]]]] = [
        ("R1", rd, "published", "Pothole at the junction", None, [("published", T0 - 2 * D + H)]),
        (
            "R2",
            rd,
            "acknowledged",
            "Drainage blocked",
            None,
            [("published", T0 + 2 * H), ("acknowledged", T0 + 5 * H)],
        ),
        (
            "R3",
            rd,
            "resolved",
            "Streetlights out",
            None,
            [
                ("published", T0 - 5 * D + H),
                ("acknowledged", T0 - 4 * D),
                ("resolved", T0 + 3 * H),
            ],
        ),
        (
            "R4",
            hc,
            "resolved",
            "No nurse on duty",
            None,
            [("published", T0 + 4 * H), ("resolved", T0 + 10 * H)],
        ),
        (
            "R5",
            hc,
            "reopened",
            "Clinic roof leaks again",
            None,
            [
                ("published", T0 - 10 * D + H),
                ("resolved", T0 - 3 * D),
                ("reopened", T0 + 6 * H),
            ],
        ),
        ("R6", hc, "pending_review", "Still waiting for review", None, []),
        ("R7", rd, "published", "Culvert cracked", None, [("published", T0 + 21 * H)]),
        ("R8", rd, "published", "Approved after the period", None, [("published", T1 + H)]),
        (
            "R9",
            hc,
            "not_responsible",
            "Water board matter",
            None,
            [("published", T0 - D), ("not_responsible", T0 + H)],
        ),
        (
            "R10",
            sc,
            "published",
            "Call me on 0803 555 1234, the classroom roof fell in",
            "The classroom roof fell in",
            [("published", T0 + 2 * H + 30 * timedelta(minutes=1))],
        ),
    ]
    created = {
        "R1": T0 - 2 * D,
        "R2": T0 + H,
        "R3": T0 - 5 * D,
        "R4": T0 + 3 * H,
        "R5": T0 - 10 * D,
        "R6": T0 + 12 * H,
        "R7": T0 + 20 * H,
        "R8": T0 + 23 * H,
        "R9": T0 - D - H,
        "R10": T0 + 2 * H,
    }
    report_ids: dict[str, int] = {}
    async with db.write() as session:
        citizens = [Citizen(telegram_user_id=7_700_000 + i, language="en") for i in range(8)]
        session.add_all(citizens)
        await session.flush()
        for number, (name, commitment, status, text, public, history) in enumerate(plan):
            report = Report(
                reference=f"CW-TEST{number:02d}",
                commitment_id=commitment,
                citizen_id=citizens[0].id,
                kind="problem",
                text=text,
                public_text=public,
                language="en",
                status=status,
                created_at=created[name],
                updated_at=(history[-1][1] if history else created[name]),
            )
            session.add(report)
            await session.flush()
            report_ids[name] = report.id
            events = [("created", "draft", "pending_review", created[name])]
            previous = "pending_review"
            for to_status, at in history:
                events.append(("status", previous, to_status, at))
                previous = to_status
            for action, from_status, to_status, at in events:
                session.add(
                    ReportEvent(
                        report_id=report.id,
                        actor_kind="official" if to_status != "published" else "moderator",
                        actor_id=1,
                        action=action,
                        from_status=from_status,
                        to_status=to_status,
                        created_at=at,
                    )
                )
        # Supporters: R3 (resolved, so not listed) 5, R2 3, R1 2, R5 1.
        for name, count in (("R3", 5), ("R2", 3), ("R1", 2), ("R5", 1)):
            for citizen in citizens[1 : count + 1]:
                session.add(ReportSupporter(report_id=report_ids[name], citizen_id=citizen.id))
    return report_ids


@pytest.fixture
async def seeded(database: Database, catalog_ids: dict[str, int]) -> Agency:
    agency = await agency_of(database)
    await seed_period(database, catalog_ids)
    return agency


@pytest.mark.both_databases
async def test_figures_chart_and_csv_of_a_known_period(database: Database, seeded: Agency) -> None:
    digest = await build_digest(database, seeded.id, T0, T1, "en", grid_m=GRID_M)
    by_code = {f.code: f for f in digest.commitments}
    assert {code: (f.new, f.open, f.resolved, f.reopened) for code, f in by_code.items()} == {
        "KAD-RD-017": (2, 4, 1, 0),
        "KAD-HC-004": (1, 1, 1, 1),
        "KAD-SC-021": (1, 1, 0, 0),
        "KAD-WS-009": (0, 0, 0, 0),
        "NG-BO-002": (0, 0, 0, 0),
        "NG-FT-001": (0, 0, 0, 0),
    }
    assert by_code["KAD-HC-004"].by_status["not_responsible"] == 1
    assert "pending_review" not in by_code["KAD-HC-004"].by_status
    assert (digest.median_acknowledge.seconds, digest.median_acknowledge.count) == (6 * 3600, 3)
    assert (digest.median_resolve.seconds, digest.median_resolve.count) == (64 * 3600, 2)
    assert [(r.reference, r.waiting) for r in digest.oldest_unanswered] == [
        ("CW-TEST00", 3 * D - H),
        ("CW-TEST09", 21 * H + timedelta(minutes=30)),
        ("CW-TEST04", 18 * H),
        ("CW-TEST06", 3 * H),
    ]
    assert digest.oldest_unanswered[1].text == "The classroom roof fell in"
    assert [(r.reference, r.supporters) for r in digest.most_supported] == [
        ("CW-TEST01", 3),
        ("CW-TEST00", 2),
        ("CW-TEST04", 1),
    ]

    chart = Image.open(io.BytesIO(digest.chart_png))
    assert chart.format == "PNG" and chart.size == (WIDTH, 512)
    colours = {colour for _count, colour in chart.convert("RGB").getcolors(1_000_000) or []}
    assert PALETTE[0] in colours and PALETTE[4] in colours  # published and resolved bars
    assert len(colours) > 10  # text and bars, not a blank canvas

    rows = list(csv.DictReader(io.StringIO(digest.csv.decode("utf-8"))))
    assert digest.csv_rows == len(rows) == 7
    assert [r["reference"] for r in rows] == [
        "CW-TEST01",
        "CW-TEST02",
        "CW-TEST03",
        "CW-TEST04",
        "CW-TEST06",
        "CW-TEST08",
        "CW-TEST09",
    ]
    assert list(rows[0]) == [
        "reference",
        "commitment_code",
        "kind",
        "public_text",
        "language",
        "latitude",
        "longitude",
        "status",
        "created_at",
        "updated_at",
        "media_url",
    ]
    assert rows[-1]["public_text"] == "The classroom roof fell in"
    assert (rows[1]["status"], rows[1]["created_at"], rows[1]["updated_at"]) == (
        "resolved",
        "2025-03-05T07:00:00Z",
        "2025-03-10T10:00:00Z",
    )
    everything = digest.csv.decode() + render_digest(digest)
    assert "0803" not in everything and "7700000" not in everything  # no private text or ids


async def test_the_message_in_english_and_french(database: Database, seeded: Agency) -> None:
    english = await build_digest(database, seeded.id, T0, T1, "en", grid_m=GRID_M)
    with use_locale("en"):
        text = render_digest(english)
    assert "From Mar 10, 2025, 8:00\u202fAM to Mar 11, 2025, 8:00\u202fAM" in text  # Lagos time
    assert "2 new · 4 open · 1 resolved · 0 reopened" in text
    assert "Median time to acknowledge: <b>6 hours</b> (over 3 reports)" in text
    assert "Median time to resolve: <b>3 days</b> (over 2 reports)" in text
    assert "CW-TEST00 (KAD-RD-017), waiting for 3 days: Pothole at the junction" in text
    assert "CW-TEST01 (KAD-RD-017), 👥 3 supporters: Drainage blocked" in text
    french = await build_digest(database, seeded.id, T0, T1, "fr", grid_m=GRID_M)
    with use_locale("fr"):
        texte = render_digest(french)
    assert "Du 10 mars 2025, 08:00 au 11 mars 2025, 08:00" in texte
    assert "<b>6\u00a0heures</b> (sur 3 signalements)" in texte and "3\u00a0jours" in texte
    assert "Median time" not in texte and "supporters" not in texte


async def test_errors_and_empty_periods(database: Database, seeded: Agency) -> None:
    with pytest.raises(UnknownAgency):
        await build_digest(database, 999_999, T0, T1, "en", grid_m=GRID_M)
    with pytest.raises(ValueError):
        await build_digest(database, seeded.id, T1, T0, "en", grid_m=GRID_M)
    quiet = await build_digest(database, seeded.id, T0 - 30 * D, T0 - 29 * D, "en", grid_m=GRID_M)
    assert all((f.new, f.resolved, f.reopened) == (0, 0, 0) for f in quiet.commitments)
    assert quiet.median_acknowledge.seconds is None and quiet.median_acknowledge.count == 0
    assert quiet.csv_rows == 0 and quiet.csv.decode().startswith("reference,")
    with use_locale("en"):
        assert "Median time to acknowledge: —" in render_digest(quiet)
    assert Image.open(io.BytesIO(quiet.chart_png)).size[0] == WIDTH


def test_daily_and_weekly_periods_in_the_agencys_zone() -> None:
    eight = time(8, 0)
    # Lagos (UTC+1): 08:00 local is 07:00 UTC.
    assert scheduled_period(T1 + H / 2, "daily", eight, 0, "Africa/Lagos") == (
        scheduled_period(T1, "daily", eight, 0, "Africa/Lagos")
    )
    period = scheduled_period(T1 + H / 2, "daily", eight, 0, "Africa/Lagos")
    assert period is not None and (period.start, period.end) == (T0, T1)
    before = scheduled_period(T1 - timedelta(minutes=1), "daily", eight, 0, "Africa/Lagos")
    assert before is not None and (before.start, before.end) == (T0 - D, T0)
    # Weekly on Wednesdays (2) at 17:30 in Nairobi (UTC+3); 2025-03-12 is a Wednesday.
    weekly = scheduled_period(
        datetime(2025, 3, 14, 9, 0, tzinfo=UTC), "weekly", time(17, 30), 2, "Africa/Nairobi"
    )
    assert weekly is not None
    assert weekly.end == datetime(2025, 3, 12, 14, 30, tzinfo=UTC)
    assert weekly.start == datetime(2025, 3, 5, 14, 30, tzinfo=UTC)
    assert scheduled_period(T1, "off", eight, 0, "Africa/Lagos") is None
    # /digest: from the end of the last period up to now; a week when there is no schedule.
    now = T1 + 5 * H
    assert current_period(now, "daily", eight, 0, "Africa/Lagos") == Period(T1, now)
    assert current_period(now, "off", eight, 0, "Africa/Lagos") == Period(now - 7 * D, now)
    assert current_period(T1, "daily", eight, 0, "Africa/Lagos") == Period(T0, T1)
    assert zone("Nowhere/Atlantis").key == "UTC"  # bad data falls back instead of failing


def test_daylight_saving_changes() -> None:
    ny = "America/New_York"  # clocks go forward on 2025-03-09 and back on 2025-11-02
    spring = scheduled_period(datetime(2025, 3, 9, 12, 30, tzinfo=UTC), "daily", time(8), 0, ny)
    assert spring is not None
    assert spring.start == datetime(2025, 3, 8, 13, 0, tzinfo=UTC)  # 08:00 EST
    assert spring.end == datetime(2025, 3, 9, 12, 0, tzinfo=UTC)  # 08:00 EDT
    assert spring.end - spring.start == timedelta(hours=23)
    autumn = scheduled_period(datetime(2025, 11, 2, 14, 0, tzinfo=UTC), "daily", time(8), 0, ny)
    assert autumn is not None and autumn.end - autumn.start == timedelta(hours=25)
    # 02:30 does not exist on the spring night: the digest comes at 03:30 EDT (07:30 UTC).
    skipped = last_run(datetime(2025, 3, 9, 12, 0, tzinfo=UTC), "daily", time(2, 30), 0, ny)
    assert skipped == datetime(2025, 3, 9, 7, 30, tzinfo=UTC)
    # 01:30 happens twice on the autumn night: the first one (EDT, 05:30 UTC).
    twice = last_run(datetime(2025, 11, 2, 12, 0, tzinfo=UTC), "daily", time(1, 30), 0, ny)
    assert twice == datetime(2025, 11, 2, 5, 30, tzinfo=UTC)
    # Weekly on Mondays at 09:00 in Kyiv, across the change of 2025-03-30: a week minus an hour.
    kyiv = scheduled_period(
        datetime(2025, 3, 31, 8, 0, tzinfo=UTC), "weekly", time(9), 0, "Europe/Kyiv"
    )
    assert kyiv is not None
    assert kyiv.start == datetime(2025, 3, 24, 7, 0, tzinfo=UTC)
    assert kyiv.end == datetime(2025, 3, 31, 6, 0, tzinfo=UTC)


# --- through the running bot and the emulator ----------------------------------------------


def stop_schedule_and_dispatch(harness: Harness, clock: Clock) -> None:
    for runner in harness.runners:
        runner.services.clock = clock
        assert runner.application.job_queue is not None
        for job in runner.application.job_queue.get_jobs_by_name(JOB_NAME):
            job.schedule_removal()


async def add_official(harness: Harness, agency: Agency, language: str):
    official = harness.user(language, first_name="Musa")
    async with harness.db.write() as session:
        session.add(
            Official(
                agency_id=agency.id,
                telegram_user_id=official.id,
                language=language,
                joined_at=T0 - 30 * D,
            )
        )
    return official


async def outbox_rows(harness: Harness, kind: Kind) -> list[OutboxMessage]:
    async with harness.db.read() as session:
        rows = await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind.value))
        return list(rows.all())


async def drain_all(harness: Harness) -> None:
    """Both workers drain together until neither finds anything."""
    while sum(
        await asyncio.gather(*(runner.dispatcher.drain_once() for runner in harness.runners))
    ):
        pass


@pytest.mark.both_databases
async def test_a_digest_is_sent_once_per_period_with_two_workers(
    harness: Harness, catalog_ids: dict[str, int]
) -> None:
    agency = await agency_of(harness.db)
    await seed_period(harness.db, catalog_ids)
    official = await add_official(harness, agency, "en")
    clock = Clock()
    clock.now = T1 + 2 * timedelta(minutes=1)
    await harness.start_worker(own_engine=True)
    stop_schedule_and_dispatch(harness, clock)
    for runner in harness.runners:
        await runner.dispatcher.stop()

    # Both workers' schedule ticks run at once, twice: one digest for the period.
    for _ in range(2):
        await asyncio.gather(*(queue_due_digests(r.services) for r in harness.runners))
    rows = await outbox_rows(harness, Kind.AGENCY_DIGEST)
    assert [r.idempotency_key for r in rows] == [f"agency_digest:{agency.id}:{T0.isoformat()}"]
    assert rows[0].payload == {
        "agency_id": agency.id,
        "start": T0.isoformat(),
        "end": T1.isoformat(),
    }
    await drain_all(harness)
    await drain_all(harness)
    copies = await outbox_rows(harness, Kind.DIGEST_TELEGRAM)
    assert [(r.chat_id, r.status) for r in copies] == [(official.id, "sent")]

    message = await expect(official, "Digest for Kaduna State Ministry of Works", timeout=15)
    assert "2 new · 4 open · 1 resolved · 0 reopened" in text_of(message)
    await official.wait_for_messages(2, timeout=15)  # the chart and the CSV
    kinds = [m.kind for m in official.messages]
    assert kinds == ["text", "photo", "document"]
    photo, document = official.messages[1], official.messages[2]
    assert Image.open(io.BytesIO(photo.media[0])).size == (WIDTH, 512)
    assert document.file_names == [f"digest-kaduna-works-{T1:%Y-%m-%d}.csv"]
    assert document.media[0].decode().count("\nCW-TEST") == 7

    # Later ticks in the same period change nothing; the next period is a new digest.
    assert await queue_due_digests(harness.services) == 0
    clock.now += D
    assert await queue_due_digests(harness.services) == 1
    assert len(await outbox_rows(harness, Kind.AGENCY_DIGEST)) == 2


async def test_unscheduled_new_and_vanished_agencies(
    harness: Harness, catalog_ids: dict[str, int]
) -> None:
    agency = await agency_of(harness.db)
    clock = Clock()
    stop_schedule_and_dispatch(harness, clock)
    await harness.runner.dispatcher.stop()
    # Created after the period ended: nothing to say about it.
    async with harness.db.write() as session:
        row = await session.get(Agency, agency.id)
        assert row is not None
        row.created_at = T1 + H
    clock.now = T1 + 2 * H
    assert await queue_due_digests(harness.services) == 0
    async with harness.db.write() as session:
        row = await session.get(Agency, agency.id)
        assert row is not None
        row.created_at, row.digest_frequency = T0 - D, "off"
    assert await queue_due_digests(harness.services) == 0
    # A digest of an agency without officials is fanned out to nobody and done.
    async with harness.db.write() as session:
        row = await session.get(Agency, agency.id)
        assert row is not None
        row.digest_frequency = "daily"
    assert await queue_due_digests(harness.services) == 1
    await drain_all(harness)
    assert [r.status for r in await outbox_rows(harness, Kind.AGENCY_DIGEST)] == ["sent"]
    assert await outbox_rows(harness, Kind.DIGEST_TELEGRAM) == []
    # A copy for an agency deleted meanwhile fails for good instead of retrying.
    async with harness.db.write() as session:
        payload: dict[str, Any] = {"agency_id": 999_999, "start": T0.isoformat()}
        payload |= {"end": T1.isoformat(), "language": "en"}
        await enqueue(session, Kind.DIGEST_TELEGRAM, "gone", payload, clock.now, chat_id=42)
    await drain_all(harness)
    [copy] = await outbox_rows(harness, Kind.DIGEST_TELEGRAM)
    assert copy.status == "failed" and "gone" in (copy.last_error or "")


async def test_digest_command_for_officials_only(
    harness: Harness, catalog_ids: dict[str, int]
) -> None:
    agency = await agency_of(harness.db)
    await seed_period(harness.db, catalog_ids)
    clock = Clock()
    clock.now = T1 + 2 * H  # the current period: since 08:00 today, Lagos time
    stop_schedule_and_dispatch(harness, clock)
    official = await add_official(harness, agency, "en")
    await official.send_command("digest")
    message = await expect(official, "Digest for Kaduna State Ministry of Works", timeout=15)
    assert "From Mar 11, 2025, 8:00\u202fAM to Mar 11, 2025, 10:00\u202fAM" in text_of(message)
    # Only R8 moved in this period (published an hour after 08:00).
    assert "1 new · 4 open" in text_of(message)
    await official.wait_for_messages(2, timeout=15)  # the chart and the CSV
    assert [m.kind for m in official.messages] == ["text", "photo", "document"]
    assert official.messages[2].media[0].decode().splitlines()[1].startswith("CW-TEST07,")
    assert await outbox_rows(harness, Kind.DIGEST_TELEGRAM) == []  # answered, not queued

    stranger = harness.user("en")
    await stranger.send_command("digest")
    refusal = await expect(stranger, "/digest is for officials of an agency")
    assert "Digest for" not in text_of(refusal)
    assert [m.kind for m in stranger.messages] == ["text"]


# --- the agency's mailboxes and its own system -----------------------------------------------

MAIL_FROM = "Commitment Watch <bot@commitments.example>"
ADDRESSES = ["works@kaduna.example", "desk@kaduna.example"]


async def two_mail_workers(harness: Harness, clock: Clock, smtp_port: int) -> None:
    """Replace the default worker by two with SMTP set (one with its own engine), their schedule
    and dispatch driven by hand."""
    await harness.stop_worker(harness.runner)
    mail = {"smtp_host": "127.0.0.1", "smtp_port": smtp_port, "smtp_starttls": False}
    mail |= {"mail_from": MAIL_FROM, "default_locale": "en"}
    await harness.start_worker(**mail)
    await harness.start_worker(own_engine=True, **mail)
    stop_schedule_and_dispatch(harness, clock)
    for runner in harness.runners:
        await runner.dispatcher.stop()


async def test_digest_by_email_and_webhook_once_with_two_workers(
    harness: Harness, catalog_ids: dict[str, int]
) -> None:
    agency = await agency_of(harness.db)
    await seed_period(harness.db, catalog_ids)
    receiver = WebhookReceiver(SECRET)
    await receiver.start()
    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        await configure_agency(
            harness, emails=ADDRESSES, webhook_url=receiver.url, webhook_secret=SECRET
        )
        clock = Clock()
        clock.now = T1 + 2 * timedelta(minutes=1)
        await two_mail_workers(harness, clock, port)
        for _ in range(2):
            await asyncio.gather(*(queue_due_digests(r.services) for r in harness.runners))
        await drain_all(harness)
        await drain_all(harness)
        assert await queue_due_digests(harness.services) == 0
        await drain_all(harness)
    finally:
        controller.stop()
        await receiver.stop()

    expected = await build_digest(
        harness.db, agency.id, T0, T1, "en", grid_m=harness.services.settings.public_location_grid_m
    )
    emails = await outbox_rows(harness, Kind.DIGEST_EMAIL)
    assert sorted((r.payload["to"], r.status) for r in emails) == sorted(
        (a, "sent") for a in ADDRESSES
    )
    assert sorted(to for to, _message in box.messages) == sorted([a] for a in ADDRESSES)
    for to, message in box.messages:
        assert message["To"] == to[0] and message["From"] == MAIL_FROM
        # A long subject comes back folded (leading white space): compare its words.
        subject = "Digest for Kaduna State Ministry of Works, Mar 10, 2025 to Mar 11, 2025"
        assert " ".join(message["Subject"].split()) == subject
        assert message["Content-Language"] == "en"
        plain, markup = message.get_body(("plain",)), message.get_body(("html",))
        assert plain is not None and markup is not None
        text, html = plain.get_content(), markup.get_content()
        assert "2 new · 4 open · 1 resolved · 0 reopened" in text and "<" not in text
        assert "Median time to acknowledge: 6 hours (over 3 reports)" in text
        assert "The period's 7 reports as CSV" in text
        assert "<b>6 hours</b>" in html and "0803" not in text + html
        chart, table = list(message.iter_attachments())
        assert chart.get_content_type() == "image/png"
        assert chart.get_filename() == f"digest-kaduna-works-{T1:%Y-%m-%d}.png"
        assert Image.open(io.BytesIO(chart.get_content())).size == (WIDTH, 512)
        assert table.get_content_type() == "text/csv"
        assert table.get_filename() == expected.csv_filename
        csv_text = table.get_content()
        csv_text = csv_text.decode() if isinstance(csv_text, bytes) else csv_text
        assert csv_text.replace("\r\n", "\n") == expected.csv.decode().replace("\r\n", "\n")

    [hook] = await outbox_rows(harness, Kind.DIGEST_WEBHOOK)
    assert hook.status == "sent"
    [request] = receiver.requests
    assert request.signature_ok and request.answered == 200
    key = f"digest_webhook:{agency.id}:{T0.isoformat()}:webhook"
    assert request.headers["Idempotency-Key"] == hook.idempotency_key == key
    document = json.loads(request.body)
    assert document["type"] == "digest" and document["agency"] == "kaduna-works"
    assert document["period"] == {
        "start": T0.isoformat(),
        "end": T1.isoformat(),
        "timezone": "Africa/Lagos",
    }
    assert [
        (c["code"], c["new"], c["open"], c["resolved"], c["reopened"], c["by_status"])
        for c in document["commitments"]
    ] == [
        (f.code, f.new, f.open, f.resolved, f.reopened, f.by_status) for f in expected.commitments
    ]
    assert document["median_acknowledge"] == {"seconds": 6 * 3600, "iso": "PT6H", "count": 3}
    assert document["median_resolve"] == {"seconds": 64 * 3600, "iso": "P2DT16H", "count": 2}
    assert [(r["reference"], r["waiting_seconds"]) for r in document["oldest_unanswered"]] == [
        (r.reference, (r.waiting or timedelta()).total_seconds())
        for r in expected.oldest_unanswered
    ]
    assert document["oldest_unanswered"][0]["waiting"] == "P2DT23H"
    assert [(r["reference"], r["supporters"]) for r in document["most_supported"]] == [
        (r.reference, r.supporters) for r in expected.most_supported
    ]
    assert document["csv"] == expected.csv.decode() and document["csv_rows"] == 7
    assert "chart" not in request.body.decode() and "0803" not in request.body.decode()


async def test_no_email_or_webhook_digest_without_those_channels(
    harness: Harness, catalog_ids: dict[str, int]
) -> None:
    agency = await agency_of(harness.db)
    clock = Clock()
    clock.now = T1 + H
    await two_mail_workers(harness, clock, free_port())
    assert await queue_due_digests(harness.services) == 1
    await drain_all(harness)
    assert [r.status for r in await outbox_rows(harness, Kind.AGENCY_DIGEST)] == ["sent"]
    assert await outbox_rows(harness, Kind.DIGEST_EMAIL) == []
    assert await outbox_rows(harness, Kind.DIGEST_WEBHOOK) == []
    # Addresses but no SMTP server configured: no e-mail is queued either.
    await configure_agency(harness, emails=ADDRESSES)
    async with harness.db.write() as session:
        period = Period(T0, T1)
        assert await queue_digest_deliveries_in(session, agency.id, period, T1, email=False) == 0
    assert await outbox_rows(harness, Kind.DIGEST_EMAIL) == []
