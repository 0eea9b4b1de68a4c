"""The application factory: python-telegram-bot configured the way Commitment Watch needs it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from telegram import LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.ext import Application, ContextTypes, Defaults

from bot.app.bot_api import PACE_BURST, BotApiLimiter, BotApiRequest
from bot.app.flood import FloodGate
from bot.app.inbox import DurableUpdateQueue, Inbox
from bot.app.shared_pace import SharedPace
from bot.app.update_processor import PerUserUpdateProcessor
from bot.core.services import BotContext, Services
from storage.db import Database

AppType = Application[Any, BotContext, Any, Any, Any, Any]
HandlerRegistrar = Callable[[AppType], None]

# Updates processed at once across all users; one user's updates still queue on their own lock.
MAX_CONCURRENT_UPDATES = 256


def rate_limiter(max_messages_per_second: float, db: Database) -> BotApiLimiter:
    if max_messages_per_second <= 0:
        # No pacing of our own, but 429s are still honoured and transient faults retried.
        return BotApiLimiter(overall_max_rate=0, group_max_rate=0)
    # On PostgreSQL there may be several workers: one pace for the token, kept in the database.
    shared = (
        None
        if db.is_sqlite
        else SharedPace(db, max_messages_per_second, min(PACE_BURST, max_messages_per_second))
    )
    return BotApiLimiter(overall_max_rate=max_messages_per_second, shared=shared)


def build_application(
    services: Services, token: str, register_handlers: HandlerRegistrar, inbox: Inbox
) -> AppType:
    """Build the Application; handlers are passed in because bot/ must not import handlers/.
    Every update it receives goes through the durable inbox (bot/app/inbox.py)."""
    settings = services.settings
    # On the services' clock (read at each update, so a test can move it).
    flood = FloodGate(
        settings.flood_messages_per_minute,
        settings.flood_cooldown_seconds,
        clock=lambda: services.clock().timestamp(),
    )
    processor = PerUserUpdateProcessor(
        MAX_CONCURRENT_UPDATES, flood=flood, unlimited_chat=settings.moderator_chat_id
    )
    processor.on_finished = inbox.finished
    processor.on_starting = inbox.starting
    application = (
        Application.builder()
        .token(token)
        .update_queue(DurableUpdateQueue(inbox, processor.admit))
        .base_url(settings.telegram_api_base_url)
        .base_file_url(settings.file_base_url)
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        # Paces sending, waits out Telegram's 429 answers (retry_after) instead of losing the
        # message, and retries transient faults without sending a message twice (bot_api.py).
        .rate_limiter(rate_limiter(settings.max_messages_per_second, services.db))
        .concurrent_updates(processor)
        .context_types(ContextTypes(context=BotContext))
        .request(BotApiRequest(connection_pool_size=64, pool_timeout=30.0))
        .get_updates_request(BotApiRequest(connection_pool_size=2))
        .build()
    )
    application.bot_data["services"] = services
    register_handlers(application)
    return application
