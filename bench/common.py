"""Shared pieces of the benchmarks: the emulator, bots in their own processes, and statistics.

Each bot under test runs as a separate process pointed at the emulator (as it would be pointed at
a self-hosted Bot API server), so its peak memory is its own and not the emulator's.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bot.channels.web.server import application
from bot.core.services import Services
from bot.core.settings import load_settings
from emulator import BotApiEmulator, BotMessage, SimulatedUser
from storage.db import Database

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


@dataclass
class RunResult:
    name: str
    users: int
    updates: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    peak_rss_mb: float | None = None
    errors: int = 0

    @property
    def updates_per_second(self) -> float:
        return self.updates / self.seconds if self.seconds else 0.0

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        return {
            "name": self.name,
            "users": self.users,
            "updates": self.updates,
            "seconds": round(self.seconds, 3),
            "updates_per_second": round(self.updates_per_second, 1),
            "latency_p50_ms": round(percentile(ordered, 50) * 1000, 1),
            "latency_p99_ms": round(percentile(ordered, 99) * 1000, 1),
            "peak_rss_mb": self.peak_rss_mb,
            "errors": self.errors,
        }


def percentile(ordered: list[float], p: float) -> float:
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def median_of(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


async def wait_for(user: SimulatedUser, fragment: str, timeout: float = 60.0) -> BotMessage:
    """The next bot message containing `fragment`."""
    while True:
        message = await user.next_message(timeout=timeout)
        if fragment in (message.text or message.caption or ""):
            return message


async def timed(
    latencies: list[float], action: Awaitable[Any], reply: Callable[[], Awaitable[Any]]
) -> None:
    """Time from sending an update to the reply a person would wait for."""
    started = time.perf_counter()
    await action
    await reply()
    latencies.append(time.perf_counter() - started)


class BotProcess:
    """A bot in its own process, with its peak resident memory read from /proc."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self._args = args
        self._env = env
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            *self._args,
            env={**os.environ, **self._env, "PYTHONPATH": str(ROOT)},
            cwd=str(ROOT),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )

    def peak_rss_mb(self) -> float | None:
        if self.process is None:
            return None
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
        return None

    async def stop(self) -> str:
        if self.process is None:
            return ""
        if self.process.returncode is None:
            self.process.terminate()
        try:
            _, stderr = await asyncio.wait_for(self.process.communicate(), 30)
        except TimeoutError:
            self.process.kill()
            _, stderr = await self.process.communicate()
        return (stderr or b"").decode(errors="replace")[-2000:]


@asynccontextmanager
async def running_emulator() -> Any:
    emulator = BotApiEmulator()
    emulator.limits.enabled = False  # measure the bot, not Telegram's limits
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()


async def wait_until_ready(
    emulator: BotApiEmulator, user: SimulatedUser, probe: str, expect: str
) -> None:
    """Poll the bot with a probe message until it answers (it is starting up)."""
    for _ in range(120):
        await user.send_text(probe)
        try:
            await wait_for(user, expect, timeout=1.0)
            return
        except TimeoutError:
            continue
    raise RuntimeError("the bot did not start")


def echo_bot_env(emulator: BotApiEmulator, token: str) -> dict[str, str]:
    return {"ECHO_TOKEN": token, "ECHO_BASE_URL": emulator.base_url}


def write_results(name: str, payload: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": name,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        **payload,
    }
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    return path


def machine_info() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
    }


def record_run(path: Path, key: str, head: dict[str, Any], results: dict[str, Any]) -> None:
    """Merge one run's results (after `head`: what was measured on) under `key`, stamped with
    the time and the machine, and print them."""
    entry = {
        **head,
        **results,
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **machine_info(),
    }
    merge_results(path, key, entry)
    for name, value in results.items():
        print(f"{name}: {value}")
    print(f"results in {path} under {key!r}")


def merge_results(path: Path, key: str, entry: dict[str, Any]) -> None:
    """Keep one entry per size in a results file, so runs at 100k and 1M sit side by side."""
    results: dict[str, Any] = {}
    if path.is_file():
        results = json.loads(path.read_text(encoding="utf-8"))
    results[key] = entry
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


# --- the public web side over real HTTP (bench/open311_bench.py, bench/pages_bench.py) -----------


def timings(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p99_ms": round(percentile(ordered, 99) * 1000, 1),
        "rounds": len(ordered),
    }


async def measure(rounds: int, call: Callable[[], Awaitable[Any]]) -> dict[str, float]:
    """p50 and p99 of `rounds` calls, after one that warms caches."""
    await call()
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - started)
    return timings(samples)


@dataclass
class WebSide:
    """The real web application (bot/channels/web) served on a local port, its database, and a
    client: `getter(path, **params)` is a call that GETs the path and returns the body."""

    base: str
    db: Database
    services: Services
    http: aiohttp.ClientSession

    def getter(self, path: str, **params: str) -> Callable[[], Awaitable[bytes]]:
        async def get() -> bytes:
            async with self.http.get(self.base + path, params=params) as response:
                response.raise_for_status()
                body: bytes = await response.read()
                return body

        return get


@asynccontextmanager
async def serving_web(url: str, **settings: str) -> AsyncIterator[WebSide]:
    """Serve the web application over the database at `url` on 127.0.0.1, any free port."""
    loaded = load_settings(
        {"DATABASE_URL": url, "LOG_LEVEL": "WARNING", **settings}, env_file=Path("/-")
    )
    db = Database(url)
    services = Services(settings=loaded, db=db)
    runner = web.AppRunner(application(services), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        async with aiohttp.ClientSession() as http:
            yield WebSide(f"http://127.0.0.1:{runner.addresses[0][1]}", db, services, http)
    finally:
        await runner.cleanup()
        await db.dispose()
