"""Benchmark: citizens reporting through several webhook workers behind HAProxy on PostgreSQL,
with a worker SIGKILLed mid-run (issue 14's figures).

    .venv/bin/python -m bench.scale_out_bench [--citizens 1000] [--workers 1,3] [--no-polling]

Each run has its own scratch PostgreSQL database (created on the server of --postgres, by
default TEST_POSTGRES_URL or postgresql+asyncpg://postgres@127.0.0.1:5432/test, and dropped
after), its own Bot API emulator in this process with Telegram's limits on (30 messages/s
overall, 1/s per private chat with a burst of 3, 20/min per group), and real `run_bot.py`
workers with a staff group (MODERATOR_CHAT_ID), so every report's moderation card is posted:

- "webhook": N workers in webhook mode (each its own WEBHOOK_PORT and WEB_PORT, one
  WEBHOOK_SECRET, INBOX_LEASE_SECONDS=--lease) behind HAProxy with deploy/haproxy.cfg (its server
  lines repeated for N workers; HAProxy is installed with apt-get when missing). The emulator
  posts every update to HAProxy with the secret token, as Telegram does, and retries it until
  it is answered 2xx. With 2 workers or more, one is SIGKILLed once half the citizens are past
  --kill-at, and started again --restart-after seconds later.
- "polling": one worker in long-polling mode (no HAProxy), SIGKILLed and restarted the same way.

--citizens citizens start at once. Each one: /start, "I agree", searches the commitment by its
code and picks it, "A problem", a description and, straight after it without waiting for the
bot, a location (so one citizen's two updates are on the wire together, and with several
workers usually reach two of them), then half of them one photo and "Done", the other half
"Skip photos", then "Send report". A citizen waits for each step's prompt and never sends
anything twice: a prompt that does not come within --step-timeout leaves the citizen stuck.

Figures, per run: reports acknowledged (the citizen read "Reference:", or, for a "Send report"
handled again after a crash, "already sent (reference ...)") but not in the database (must be
0); duplicated reports (rows beyond one per citizen); citizens stuck (a prompt that never came,
e.g. after "Sorry, something went wrong": the step would have to be repeated), and prompts that
came twice (steps answered twice); per-user order violations (a step's prompt arriving after a
later step's); replies that are no step's prompt (a stale-button notice, a step hint, an
error); moderation cards posted twice (staff-group messages for the same reference) and cards
not yet posted when the run ended (the group's 20/min); outbound messages per second from the
emulator's call log (the most in any 1 s window and over 5 s, and the mean over the seconds in
which at least 30 citizens' replies were owed throughout); the 429s the emulator answered
(private chats and the staff group apart, and by method); webhook deliveries refused or failed
(each retried); elapsed time until the last report and step latency; peak database
connections; how late this process's event loop woke (a stall bunches the times the emulator
records, which lifts the 1 s maximum: the 5 s one is the sturdier figure); the workers' WARNING/ERROR log lines and HAProxy's reasons for taking a worker
out. Results are merged into bench/results/scale_out.json under the run's size, with the
machine, its load and the commit measured. --keep-logs keeps each run's worker and HAProxy
logs, every citizen's conversation and the emulator's call log in a directory it prints.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import aiohttp
from sqlalchemy import func, select, text

import emulator.webhook as emulator_webhook
from bench.common import RESULTS, machine_info, merge_results, percentile
from bench.report_flow_bench import PHOTO, seed
from bot.outbox.dispatcher import LEASE as OUTBOX_LEASE
from emulator import ApiCall, BotApiEmulator, BotMessage, SimulatedGroup, SimulatedUser
from emulator.ratelimit import SENDING_METHODS
from storage.db import Database
from storage.models import Citizen, InboxUpdate, Report, ReportPhoto
from tools.scratch_db import temporary_postgres_database

ROOT = Path(__file__).resolve().parent.parent
HAPROXY_CONFIG = ROOT / "deploy" / "haproxy.cfg"
RESULTS_FILE = RESULTS / "scale_out.json"
DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
SECRET = "scale-out-bench-secret"
STAFF_CHAT = -1001000000914
FIRST_CITIZEN_ID = 6_100_000
CODE = "BENCH-RD-001"  # seeded by bench.report_flow_bench.seed
TELEGRAM_RATE = 30.0
# A second counts as "a backlog waits" when at least this many citizens' replies were owed
# throughout it: enough for a whole second of messages at Telegram's 30/s.
BACKLOG_STEPS = 30
REFERENCE = re.compile(r"CW-[2-9A-HJ-NP-Z]{6}")
CARD_HEAD = re.compile(r"^(CW-[2-9A-HJ-NP-Z]{6}) · ")

# -- the citizen's script ---------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    name: str
    is_prompt: Callable[[str], bool]  # does this bot message answer the step?


STEPS = (
    Step("start", lambda t: "Before you start: your privacy" in t),
    Step("agree", lambda t: "Which commitment is your report about?" in t),
    Step("search", lambda t: "I found 1 commitment" in t),
    Step("choose", lambda t: "What kind of feedback" in t),
    Step("kind", lambda t: "Describe what you see" in t),
    Step("describe", lambda t: t.startswith("Where is it?")),
    Step("locate", lambda t: t.startswith("Add photos")),
    Step("photo", lambda t: t.startswith("1 photo added")),
    Step("review", lambda t: t.startswith("Your report\n")),
    Step("send", lambda t: "Reference:" in t),
)
STEP_NAMES = [step.name for step in STEPS]
ALREADY_SENT = "This report was already sent (reference "
# Replies that belong to a step without being its prompt.
EXPECTED_EXTRA = ("📍 Location saved.",)


def classify(body: str) -> int | None:
    """The index of the step whose prompt this is, if any."""
    for index, step in enumerate(STEPS):
        if step.is_prompt(body):
            return index
    return None


@dataclass
class CitizenRun:
    user: SimulatedUser
    index: int
    with_photo: bool
    sent: dict[str, float] = field(default_factory=dict)  # step -> when its update went
    answered: dict[str, float] = field(default_factory=dict)  # step -> when its prompt came
    received: list[tuple[int | None, BotMessage]] = field(default_factory=list)
    stuck_at: str | None = None
    already_sent: bool = False  # the reference came as "already sent", not as the thank-you
    reference: str | None = None


class Progress:
    """How many citizens are past the kill step; set `half` once half of them are."""

    def __init__(self, citizens: int, kill_at: str) -> None:
        self.kill_at = kill_at
        self.needed = max(1, citizens // 2)
        self.passed = 0
        self.half = asyncio.Event()

    def answered(self, step: str) -> None:
        if step == self.kill_at:
            self.passed += 1
            if self.passed >= self.needed:
                self.half.set()


class Stuck(Exception):
    pass


async def drive(citizen: CitizenRun, progress: Progress, step_timeout: float) -> None:
    """One citizen's report, each step's prompt awaited; nothing is ever sent twice."""
    user = citizen.user
    loop = asyncio.get_running_loop()

    def sent(step: str) -> None:
        citizen.sent[step] = loop.time()

    async def prompt(step: str) -> BotMessage:
        index = STEP_NAMES.index(step)
        deadline = loop.time() + step_timeout
        while True:
            for found, message in citizen.received:
                # A "Send report" handled again after a crash answers "already sent" with the
                # reference, instead of the thank-you: the citizen has their reference.
                late = step == "send" and message.body.startswith(ALREADY_SENT)
                citizen.already_sent = citizen.already_sent or late
                if found == index or late:
                    citizen.answered[step] = loop.time()
                    progress.answered(step)
                    return message
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise Stuck(step)
            try:
                event = await user.next_message(timeout=remaining)
            except TimeoutError:
                raise Stuck(step) from None
            if not event.edited:  # a new message, not an edit of one
                citizen.received.append((classify(event.body), event))

    try:
        sent("start")
        await user.send_command("start")
        notice = await prompt("start")
        sent("agree")
        await user.press_button("✅ I agree", message=notice)
        await prompt("agree")
        sent("search")
        await user.send_text(CODE)
        results = await prompt("search")
        sent("choose")
        await user.press_button(next(b for b in results.buttons if CODE in b), message=results)
        kinds = await prompt("choose")
        sent("kind")
        await user.press_button("⚠️ A problem", message=kinds)
        await prompt("kind")
        sent("describe")
        await user.send_text(f"The road surface is broken near junction {citizen.index}.")
        # Straight after, without waiting for "Where is it?": both updates are on the wire.
        sent("locate")
        spot = citizen.index % 10_000  # each about 1 km from the next: no duplicates offered
        await user.send_location(9.0 + (spot % 100) * 0.01, 7.0 + (spot // 100) * 0.01)
        await prompt("describe")
        photos = await prompt("locate")
        if citizen.with_photo:
            sent("photo")
            await user.send_photo(PHOTO)
            added = await prompt("photo")
            sent("review")
            await user.press_button("✅ Done with photos", message=added)
        else:
            sent("review")
            await user.press_button("➡️ Skip photos", message=photos)
        summary = await prompt("review")
        sent("send")
        await user.press_button("✅ Send report", message=summary)
        received = await prompt("send")
        found = REFERENCE.search(received.body)
        citizen.reference = found.group(0) if found else None
    except Stuck as stuck:
        citizen.stuck_at = str(stuck)
    except LookupError as error:  # a button that is not there: stuck as well
        citizen.stuck_at = f"{list(citizen.sent)[-1]} ({error})"


async def read_rest(citizen: CitizenRun) -> None:
    """What the bot sent after the citizen stopped reading (late or repeated prompts)."""
    while True:
        try:
            event = await citizen.user.next_message(timeout=0)
        except TimeoutError:
            return
        if not event.edited:
            citizen.received.append((classify(event.body), event))


# -- processes --------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ensure_haproxy() -> str:
    """The haproxy binary; installed from the system packages when missing."""
    found = shutil.which("haproxy") or (
        "/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None
    )
    if found:
        return found
    print("HAProxy is missing: apt-get install haproxy", flush=True)
    install = ["apt-get", "install", "-y", "-q", "haproxy"]
    if subprocess.run(install, check=False).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], check=True)
        subprocess.run(install, check=True)
    return shutil.which("haproxy") or "/usr/sbin/haproxy"


def haproxy_config(workers: int) -> str:
    """deploy/haproxy.cfg with each backend's `server w1` line repeated for w1..wN."""
    lines: list[str] = []
    for line in HAPROXY_CONFIG.read_text(encoding="utf-8").splitlines():
        match = re.match(r"\s*server w(\d+) ", line)
        if match is None:
            lines.append(line)
        elif match.group(1) == "1":
            lines.extend(
                line.replace("server w1 ", f"server w{n} ").replace("CW_W1_", f"CW_W{n}_")
                for n in range(1, workers + 1)
            )
    return "\n".join(lines) + "\n"


