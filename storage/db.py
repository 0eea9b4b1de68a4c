"""Engine and sessions for SQLite (default) and PostgreSQL with the same code.

Two kinds of unit of work:
- `db.read()`: a read-only session; on SQLite a deferred transaction, so readers run in parallel
  under WAL.
- `db.write()`: a session whose transaction takes SQLite's write lock at its start
  (BEGIN IMMEDIATE). With a deferred BEGIN, a read-then-write transaction under many concurrent
  writers fails with "database is locked" when it tries to upgrade its lock; taking the lock first
  makes writers queue on the busy timeout instead.
- `db.bookkeeping()`: a transaction for the worker's own bookkeeping (the durable inbox, leases,
  /healthz). On PostgreSQL it has a small pool of its own, so that handlers holding every
  connection of the main pool never stop a worker from confirming updates, renewing its leases
  (which another worker would take over) or answering its health check.
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

DATABASE_URL_ENV = "DATABASE_URL"
# PostgreSQL: the main pool keeps this many connections and opens up to twice as many more
# under load; the bookkeeping pool has BOOKKEEPING_CONNECTIONS. A worker opens at most
# 3 x DATABASE_POOL_SIZE + BOOKKEEPING_CONNECTIONS (README, "Running at scale"): 27 by
# default, so that three workers and an admin command fit PostgreSQL's default max_connections
# (100, 3 of them reserved).
DEFAULT_POOL_SIZE = 8
BOOKKEEPING_CONNECTIONS = 3


def default_database_url() -> str:
    """A SQLite file under ./data of the directory the bot is started from."""
    return f"sqlite+aiosqlite:///{Path.cwd() / 'data' / 'commitment_watch.db'}"


def normalize_database_url(raw: str) -> str:
    """The URL with the async driver the bot needs; ValueError says what was expected."""
    if raw.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        return raw
    if raw.startswith(("postgresql://", "postgres://")):
        # Accept the common form and use the async driver the bot needs.
        return "postgresql+asyncpg://" + raw.split("://", 1)[1]
    raise ValueError(
        "expected sqlite+aiosqlite:///path/to/file.db or postgresql+asyncpg://user@host/db, "
        f"got a URL starting with {raw.split(':', 1)[0]!r}"
    )


def database_url_from_env() -> str:
    """DATABASE_URL as the bot reads it, for tools (the `alembic` command) that load no settings."""
    raw = os.environ.get(DATABASE_URL_ENV, "").strip()
    return normalize_database_url(raw) if raw else default_database_url()


SQLITE_BUSY_TIMEOUT_MS = 30_000
_BEGIN_OPTION = "commitment_watch_sqlite_begin"


def _prepare_sqlite_file(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _install_sqlite_pragmas(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, emit BEGIN, so that we choose DEFERRED or IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


class _WriterQueue:
    """This process's SQLite writers, one at a time and in order of arrival, except that an
    urgent writer goes before every ordinary one still waiting (it waits only for the writer
    that holds the lock now)."""

    def __init__(self) -> None:
        self._busy = False
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._ordinary: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        return sum(not f.done() for f in (*self._urgent, *self._ordinary))

    async def acquire(self, *, urgent: bool) -> None:
        if not self._busy and self.waiting == 0:
            self._busy = True
            return
        turn = asyncio.get_running_loop().create_future()
        (self._urgent if urgent else self._ordinary).append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.release()  # the lock was handed over just as this writer gave up
            raise

    def release(self) -> None:
        for queue in (self._urgent, self._ordinary):
            while queue:
                turn = queue.popleft()
                if not turn.done():
                    turn.set_result(None)  # handed over: the queue stays busy
                    return
        self._busy = False

    @asynccontextmanager
    async def turn(self, *, urgent: bool) -> AsyncIterator[None]:
        await self.acquire(urgent=urgent)
        try:
            yield
        finally:
            self.release()


class Database:
    """The engine plus the two session factories the rest of the bot uses."""

    def __init__(self, url: str, *, echo: bool = False, pool_size: int = DEFAULT_POOL_SIZE) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            _prepare_sqlite_file(url)
            kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        else:
            kwargs.update(pool_size=pool_size, max_overflow=pool_size * 2, pool_pre_ping=True)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        # The same pool; on SQLite its transactions begin IMMEDIATE (holding the write lock).
        self.write_engine: AsyncEngine = self.engine
        if self.is_sqlite:
            _install_sqlite_pragmas(self.engine)
            self.write_engine = self.engine.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
        self._sqlite_writer = _WriterQueue() if self.is_sqlite else None
        self._read_sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._write_sessions = async_sessionmaker(self.write_engine, expire_on_commit=False)
        # Created when first used: most commands (migrations, the admin CLI) never need it.
        self._bookkeeping_engine: AsyncEngine | None = None
        self._bookkeeping_sessions: async_sessionmaker[AsyncSession] | None = None

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for reading; rolled back at the end, so nothing written here sticks."""
        async with self._read_sessions() as session:
            yield session

    @asynccontextmanager
    async def write(self, *, urgent: bool = False) -> AsyncIterator[AsyncSession]:
        """A transaction that commits at the end, or rolls back on any exception.

        urgent: for recording what Telegram has just accepted (the outbox); on SQLite it goes
        before this process's other waiting writers, so the time between Telegram's answer and
        the commit is one transaction's wait at most, not the whole queue's."""
        if self._sqlite_writer is None:
            async with self._write_sessions() as session, session.begin():
                yield session
            return
        # SQLite has one writer at a time. Queue this process's writers here, in order and
        # without sleeping; SQLite's busy handler (which polls with growing sleeps) is then
        # only needed between processes.
        async with (
            self._sqlite_writer.turn(urgent=urgent),
            self._write_sessions() as session,
            session.begin(),
        ):
            yield session

    @asynccontextmanager
    async def bookkeeping(self, *, writes: bool = True) -> AsyncIterator[AsyncSession]:
        """A transaction for the inbox, leases and /healthz: on PostgreSQL from a pool of at
        most BOOKKEEPING_CONNECTIONS of its own; on SQLite (one process, one writer) an urgent
        write, or a plain read when it `writes` nothing."""
        if self.is_sqlite:
            async with self.write(urgent=True) if writes else self.read() as session:
                yield session
            return
        if self._bookkeeping_sessions is None:
            self._bookkeeping_engine = create_async_engine(
                self.url,
                pool_size=BOOKKEEPING_CONNECTIONS,
                max_overflow=0,
                pool_pre_ping=True,
            )
            self._bookkeeping_sessions = async_sessionmaker(
                self._bookkeeping_engine, expire_on_commit=False
            )
        async with self._bookkeeping_sessions() as session, session.begin():
            yield session

    @property
    def writers_waiting(self) -> int:
        """How many of this process's writers wait for SQLite's write lock (0 on PostgreSQL)."""
        return self._sqlite_writer.waiting if self._sqlite_writer is not None else 0

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self._bookkeeping_engine is not None:
            await self._bookkeeping_engine.dispose()
