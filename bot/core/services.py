"""What every handler can reach: settings, the database and the clock, typed."""

from __future__ import annotations

import asyncio
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


@dataclass
class Services:
    settings: Settings
    db: Database
    clock: Callable[[], datetime] = field(default=system_clock)
    http: HttpClient = field(default_factory=HttpClient)  # closed by the runner's stop()
    # Rung when a transaction that queued outbox messages commits; the outbox dispatcher waits
    # on it, so what was just queued is delivered now rather than at its next idle tick.
    outbox_bell: asyncio.Event = field(default_factory=asyncio.Event)
    # Set by BotRunner.stop() when a drain begins: /healthz answers 503 "draining" from then on,
    # so a load balancer stops sending this worker anything while it finishes what it holds.
    draining: bool = False

    @asynccontextmanager
    async def write_then_deliver(self) -> AsyncIterator[AsyncSession]:
        """A write transaction that may queue outbox messages; delivery starts on commit."""
        async with self.db.write() as session:
            yield session
        self.outbox_bell.set()


class BotContext(CallbackContext[ExtBot[Any], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """PTB's callback context plus our services."""

    # Read once when an update arrives (handlers/locale.py), for the handlers that follow.
    citizen_state: CitizenState | None = None

    @property
    def services(self) -> Services:
        return services_of(self.application)


def services_of(application: Application[Any, Any, Any, Any, Any, Any]) -> Services:
    return application.bot_data["services"]