def open_log(path: Path) -> IO[bytes]:
    return path.open("ab")


@dataclass
class Worker:
    number: int
    webhook_port: int
    web_port: int
    log: Path
    process: asyncio.subprocess.Process | None = None


class Cluster:
    """HAProxy (webhook mode) and the workers, each a real run_bot.py process."""

    def __init__(
        self,
        *,
        mode: str,
        workers: int,
        env: dict[str, str],
        logs: Path,
        haproxy: str | None,
    ) -> None:
        self.mode = mode
        self.env = env
        self.logs = logs
        self.haproxy = haproxy
        self.telegram_port = free_port()
        self.web_port = free_port()
        self.workers = [
            Worker(n, free_port(), free_port(), logs / f"worker{n}.log")
            for n in range(1, workers + 1)
        ]
        self.balancer: asyncio.subprocess.Process | None = None
        self.http = aiohttp.ClientSession()

    async def start(self) -> None:
        if self.mode == "webhook":
            await self._start_haproxy()
        for worker in self.workers:
            await self.start_worker(worker)
        if self.mode == "webhook":
            await self._healthy(f"http://127.0.0.1:{self.web_port}/healthz")
            # The webhook backend has health checks of its own: until a worker is up there,
            # HAProxy answers Telegram's posts 503 itself.
            await self._healthy(f"http://127.0.0.1:{self.telegram_port}/", not_status=503)

    async def _start_haproxy(self) -> None:
        assert self.haproxy is not None
        config = self.logs / "haproxy.cfg"
        config.write_text(haproxy_config(len(self.workers)), encoding="utf-8")
        env = {
            **os.environ,
            "CW_TELEGRAM_BIND": f"127.0.0.1:{self.telegram_port}",
            "CW_WEB_BIND": f"127.0.0.1:{self.web_port}",
        }
        for worker in self.workers:
            env[f"CW_W{worker.number}_HOST"] = "127.0.0.1"
            env[f"CW_W{worker.number}_WEBHOOK_PORT"] = str(worker.webhook_port)
            env[f"CW_W{worker.number}_WEB_PORT"] = str(worker.web_port)
        log = open_log(self.logs / "haproxy.log")
        try:
            self.balancer = await asyncio.create_subprocess_exec(
                self.haproxy,
                "-db",
                "-f",
                str(config),
                env=env,
                stdout=log,
                stderr=log,
            )
        finally:
            log.close()

    def worker_env(self, worker: Worker) -> dict[str, str]:
        env = {**os.environ, **self.env, "PYTHONPATH": str(ROOT), "WEB_PORT": str(worker.web_port)}
        if self.mode == "webhook":
            env.update(
                WEBHOOK_URL=f"http://127.0.0.1:{self.telegram_port}",
                WEBHOOK_PORT=str(worker.webhook_port),
                WEBHOOK_SECRET=SECRET,
            )
        return env

    async def start_worker(self, worker: Worker) -> None:
        log = open_log(worker.log)
        try:
            worker.process = await asyncio.create_subprocess_exec(
                sys.executable,
                str(ROOT / "run_bot.py"),
                env=self.worker_env(worker),
                cwd=str(self.logs),  # no .env from the project root
                stdout=asyncio.subprocess.DEVNULL,
                stderr=log,
            )
        finally:
            log.close()
        await self._healthy(f"http://127.0.0.1:{worker.web_port}/healthz")

    async def kill(self, worker: Worker) -> None:
        assert worker.process is not None
        worker.process.send_signal(signal.SIGKILL)
        await worker.process.wait()

    async def _healthy(self, url: str, seconds: float = 120, not_status: int | None = None) -> None:
        """Until `url` answers 200 (or, with not_status, anything but that status)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while loop.time() < deadline:
            with suppress(aiohttp.ClientError):
                async with self.http.get(url) as response:
                    status = response.status
                if status == 200 if not_status is None else status != not_status:
                    return
            await asyncio.sleep(0.2)
        raise RuntimeError(f"{url} never answered 200; see the logs in {self.logs}")

    async def stop(self) -> None:
        """SIGTERM (each worker drains), then HAProxy; whatever is still up after 40 s is
        killed."""

        async def end(process: asyncio.subprocess.Process | None) -> None:
            if process is None or process.returncode is not None:
                return
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 40)
            except TimeoutError:
                process.kill()
                await process.wait()

        await asyncio.gather(*(end(worker.process) for worker in self.workers))
        await end(self.balancer)
        await self.http.close()


@asynccontextmanager
async def running_cluster(**kwargs: Any) -> AsyncIterator[Cluster]:
    cluster = Cluster(**kwargs)
    try:
        await cluster.start()
        yield cluster
    finally:
        await cluster.stop()


# -- measuring --------------------------------------------------------------------------------


class DeliveryFailures:
    """Counts the emulator's webhook deliveries that were not answered 2xx (each is retried)."""

    def __init__(self) -> None:
        self.errors: Counter[str] = Counter()
        self._original = emulator_webhook._post

    async def _post(self, *args: Any, **kwargs: Any) -> str | None:
        error = await self._original(*args, **kwargs)
        if error is not None:
            self.errors[error] += 1
        return error

    def __enter__(self) -> DeliveryFailures:
        emulator_webhook._post = self._post  # type: ignore[assignment]
        return self

    def __exit__(self, *exc_info: object) -> None:
        emulator_webhook._post = self._original  # type: ignore[assignment]


