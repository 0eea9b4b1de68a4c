"""Fixtures shared by the whole suite: databases, the emulator and the running bot."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from emulator import state as emulator_state
from storage.db import Database
from storage.migrate import upgrade_to_head
from tests.support.catalog import seed_catalog
from tests.support.databases import fresh_database_url

if TYPE_CHECKING:
    from emulator import BotApiEmulator
    from tests.support.harness import Harness


def pytest_configure(config: pytest.Config) -> None:
    # The suite runs in parallel processes (pytest-xdist) on a shared machine: an emulator wait
    # gives up only after four times its nominal timeout, so load never reads as a lost message.
    emulator_state.WAIT_SCALE = float(os.environ.get("EMULATOR_WAIT_SCALE", "4"))
    config.addinivalue_line(
        "markers", "both_databases: run the test on SQLite and, when configured, PostgreSQL"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        both = metafunc.definition.get_closest_marker("both_databases") is not None
        metafunc.parametrize("backend", ["sqlite", "postgresql"] if both else ["sqlite"])


@pytest.fixture
async def database_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    async with fresh_database_url(backend, tmp_path) as url:
        yield url


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    await upgrade_to_head(db)
    try:
        yield db
    finally:
        await db.dispose()


@pytest.fixture
async def emulator() -> AsyncIterator[BotApiEmulator]:
    from emulator import BotApiEmulator

    emu = BotApiEmulator()
    # Conversations send a few messages per step; allow short bursts per chat, as Telegram does
    # in practice. Rate-limit tests set the strict values themselves.
    emu.limits.per_chat_burst = 20
    await emu.start()
    try:
        yield emu
    finally:
        await emu.stop()


@pytest.fixture
async def catalog_ids(database: Database) -> dict[str, int]:
    return await seed_catalog(database)


@pytest.fixture
def harness_overrides() -> dict[str, Any]:
    """Settings a test module changes for its bot (override this fixture in the module)."""
    return {}


@pytest.fixture
async def harness(
    emulator: BotApiEmulator,
    database: Database,
    database_url: str,
    catalog_ids: dict[str, int],
    harness_overrides: dict[str, Any],
) -> AsyncIterator[Harness]:
    from tests.support.harness import BOT_USERNAME, Harness, harness_settings

    token = emulator.create_bot(username=BOT_USERNAME, first_name="Commitment Watch")
    settings = harness_settings(emulator, token, database_url, **harness_overrides)
    h = Harness(emulator, settings, database)
    await h.start_worker()
    try:
        yield h
    finally:
        await h.close()
