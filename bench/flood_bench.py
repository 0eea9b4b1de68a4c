"""Benchmark: one account floods the bot; how long do the others wait for their replies meanwhile?
Through the emulator, Telegram's limits on, as in production.

    .venv/bin/python -m bench.flood_bench [--presses 300] [--newcomers 30] [--moderator-presses 5]
        [--messages 1000] [--flood-seconds 60] [--rounds 3]

Two comparisons in one run, each side by side with the same measurement without a flood:

1. Forged presses (issue 11): an outsider's presses on a moderation card, sent all at once before
   anyone else's update. Whether every forged press was answered, and how often Telegram was
   asked whether the outsider is a member (getChatMember).
2. A message flood (issue 13): a citizen with a report in progress sends --messages texts evenly
   over --flood-seconds (1,000 in a minute), while --rounds rounds of the others' measurement run
   spread over that minute; the baseline is the same rounds without the flood. How many answers the
   flooder got (the flood limit, bot/app/flood.py: the first FLOOD_MESSAGES_PER_MINUTE handled, one
   "please slow down", the rest dropped).

In each measurement new citizens send /start (time to the privacy notice) and a moderator presses a
card's buttons (time to the press's answer). Reports p50/p99 of both and the ratio of the p99s
(target: within 2x of normal). Results: bench/results/flood.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import BotProcess, percentile, wait_for, write_results
from bot.channels.buttons import card_button
from emulator import BotApiEmulator, BotMessage, SimulatedUser
from storage.db import Database
from storage.migrate import upgrade_to_head
from storage.models import Citizen, Commitment, Draft, Report
from storage.text import fold_text

STAFF_CHAT = -1009000000001
MODERATOR_ID = 9_000_001
OUTSIDER_ID = 9_000_002
FLOODER_ID = 9_000_003
FIRST_NEWCOMER = 9_100_000
PAUSE_BETWEEN_PHASES = 3.0


async def seed(db: Database) -> int:
    """One report waiting for review; returns its id."""
    async with db.write() as session:
        commitment = Commitment(
            code="FLOOD-1", titles={"en": "Flood road"}, search_text=fold_text("FLOOD-1 road")
        )
        citizen = Citizen(telegram_user_id=9_000_100, language="en")
        session.add_all([commitment, citizen])
        await session.flush()
        report = Report(
            reference="CW-FLOOD2",
            commitment_id=commitment.id,
            citizen_id=citizen.id,
            kind="problem",
            text="The culvert has collapsed into the road.",
            language="en",
            status="pending_review",
        )
        session.add(report)
        # The flooder: agreed to the privacy notice, a report in progress at its first step, so
        # every message of theirs that is handled is a search stored in the draft (the dear case).
        flooder = Citizen(telegram_user_id=FLOODER_ID, language="en", consent_at=datetime.now(UTC))
        session.add(flooder)
        await session.flush()
        session.add(
            Draft(citizen_id=flooder.id, chat_id=FLOODER_ID, step="commitment", data={}, version=1)
        )
        await session.flush()
        return report.id


def latency_summary(latencies: list[float]) -> dict[str, Any]:
    ordered = sorted(latencies)
    return {
        "replies": len(ordered),
        "p50_ms": round(percentile(ordered, 50) * 1000, 1),
        "p99_ms": round(percentile(ordered, 99) * 1000, 1),
        "max_ms": round((ordered[-1] if ordered else 0.0) * 1000, 1),
    }


async def newcomer_start(user: SimulatedUser, latencies: list[float]) -> None:
    started = time.perf_counter()
    await user.send_command("start")
    await wait_for(user, "privacy", timeout=60)
    latencies.append(time.perf_counter() - started)


async def moderator_presses(
    moderator: SimulatedUser, card: BotMessage, report_id: int, times: int, latencies: list[float]
) -> None:
    """Open and close the card's merge menu: each press answered, then the card redrawn."""
    for n in range(times):
        data = card_button(report_id, "mg" if n % 2 == 0 else "bk")
        started = time.perf_counter()
        query_id = await moderator.send_callback(data, message=card)
        await moderator.wait_for_callback_answer(query_id, timeout=60)
        latencies.append(time.perf_counter() - started)


async def others_round(
    emulator: BotApiEmulator,
    card: BotMessage,
    report_id: int,
    first_newcomer: int,
    newcomers: int,
    moderator_times: int,
    starts: list[float],
    presses_answered: list[float],
) -> None:
    """New citizens' /start and a moderator's presses, at once; their latencies appended."""
    people = [
        emulator.add_user(first_newcomer + n, "Newcomer", language_code="en")
        for n in range(newcomers)
    ]
    await asyncio.gather(
        *(newcomer_start(person, starts) for person in people),
        moderator_presses(
            emulator.user(MODERATOR_ID), card, report_id, moderator_times, presses_answered
        ),
    )


