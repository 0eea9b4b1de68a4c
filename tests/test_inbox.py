"""The durable inbox (issue 14): every update is on disk before Telegram hears it arrived, a worker
killed mid-update loses nothing (another worker handles it, once), a second delivery of one
update_id is handled once, one citizen's updates keep their order across two workers, and what a
drain cut off is handed back at once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select, text

from bot.app.runner import BotRunner
from emulator import BotMessage, SimulatedUser
from storage.db import Database
from storage.models import InboxUpdate, Report
from storage.queries import inbox as queries
from tests.support.conversation import expect, text_of
from tests.support.harness import Harness
from tests.support.processes import start_bot
from tests.test_drain import AGREED, drain_begun, free_port, pending_update_ids, press_in_hand
from tests.test_report_flow import report_until_summary

SECRET = "inbox-test-secret"
HELP = "I help you report on public commitments"


async def inbox_rows(db: Database) -> dict[int, InboxUpdate]:
    async with db.read() as session:
        rows = (await session.scalars(select(InboxUpdate))).all()
    return {row.update_id: row for row in rows}


async def until_done(db: Database, *update_ids: int) -> dict[int, InboxUpdate]:
    """The inbox once the given updates are marked done (just after their replies went out)."""
    for _ in range(250):
        rows = await inbox_rows(db)
        if all(rows[i].done_at is not None for i in update_ids if i in rows):
            return rows
        await asyncio.sleep(0.02)
    raise AssertionError(f"updates {update_ids} never marked done")


def texts(citizen: SimulatedUser) -> list[str]:
    return [text_of(message) for message in citizen.messages]


@pytest.mark.both_databases
async def test_an_update_is_on_disk_before_it_is_confirmed_and_done_once_handled(
    harness: Harness,
) -> None:
    citizen = harness.user("en")
    await press_in_hand(harness, citizen, slow_seconds=1.0)
    press = max(await inbox_rows(harness.db))
    # The press is confirmed to Telegram (it no longer holds it) and, while in hand, is this
    # worker's open row.
    await harness.emulator.wait_until_delivered()
    assert press not in pending_update_ids(harness.emulator)
    row = (await inbox_rows(harness.db))[press]
    assert row.done_at is None and row.claimed_by == harness.runner.inbox.me
    assert row.payload["callback_query"]["data"]
    await expect(citizen, AGREED)
    rows = await until_done(harness.db, press)
    assert all(row.done_at is not None for row in rows.values()), rows
    # Once done, a row keeps no word of the update and no trace of whose it was.
    assert all(row.payload is None and row.sender is None for row in rows.values())
    assert all(len(row.digest) == 64 for row in rows.values())


@pytest.mark.both_databases
async def test_a_worker_killed_mid_update_loses_nothing(harness: Harness, tmp_path: Path) -> None:
    """run_bot.py is SIGKILLed while it handles a press that Telegram already counts as
    delivered; the next worker handles the press once its lease runs out, without the citizen
    pressing again."""
    await harness.stop_worker(harness.runner)
    process = await start_bot(harness, tmp_path, output=False, INBOX_LEASE_SECONDS="2")
    citizen = harness.user("en")
    try:
        await citizen.send_command("start")
        await expect(citizen, "privacy", timeout=30)
        harness.emulator.faults.set(
            rate=1.0, kinds={"slow"}, methods={"answerCallbackQuery"}, slow_seconds=3, limit=1
        )
        await citizen.press_button("✅ I agree")
        await harness.emulator.wait_for_call(method="answerCallbackQuery")
        process.kill()
        await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    # Telegram counts the press as delivered: without the inbox it would be lost.
    await harness.emulator.wait_until_delivered()
    press = max(await inbox_rows(harness.db))
    assert press not in pending_update_ids(harness.emulator)
    assert not any(AGREED in t for t in texts(citizen))
    row = (await inbox_rows(harness.db))[press]
    assert row.done_at is None and row.claimed_by is not None
    runner = await harness.start_worker(inbox_lease_seconds=2)
    await expect(citizen, AGREED, timeout=15)
    row = (await until_done(harness.db, press))[press]
    await asyncio.sleep(0.5)
    assert sum(AGREED in t for t in texts(citizen)) == 1
    assert row.done_at is not None and row.claimed_by == runner.inbox.me


async def start_webhook_worker(harness: Harness, **overrides: Any) -> tuple[BotRunner, str]:
    port = free_port()
    runner = await harness.start_worker(
        own_engine=True,
        webhook_url=f"http://127.0.0.1:{port}",
        webhook_port=port,
        webhook_secret=SECRET,
        **overrides,
    )
    return runner, f"http://127.0.0.1:{port}/telegram"


def command_update(update_id: int, citizen: SimulatedUser, command: str) -> dict[str, Any]:
    """A command as Telegram would post it to the webhook."""
    user = {"id": citizen.id, "is_bot": False, "first_name": "Citizen", "language_code": "en"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(datetime.now(UTC).timestamp()),
            "chat": {"id": citizen.id, "type": "private", "first_name": "Citizen"},
            "from": user,
            "text": f"/{command}",
            "entities": [{"type": "bot_command", "offset": 0, "length": len(command) + 1}],
        },
    }


async def post(http: aiohttp.ClientSession, url: str, update: dict[str, Any]) -> int:
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with http.post(url, json=update, headers=headers) as response:
        return response.status


@pytest.mark.both_databases
async def test_a_second_delivery_of_one_update_is_handled_once(harness: Harness) -> None:
    await harness.stop_worker(harness.runner)
    _runner, url = await start_webhook_worker(harness)
    citizen = harness.user("en")
    update = command_update(9_000_001, citizen, "start")
    async with aiohttp.ClientSession() as http:
        assert await post(http, url, update) == 200
        await expect(citizen, "privacy")
        assert await post(http, url, update) == 200  # as Telegram retries after a timeout
    await asyncio.sleep(1.0)
    assert sum("privacy" in t for t in texts(citizen)) == 1


@pytest.mark.both_databases
async def test_one_citizens_updates_keep_their_order_across_two_workers(
    harness: Harness,
) -> None:
    """/start reaches worker A, whose reply is slow; /help reaches worker B at once. B must not
    answer /help before A has answered /start: the citizen reads them in the order sent."""
    await harness.stop_worker(harness.runner)
    first, url_a = await start_webhook_worker(harness)
    second, url_b = await start_webhook_worker(harness)
    citizen, other = harness.user("en"), harness.user("en")
    harness.emulator.faults.set(
        rate=1.0, kinds={"slow"}, methods={"sendMessage"}, slow_seconds=1.5, limit=1
    )
    async with aiohttp.ClientSession() as http:
        assert await post(http, url_a, command_update(9_100_001, citizen, "start")) == 200
        await harness.emulator.wait_for_call(method="sendMessage")  # A is answering, slowly
        assert await post(http, url_b, command_update(9_100_002, citizen, "help")) == 200
        # Another citizen is not held up by the first one's turn.
        assert await post(http, url_b, command_update(9_100_003, other, "help")) == 200
        await other.next_message(timeout=5)
        await expect(citizen, "privacy", timeout=10)
        await expect(citizen, HELP, timeout=10)
    replies = texts(citizen)
    privacy = next(i for i, t in enumerate(replies) if "privacy" in t)
    assert privacy < next(i for i, t in enumerate(replies) if HELP in t), replies
    rows = await until_done(harness.db, 9_100_001, 9_100_002, 9_100_003)
    assert rows[9_100_001].claimed_by == first.inbox.me
    # Whoever handled /help, it was after /start was done.
    assert rows[9_100_002].done_at is not None and rows[9_100_001].done_at is not None
    assert rows[9_100_001].done_at <= rows[9_100_002].done_at
    assert rows[9_100_003].claimed_by == second.inbox.me


async def draining_with_a_press(
    harness: Harness, *, drain_seconds: int, lease_seconds: int, slow_seconds: float
) -> tuple[BotRunner, SimulatedUser, int, asyncio.Task[None]]:
    """A fresh worker begins its drain while a citizen's press (its answer `slow_seconds` slow)
    is in hand: the worker, the citizen, the press's update_id and the stopping task."""
    await harness.stop_worker(harness.runner)
    runner = await harness.start_worker(
        drain_seconds=drain_seconds, inbox_lease_seconds=lease_seconds
    )
    citizen = harness.user("en")
    await press_in_hand(harness, citizen, slow_seconds=slow_seconds)
    press = max(await inbox_rows(harness.db))
    return runner, citizen, press, await drain_begun(harness, runner)


