"""The webhook channel: an approved report reaches the agency's own system signed, with only its
public fields; a receiver that fails for a while gets it exactly once after it recovers, with the
same Idempotency-Key on every attempt; one that never recovers ends failed and shows to admins."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.app.cli import main
from bot.outbox.dispatcher import AGENCY_RETRY_DELAYS
from bot.reports import moderation
from bot.reports.lifecycle import Actor, ActorKind
from bot.reports.moderation import REJECT_REASONS
from emulator import SimulatedGroup, SimulatedUser
from handlers import register_handlers
from storage.models import Report
from tests.support.agency_channels import (
    SECRET,
    STAFF_CHAT,
    WebhookReceiver,
    approve,
    configure_agency,
    outbox_rows,
    staff,
    submit,
)
from tests.support.clock import Clock
from tests.support.conversation import expect, jpeg_with_gps
from tests.support.harness import Harness


@pytest.fixture
def harness_overrides() -> dict[str, Any]:
    return {"moderator_chat_id": STAFF_CHAT}


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    server = WebhookReceiver(SECRET)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def approved_with_dispatcher_stopped(
    harness: Harness, receiver: WebhookReceiver, clock: Clock
) -> tuple[str, SimulatedUser, SimulatedUser, SimulatedGroup]:
    """A report with a photo, approved while the dispatcher is stopped (driven by hand after);
    returns its reference, its author, the moderator and the staff group."""
    harness.services.clock = clock
    await configure_agency(harness, webhook_url=receiver.url, webhook_secret=SECRET)
    moderator, group = staff(harness)
    citizen = harness.user("en", first_name="Zainab", last_name="Bello")
    reference = await submit(harness, citizen, jpeg_with_gps())
    card = await expect(group, reference, "waiting for review", timeout=15)
    await harness.runner.dispatcher.stop()
    await approve(moderator, group, reference, card)
    return reference, citizen, moderator, group


async def test_receiver_down_for_a_while_gets_it_once(
    harness: Harness, receiver: WebhookReceiver
) -> None:
    receiver.answer = lambda n: 500 if n <= 3 else 200
    clock = Clock()
    reference, citizen, _, _ = await approved_with_dispatcher_stopped(harness, receiver, clock)
    dispatcher = harness.runner.dispatcher

    await dispatcher.drain_once()  # the notice, the card refresh and the first webhook try
    await expect(citizen, "was approved and published")
    assert len(receiver.requests) == 1
    for delay in AGENCY_RETRY_DELAYS[:3]:
        assert await dispatcher.drain_once() == 0, "not due again before its delay"
        [row] = await outbox_rows(harness, "agency_webhook")
        assert row.status == "pending" and "HTTP 500" in (row.last_error or "")
        clock.now += timedelta(seconds=delay)
        assert await dispatcher.drain_once() == 1
    assert [r.answered for r in receiver.requests] == [500, 500, 500, 200]
    delivered_at = clock.now

    [row] = await outbox_rows(harness, "agency_webhook")
    assert (row.status, row.attempts) == ("sent", 4)
    assert "HTTP 500" in (row.last_error or "")  # the retries are on record
    clock.now += timedelta(days=2)
    assert await dispatcher.drain_once() == 0
    assert len(receiver.requests) == 4, "delivered exactly once after recovery"

    assert all(r.signature_ok for r in receiver.requests)
    keys = {r.headers["Idempotency-Key"] for r in receiver.requests}
    assert keys == {row.idempotency_key}, "a receiver can tell it is the same delivery"
    assert {r.headers["X-CommitmentWatch-Delivery"] for r in receiver.requests} == {str(row.id)}
    assert [r.headers["X-CommitmentWatch-Attempt"] for r in receiver.requests] == [
        "1",
        "2",
        "3",
        "4",
    ]
    last = receiver.requests[-1]
    assert last.headers["Content-Type"].startswith("application/json")
    assert int(last.headers["X-CommitmentWatch-Timestamp"]) == int(delivered_at.timestamp())
    document = json.loads(last.body)
    assert document["sent_at"] == delivered_at.isoformat()
    report = document["report"]
    assert document["agency"] == "kaduna-works"
    assert document["event"]["status"] == "published" and document["event"]["by"] == "moderator"
    assert report["reference"] == reference and report["status"] == "published"
    assert report["commitment"] == {
        "code": "KAD-RD-017",
        "title": "Kawo–Rigasa road rehabilitation",
    }
    assert "culvert is cracked" in report["text"] and report["photo_count"] == 1
    assert report["latitude"] == pytest.approx(10.5731) and report["kind"] == "problem"
    # Nothing about who the citizen is.
    raw = last.body.decode()
    for private in (str(citizen.id), "Zainab", "Bello", "citizen_id", "telegram"):
        assert private not in raw


async def test_receiver_that_never_recovers_ends_failed_and_shows_to_admins(
    harness: Harness,
    receiver: WebhookReceiver,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    receiver.answer = lambda n: 503
    clock = Clock()
    await approved_with_dispatcher_stopped(harness, receiver, clock)
    dispatcher = harness.runner.dispatcher
    await dispatcher.drain_once()
    for delay in AGENCY_RETRY_DELAYS:
        clock.now += timedelta(seconds=delay)
        assert await dispatcher.drain_once() == 1
    clock.now += timedelta(days=7)
    assert await dispatcher.drain_once() == 0, "given up: no further attempts"
    assert len(receiver.requests) == len(AGENCY_RETRY_DELAYS) + 1 == 7
    [row] = await outbox_rows(harness, "agency_webhook")
    assert (row.status, row.attempts) == ("failed", 7)
    assert "HTTP 503" in (row.last_error or "")

    async def cli(argv: list[str]) -> int:
        # The admin command line, as an admin runs it: its own event loop, its own engine.
        return await asyncio.to_thread(main, argv, register_handlers)

    monkeypatch.chdir(tmp_path)  # no stray .env
    monkeypatch.setenv("DATABASE_URL", harness.settings.database_url)
    capsys.readouterr()
    assert await cli(["stats", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["failed_deliveries"] == [
        {"kind": "agency_webhook", "agency": "kaduna-works", "count": 1}
    ]
    assert await cli(["stats"]) == 0
    assert "agency_webhook kaduna-works" in capsys.readouterr().out
    assert await cli(["outbox", "failed"]) == 0
    listing = capsys.readouterr().out
    assert f"#{row.id}  agency_webhook  agency kaduna-works  7 attempts" in listing
    assert "last error: TemporaryFailure('webhook answered HTTP 503" in listing
    assert await cli(["outbox", "failed", "--json"]) == 0
    [entry] = json.loads(capsys.readouterr().out)
    assert entry["id"] == row.id and entry["attempts"] == 7
    assert await cli(["outbox", "failed", "--limit", "0"]) == 2


async def test_gone_fails_at_once_and_unreachable_is_retried(
    harness: Harness, receiver: WebhookReceiver
) -> None:
    receiver.answer = lambda n: 410
    clock = Clock()
    _, _, moderator, group = await approved_with_dispatcher_stopped(harness, receiver, clock)
    dispatcher = harness.runner.dispatcher
    await dispatcher.drain_once()
    [row] = await outbox_rows(harness, "agency_webhook")
    assert (row.status, row.attempts) == ("failed", 1)
    assert "HTTP 410" in (row.last_error or "")

    # Another report, while the receiver is gone altogether (connection refused): retried.
    await receiver.stop()
    reference = await submit(harness, harness.user("en"), where=(10.5790, 7.4470))
    await dispatcher.drain_once()  # the moderators' card
    await approve(moderator, group, reference)
    await dispatcher.drain_once()
    rows = await outbox_rows(harness, "agency_webhook")
    assert len(rows) == 2 and (rows[1].status, rows[1].attempts) == ("pending", 1)
    assert "webhook unreachable" in (rows[1].last_error or "")


async def test_status_changes_reach_the_webhook_but_bad_answers_do_not(
    harness: Harness, receiver: WebhookReceiver
) -> None:
    """An official's answer in Telegram reaches the agency's system; a rejected report never
    does (it was never the agency's)."""
    from tests.test_agency_answers import join_as_official

    await configure_agency(harness, webhook_url=receiver.url, webhook_secret=SECRET)
    moderator, group = staff(harness)
    official = await join_as_official(harness, "en", "Musa")
    reference = await submit(harness, harness.user("en"))
    await approve(moderator, group, reference)
    card = await expect(official, reference, "Answer with the buttons", timeout=15)
    await receiver.wait_for(1)
    await official.press_button("🏗 In progress", message=card)
    await receiver.wait_for(2)
    statuses = [json.loads(r.body)["event"] for r in receiver.requests]
    assert [(e["status"], e["by"]) for e in statuses] == [
        ("published", "moderator"),
        ("in_progress", "official"),
    ]
    assert json.loads(receiver.requests[1].body)["report"]["status"] == "in_progress"
    assert len({r.headers["Idempotency-Key"] for r in receiver.requests}) == 2

    rejected = await submit(harness, harness.user("en"), where=(10.5790, 7.4470))
    await expect(group, rejected, "waiting for review", timeout=15)
    async with harness.db.read() as session:
        report = await session.scalar(select(Report).where(Report.reference == rejected))
    assert report is not None
    await moderation.reject(
        harness.services,
        report.id,
        next(iter(REJECT_REASONS)),
        Actor(ActorKind.MODERATOR, moderator.id, "Ada"),
    )
    await expect(group, rejected, "Rejected by", timeout=15)
    rows = await outbox_rows(harness, "agency_webhook")
    assert len(rows) == 2 and {r.status for r in rows} == {"sent"}