class DatabaseSamples:
    """Sampled every half second: connections open to the run's database, and open inbox rows
    whose lease has run out while a worker still holds them (a worker that died, or one that did
    not renew in time: then a second worker may handle the update beside it)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.peak_connections = 0
        self.expired_leases_max = 0
        self.expired_seen_at: list[float] = []  # seconds since `started`, one per second

    async def watch(self, started: float) -> None:
        loop = asyncio.get_running_loop()
        connections = text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        )
        while True:
            with suppress(Exception):
                async with self.db.read() as session:
                    count = await session.scalar(connections)
                    expired = await session.scalar(
                        select(func.count())
                        .select_from(InboxUpdate)
                        .where(
                            InboxUpdate.done_at.is_(None),
                            InboxUpdate.claimed_by.is_not(None),
                            InboxUpdate.lease_until < datetime.now(UTC),
                        )
                    )
                self.peak_connections = max(self.peak_connections, int(count or 0))
                if expired:
                    self.expired_leases_max = max(self.expired_leases_max, int(expired))
                    second = float(int(loop.time() - started))
                    if second not in self.expired_seen_at:
                        self.expired_seen_at.append(second)
            await asyncio.sleep(0.5)


def as_ranges(seconds: list[float]) -> list[str]:
    """[3, 4, 5, 9] as ["3-5", "9"]."""
    ranges: list[list[int]] = []
    for second in sorted(int(s) for s in seconds):
        if ranges and second <= ranges[-1][1] + 1:
            ranges[-1][1] = second
        else:
            ranges.append([second, second])
    return [f"{a}-{b}" if a != b else str(a) for a, b in ranges]


class LoopLag:
    """How late this process's event loop wakes up: the emulator records each call's time when
    the loop gets to it, so a stall here bunches the recorded times (a gap, then a burst)."""

    def __init__(self) -> None:
        self.worst = 0.0
        self.stalls = 0

    async def watch(self, tick: float = 0.05) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(tick)
            late = loop.time() - before - tick
            self.worst = max(self.worst, late)
            self.stalls += late > 0.2


def max_in_window(times: list[float], width: float = 1.0) -> int:
    best, first = 0, 0
    for last, at in enumerate(times):
        while times[first] <= at - width:
            first += 1
        best = max(best, last - first + 1)
    return best


def backlog_rate(
    sends: list[float], intervals: list[tuple[float, float]], start: float, end: float
) -> tuple[float | None, int]:
    """Mean messages per second over the whole seconds in [start, end) during which at least
    BACKLOG_STEPS replies were owed throughout; and how many such seconds there were."""
    seconds = max(0, int(end - start))
    if not seconds:
        return None, 0
    owed = [0] * (seconds + 1)
    for asked, came in intervals:
        first = max(0, int(-(-(asked - start) // 1)))  # the first second wholly after `asked`
        last = min(seconds, int((came - start) // 1))  # seconds wholly before `came`
        if first < last:
            owed[first] += 1
            owed[last] -= 1
    per_second = [0] * seconds
    for at in sends:
        slot = int(at - start)
        if 0 <= slot < seconds:
            per_second[slot] += 1
    busy, running = [], 0
    for slot in range(seconds):
        running += owed[slot]
        if running >= BACKLOG_STEPS:
            busy.append(per_second[slot])
    if not busy:
        return None, 0
    return sum(busy) / len(busy), len(busy)


def traffic_figures(
    calls: list[ApiCall],
    bot_id: int,
    citizens: list[CitizenRun],
    started: float,
    citizens_done: float,
) -> dict[str, Any]:
    """Outbound messages, 429s, elapsed time and step latency, from the emulator's call log."""
    sends = sorted(
        c.at
        for c in calls
        if c.bot_id == bot_id and c.method in SENDING_METHODS and c.status == 200
    )
    refused = [c for c in calls if c.bot_id == bot_id and c.status == 429]
    in_group = sum(1 for c in refused if str(c.params.get("chat_id")) == str(STAFF_CHAT))
    # Elapsed: until the last acknowledged report (a stuck citizen's wait for a prompt that
    # never comes is not the bot's throughput).
    done_at = [c.answered["send"] for c in citizens if c.reference]
    end = max(done_at) if done_at else citizens_done
    elapsed = end - started
    intervals = [(c.sent[s], c.answered[s]) for c in citizens for s in c.answered]
    during = sum(1 for at in sends if started <= at <= end)
    backlog_mean, backlog_seconds = backlog_rate(sends, intervals, started, end)
    latencies = sorted(c.answered[s] - c.sent[s] for c in citizens for s in c.answered)
    return {
        "messages_sent": len(sends),
        "messages_per_second_max_1s": max_in_window(sends),
        "messages_per_second_max_5s": round(max_in_window(sends, 5.0) / 5, 1),
        "messages_per_second_mean": round(during / elapsed, 1) if elapsed else None,
        "messages_per_second_while_backlog": (
            round(backlog_mean, 1) if backlog_mean is not None else None
        ),
        "share_of_30_while_backlog": (
            round(backlog_mean / TELEGRAM_RATE, 3) if backlog_mean is not None else None
        ),
        "seconds_with_backlog": backlog_seconds,
        "answers_429": len(refused),
        "answers_429_private_chats": len(refused) - in_group,
        "answers_429_staff_group": in_group,
        "answers_429_by_method": dict(Counter(c.method for c in refused)),
        "elapsed_seconds": round(elapsed, 1),
        "seconds_until_every_citizen_done_or_stuck": round(citizens_done - started, 1),
        "reports_per_second": round(len(done_at) / elapsed, 2) if elapsed else None,
        "step_latency_p50_ms": round(percentile(latencies, 50) * 1000),
        "step_latency_p99_ms": round(percentile(latencies, 99) * 1000),
    }


