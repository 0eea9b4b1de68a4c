"""Real databases for tests: a SQLite file per test, and a fresh PostgreSQL database per test
when TEST_POSTGRES_URL names a server."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from tools.scratch_db import temporary_postgres_database

POSTGRES_ENV = "TEST_POSTGRES_URL"
SKIP_REASON = (
    f"PostgreSQL tests need {POSTGRES_ENV}, e.g. "
    "postgresql+asyncpg://postgres@127.0.0.1:5432/test (.ci/run sets it)"
)


def postgres_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


@asynccontextmanager
async def fresh_database_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    base = postgres_url()
    if base is None:
        pytest.skip(SKIP_REASON)
    async with temporary_postgres_database(base, prefix="cw_test") as url:
        yield url
