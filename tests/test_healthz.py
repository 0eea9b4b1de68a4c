"""GET and HEAD /healthz over real HTTP: 200 with its small body while the database answers and
the outbox keeps up; 503 with the reason when an outbox message is overdue beyond
HEALTH_MAX_OUTBOX_LAG_SECONDS, when the database is unreachable or does not answer in time, and
at once when a drain begins."""

from __future__ import annotations

import asyncio
import re
import socket
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select, text

from bot.channels.web import AgencyWebServer
from bot.channels.web.health import DB_TIMEOUT_SECONDS
from bot.channels.web.server import SECURITY_HEADERS
from bot.core.services import Services
from bot.outbox.dispatcher import LEASE
from bot.outbox.queue import Kind, enqueue
from storage.db import Database
from storage.models import OutboxMessage
from storage.queries import inbox as inbox_queries
from storage.queries import outbox as outbox_queries
from tests.support.conversation import expect
from tests.support.harness import Harness

pytestmark = pytest.mark.both_databases

HEALTHY = {"status": "ok", "database": "ok", "outbox_lag_seconds": 0, "draining": False}


@pytest.fixture
def harness_overrides() -> dict[str, Any]:
    return {"web_port": 0}  # 0: any free port


def base_of(web: AgencyWebServer | None) -> str:
    assert web is not None and web.port
    return f"http://127.0.0.1:{web.port}"


async def probe(base: str, method: str = "GET") -> tuple[int, Any, dict[str, str], bytes]:
    """What a load balancer's health check sees: status, JSON body (None for HEAD), headers."""
    async with (
        aiohttp.ClientSession() as http,
        http.request(method, f"{base}/healthz") as response,
    ):
        raw = await response.read()
        body = await response.json() if method == "GET" else None
        return response.status, body, dict(response.headers), raw


async def test_healthy_worker_answers_200_with_its_body(harness: Harness) -> None:
    base = base_of(harness.runner.web)
    status, body, headers, _raw = await probe(base)
    assert status == 200
    assert body == HEALTHY
    assert headers["Content-Type"].startswith("application/json")
    assert headers["Cache-Control"] == "no-store"
    for name, value in SECURITY_HEADERS.items():
        assert headers[name] == value


async def test_head_answers_the_same_status_without_a_body(harness: Harness) -> None:
    base = base_of(harness.runner.web)
    status, _body, headers, raw = await probe(base, "HEAD")
    assert status == 200 and raw == b""
    assert headers["Cache-Control"] == "no-store"
    assert headers["X-Content-Type-Options"] == "nosniff"


async def overdue_message(harness: Harness, seconds: int) -> None:
    """A citizen's notice that fell due `seconds` ago and was claimed by a worker that then hung:
    its lease keeps the live dispatcher off it, so it stays due and unsent."""
    services = harness.services
    now = services.clock()
    async with services.db.write() as session:
        await enqueue(
            session,
            Kind.BLOCK_NOTICE,
            f"health-{seconds}",
            {"citizen_id": 1, "blocked": True},
            now - timedelta(seconds=seconds),
        )
        claimed = await outbox_queries.claim_due(session, now, now + LEASE, 10)
        assert len(claimed) == 1


async def test_an_overdue_outbox_message_within_the_limit_is_still_ok(harness: Harness) -> None:
    await overdue_message(harness, 100)
    status, body, _headers, _raw = await probe(base_of(harness.runner.web))
    assert status == 200
    assert body["status"] == "ok" and body["draining"] is False
    assert 100 <= body["outbox_lag_seconds"] <= 102


async def test_outbox_lag_beyond_the_limit_is_503_with_the_reason(harness: Harness) -> None:
    await overdue_message(harness, 412)
    base = base_of(harness.runner.web)
    status, body, _headers, _raw = await probe(base)
    assert status == 503
    assert body["status"] == "unavailable" and body["database"] == "ok"
    assert 412 <= body["outbox_lag_seconds"] <= 414
    assert re.fullmatch(r"outbox lag 41[2-4] s > 300 s", body["reason"])
    head_status, _none, _headers, raw = await probe(base, "HEAD")
    assert head_status == 503 and raw == b""
    # Delivered at last (the hung worker's lease given back): healthy again.
    async with harness.db.write() as session:
        message = await session.scalar(select(OutboxMessage))
        assert message is not None
        await outbox_queries.mark_sent(session, message.id, harness.services.clock())
    status, body, _headers, _raw = await probe(base)
    assert (status, body) == (200, HEALTHY)


async def test_a_higher_limit_tolerates_the_same_lag(
    emulator: Any, database: Database, database_url: str, catalog_ids: dict[str, int]
) -> None:
    from tests.support.harness import BOT_USERNAME, harness_settings

    token = emulator.create_bot(username=BOT_USERNAME, first_name="Commitment Watch")
    settings = harness_settings(
        emulator, token, database_url, web_port=0, health_max_outbox_lag_seconds=600
    )
    harness = Harness(emulator, settings, database)
    await harness.start_worker()
    try:
        await overdue_message(harness, 412)
        status, body, _headers, _raw = await probe(base_of(harness.runner.web))
        assert status == 200 and 412 <= body["outbox_lag_seconds"] <= 414
    finally:
        await harness.close()


