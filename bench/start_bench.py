"""Benchmark: a plain echo bot and Commitment Watch answering /start, through the emulator.

    .venv/bin/python bench/start_bench.py [--users 200] [--rounds 3]

Both bots run as separate processes in the same run, alternating rounds; each simulated user
sends /start and waits for the whole answer. Results: bench/results/start.json.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    BotProcess,
    RunResult,
    echo_bot_env,
    median_of,
    running_emulator,
    timed,
    wait_for,
    wait_until_ready,
    write_results,
)
from bot.emulator import BotApiEmulator, SimulatedUser  # noqa: E402


async def one_round(
    emulator: BotApiEmulator, name: str, users: list[SimulatedUser], expect: str
) -> RunResult:
    result = RunResult(name=name, users=len(users), updates=len(users), seconds=0.0)

    async def one(user: SimulatedUser) -> None:
        try:
            await timed(result.latencies, user.send_text("/start"), lambda: wait_for(user, expect))
        except TimeoutError:
            result.errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(one(u) for u in users))
    result.seconds = time.perf_counter() - started
    return result


async def run(users: int, rounds: int) -> dict:
    async with running_emulator() as emulator:
        echo_token = emulator.create_bot(username="echo_bench_bot")
        cw_token = emulator.create_bot(username="cw_bench_bot")
        with tempfile.TemporaryDirectory() as tmp:
            echo = BotProcess(["bench/echo_bot.py"], echo_bot_env(emulator, echo_token))
            ours = BotProcess(
                ["run_bot.py"],
                {
                    "TELEGRAM_BOT_TOKEN": cw_token,
                    "TELEGRAM_API_BASE_URL": emulator.base_url,
                    "DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/bench.db",
                    "LOG_LEVEL": "WARNING",
                },
            )
            await echo.start()
            await ours.start()
            try:
                # Each bot has its own token, so its users are its own (user ids differ per bot).
                echo_probe = emulator.add_user(
                    user_id=9_000_000, first_name="probe", bot_token=echo_token
                )
                ours_probe = emulator.add_user(
                    user_id=9_000_001, first_name="probe", bot_token=cw_token
                )
                await wait_until_ready(emulator, echo_probe, "ping", "ping")
                await wait_until_ready(emulator, ours_probe, "/help", "/report")
                runs: dict[str, list[dict]] = {"echo": [], "commitment_watch": []}
                for r in range(rounds):
                    base = 1_000_000 + r * 10 * users
                    echo_users = [
                        emulator.add_user(user_id=base + i, first_name="u", bot_token=echo_token)
                        for i in range(users)
                    ]
                    our_users = [
                        emulator.add_user(
                            user_id=base + users + i, first_name="u", bot_token=cw_token
                        )
                        for i in range(users)
                    ]
                    runs["echo"].append(
                        (await one_round(emulator, "echo", echo_users, "/start")).summary()
                    )
                    runs["commitment_watch"].append(
                        (
                            await one_round(emulator, "commitment_watch", our_users, "privacy")
                        ).summary()
                    )
                peaks = {"echo": echo.peak_rss_mb(), "commitment_watch": ours.peak_rss_mb()}
            finally:
                await echo.stop()
                await ours.stop()
    summary = {
        name: {
            "median_updates_per_second": median_of(r, "updates_per_second"),
            "median_latency_p50_ms": median_of(r, "latency_p50_ms"),
            "median_latency_p99_ms": median_of(r, "latency_p99_ms"),
            "peak_rss_mb": peaks[name],
        }
        for name, r in runs.items()
    }
    summary["ratio_updates_per_second"] = round(
        summary["commitment_watch"]["median_updates_per_second"]
        / summary["echo"]["median_updates_per_second"],
        3,
    )
    return {"users": users, "rounds": rounds, "runs": runs, "summary": summary}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    results = asyncio.run(run(args.users, args.rounds))
    path = write_results("start", results)
    print(f"results written to {path}")
    print(results["summary"])


if __name__ == "__main__":
    main()
