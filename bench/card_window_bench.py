"""Benchmark: how long a moderation card is out but not recorded (issue 11, item 3).

    .venv/bin/python -m bench.card_window_bench [--writers 0,20,100] [--cards 200]
        [--pause 0.05] [--postgres-url postgresql+asyncpg://postgres@127.0.0.1:5432/test]

Between Telegram's answer to the card's sendMessage and the commit that marks the outbox message
sent and records the card (one transaction, bot/outbox/dispatcher.py), a crash posts the card
again when the lease runs out. This measures that time with the real Database and the real
queries while other writers of the same process keep SQLite's write lock busy (as citizens'
steps do under load): each writer commits a small transaction (an outbox insert, as each report
step queues something) in a loop (with --pause, a random pause of that mean between commits:
100 writers at 0.05 s are about 2,000 commits/s), and the card's record is written either in line with them
("ordinary", as before issue 11) or ahead of them ("urgent", as the dispatcher does now).
PostgreSQL has no process-wide writer queue, so both modes measure the same there.
Results: bench/results/card_window.json (milliseconds: p50, p99, max).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import machine_info, percentile, write_results
from bench.notify_bench import seed
from storage.db import Database
from storage.migrate import upgrade_to_head
from storage.queries import moderation as card_queries
from storage.queries import outbox as queries

STAFF_CHAT = -1001000000777


async def _writer(db: Database, stop: asyncio.Event, n: int, pause: float) -> None:
    count = 0
    while not stop.is_set():
        count += 1
        async with db.write() as session:
            await queries.add(
                session,
                kind="status_notice",
                key=f"load:{n}:{count}",
                payload={"n": count},
                chat_id=None,
                not_before=datetime.now(UTC),
            )
        await asyncio.sleep(random.uniform(0, 2 * pause))


async def _cards(db: Database, report_id: int, cards: int, urgent: bool) -> list[float]:
    lags = []
    for n in range(cards):
        async with db.write() as session:
            await queries.add(
                session,
                kind="moderation_card",
                key=f"card:{n}:{urgent}",
                payload={"report_id": report_id},
                chat_id=None,
                not_before=datetime.now(UTC),
            )
            row = await queries.by_key(session, f"card:{n}:{urgent}")
            assert row is not None
            message_id = row.id
        await asyncio.sleep(random.uniform(0.002, 0.01))  # the Bot API call
        answered = time.perf_counter()  # Telegram's answer is in
        async with db.write(urgent=urgent) as session:
            now = datetime.now(UTC)
            await queries.mark_sent(session, message_id, now)
            await card_queries.save_card(session, report_id, STAFF_CHAT, 1000 + n, now)
        lags.append(time.perf_counter() - answered)
    return lags


async def measure(url: str, writers: int, cards: int, urgent: bool, pause: float) -> dict[str, Any]:
    db = Database(url, pool_size=max(10, writers // 4))
    try:
        await upgrade_to_head(db)
        report_id = await seed(db, 1)
        stop = asyncio.Event()
        load = [asyncio.create_task(_writer(db, stop, n, pause)) for n in range(writers)]
        await asyncio.sleep(0.2)  # the load is running
        lags = sorted(await _cards(db, report_id, cards, urgent))
        stop.set()
        for task in load:
            with contextlib.suppress(Exception):
                await task
    finally:
        await db.dispose()
    return {
        "writers": writers,
        "writer_pause_s": pause,
        "mode": "urgent" if urgent else "ordinary",
        "cards": cards,
        "p50_ms": round(percentile(lags, 50) * 1000, 2),
        "p99_ms": round(percentile(lags, 99) * 1000, 2),
        "max_ms": round(lags[-1] * 1000, 2),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {"machine": machine_info(), "sqlite": [], "postgresql": []}
    for writers in args.writers:
        for urgent in (False, True):
            with tempfile.TemporaryDirectory() as tmp:
                url = f"sqlite+aiosqlite:///{Path(tmp) / 'window.db'}"
                entry = await measure(url, writers, args.cards, urgent, args.pause)
            results["sqlite"].append(entry)
            print("sqlite", entry)
    if args.postgres_url:
        from tools.scratch_db import temporary_postgres_database

        for writers in args.writers:
            async with temporary_postgres_database(args.postgres_url) as url:
                entry = await measure(url, writers, args.cards, True, args.pause)
            results["postgresql"].append(entry)
            print("postgresql", entry)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--writers", type=lambda v: [int(x) for x in v.split(",")], default=[0, 20, 100]
    )
    parser.add_argument("--cards", type=int, default=200)
    parser.add_argument(
        "--pause",
        type=float,
        default=0.0,
        help="each writer's mean pause between commits, s (0: as fast as it can, saturation)",
    )
    parser.add_argument("--postgres-url", default=os.environ.get("TEST_POSTGRES_URL"))
    args = parser.parse_args()
    results = asyncio.run(run(args))
    name = "card_window" if args.pause == 0 else f"card_window_pause{args.pause:g}"
    path = write_results(name, results)
    print(f"results: {path}")


if __name__ == "__main__":
    main()
