"""Migrations bring an empty database to the schema the models describe, on both backends."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from storage.db import Database
from storage.migrate import current_revision, head_revision, upgrade_to_head
from storage.models import Base

pytestmark = pytest.mark.both_databases
ROOT = Path(__file__).resolve().parent.parent


async def test_empty_database_migrates_to_head_matching_models(database_url: str) -> None:
    db = Database(database_url)
    try:
        assert await current_revision(db) is None
        await upgrade_to_head(db)
        assert await current_revision(db) == head_revision()
        async with db.engine.connect() as connection:
            tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
            diff = await connection.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata)
            )
        assert set(Base.metadata.tables) <= tables
        assert diff == [], f"models and migrations differ: {diff}"
        await upgrade_to_head(db)  # a second start changes nothing
        assert await current_revision(db) == head_revision()
    finally:
        await db.dispose()


async def test_workers_migrating_at_once_do_not_collide(database_url: str) -> None:
    """Three bot processes starting together on one empty database all succeed."""
    env = {**os.environ, "DATABASE_URL": database_url}
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            str(ROOT / "run_bot.py"),
            "--migrate-only",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(3)
    ]
    results = [await p.communicate() for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], results
    db = Database(database_url)
    try:
        assert await current_revision(db) == head_revision()
    finally:
        await db.dispose()


async def test_sqlite_pragmas_and_immediate_writes(database: Database) -> None:
    if not database.is_sqlite:
        pytest.skip("SQLite-only settings")
    async with database.read() as session:
        assert (await session.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await session.execute(text("PRAGMA foreign_keys"))).scalar() == 1
        assert (await session.execute(text("PRAGMA busy_timeout"))).scalar() >= 5000