def conversation_figures(citizens: list[CitizenRun]) -> dict[str, Any]:
    repeats = 0
    citizens_repeating = 0
    order_violations = 0
    unexpected: Counter[str] = Counter()
    for citizen in citizens:
        counts = Counter(found for found, _ in citizen.received if found is not None)
        extra = sum(n - 1 for n in counts.values() if n > 1)
        repeats += extra
        citizens_repeating += extra > 0
        highest = -1
        for found, message in citizen.received:
            if found is None:
                if message.body not in EXPECTED_EXTRA:
                    unexpected[message.body[:120]] += 1
                continue
            if found < highest:
                order_violations += 1
            highest = max(highest, found)
    stuck = Counter((c.stuck_at or "").split(" ")[0] for c in citizens if c.stuck_at)
    return {
        "citizens_stuck": sum(stuck.values()),
        "stuck_at": dict(stuck),
        "steps_answered_twice": repeats,
        "citizens_with_a_step_answered_twice": citizens_repeating,
        "order_violations": order_violations,
        "unexpected_replies": sum(unexpected.values()),
        "unexpected_reply_samples": dict(unexpected.most_common(5)),
    }


async def database_figures(db: Database, citizens: list[CitizenRun]) -> dict[str, Any]:
    async with db.read() as session:
        rows = (
            await session.execute(
                select(Citizen.telegram_user_id, Report.reference, func.count(ReportPhoto.id))
                .join(Report, Report.citizen_id == Citizen.id)
                .outerjoin(ReportPhoto, ReportPhoto.report_id == Report.id)
                .group_by(Citizen.telegram_user_id, Report.reference)
            )
        ).all()
        inbox_open = await session.scalar(
            select(func.count()).select_from(InboxUpdate).where(InboxUpdate.done_at.is_(None))
        )
        inbox_rows = await session.scalar(select(func.count()).select_from(InboxUpdate))
        attempts = dict(
            (
                await session.execute(
                    select(InboxUpdate.attempts, func.count()).group_by(InboxUpdate.attempts)
                )
            ).all()
        )
    reports: dict[int, list[tuple[str, int]]] = {}
    for user_id, reference, photos in rows:
        reports.setdefault(int(user_id), []).append((reference, int(photos)))
    lost = wrong_photos = 0
    for citizen in citizens:
        if citizen.reference is None:
            continue
        mine = dict(reports.get(citizen.user.id, []))
        if citizen.reference not in mine:
            lost += 1
        elif mine[citizen.reference] != (1 if citizen.with_photo else 0):
            wrong_photos += 1
    return {
        "acknowledged_reports_lost": lost,
        "duplicated_reports": sum(max(0, len(r) - 1) for r in reports.values()),
        "citizens_with_duplicated_reports": sum(1 for r in reports.values() if len(r) > 1),
        "reports_with_wrong_photo_count": wrong_photos,
        "reports_in_database": len(rows),
        "inbox_rows": int(inbox_rows or 0),
        "inbox_open_at_end": int(inbox_open or 0),
        "inbox_updates_taken_more_than_once": sum(n for a, n in attempts.items() if a > 1),
        "inbox_updates_by_times_taken": {str(a): n for a, n in sorted(attempts.items())},
    }


