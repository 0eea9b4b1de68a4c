"""The real bot, the real database and the Bot API emulator, wired together for a test."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from typing import Any

from bot.app.runner import BotRunner
from bot.core.services import Services
from bot.core.settings import RegionBounds, Settings
from emulator import BotApiEmulator, SimulatedUser
from handlers import register_handlers
from storage.db import Database
from storage.queries import inbox

BOT_USERNAME = "commitment_watch_test_bot"


@dataclass
class Harness:
    emulator: BotApiEmulator
    settings: Settings
    db: Database
    runners: list[BotRunner] = field(default_factory=list)
    _next_user_id: int = 5_000_001
    _own_databases: list[Database] = field(default_factory=list)

    @property
    def runner(self) -> BotRunner:
        return self.runners[0]

    @property
    def services(self) -> Services:
        return self.runner.services

    def user(self, language_code: str | None = "en", **kwargs: Any) -> SimulatedUser:
        user_id = kwargs.pop("user_id", None) or self._next_user_id
        self._next_user_id += 1
        return self.emulator.add_user(
            user_id=user_id,
            first_name=kwargs.pop("first_name", "Citizen"),
            language_code=language_code,
            **kwargs,
        )

    async def start_worker(self, *, own_engine: bool = False, **overrides: Any) -> BotRunner:
        """Start a bot worker on the same database and token; with own_engine it has its own
        engine and connection pool, as a separate process would."""
        settings = replace(self.settings, **overrides) if overrides else self.settings
        db = self.db
        if own_engine:
            db = Database(settings.database_url, pool_size=settings.database_pool_size)
            self._own_databases.append(db)
        services = Services(settings=settings, db=db)
        runner = BotRunner(services, settings.require_token(), register_handlers, poll_timeout=1)
        await runner.start()
        self.runners.append(runner)
        return runner

    async def inbox_settled(self, seconds: float = 20.0) -> None:
        """Wait until every update received is marked done (the mark follows the reply)."""
        for _ in range(int(seconds / 0.02)):
            async with self.db.read() as session:
                if await inbox.open_count(session) == 0:
                    return
            await asyncio.sleep(0.02)
        raise AssertionError(f"updates still open in the inbox after {seconds} s")

    async def stop_worker(self, runner: BotRunner) -> None:
        await runner.stop()
        self.runners.remove(runner)

    async def restart(self) -> None:
        """Stop every worker and start a fresh one: nothing survives but the database."""
        for runner in list(self.runners):
            await self.stop_worker(runner)
        await self.start_worker()

    async def close(self) -> None:
        for runner in list(self.runners):
            await self.stop_worker(runner)
        for db in self._own_databases:
            await db.dispose()


def harness_settings(
    emulator: BotApiEmulator, token: str, database_url: str, **overrides: Any
) -> Settings:
    base = Settings(
        telegram_bot_token=token,
        telegram_api_base_url=emulator.base_url,
        telegram_file_base_url=emulator.base_file_url,
        database_url=database_url,
        default_locale="en",
        region_bounds=RegionBounds(4.0, 2.5, 14.0, 15.0),  # Nigeria, roughly
        bot_username=BOT_USERNAME,
        # Figures exact right after a test writes its reports (tests/web/test_figures_cache.py
        # covers the cache).
        public_figures_cache_seconds=0,
    )
    return replace(base, **overrides)
