"""The outbox dispatcher: a failed send is retried later and delivered once; a citizen who blocked
the bot fails for good without retries; nothing is lost in between."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.outbox.dispatcher import LEASE, OutboxDispatcher
from storage.models import ModerationCard, OutboxMessage, Report
from tests.support.clock import Clock
from tests.support.conversation import expect, reference_in
from tests.support.flows import reach_summary, send_plain_report
from tests.support.harness import Harness

STAFF_CHAT = -1001000000888


@pytest.fixture
def harness_overrides() -> dict[str, Any]:
    return {"moderator_chat_id": STAFF_CHAT}


async def outbox_rows(harness: Harness, kind: str) -> list[OutboxMessage]:
    async with harness.db.read() as session:
        rows = await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind))
        return list(rows.all())


async def test_card_survives_a_502_and_a_stopped_dispatcher(harness: Harness) -> None:
    clock = Clock()
    harness.services.clock = clock
    group = harness.emulator.add_group(STAFF_CHAT, "staff", admins=[harness.user("en")])
    dispatcher = harness.runner.dispatcher
    await dispatcher.stop()  # as if the bot went down right after the report was stored
    reference = await send_plain_report(harness.user("en"))
    rows = await outbox_rows(harness, "moderation_card")
    assert [(r.status, r.attempts) for r in rows] == [("pending", 0)]
    # Back up (driven by hand here, one batch at a time), and Telegram answers with a 502.
    harness.emulator.faults.set(rate=1.0, kinds={"5xx"}, methods={"sendMessage"}, limit=1)
    assert await dispatcher.drain_once() == 1
    assert await dispatcher.drain_once() == 0  # not due again before its retry delay
    rows = await outbox_rows(harness, "moderation_card")
    assert [(r.status, r.attempts) for r in rows] == [("pending", 1)]
    assert "Bad Gateway" in (rows[0].last_error or "")
    assert not [m for m in group.messages if reference in (m.text or "")]
    clock.now += timedelta(seconds=6)  # past the first retry delay
    assert await dispatcher.drain_once() == 1
    await expect(group, reference, timeout=15)
    rows = await outbox_rows(harness, "moderation_card")
    assert [(r.status, r.attempts) for r in rows] == [("sent", 2)]
    assert sum(reference in (m.text or "") for m in group.messages) == 1
    assert await dispatcher.drain_once() == 0  # nothing is sent twice


async def test_citizen_who_blocked_the_bot_is_not_retried(harness: Harness) -> None:
    group = harness.emulator.add_group(
        STAFF_CHAT, "staff", admins=[moderator := harness.user("en")]
    )
    citizen = harness.user("en")
    reference = await send_plain_report(citizen)
    card = await expect(group, reference, timeout=15)
    harness.emulator.block_bot(citizen.id, notify=False)
    await moderator.press_button("✅ Approve", message=card)
    await harness.emulator.wait_for_call("sendMessage", status=403, timeout=10)
    await expect(group, "Approved by", timeout=15)  # the card is updated all the same
    notices = await outbox_rows(harness, "status_notice")
    assert len(notices) == 1 and notices[0].status == "failed" and notices[0].attempts == 1
    assert "blocked" in (notices[0].last_error or "")


@pytest.mark.both_databases
async def test_two_workers_never_send_the_same_card_twice(harness: Harness) -> None:
    """Twenty reports' cards queued while no dispatcher ran; two workers (own engines, like two
    processes) then drain the outbox together: every card arrives exactly once."""
    group = harness.emulator.add_group(STAFF_CHAT, "staff", admins=[harness.user("en")])
    await harness.runner.dispatcher.stop()
    references = []
    for _ in range(20):
        references.append(await send_plain_report(harness.user("en")))
    other = await harness.start_worker(own_engine=True)
    await other.dispatcher.stop()
    # The new worker's own dispatcher may have sent a card or two before it was stopped.
    already = sum(r.status == "sent" for r in await outbox_rows(harness, "moderation_card"))
    sent = await asyncio.gather(
        *(worker.dispatcher.drain_once() for worker in (harness.runner, other) for _ in range(3))
    )
    assert already + sum(sent) >= 20
    while sum(sent):  # keep draining until both find nothing left
        sent = await asyncio.gather(
            harness.runner.dispatcher.drain_once(), other.dispatcher.drain_once()
        )
    cards = [m for m in group.messages if "waiting for review" in (m.text or "")]
    assert sorted(
        reference for m in cards for reference in references if reference in (m.text or "")
    ) == sorted(references)
    assert len(cards) == 20
    rows = await outbox_rows(harness, "moderation_card")
    assert len(rows) == 20 and {(r.status, r.attempts) for r in rows} == {("sent", 1)}


@pytest.mark.both_databases
async def test_a_line_slower_than_its_lease_keeps_it(harness: Harness) -> None:
    """Six cards for one staff group, each taking Telegram a second to answer, in the hands of
    a dispatcher whose lease is 1.5 s (a line waiting for the group's 19 a minute outlasts the
    real 120 s lease the same way). The lease is renewed while the line waits: a second
    worker's dispatcher, looking all the while, takes none of them; each card arrives once."""
    group = harness.emulator.add_group(STAFF_CHAT, "staff", admins=[harness.user("en")])
    other = await harness.start_worker(own_engine=True)
    for worker in (harness.runner, other):
        await worker.dispatcher.stop()  # driven by hand below
    references = [await send_plain_report(harness.user("en")) for _ in range(6)]
    await harness.inbox_settled()
    lease = timedelta(seconds=3)
    slow = OutboxDispatcher(harness.services, harness.runner.dispatcher.senders, lease=lease)
    watcher = OutboxDispatcher(other.services, other.dispatcher.senders, lease=lease)
    harness.emulator.faults.set(rate=1.0, kinds={"slow"}, methods={"sendMessage"}, slow_seconds=1)
    line = asyncio.create_task(slow.drain_once())
    # The slow dispatcher holds the line before the other looks (a database state, no event).
    while not any(r.locked_until for r in await outbox_rows(harness, "moderation_card")):  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    taken_by_the_other = 0
    while not line.done():
        taken_by_the_other += await watcher.drain_once()
        await asyncio.sleep(0.1)
    harness.emulator.faults.clear()
    assert await line == 6
    assert taken_by_the_other == 0
    cards = [m for m in group.messages if "waiting for review" in (m.text or "")]
    assert sorted(r for m in cards for r in references if r in (m.text or "")) == sorted(references)
    rows = await outbox_rows(harness, "moderation_card")
    assert len(rows) == 6 and {(r.status, r.attempts) for r in rows} == {("sent", 1)}