@pytest.mark.both_databases
async def test_what_a_drain_cut_off_is_handed_back_and_handled_by_the_next_worker(
    harness: Harness,
) -> None:
    _runner, citizen, press, stopping = await draining_with_a_press(
        harness, drain_seconds=1, lease_seconds=600, slow_seconds=4
    )
    await stopping
    row = (await inbox_rows(harness.db))[press]
    # Cut off, and handed back at once: no 600 s lease to wait out.
    assert row.done_at is None and row.claimed_by is None and row.lease_until is None
    await harness.emulator.wait_until_delivered()
    next_worker = await harness.start_worker()
    await expect(citizen, AGREED, timeout=10)
    row = (await until_done(harness.db, press))[press]
    assert row.claimed_by == next_worker.inbox.me


@pytest.mark.both_databases
async def test_a_draining_worker_keeps_the_lease_on_what_it_still_finishes(
    harness: Harness,
) -> None:
    """The drain stops the claiming, not the lease renewal: the press still in hand after its
    2 s lease would otherwise run out is still this worker's, so no other worker handles it a
    second time while it is being finished."""
    runner, citizen, press, stopping = await draining_with_a_press(
        harness, drain_seconds=20, lease_seconds=2, slow_seconds=5
    )
    await asyncio.sleep(3)  # past the lease taken before the drain began
    row = (await inbox_rows(harness.db))[press]
    assert row.claimed_by == runner.inbox.me and row.done_at is None
    assert row.lease_until is not None
    assert row.lease_until > datetime.now(UTC)
    await stopping
    await expect(citizen, AGREED, timeout=10)
    assert (await inbox_row(harness.db, press)).done_at is not None


