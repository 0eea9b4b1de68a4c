"""What every handler can reach: settings, the database and the clock, typed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram.ext import Application, CallbackContext, ExtBot

from bot.core.http import HttpClient
from bot.core.settings import Settings
from storage.db import Database

if TYPE_CHECKING:
    from bot.reports.drafting import CitizenState


def system_clock() -> datetime:
    return datetime.now(UTC)


def _no_dispatcher() -> None:
    return None


@dataclass
class Services:
    settings: Settings
    db: Database
    clock: Callable[[], datetime] = field(default=system_clock)
    http: HttpClient = field(default_factory=HttpClient)  # closed by the runner's stop()
    # Set by the runner to the outbox dispatcher's wake(): deliver what was just queued now.
    wake_outbox: Callable[[], None] = field(default=_no_dispatcher)

    @asynccontextmanager
    async def write_then_deliver(self) -> AsyncIterator[AsyncSession]:
        """A write transaction that may queue outbox messages; delivery starts on commit."""
        async with self.db.write() as session:
            yield session
        self.wake_outbox()


class BotContext(CallbackContext[ExtBot[Any], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """PTB's callback context plus our services."""

    # Read once when an update arrives (handlers/locale.py), for the handlers that follow.
    citizen_state: CitizenState | None = None

    @property
    def services(self) -> Services:
        return services_of(self.application)


def services_of(application: Application[Any, Any, Any, Any, Any, Any]) -> Services:
    return application.bot_data["services"]