async def test_restart_in_the_middle_of_a_delivery_loses_and_repeats_nothing(
    harness: Harness,
) -> None:
    group = harness.emulator.add_group(STAFF_CHAT, "staff", admins=[harness.user("en")])
    citizen = harness.user("en")
    await reach_summary(citizen, "Half the streetlights are out along the new road.")
    since = len(harness.emulator.calls)
    # Telegram is slow to answer the card; the bot is restarted while it waits.
    harness.emulator.faults.set(
        rate=1.0, kinds={"slow"}, methods={"sendMessage"}, slow_seconds=1.5, limit=2
    )
    await citizen.press_button("✅ Send report")
    await harness.emulator.wait_for_call(
        "sendMessage",
        predicate=lambda c: str(c.params.get("chat_id")) == str(STAFF_CHAT),
        since=since,
        timeout=10,
    )
    await harness.restart()
    harness.emulator.faults.clear()
    reference = reference_in(await expect(citizen, "Reference:", timeout=15))
    await expect(group, reference, timeout=15)
    rows = await outbox_rows(harness, "moderation_card")
    assert [(r.status, r.attempts) for r in rows] == [("sent", 1)]
    assert sum(reference in (m.text or "") for m in group.messages) == 1


async def test_a_card_telegram_accepted_is_recorded_before_the_writers_waiting(
    harness: Harness,
) -> None:
    """The card is in the staff group, and the bot's other writers are queued for SQLite's
    write lock when Telegram's answer arrives. Recording the card (with marking it sent, in one
    transaction) goes before them; if the process dies while they write, the card is not posted
    again when its lease runs out (it was, 120 s later, when the record waited in line)."""
    if not harness.db.is_sqlite:
        pytest.skip("the queue of writers for one write lock is SQLite's")
    clock = Clock()
    harness.services.clock = clock
    group = harness.emulator.add_group(STAFF_CHAT, "staff", admins=[harness.user("en")])
    dispatcher = harness.runner.dispatcher
    await dispatcher.stop()  # driven by hand below
    reference = await send_plain_report(harness.user("en"))
    await harness.inbox_settled()  # no update's done-mark among the writers below
    since = len(harness.emulator.calls)
    # Telegram takes a moment to answer the card, as it does under load.
    harness.emulator.faults.set(
        rate=1.0, kinds={"slow"}, methods={"sendMessage"}, slow_seconds=1.0, limit=1
    )
    delivery = asyncio.create_task(dispatcher.drain_once())
    await harness.emulator.wait_for_call(
        "sendMessage",
        predicate=lambda c: str(c.params.get("chat_id")) == str(STAFF_CHAT),
        since=since,
        timeout=10,
    )
    # The card is posted; the bot has not heard so yet. Other writers of this process: one
    # holds the write lock, one waits for it.
    gates = {name: (asyncio.Event(), asyncio.Event()) for name in ("holder", "next")}

    async def writer(name: str) -> None:
        inside, leave = gates[name]
        async with harness.db.write():
            inside.set()
            await leave.wait()

    writers = [asyncio.create_task(writer("holder"))]
    await gates["holder"][0].wait()
    writers.append(asyncio.create_task(writer("next")))
    # Telegram answers; the card's record joins the queue behind the writer waiting.
    async with asyncio.timeout(10):
        # The database has no event for "a writer queued": look every few milliseconds.
        while harness.db.writers_waiting < 2:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    gates["holder"][1].set()
    await gates["next"][0].wait()  # the next writer holds the lock now ...
    delivery.cancel()  # ... and the process dies
    with contextlib.suppress(asyncio.CancelledError):
        await delivery
    gates["next"][1].set()
    await asyncio.gather(*writers)
    harness.emulator.faults.clear()

    clock.now += LEASE + timedelta(seconds=1)  # a restarted dispatcher finds the lease run out
    await dispatcher.drain_once()
    assert sum(reference in (m.text or "") for m in group.messages) == 1
    rows = await outbox_rows(harness, "moderation_card")
    assert [(r.status, r.attempts) for r in rows] == [("sent", 1)]
    async with harness.db.read() as session:
        report = await session.scalar(select(Report).where(Report.reference == reference))
        assert report is not None
        card = await session.get(ModerationCard, report.id)
    posted = [m for m in group.messages if reference in (m.text or "")]
    assert card is not None and card.message_id == posted[0].message_id


