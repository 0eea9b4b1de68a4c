"""Throwaway PostgreSQL databases for tests and benchmarks: created fresh, dropped after."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from sqlalchemy.engine import make_url


@asynccontextmanager
async def temporary_postgres_database(
    server_url: str, prefix: str = "cw_tmp"
) -> AsyncIterator[str]:
    """Yield the SQLAlchemy URL of a new, empty database on the server of `server_url`."""
    url = make_url(server_url.replace("postgresql://", "postgresql+asyncpg://", 1))
    admin_dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        admin = await asyncpg.connect(admin_dsn)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
