"""Benchmark: an official resolves a report that 5,000 citizens follow; every one of them is told,
through the emulator with Telegram's limits enforced (30 messages/s overall, 1/s per chat, 1,000/s
for paid broadcasts).

    .venv/bin/python -m bench.notify_bench [--followers 5000]

Three runs side by side: the old pacing (29/s let out in bursts of 29, PTB's default shape), the
pacing of today (30/s in bursts of 3, bot/app/bot_api.py smooth_pace), and the same fan-out as
paid broadcasts (TELEGRAM_PAID_BROADCAST_FROM=1). Each measures messages per second as a share of
the 30/s limit, the 429s the emulator answered, messages lost (queued but never delivered; must
be 0) and, for paid broadcasts, the Stars they cost. Results: bench/results/notify.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

from bench.common import write_results
from bot.app import bot_api
from bot.app.runner import BotRunner
from bot.core.services import Services
from bot.core.settings import Settings
from bot.reports import answers
from bot.reports.lifecycle import Actor, ActorKind
from emulator import BotApiEmulator
from handlers import register_handlers
from storage.db import Database
from storage.migrate import upgrade_to_head
from storage.models import Agency, Citizen, Commitment, Official, Report, ReportSupporter
from storage.text import fold_text

TELEGRAM_LIMIT_PER_SECOND = 30.0
OFFICIAL_ID = 8_000_000
FIRST_CITIZEN_ID = 8_100_000


async def seed(db: Database, followers: int) -> int:
    """A published report, its author and `followers - 1` supporters; returns the report id."""
    async with db.write() as session:
        agency = Agency(code="bench-agency", names={"en": "Bench agency"})
        session.add(agency)
        await session.flush()
        session.add(Official(agency_id=agency.id, telegram_user_id=OFFICIAL_ID, language="en"))
        commitment = Commitment(
            code="BENCH-1",
            titles={"en": "Bench road"},
            agency_id=agency.id,
            search_text=fold_text("BENCH-1 Bench road"),
        )
        session.add(commitment)
        citizens = [
            Citizen(telegram_user_id=FIRST_CITIZEN_ID + n, language="en") for n in range(followers)
        ]
        session.add_all(citizens)
        await session.flush()
        report = Report(
            reference="CW-BENCH2",
            commitment_id=commitment.id,
            citizen_id=citizens[0].id,
            kind="problem",
            text="The road is broken.",
            language="en",
            status="published",
        )
        session.add(report)
        await session.flush()
        session.add_all(ReportSupporter(report_id=report.id, citizen_id=c.id) for c in citizens[1:])
        return report.id


STAR_PER_PAID_MESSAGE = 0.1
PACE_BURST = bot_api.PACE_BURST  # today's, before any run sets the module's for itself


async def run(followers: int, pace: float, burst: float, paid_from: int) -> dict:
    emulator = BotApiEmulator()  # Telegram's limits on, as in production
    await emulator.start()
    token = emulator.create_bot(username="notify_bench_bot")
    emulator.add_user(OFFICIAL_ID, "Official", "en")
    for n in range(followers):
        emulator.add_user(FIRST_CITIZEN_ID + n, "Citizen", "en")
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite+aiosqlite:///{Path(tmp) / 'notify.db'}")
        await upgrade_to_head(db)
        report_id = await seed(db, followers)
        settings = Settings(
            telegram_bot_token=token,
            telegram_api_base_url=emulator.base_url,
            telegram_file_base_url=emulator.base_file_url,
            database_url=db.url,
            max_messages_per_second=pace,
            paid_broadcast_from=paid_from,
        )
        bot_api.PACE_BURST = burst  # the limiter's shape for this run
        services = Services(settings=settings, db=db)
        runner = BotRunner(services, token, register_handlers, poll_timeout=1)
        await runner.start()
        try:
            before = len(emulator.calls)
            started = time.perf_counter()
            await answers.answer(
                services, report_id, "resolved", Actor(ActorKind.OFFICIAL, OFFICIAL_ID, "Bench")
            )
            delivered = 0
            while delivered < followers:
                await asyncio.sleep(0.5)  # a benchmark's polling, not a test's wait
                delivered = sum(
                    1
                    for call in emulator.calls[before:]
                    if call.method == "sendMessage"
                    and call.status == 200
                    and int(call.params.get("chat_id", 0)) >= FIRST_CITIZEN_ID
                )
                if time.perf_counter() - started > followers / 10 + 120:
                    break
            seconds = time.perf_counter() - started
            calls = emulator.calls[before:]
            paid = emulator.paid_messages()
        finally:
            await runner.stop()
            await db.dispose()
            await emulator.stop()
    rate = delivered / seconds
    # The pace itself: from the first notice Telegram took to the last (the end-to-end rate
    # above also counts the answer's transaction, which queues every notice).
    times = sorted(
        call.at
        for call in calls
        if call.method == "sendMessage"
        and call.status == 200
        and int(call.params.get("chat_id", 0)) >= FIRST_CITIZEN_ID
    )
    steady = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
    return {
        "pace_setting": pace,
        "pace_burst": burst,
        "paid_broadcast_from": paid_from,
        "followers": followers,
        "delivered": delivered,
        "lost": followers - delivered,
        "seconds": round(seconds, 1),
        "messages_per_second": round(rate, 2),
        "share_of_30_per_second": round(rate / TELEGRAM_LIMIT_PER_SECOND, 3),
        "steady_messages_per_second": round(steady, 2),
        "steady_share_of_30_per_second": round(steady / TELEGRAM_LIMIT_PER_SECOND, 3),
        "answers_429": sum(1 for c in calls if c.status == 429),
        "paid_messages": paid,
        "stars_spent": round(paid * STAR_PER_PAID_MESSAGE, 1),
    }


async def compare(followers: int) -> dict:
    runs = {
        "before_29_per_s_bursts_of_29": await run(followers, 29.0, 29.0, 0),
        "now_30_per_s_bursts_of_3": await run(
            followers, Settings().max_messages_per_second, PACE_BURST, 0
        ),
        "paid_broadcast": await run(followers, Settings().max_messages_per_second, PACE_BURST, 1),
    }
    before, now = runs["before_29_per_s_bursts_of_29"], runs["now_30_per_s_bursts_of_3"]
    return {
        "followers": followers,
        "runs": runs,
        "ratio_now_to_before": round(now["messages_per_second"] / before["messages_per_second"], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--followers", type=int, default=5000)
    args = parser.parse_args()
    results = asyncio.run(compare(args.followers))
    path = write_results("notify", results)
    print(json.dumps(results, indent=2))
    print(f"results written to {path}")


if __name__ == "__main__":
    main()