# --- the claim rules, on the database itself ---------------------------------------------------

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
LEASE = NOW + timedelta(seconds=15)


async def record(db: Database, update_id: int, sender: int | None, me: str) -> bool:
    async with db.write() as session:
        return await queries.record(
            session,
            update_id=update_id,
            sender=sender,
            payload={"update_id": update_id},
            digest=f"digest-{update_id}",
            me=me,
            now=NOW,
            lease_until=LEASE,
        )


async def inbox_row(db: Database, update_id: int) -> InboxUpdate:
    return (await inbox_rows(db))[update_id]


async def claim(db: Database, me: str, now: datetime = NOW) -> list[int]:
    async with db.write() as session:
        rows = await queries.claim_ready(
            session, me=me, now=now, lease_until=now + timedelta(seconds=15), limit=10
        )
        return [row.update_id for row in rows]


async def finish(db: Database, update_id: int) -> int | None:
    async with db.write() as session:
        return await queries.finish(session, update_id, NOW)


@pytest.mark.both_databases
async def test_claim_rules(database: Database) -> None:
    # A's first update is A's to handle; so is its second, queued behind the first.
    assert await record(database, 1, 100, "A") is True
    assert await record(database, 2, 100, "A") is True
    # B receives the same citizen's third: it waits for A's two.
    assert await record(database, 3, 100, "B") is False
    # A second delivery of an update_id is never handed out again.
    assert await record(database, 1, 100, "B") is False
    assert await record(database, 1, 100, "A") is False
    # Nothing is ready for B while A holds the sender's turn; other senders are.
    assert await record(database, 4, 200, "B") is True
    assert await record(database, 5, None, "B") is True
    assert await claim(database, "B") == []
    assert await finish(database, 1) == 100
    assert await claim(database, "B") == []  # 2 is still A's
    assert await finish(database, 2) == 100
    assert await claim(database, "B") == [3]
    assert await finish(database, 3) == 100
    assert await finish(database, 3) is None  # done already
    assert await finish(database, 4) == 200 and await finish(database, 5) is None
    # A worker that died: once its lease runs out, another worker takes over, in order; the
    # dead worker's rows never go to itself by expiry.
    assert await record(database, 6, 300, "dead") is True
    assert await record(database, 7, 300, "dead") is True
    later = LEASE + timedelta(seconds=1)
    assert await claim(database, "B", now=NOW) == []
    assert await claim(database, "dead", now=later) == []
    assert await claim(database, "B", now=later) == [6]
    assert await claim(database, "C", now=later) == []  # 6 is now B's; 7 waits for it
    assert await finish(database, 6) == 300
    assert await claim(database, "C", now=later) == [7]
    # Handing back: free for anyone at once.
    assert await record(database, 8, 400, "D") is True
    async with database.write() as session:
        assert await queries.release(session, "D") == 1
    assert await claim(database, "E") == [8]
    # An update_id seen before with other content is a new update (Telegram's ids start again at
    # random after a quiet week): handled, not mistaken for a second delivery.
    async with database.write() as session:
        assert (
            await queries.record(
                session,
                update_id=1,
                sender=100,
                payload={"update_id": 1, "again": True},
                digest="another",
                me="F",
                now=NOW,
                lease_until=LEASE,
            )
            is True
        )
    assert (await inbox_row(database, 1)).done_at is None
    assert await finish(database, 1) == 100
    # Done rows are forgotten after a while, open ones never.
    async with database.write() as session:
        assert await queries.purge_done(session, NOW + timedelta(seconds=1)) == 6
        assert await queries.open_count(session) == 2  # 7, C's, and 8, E's


