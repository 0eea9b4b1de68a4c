"""Benchmark: N citizens each completing a full report at once, against the echo bot.

    .venv/bin/python -m bench.report_flow_bench [--users 200] [--rounds 3]

A citizen: /start from a signboard's deep link, accepts the privacy notice, picks the kind,
describes, shares a location, sends one photo (downloaded, stripped of metadata, stored), and
confirms. The echo bot gets the same number of updates per user, each awaited. Both bots run in
the same run, round by round. Results: bench/results/report_flow.json, with completed reports per
second, p50/p99 reply latency, the ratio of update rates, and each bot's peak memory.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json

from PIL import Image

from bench.common import timed, wait_for, write_results
from bench.compare import compare
from emulator import SimulatedUser
from storage.db import Database
from storage.migrate import upgrade_to_head
from storage.models import Agency, Commitment
from storage.text import fold_text

UPDATES_PER_REPORT = 7


def _photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (120, 90, 60)).save(out, format="JPEG", quality=80)
    return out.getvalue()


PHOTO = _photo()


async def seed(database_url: str) -> None:
    db = Database(database_url)
    try:
        await upgrade_to_head(db)
        async with db.write() as session:
            agency = Agency(code="bench-works", names={"en": "Ministry of Works"})
            session.add(agency)
            await session.flush()
            session.add(
                Commitment(
                    code="BENCH-RD-001",
                    titles={"en": "Bench road"},
                    agency_id=agency.id,
                    theme="Roads",
                    search_text=fold_text("BENCH-RD-001 Bench road"),
                )
            )
    finally:
        await db.dispose()


async def citizen(user: SimulatedUser, latencies: list[float]) -> int:
    async def step(action, fragment: str) -> None:
        await timed(latencies, action, lambda: wait_for(user, fragment))

    await step(user.send_command("start", "c_BENCH-RD-001"), "privacy")
    await step(user.press_button("✅ I agree"), "What kind of feedback")
    await step(user.press_button("⚠️ A problem"), "Describe what you see")
    await step(user.send_text("The road surface is broken near the junction."), "Where is it?")
    # Each citizen somewhere else (about 1 km apart), so none is offered another's report.
    spot = user.id % 10_000
    await step(
        user.send_location(9.0 + (spot % 100) * 0.01, 7.0 + (spot // 100) * 0.01), "Add photos"
    )
    await step(user.send_photo(PHOTO), "1 photo added")
    await step(user.press_button("✅ Done with photos"), "Your report")
    await step(user.press_button("✅ Send report"), "Reference:")
    return UPDATES_PER_REPORT + 1


async def echo(user: SimulatedUser, latencies: list[float]) -> int:
    for n in range(UPDATES_PER_REPORT + 1):
        text = f"message {n} from {user.id}"
        await timed(latencies, user.send_text(text), lambda t=text: wait_for(user, t))
    return UPDATES_PER_REPORT + 1


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    results = asyncio.run(
        compare(users=args.users, rounds=args.rounds, ours=citizen, echo=echo, seed_database=seed)
    )
    summary = results["summary"]
    per_round = [
        run["users"] / run["seconds"]
        for run in results["runs"]["commitment_watch"]
        if run["seconds"]
    ]
    summary["median_reports_per_second"] = round(sorted(per_round)[len(per_round) // 2], 2)
    path = write_results("report_flow", results)
    print(json.dumps(summary, indent=2))
    print(f"results written to {path}")


if __name__ == "__main__":
    main()
