"""One pace for the bot token across workers (issue 14): two workers on PostgreSQL sending at once
stay inside Telegram's 30 messages a second together, and earn no 429, where each pacing alone
at 30/s would send 60/s."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from bot.app.runner import BotRunner
from tests.support.harness import Harness

PER_WORKER = 75


async def send_many(runner: BotRunner, chat_ids: list[int]) -> None:
    bot = runner.application.bot
    await asyncio.gather(*(bot.send_message(chat_id, "A notice") for chat_id in chat_ids))


@pytest.mark.both_databases
async def test_two_workers_keep_one_pace_and_earn_no_429(harness: Harness) -> None:
    if harness.db.is_sqlite:
        pytest.skip("SQLite runs one worker: its own pace is the token's (tests/test_limits.py)")
    second = await harness.start_worker(own_engine=True)
    people = [harness.user("en") for _ in range(2 * PER_WORKER)]
    ids = [person.id for person in people]
    since = len(harness.emulator.calls)
    await asyncio.gather(
        send_many(harness.runner, ids[:PER_WORKER]), send_many(second, ids[PER_WORKER:])
    )
    calls = [c for c in harness.emulator.calls[since:] if c.method == "sendMessage"]
    assert [c.status for c in calls if c.status != 200] == []  # not one 429
    accepted = [c.at for c in calls if c.status == 200]
    assert len(accepted) == 2 * PER_WORKER
    assert all(len(person.messages) == 1 for person in people)
    # What Telegram saw: 30 a second, the two workers together (each pacing alone would have
    # sent 60). A second may hold a few more: the first one's burst of 3, and the jitter of
    # the requests' way to the server.
    start = min(accepted)
    per_second = Counter(int(at - start) for at in accepted)
    assert max(per_second.values()) <= 36, per_second
    assert max(accepted) - start >= (2 * PER_WORKER - 3) / 30 - 0.5, per_second
