"""Benchmark: a plain echo bot and Commitment Watch answering /start, through the emulator.

    .venv/bin/python -m bench.start_bench [--users 200] [--rounds 3]

Each simulated user sends /start and waits for the whole answer (for the echo bot, the echo; for
Commitment Watch, the welcome and the privacy notice). Results: bench/results/start.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json

from bench.common import timed, wait_for, write_results
from bench.compare import compare
from emulator import SimulatedUser


async def ours(user: SimulatedUser, latencies: list[float]) -> int:
    await timed(latencies, user.send_command("start"), lambda: wait_for(user, "privacy"))
    return 1


async def echo(user: SimulatedUser, latencies: list[float]) -> int:
    await timed(latencies, user.send_command("start"), lambda: wait_for(user, "/start"))
    return 1


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    results = asyncio.run(compare(users=args.users, rounds=args.rounds, ours=ours, echo=echo))
    path = write_results("start", results)
    print(json.dumps(results["summary"], indent=2))
    print(f"results written to {path}")


if __name__ == "__main__":
    main()
