"""Run Commitment Watch and the plain echo bot side by side through one emulator, in rounds.

A scenario plays one simulated user against a bot and returns how many updates it sent; the
latency of every step it times is collected. Both bots run as their own processes and take
turns, round by round, so the two are measured under the same machine load.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench.common import (
    BotProcess,
    RunResult,
    echo_bot_env,
    median_of,
    running_emulator,
    wait_until_ready,
)
from emulator import BotApiEmulator, SimulatedUser

Scenario = Callable[[SimulatedUser, list[float]], Awaitable[int]]
Seeder = Callable[[str], Awaitable[None]]


async def _round(name: str, users: list[SimulatedUser], scenario: Scenario) -> RunResult:
    result = RunResult(name=name, users=len(users), updates=0, seconds=0.0)

    async def one(user: SimulatedUser) -> None:
        try:
            sent = await scenario(user, result.latencies)
            result.updates += sent
        except (TimeoutError, LookupError):
            result.errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(one(u) for u in users))
    result.seconds = time.perf_counter() - started
    return result


def _users(emulator: BotApiEmulator, token: str, first_id: int, count: int) -> list[SimulatedUser]:
    return [emulator.add_user(first_id + i, "u", "en").for_bot(token) for i in range(count)]


async def compare(
    *,
    users: int,
    rounds: int,
    ours: Scenario,
    echo: Scenario,
    seed_database: Seeder | None = None,
    extra_env: dict[str, str] | None = None,
) -> dict[str, Any]:
    async with running_emulator() as emulator:
        echo_token = emulator.create_bot(username="echo_bench_bot")
        our_token = emulator.create_bot(username="cw_bench_bot")
        with tempfile.TemporaryDirectory() as tmp:
            database_url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
            if seed_database is not None:
                await seed_database(database_url)
            echo_bot = BotProcess(["-m", "bench.echo_bot"], echo_bot_env(emulator, echo_token))
            our_bot = BotProcess(
                ["run_bot.py"],
                {
                    "TELEGRAM_BOT_TOKEN": our_token,
                    "TELEGRAM_API_BASE_URL": emulator.base_url,
                    "DATABASE_URL": database_url,
                    "LOG_LEVEL": "WARNING",
                    # The emulator enforces no limits here; measure the bot, not the pacing.
                    "TELEGRAM_MAX_MESSAGES_PER_SECOND": "0",
                    **(extra_env or {}),
                },
            )
            await echo_bot.start()
            await our_bot.start()
            try:
                await wait_until_ready(
                    emulator, _users(emulator, echo_token, 9_000_000, 1)[0], "ping", "ping"
                )
                await wait_until_ready(
                    emulator, _users(emulator, our_token, 9_000_001, 1)[0], "/help", "/report"
                )
                runs: dict[str, list[dict[str, Any]]] = {"echo": [], "commitment_watch": []}
                for r in range(rounds):
                    first = 1_000_000 + r * 2 * users
                    echo_users = _users(emulator, echo_token, first, users)
                    our_users = _users(emulator, our_token, first + users, users)
                    runs["echo"].append((await _round("echo", echo_users, echo)).summary())
                    runs["commitment_watch"].append(
                        (await _round("commitment_watch", our_users, ours)).summary()
                    )
                peaks = {"echo": echo_bot.peak_rss_mb(), "commitment_watch": our_bot.peak_rss_mb()}
            finally:
                logs = {"echo": await echo_bot.stop(), "commitment_watch": await our_bot.stop()}
    results = summarize(users, rounds, runs, peaks)
    # A round with errors is explained by the end of that bot's log.
    results["log_tails"] = {
        name: logs[name][-1500:] for name in logs if results["summary"][name]["errors"]
    }
    return results


def summarize(
    users: int, rounds: int, runs: dict[str, list[dict[str, Any]]], peaks: dict[str, Any]
) -> dict[str, Any]:
    summary: dict[str, Any] = {
        name: {
            "median_updates_per_second": median_of(r, "updates_per_second"),
            "median_latency_p50_ms": median_of(r, "latency_p50_ms"),
            "median_latency_p99_ms": median_of(r, "latency_p99_ms"),
            "peak_rss_mb": peaks[name],
            "errors": sum(run["errors"] for run in r),
        }
        for name, r in runs.items()
    }
    echo_rate = summary["echo"]["median_updates_per_second"]
    summary["ratio_updates_per_second"] = (
        round(summary["commitment_watch"]["median_updates_per_second"] / echo_rate, 3)
        if echo_rate
        else None
    )
    return {"users": users, "rounds": rounds, "summary": summary, "runs": runs}