async def wait_for_cards(group: SimulatedGroup, references: set[str], deadline: float) -> None:
    """Until every reference has its card in the staff group, or the deadline."""
    loop = asyncio.get_running_loop()
    while loop.time() < deadline and not references <= set(cards_in(group)):
        with suppress(TimeoutError):
            await group.next_message(timeout=deadline - loop.time())


async def wait_for_empty_inbox(db: Database, seconds: int = 30) -> None:
    """Let the workers finish what the inbox holds (nothing should be left open)."""
    for _ in range(seconds):
        async with db.read() as session:
            open_rows = await session.scalar(
                select(func.count()).select_from(InboxUpdate).where(InboxUpdate.done_at.is_(None))
            )
        if not open_rows:
            return
        await asyncio.sleep(1.0)


def cards_in(group: SimulatedGroup) -> Counter[str]:
    """Staff-group messages per reference (a card's first line is 'CW-XXXXXX · status')."""
    found: Counter[str] = Counter()
    for message in group.messages:
        head = CARD_HEAD.match(message.body)
        if head:
            found[head.group(1)] += 1
    return found


def write_conversations(path: Path, citizens: list[CitizenRun]) -> None:
    """Every citizen's bot messages in arrival order, each tagged with the step it answers."""
    with path.open("w", encoding="utf-8") as out:
        for citizen in citizens:
            out.write(f"# citizen {citizen.index} ({citizen.user.id}): {citizen.reference}")
            out.write(f" stuck at {citizen.stuck_at}\n" if citizen.stuck_at else "\n")
            for found, message in citizen.received:
                tag = STEP_NAMES[found] if found is not None else "-"
                body = message.body.replace("\n", " | ")[:150]
                out.write(f"  {tag:>8}  {body}\n")


