"""One outsider replaying a moderation card's button hundreds of times must not stall the bot:
others are answered meanwhile, Telegram is asked about the outsider's membership once, and the
outsider's presses are refused from memory (issue 11, item 9)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from tests.support.conversation import expect
from tests.support.harness import Harness
from tests.test_moderation import send_report

STAFF_CHAT = -1001000000779
PRESSES = 300


@pytest.fixture
def harness_overrides() -> dict[str, Any]:
    return {"moderator_chat_id": STAFF_CHAT}


def member_checks(harness: Harness, user_id: int) -> int:
    return sum(
        1
        for c in harness.emulator.calls
        if c.method == "getChatMember" and int(c.params.get("user_id", 0)) == user_id
    )


async def test_one_accounts_flood_does_not_hold_back_the_others(harness: Harness) -> None:
    emulator = harness.emulator
    moderator = harness.user("en", first_name="Ada")
    group = emulator.add_group(STAFF_CHAT, "staff", admins=[moderator])
    card = await expect(group, await send_report(harness.user("en")), "waiting", timeout=15)
    outsider = harness.user("en", first_name="Mallory")
    # The outsider's first membership check hangs a while: every later press of theirs queues
    # behind it. While it hangs, nobody else may be kept waiting.
    emulator.faults.set(
        rate=1.0, kinds={"slow"}, methods={"getChatMember"}, slow_seconds=4, limit=1
    )
    approve = card.callback_data("✅ Approve")
    presses = [await outsider.send_callback(approve, message=card) for _ in range(PRESSES)]
    newcomer = harness.user("en")
    await newcomer.send_command("start")
    await expect(newcomer, "Welcome to Commitment Watch", timeout=10)
    merge = await moderator.press_button("🔁 Merge", message=card)
    await moderator.wait_for_callback_answer(merge, timeout=10)
    answered = {a.query_id for a in outsider.callback_answers}
    assert presses[0] not in answered, "others were served while the outsider's press hung"

    for query_id in presses:
        answer = await outsider.wait_for_callback_answer(query_id, timeout=30)
        assert answer.text == "Only moderators can do this."
    assert member_checks(harness, outsider.id) == 1  # asked once, then remembered
    assert member_checks(harness, moderator.id) == 1


async def test_membership_checks_are_not_paced_like_group_messages(harness: Harness) -> None:
    """Telegram limits messages to a group to 20 a minute, not questions about its members:
    25 people pressing once each are all answered at once, not one every 3 s."""
    emulator = harness.emulator
    moderator = harness.user("en", first_name="Ada")
    group = emulator.add_group(STAFF_CHAT, "staff", admins=[moderator])
    card = await expect(group, await send_report(harness.user("en")), "waiting", timeout=15)
    approve = card.callback_data("✅ Approve")
    people = [harness.user("en") for _ in range(25)]
    presses = [(p, await p.send_callback(approve, message=card)) for p in people]
    for person, query_id in presses:
        await person.wait_for_callback_answer(query_id, timeout=10)
    assert all(member_checks(harness, p.id) == 1 for p in people)


def inbox_bookkeeping(statement: str) -> bool:
    return "inbox" in statement or statement.strip() in {
        "BEGIN IMMEDIATE",
        "BEGIN DEFERRED",
        "SELECT 1",
    }


async def test_a_known_outsider_is_refused_without_any_query(harness: Harness) -> None:
    emulator = harness.emulator
    moderator = harness.user("en", first_name="Ada")
    group = emulator.add_group(STAFF_CHAT, "staff", admins=[moderator])
    card = await expect(group, await send_report(harness.user("en")), "waiting", timeout=15)
    # The outbox's idle ticks and the scheduled jobs (digests every minute) would query the
    # database meanwhile: only the presses may.
    await harness.runner.dispatcher.stop()
    job_queue = harness.runner.application.job_queue
    assert job_queue is not None
    job_queue.scheduler.pause()
    outsider = harness.user("en", first_name="Mallory")
    approve = card.callback_data("✅ Approve")
    await outsider.wait_for_callback_answer(await outsider.send_callback(approve, message=card))
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    engine = harness.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        presses = [await outsider.send_callback(approve, message=card) for _ in range(50)]
        for query_id in presses:
            answer = await outsider.wait_for_callback_answer(query_id)
            assert answer.text == "Only moderators can do this."
    finally:
        event.remove(engine, "before_cursor_execute", record)
    # Only the inbox's bookkeeping (each press recorded, then marked done): the refusal itself
    # asks the database nothing.
    assert [s for s in statements if not inbox_bookkeeping(s)] == []
    assert member_checks(harness, outsider.id) == 1