def others_summary(starts: list[float], presses_answered: list[float]) -> dict[str, Any]:
    return {
        "newcomers_start": latency_summary(starts),
        "moderator_press": latency_summary(presses_answered),
        "everyone": latency_summary(starts + presses_answered),
    }


async def phase(
    emulator: BotApiEmulator,
    card: BotMessage,
    report_id: int,
    *,
    first_newcomer: int,
    newcomers: int,
    moderator_times: int,
    outsider: SimulatedUser | None,
    presses: int,
) -> dict[str, Any]:
    forged: list[str] = []
    if outsider is not None:
        approve = card_button(report_id, "ok")
        forged = [await outsider.send_callback(approve, message=card) for _ in range(presses)]
    starts: list[float] = []
    presses_answered: list[float] = []
    started = time.perf_counter()
    await others_round(
        emulator,
        card,
        report_id,
        first_newcomer,
        newcomers,
        moderator_times,
        starts,
        presses_answered,
    )
    result = others_summary(starts, presses_answered)
    if outsider is not None:
        for query_id in forged:
            await outsider.wait_for_callback_answer(query_id, timeout=120)
        result["forged_presses"] = presses
        result["forged_answered"] = sum(
            1 for a in outsider.callback_answers if a.query_id in set(forged)
        )
        result["burst_seconds"] = round(time.perf_counter() - started, 2)
    return result


async def flood_messages(flooder: SimulatedUser, messages: int, seconds: float) -> float:
    """`messages` texts, evenly over `seconds`; returns how long sending them took."""
    started = time.perf_counter()
    for n in range(messages):
        due = started + seconds * n / messages
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await flooder.send_text(f"road {n}")
    return time.perf_counter() - started


async def rounds_of_others(
    emulator: BotApiEmulator,
    card: BotMessage,
    report_id: int,
    *,
    first_newcomer: int,
    newcomers: int,
    moderator_times: int,
    rounds: int,
    spacing: float,
) -> dict[str, Any]:
    """`rounds` of the others' measurement, one every `spacing` seconds."""
    starts: list[float] = []
    presses_answered: list[float] = []
    started = time.perf_counter()
    for r in range(rounds):
        delay = started + r * spacing - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await others_round(
            emulator,
            card,
            report_id,
            first_newcomer + r * newcomers,
            newcomers,
            moderator_times,
            starts,
            presses_answered,
        )
    return {"rounds": rounds, **others_summary(starts, presses_answered)}


async def replies_until_quiet(user: SimulatedUser, quiet: float) -> list[BotMessage]:
    said: list[BotMessage] = []
    while True:
        try:
            said.append(await user.next_message(timeout=quiet))
        except TimeoutError:
            return said


async def message_flood(
    emulator: BotApiEmulator,
    bot: BotProcess,
    card: BotMessage,
    report_id: int,
    *,
    first_newcomer: int,
    newcomers: int,
    moderator_times: int,
    messages: int,
    seconds: float,
    rounds: int,
) -> dict[str, Any]:
    """The others' rounds without a flood, then the same rounds during one account's flood."""
    spacing = seconds / rounds
    common = {
        "newcomers": newcomers,
        "moderator_times": moderator_times,
        "rounds": rounds,
        "spacing": spacing,
    }
    quiet = await rounds_of_others(
        emulator, card, report_id, first_newcomer=first_newcomer, **common
    )
    await asyncio.sleep(PAUSE_BETWEEN_PHASES)
    flooder = emulator.user(FLOODER_ID)
    before = len(emulator.calls)
    cpu_bot = bot_cpu_seconds(bot)
    sending = asyncio.create_task(flood_messages(flooder, messages, seconds))
    await asyncio.sleep(min(1.0, spacing / 2))  # the flood is under way when the others start
    during = await rounds_of_others(
        emulator,
        card,
        report_id,
        first_newcomer=first_newcomer + rounds * newcomers,
        **common,
    )
    sent_in = await sending
    answers = await replies_until_quiet(flooder, quiet=5.0)
    during["cpu_seconds_bot"] = round(bot_cpu_seconds(bot) - cpu_bot, 2)
    slow_downs = [m for m in answers if "sending messages very fast" in (m.text or "")]
    ratio = during["everyone"]["p99_ms"] / max(quiet["everyone"]["p99_ms"], 0.1)
    return {
        "messages": messages,
        "sent_in_seconds": round(sent_in, 1),
        "no_flood": quiet,
        "during_flood": during,
        "p99_ratio": round(ratio, 2),
        "target_p99_within_2x": ratio <= 2.0,
        "flooder_answers": len(answers),
        "flooder_slow_down_answers": len(slow_downs),
        "flooder_messages_handled": len(answers) - len(slow_downs),
        "bot_api_calls_for_flooder": sum(
            1
            for c in emulator.calls[before:]
            if str(c.params.get("chat_id", "")) == str(FLOODER_ID)
        ),
    }