def write_calls(path: Path, calls: list[ApiCall], started: float) -> None:
    """The emulator's call log: seconds since the start, method, chat, status."""
    with path.open("w", encoding="utf-8") as out:
        for call in calls:
            chat = call.params.get("chat_id", "")
            out.write(f"{call.at - started:.3f}\t{call.method}\t{chat}\t{call.status}\n")


def haproxy_figures(logs: Path) -> dict[str, Any]:
    """Times HAProxy took a worker out of the webhook backend, by reason (a killed worker's
    "Connection refused", a failed or timed-out health check, a drain's 503)."""
    path = logs / "haproxy.log"
    if not path.is_file():
        return {}
    reasons: Counter[str] = Counter()
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        found = re.search(r"Server webhook_workers/w\d+ is DOWN, reason: ([^,]+)", line)
        if found and line.startswith("[WARNING]"):
            reasons[found.group(1)] += 1
    return {"haproxy_worker_down_by_reason": dict(reasons)}


def log_figures(logs: Path) -> dict[str, Any]:
    levels: Counter[str] = Counter()
    samples: Counter[str] = Counter()
    for path in sorted(logs.glob("worker*.log")):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            for level in ("ERROR", "WARNING", "Traceback"):
                if level in line:
                    levels[level] += 1
                    if level != "WARNING":
                        samples[re.sub(r"\d+", "N", line)[:160]] += 1
    return {"log_lines": dict(levels), "log_error_samples": dict(samples.most_common(5))}


# -- one run ----------------------------------------------------------------------------------


@dataclass
class RunConfig:
    mode: str  # "webhook" or "polling"
    workers: int
    kill: bool

    @property
    def key(self) -> str:
        plural = "worker" if self.workers == 1 else "workers"
        return f"{self.mode}_{self.workers}_{plural}" + ("_kill" if self.kill else "")