@pytest.mark.both_databases
async def test_an_update_the_database_cannot_take_is_not_confirmed_until_it_can(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """The inbox's table is gone for a moment (a database fault): the update fetched meanwhile
    is neither confirmed to Telegram nor lost; once the table is back it is recorded and
    answered, once, and the log says so in a line or two without a traceback."""
    citizen = harness.user("en")
    await citizen.send_command("start")
    await expect(citizen, "privacy")
    await harness.inbox_settled()
    async with harness.db.write() as session:
        await session.execute(text("ALTER TABLE inbox RENAME TO inbox_away"))
    try:
        sent = await citizen.send_command("help")
        await asyncio.sleep(1.5)
        assert sent["update_id"] in pending_update_ids(harness.emulator)  # not confirmed
        assert not any(HELP in t for t in texts(citizen))
    finally:
        async with harness.db.write() as session:
            await session.execute(text("ALTER TABLE inbox_away RENAME TO inbox"))
    await expect(citizen, HELP, timeout=15)
    await harness.inbox_settled()
    assert sent["update_id"] not in pending_update_ids(harness.emulator)
    assert sum(HELP in t for t in texts(citizen)) == 1
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.app.inbox"]
    assert any(x.startswith("inbox: could not record an update (") for x in lines), lines
    assert not any(r.exc_info for r in caplog.records if r.name.startswith("bot."))


async def at_kinds(citizen: SimulatedUser) -> BotMessage:
    """From the signboard's deep link to the question of the report's kind."""
    await citizen.send_command("start", "c_KAD-RD-017")
    await citizen.press_button("✅ I agree", message=await expect(citizen, "privacy", timeout=30))
    return await expect(citizen, "What kind of feedback", timeout=30)


async def killed_while_replying(
    harness: Harness,
    tmp_path: Path,
    citizen: SimulatedUser,
    reach: Callable[[], Awaitable[Any]],
    step: Callable[[], Awaitable[Any]],
    reply: str,
) -> None:
    """A real run_bot.py takes the citizen through `reach`, then handles `step` and dies while
    the reply containing `reply` is on its way (Telegram is slow to answer it); the next worker
    starts on the same database."""
    await harness.stop_worker(harness.runner)
    process = await start_bot(harness, tmp_path, output=False, INBOX_LEASE_SECONDS="2")
    try:
        await reach()
        harness.emulator.faults.set(
            rate=1.0, kinds={"slow"}, methods={"sendMessage"}, slow_seconds=30, limit=1
        )
        await step()
        await harness.emulator.wait_for_call(
            method="sendMessage", predicate=lambda c: reply in str(c.params.get("text"))
        )
    finally:
        process.kill()
        await process.wait()
    harness.emulator.faults.clear()
    await harness.start_worker(inbox_lease_seconds=2)


@pytest.mark.both_databases
async def test_a_press_handled_again_after_a_kill_just_asks_the_next_question(
    harness: Harness, tmp_path: Path
) -> None:
    """The worker dies after the press moved the draft on and before its next question reached
    the citizen. The next worker runs the press again: the button is stale by then, and the
    citizen gets the question it led to, without being told their button is out of date."""
    citizen = harness.user("en")
    kinds: list[BotMessage] = []

    async def reach() -> None:
        kinds.append(await at_kinds(citizen))

    async def press() -> None:
        await citizen.press_button("⚠️ A problem", message=kinds[0])

    await killed_while_replying(harness, tmp_path, citizen, reach, press, "Describe")
    await expect(citizen, "Describe what you see", timeout=15)
    await harness.inbox_settled()
    replies = texts(citizen)
    assert not any("out of date" in t for t in replies), replies
    assert sum("What kind of feedback" in t for t in replies) == 1


@pytest.mark.both_databases
async def test_a_confirmation_handled_again_after_a_kill_sends_the_receipt(
    harness: Harness, tmp_path: Path
) -> None:
    """The worker dies after the report was stored and before the receipt reached the citizen:
    the next worker's run of the press finds the report sent, and gives the receipt with its
    reference (not "already sent"); there is still one report."""
    citizen = harness.user("en")

    async def send() -> None:
        await citizen.press_button("✅ Send report", message=citizen.messages[-1])

    await killed_while_replying(
        harness, tmp_path, citizen, lambda: report_until_summary(citizen), send, "received"
    )
    receipt = await expect(citizen, "Your report was received", "Reference:", timeout=15)
    await harness.inbox_settled()
    assert not any("already sent" in t for t in texts(citizen))
    async with harness.db.read() as session:
        references = (await session.scalars(select(Report.reference))).all()
    assert len(references) == 1 and references[0] in text_of(receipt)


@pytest.mark.both_databases
async def test_a_description_handled_again_after_a_kill_just_asks_the_next_question(
    harness: Harness, tmp_path: Path
) -> None:
    """The worker dies after the description was stored and while "Where is it?" was on its
    way. The next worker runs the text again, at the location step by then: the citizen gets
    the location question, not a hint that they typed at the wrong moment."""
    citizen = harness.user("en")

    async def reach() -> None:
        await citizen.press_button("⚠️ A problem", message=await at_kinds(citizen))
        await expect(citizen, "Describe what you see", timeout=30)

    async def describe() -> None:
        await citizen.send_text("The road surface is broken near the junction.")

    await killed_while_replying(harness, tmp_path, citizen, reach, describe, "Where is it")
    await expect(citizen, "Where is it?", timeout=15)
    await harness.inbox_settled()
    replies = texts(citizen)
    assert not any(t.startswith("Now:") for t in replies), replies