def unreachable_url(backend: str, tmp_path: Path) -> str:
    if backend == "sqlite":
        # The file is there but is no database any more (overwritten, or a disk gone bad).
        (tmp_path / "gone.db").write_bytes(b"not a database, " * 256)
        return f"sqlite+aiosqlite:///{tmp_path / 'gone.db'}"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again when the block ends: nobody listens
    return f"postgresql+asyncpg://healthz:s3cret-pw@127.0.0.1:{port}/nowhere"


async def test_an_unreachable_database_is_503_and_names_nothing(
    backend: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.core.settings import Settings

    url = unreachable_url(backend, tmp_path)
    database = Database(url)
    services = Services(settings=Settings(database_url=url, web_port=0), db=database)
    web = AgencyWebServer(services)
    await web.start()
    try:
        status, body, _headers, raw = await probe(base_of(web))
        again, _body, _headers, _raw = await probe(base_of(web))
    finally:
        await web.stop()
        await database.dispose()
    assert status == again == 503
    assert body == {
        "status": "unavailable",
        "database": "unreachable",
        "outbox_lag_seconds": None,
        "draining": False,
        "reason": "database unreachable",
    }
    for secret in ("s3cret", "healthz", "nowhere", "gone.db", "127.0.0.1"):
        assert secret.encode() not in raw
    warnings = [r.getMessage() for r in caplog.records if "healthz answers 503" in r.getMessage()]
    assert len(warnings) == 1  # once when it starts failing, not at every probe
    assert "s3cret" not in warnings[0]


async def test_a_database_that_does_not_answer_in_time_is_503(
    harness: Harness, backend: str
) -> None:
    if backend == "sqlite":
        pytest.skip("under WAL, nothing a SQLite writer holds keeps a reader waiting")
    base = base_of(harness.runner.web)
    blocker = Database(harness.settings.database_url)
    try:
        async with blocker.engine.connect() as connection:
            transaction = await connection.begin()
            await connection.execute(text("LOCK TABLE outbox IN ACCESS EXCLUSIVE MODE"))
            started = asyncio.get_running_loop().time()
            status, body, _headers, _raw = await probe(base)
            took = asyncio.get_running_loop().time() - started
            await transaction.rollback()
    finally:
        await blocker.dispose()
    assert status == 503
    assert body["database"] == "unreachable" and body["reason"] == "database unreachable"
    assert DB_TIMEOUT_SECONDS <= took < DB_TIMEOUT_SECONDS + 2
    status, body, _headers, _raw = await probe(base)
    assert (status, body) == (200, HEALTHY)


async def test_draining_is_503_at_once(harness: Harness) -> None:
    runner = harness.runner
    base = base_of(runner.web)
    citizen = harness.user("en")
    await citizen.send_command("start")
    notice = await expect(citizen, "privacy")
    # The press is in hand while the drain begins: its answer is slow to come back.
    harness.emulator.faults.set(
        rate=1.0, kinds={"slow"}, methods={"answerCallbackQuery"}, slow_seconds=1.5, limit=1
    )
    await citizen.press_button("✅ I agree", message=notice)
    await harness.emulator.wait_for_call(method="answerCallbackQuery")
    stopping = asyncio.create_task(harness.stop_worker(runner))
    await asyncio.sleep(0)  # the drain begins at stop()'s first step
    status, body, _headers, _raw = await probe(base)
    assert status == 503
    assert body == {
        "status": "unavailable",
        "database": None,
        "outbox_lag_seconds": None,
        "draining": True,
        "reason": "draining",
    }
    assert not stopping.done()
    await stopping
    await expect(citizen, "Let's start your report")  # the press in hand was finished


async def test_a_worker_whose_pool_is_taken_still_answers_200_and_confirms_updates(
    harness: Harness, backend: str
) -> None:
    """Handlers holding every connection of the main pool make a busy worker, not a dead one:
    /healthz and the inbox have connections of their own, so the load balancer keeps the worker
    and a citizen's message is recorded (confirmed to Telegram) while it waits for a handler."""
    if backend == "sqlite":
        pytest.skip("SQLite has no connection pool to run dry")
    await harness.stop_worker(harness.runner)
    worker = await harness.start_worker(own_engine=True, database_pool_size=1)  # 3 at most
    base = base_of(worker.web)
    citizen = harness.user("en")
    held = [await worker.services.db.engine.connect() for _ in range(3)]
    try:
        for connection in held:
            await connection.execute(text("SELECT 1"))  # checked out, as a busy handler's
        started = asyncio.get_running_loop().time()
        status, body, _headers, _raw = await probe(base)
        took = asyncio.get_running_loop().time() - started
        assert (status, body) == (200, HEALTHY)
        assert took < DB_TIMEOUT_SECONDS
        await citizen.send_command("start")
        for _ in range(200):
            async with harness.db.read() as session:
                if await inbox_queries.open_count(session) == 1:
                    break
            await asyncio.sleep(0.05)
        async with harness.db.read() as session:
            assert await inbox_queries.open_count(session) == 1  # recorded, not yet handled
        assert citizen.messages == []  # the bot has said nothing yet
    finally:
        for connection in held:
            await connection.close()
    await expect(citizen, "privacy")  # handled once a connection came free
    await harness.inbox_settled()