async def run(config: RunConfig, args: argparse.Namespace, haproxy: str | None) -> dict[str, Any]:
    print(f"== {config.key}: {args.citizens} citizens", flush=True)
    async with AsyncExitStack() as stack:
        database_url = await stack.enter_async_context(
            temporary_postgres_database(args.postgres, prefix="cw_scale_bench")
        )
        await seed(database_url)
        db = Database(database_url, pool_size=2)
        stack.push_async_callback(db.dispose)
        emulator = BotApiEmulator()  # Telegram's limits on
        await emulator.start()
        stack.push_async_callback(emulator.stop)
        failures = stack.enter_context(DeliveryFailures())
        token = emulator.create_bot(username="scale_bench_bot")
        bot_id = emulator.bot_id(token)
        moderator = emulator.add_user(FIRST_CITIZEN_ID - 1, "Moderator", language_code="en")
        group = emulator.add_group(STAFF_CHAT, "Staff", admins=[moderator])
        logs = Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="scale_bench_"))
            if not args.keep_logs
            else tempfile.mkdtemp(prefix="scale_bench_")
        )
        env = {
            "TELEGRAM_BOT_TOKEN": token,
            "TELEGRAM_API_BASE_URL": emulator.base_url,
            "DATABASE_URL": database_url,
            "MODERATOR_CHAT_ID": str(STAFF_CHAT),
            "INBOX_LEASE_SECONDS": str(args.lease),
            "LOG_LEVEL": "WARNING",
        }
        cluster = await stack.enter_async_context(
            running_cluster(
                mode=config.mode,
                workers=config.workers,
                env=env,
                logs=logs,
                haproxy=haproxy if config.mode == "webhook" else None,
            )
        )
        samples = DatabaseSamples(db)
        lag = LoopLag()
        watcher = asyncio.create_task(lag.watch())
        stack.callback(watcher.cancel)

        citizens = [
            CitizenRun(
                emulator.add_user(FIRST_CITIZEN_ID + n, f"Citizen {n}", language_code="en"),
                n,
                with_photo=n % 2 == 0,
            )
            for n in range(args.citizens)
        ]
        progress = Progress(len(citizens), args.kill_at)
        loop = asyncio.get_running_loop()
        kill: dict[str, Any] = {}

        async def killer() -> None:
            await progress.half.wait()
            victim = cluster.workers[1 if len(cluster.workers) > 1 else 0]
            kill["worker"] = victim.number
            kill["at_s"] = round(loop.time() - started, 1)
            kill["at"] = loop.time()
            await cluster.kill(victim)
            print(f"   SIGKILLed worker {victim.number} at {kill['at_s']} s", flush=True)
            await asyncio.sleep(args.restart_after)
            await cluster.start_worker(victim)
            kill["healthy_again_at_s"] = round(loop.time() - started, 1)

        calls_before = len(emulator.calls)
        started = loop.time()
        sampler = asyncio.create_task(samples.watch(started))
        stack.callback(sampler.cancel)
        killing = asyncio.create_task(killer()) if config.kill else None
        await asyncio.gather(*(drive(c, progress, args.step_timeout) for c in citizens))
        citizens_done = loop.time()
        if killing is not None:
            if not killing.done() and not progress.half.is_set():
                killing.cancel()
            with suppress(asyncio.CancelledError):
                await killing
        print(
            f"   citizens done in {citizens_done - started:.1f} s; waiting for the cards",
            flush=True,
        )

        # The cards: every acknowledged report's, or until --card-wait after the citizens
        # (after a kill, at least until the dead worker's claimed cards' lease has run out,
        # unless --card-wait is 0: then the cards are counted as they are).
        references = {c.reference for c in citizens if c.reference}
        card_deadline = citizens_done + args.card_wait
        if "at" in kill and args.card_wait > 0:
            card_deadline = max(card_deadline, kill["at"] + OUTBOX_LEASE.total_seconds() + 20)
        await wait_for_cards(group, references, card_deadline)
        cards_waited = loop.time() - citizens_done
        await wait_for_empty_inbox(db)
        for citizen in citizens:
            await read_rest(citizen)
        ended = loop.time()
        figures_db = await database_figures(db, citizens)
        pending = len(emulator.state.bot(token).updates.pending)
        calls = emulator.calls[calls_before:]
        cards = cards_in(group)
        sampler.cancel()
        watcher.cancel()
        # Stop the cluster now, so its logs are complete.
        await cluster.stop()
        figures_logs = {**log_figures(logs), **haproxy_figures(logs)}
        if args.keep_logs:
            write_conversations(logs / "conversations.txt", citizens)
            write_calls(logs / "calls.tsv", calls, started)
            print(f"   logs and conversations kept in {logs}", flush=True)

    traffic = traffic_figures(calls, bot_id, citizens, started, citizens_done)
    result: dict[str, Any] = {
        "mode": config.mode,
        "workers": config.workers,
        "citizens": len(citizens),
        "reports_acknowledged": sum(1 for c in citizens if c.reference),
        "acknowledged_as_already_sent": sum(1 for c in citizens if c.already_sent),
        **figures_db,
        **conversation_figures(citizens),
        "cards_expected": len(references),
        "cards_posted": sum(1 for r in references if r in cards),
        "cards_posted_twice": sum(n - 1 for n in cards.values() if n > 1),
        "cards_not_yet_posted": len(references - set(cards)),
        "seconds_waited_for_cards": round(cards_waited, 1),
        **traffic,
        "webhook_deliveries_failed": sum(failures.errors.values()),
        "webhook_failures": dict(failures.errors),
        "updates_never_delivered": pending,
        "seconds_until_quiet": round(ended - started, 1),
        "peak_database_connections": samples.peak_connections,
        "expired_leases_max": samples.expired_leases_max,
        "expired_leases_seen_at_s": as_ranges(samples.expired_seen_at),
        "bench_loop_lag_max_ms": round(lag.worst * 1000),
        "bench_loop_stalls_over_200ms": lag.stalls,
        **figures_logs,
    }
    if config.kill:
        result["kill"] = {k: v for k, v in kill.items() if k != "at"} or "not reached"
    return result


# -- the whole bench --------------------------------------------------------------------------