async def run(
    presses: int,
    newcomers: int,
    moderator_times: int,
    messages: int = 1000,
    flood_seconds: float = 60.0,
    rounds: int = 3,
) -> dict[str, Any]:
    emulator = BotApiEmulator()  # Telegram's limits on, as in production
    await emulator.start()
    token = emulator.create_bot(username="flood_bench_bot")
    moderator = emulator.add_user(MODERATOR_ID, "Moderator", language_code="en")
    outsider = emulator.add_user(OUTSIDER_ID, "Outsider", language_code="en")
    emulator.add_user(FLOODER_ID, "Flooder", language_code="en")
    group = emulator.add_group(STAFF_CHAT, "Staff", admins=[moderator])
    with tempfile.TemporaryDirectory() as tmp:
        database_url = f"sqlite+aiosqlite:///{Path(tmp) / 'flood.db'}"
        db = Database(database_url)
        await upgrade_to_head(db)
        report_id = await seed(db)
        await db.dispose()
        # The bot in its own process, as it would run against Telegram: the emulator's work
        # is not the bot's.
        bot = BotProcess(
            ["run_bot.py"],
            {
                "TELEGRAM_BOT_TOKEN": token,
                "TELEGRAM_API_BASE_URL": emulator.base_url,
                "TELEGRAM_FILE_BASE_URL": emulator.base_file_url,
                "DATABASE_URL": database_url,
                "MODERATOR_CHAT_ID": str(STAFF_CHAT),
                "LOG_LEVEL": "ERROR",
            },
        )
        await bot.start()
        try:
            card = await first_card(moderator, group)
            common = {"newcomers": newcomers, "moderator_times": moderator_times}
            normal = await phase(
                emulator,
                card,
                report_id,
                first_newcomer=FIRST_NEWCOMER,
                outsider=None,
                presses=0,
                **common,
            )
            # Let the bot's own pacing (messages/s) and Telegram's buckets fill up again, so that
            # the second phase starts as the first did, but for the burst.
            await asyncio.sleep(PAUSE_BETWEEN_PHASES)
            before = len(emulator.calls)
            cpu_bench, cpu_bot = time.process_time(), bot_cpu_seconds(bot)
            burst = await phase(
                emulator,
                card,
                report_id,
                first_newcomer=FIRST_NEWCOMER + newcomers,
                outsider=outsider,
                presses=presses,
                **common,
            )
            burst["cpu_seconds"] = {
                "bot": round(bot_cpu_seconds(bot) - cpu_bot, 2),
                "emulator_and_people": round(time.process_time() - cpu_bench, 2),
            }
            burst["membership_checks_of_outsider"] = sum(
                1
                for c in emulator.calls[before:]
                if c.method == "getChatMember" and int(c.params.get("user_id", 0)) == OUTSIDER_ID
            )
            await asyncio.sleep(PAUSE_BETWEEN_PHASES)
            flood = await message_flood(
                emulator,
                bot,
                card,
                report_id,
                first_newcomer=FIRST_NEWCOMER + 2 * newcomers,
                newcomers=newcomers,
                moderator_times=moderator_times,
                messages=messages,
                seconds=flood_seconds,
                rounds=rounds,
            )
        finally:
            errors = await bot.stop()
            await emulator.stop()
    ratio = burst["everyone"]["p99_ms"] / max(normal["everyone"]["p99_ms"], 0.1)
    return {
        "presses": presses,
        "newcomers": newcomers,
        "moderator_presses": moderator_times,
        "no_burst": normal,
        "during_burst": burst,
        "p99_ratio": round(ratio, 2),
        "target_p99_within_2x": ratio <= 2.0,
        "message_flood": flood,
        "bot_stderr_tail": errors.strip().splitlines()[-3:],
    }


def bot_cpu_seconds(bot: BotProcess) -> float:
    """User and system CPU time of the bot's process so far (Linux /proc)."""
    if bot.process is None:
        return 0.0
    try:
        fields = Path(f"/proc/{bot.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def first_card(moderator: SimulatedUser, group: Any) -> BotMessage:
    """/queue in the staff group until the bot, starting up, posts the waiting report's card."""
    for _ in range(60):
        await moderator.send_text("/queue", chat=group)
        try:
            return await wait_for_card(group)
        except TimeoutError:
            continue
    raise RuntimeError("the bot did not start")


async def wait_for_card(group: Any) -> BotMessage:
    while True:
        message: BotMessage = await group.next_message(timeout=2)
        if "CW-FLOOD2" in (message.text or message.caption or "") and message.buttons:
            return message


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--presses", type=int, default=300)
    parser.add_argument("--newcomers", type=int, default=30)
    parser.add_argument("--moderator-presses", type=int, default=5)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--flood-seconds", type=float, default=60.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    results = asyncio.run(
        run(
            args.presses,
            args.newcomers,
            args.moderator_presses,
            args.messages,
            args.flood_seconds,
            args.rounds,
        )
    )
    path = write_results("flood", results)
    print(json.dumps(results, indent=2))
    print(f"results written to {path}")


if __name__ == "__main__":
    main()