async def test_transient_errors_are_retried_within_seconds(harness: Harness) -> None:
    """Five 502s in a row: the card is tried again 1, 2, 5, 15 and 60 s after each, so it reaches
    the moderators 83 s after the first try, posted once."""
    clock = Clock()
    harness.services.clock = clock
    group = harness.emulator.add_group(STAFF_CHAT, "staff", admins=[harness.user("en")])
    dispatcher = harness.runner.dispatcher
    await dispatcher.stop()
    reference = await send_plain_report(harness.user("en"))
    harness.emulator.faults.set(rate=1.0, kinds={"5xx"}, methods={"sendMessage"}, limit=5)
    started = clock.now
    waits = []
    for _ in range(5):
        assert await dispatcher.drain_once() == 1
        (row,) = await outbox_rows(harness, "moderation_card")
        assert row.status == "pending" and row.next_attempt_at is not None
        wait = row.next_attempt_at - clock.now
        waits.append(wait.total_seconds())
        clock.now += wait - timedelta(milliseconds=500)
        assert await dispatcher.drain_once() == 0  # not due before its delay
        clock.now += timedelta(milliseconds=500)
    assert waits == [1, 2, 5, 15, 60]
    assert await dispatcher.drain_once() == 1
    await expect(group, reference, timeout=15)
    (row,) = await outbox_rows(harness, "moderation_card")
    assert (row.status, row.attempts) == ("sent", 6)
    assert clock.now - started == timedelta(seconds=83)
    assert sum(reference in (m.text or "") for m in group.messages) == 1