TABLE = (
    ("reports acknowledged", "reports_acknowledged"),
    ("  of which as 'already sent'", "acknowledged_as_already_sent"),
    ("acknowledged reports lost", "acknowledged_reports_lost"),
    ("duplicated reports", "duplicated_reports"),
    ("citizens stuck", "citizens_stuck"),
    ("steps answered twice", "steps_answered_twice"),
    ("order violations", "order_violations"),
    ("unexpected replies", "unexpected_replies"),
    ("cards posted / expected", None),
    ("cards posted twice", "cards_posted_twice"),
    ("msgs/s max in 1 s", "messages_per_second_max_1s"),
    ("msgs/s max over 5 s", "messages_per_second_max_5s"),
    ("msgs/s while backlog", "messages_per_second_while_backlog"),
    ("429 answers (private/group)", None),
    ("webhook deliveries failed", "webhook_deliveries_failed"),
    ("elapsed s (last report)", "elapsed_seconds"),
    ("reports/s", "reports_per_second"),
    ("step p50 / p99 ms", None),
    ("updates taken more than once", "inbox_updates_taken_more_than_once"),
    ("expired leases seen (max)", "expired_leases_max"),
    ("peak DB connections", "peak_database_connections"),
    ("bench loop: worst lag ms", "bench_loop_lag_max_ms"),
    ("killed worker at s", None),
)


def cell(run: dict[str, Any], label: str, key: str | None) -> str:
    if key is not None:
        return str(run.get(key))
    if label.startswith("cards posted"):
        return f"{run['cards_posted']} / {run['cards_expected']}"
    if label.startswith("429"):
        return (
            f"{run['answers_429']} ({run['answers_429_private_chats']}/"
            f"{run['answers_429_staff_group']})"
        )
    if label.startswith("step"):
        return f"{run['step_latency_p50_ms']} / {run['step_latency_p99_ms']}"
    kill = run.get("kill")
    return str(kill.get("at_s")) if isinstance(kill, dict) else str(kill or "-")


def print_table(runs: dict[str, dict[str, Any]]) -> None:
    names = list(runs)
    width = max(len(label) for label, _ in TABLE) + 2
    columns = [max(len(name), 12) + 2 for name in names]
    print("".ljust(width) + "".join(n.rjust(w) for n, w in zip(names, columns, strict=True)))
    for label, key in TABLE:
        row = label.ljust(width)
        for name, w in zip(names, columns, strict=True):
            row += cell(runs[name], label, key).rjust(w)
        print(row)


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    haproxy = ensure_haproxy() if args.workers else None
    configs = [RunConfig("webhook", n, kill=n > 1) for n in args.workers]
    if args.polling:
        configs.append(RunConfig("polling", 1, kill=True))
    load = os.getloadavg()
    started = time.time()
    runs: dict[str, dict[str, Any]] = {}
    for config in configs:
        runs[config.key] = await run(config, args, haproxy)
    return {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {**machine_info(), "load_average_at_start": [round(x, 2) for x in load]},
        "command": " ".join(["python -m bench.scale_out_bench", *sys.argv[1:]]),
        "settings": {
            "citizens": args.citizens,
            "inbox_lease_seconds": args.lease,
            "kill_when_half_past": args.kill_at,
            "restart_after_seconds": args.restart_after,
            "step_timeout_seconds": args.step_timeout,
            "card_wait_seconds": args.card_wait,
            "emulator_limits": "on: 30/s overall, 1/s per chat (burst 3), 20/min per group",
            "pacing": "TELEGRAM_MAX_MESSAGES_PER_SECOND left at its default (30)",
        },
        "total_seconds": round(time.time() - started, 1),
        "runs": runs,
    }


def commit() -> str:
    """The code measured: HEAD, and whether the work tree differs from it."""
    git = ["git", "-C", str(ROOT)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(
        [*git, "status", "--porcelain", "--", "bot", "handlers", "storage"],
        capture_output=True,
        text=True,
    )
    return head.stdout.strip() + (" (modified)" if dirty.stdout.strip() else "")


def worker_counts(raw: str) -> list[int]:
    return [int(part) for part in raw.split(",") if part.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--citizens", type=int, default=1000)
    parser.add_argument(
        "--workers", type=worker_counts, default=[1, 3], help="webhook runs, e.g. 1,3 (none: '')"
    )
    parser.add_argument("--polling", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument(
        "--postgres",
        default=os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES),
        help="the server's URL; the bench creates and drops its own database on it",
    )
    parser.add_argument("--lease", type=int, default=5, help="INBOX_LEASE_SECONDS")
    parser.add_argument("--kill-at", choices=STEP_NAMES, default="kind")
    parser.add_argument("--restart-after", type=float, default=3.0)
    parser.add_argument("--step-timeout", type=float, default=240.0)
    parser.add_argument("--card-wait", type=float, default=30.0)
    parser.add_argument("--keep-logs", action="store_true")
    parser.add_argument(
        "--label", default="", help="appended to the results' key, e.g. before_shared_pacing"
    )
    args = parser.parse_args()
    results = {"commit": commit(), **asyncio.run(bench(args))}
    key = f"{args.citizens}_citizens" + (f"_{args.label}" if args.label else "")
    merge_results(RESULTS_FILE, key, results)
    print_table(results["runs"])
    print(f"results merged into {RESULTS_FILE} under {key}")


if __name__ == "__main__":
    main()
