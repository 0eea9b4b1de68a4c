"""The command line: run the bot (default), the offline sandbox, or an admin command."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from bot.admin import add_admin_commands
from bot.app.application import HandlerRegistrar
from bot.core.logging_setup import configure_logging
from bot.core.services import Services
from bot.core.settings import ConfigError, Settings, load_settings, parse_log_level
from storage.db import Database

log = logging.getLogger(__name__)

DESCRIPTION = """\
Commitment Watch: a Telegram bot through which citizens report on public commitments.

Without a command, runs the bot: long polling by default, webhooks when WEBHOOK_URL is set.
Configuration comes from environment variables or a .env file:
  TELEGRAM_BOT_TOKEN     token from @BotFather (required to run against Telegram)
  TELEGRAM_API_BASE_URL  Bot API server, default https://api.telegram.org/bot (self-hosted or emulator)
  TELEGRAM_FILE_BASE_URL file download base, default derived from TELEGRAM_API_BASE_URL
  DATABASE_URL           default sqlite+aiosqlite:///./data/commitment_watch.db;
                         postgresql+asyncpg://user@host/db works too
  DEFAULT_LOCALE         en, fr, es, pt, ar, ha, yo, sw or uk (default en)
  TIMEZONE               IANA time zone for dates shown to users (default UTC)
  REGION_BOUNDS          south,west,north,east where report locations are accepted (default world)
  MODERATOR_CHAT_ID      the staff group's chat id (optional)
  MODERATOR_LOCALE       language of cards in the staff group (default DEFAULT_LOCALE)
  DUPLICATE_RADIUS_M     metres within which an open report is offered as a duplicate (250)
  FIX_CHECK_DAYS         days after "resolved" when the author is asked if it is fixed (7)
  TELEGRAM_MAX_MESSAGES_PER_SECOND   the bot's own pacing (29; 0 turns it off)
  BOT_USERNAME           the bot's @username for deep links (default: asked from Telegram)
  WEBHOOK_URL, WEBHOOK_LISTEN, WEBHOOK_PORT, WEBHOOK_SECRET   webhook mode
  WEB_PORT, WEB_LISTEN   agencies' status endpoint (off unless WEB_PORT is set; 127.0.0.1)
  SMTP_HOST, SMTP_PORT, SMTP_USERNAME, SMTP_PASSWORD, SMTP_STARTTLS, SMTP_TLS, MAIL_FROM
                         e-mail to agencies (none is sent without SMTP_HOST)
  LOG_LEVEL              DEBUG, INFO, WARNING or ERROR (default INFO)
"""

EXIT_CONFIG = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="run_bot.py",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help="chat with the bot offline in this terminal: starts the local Bot API emulator and "
        "the real bot with the demo catalog; no token and no network needed",
    )
    parser.add_argument(
        "--env-file",
        type=Path,
        default=None,
        help="read settings from this file instead of ./.env (environment variables win)",
    )
    parser.add_argument(
        "--log-level", default=None, help="override LOG_LEVEL (DEBUG, INFO, WARNING, ERROR)"
    )
    parser.add_argument(
        "--migrate-only",
        action="store_true",
        help="bring the database to the latest schema and exit",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", title="admin commands")
    add_admin_commands(subparsers)
    return parser


async def _serve(settings: Settings, token: str, register_handlers: HandlerRegistrar) -> None:
    from bot.app.runner import BotRunner

    database = Database(settings.database_url)
    runner = BotRunner(Services(settings=settings, db=database), token, register_handlers)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await runner.run_until_stopped(stop)
    finally:
        await database.dispose()


async def _migrate(settings: Settings) -> None:
    from storage.migrate import upgrade_to_head

    database = Database(settings.database_url)
    try:
        await upgrade_to_head(database)
    finally:
        await database.dispose()


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop where it is installed (Linux, macOS): the same bot, less CPU per update."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def main(argv: list[str] | None, register_handlers: HandlerRegistrar) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(env_file=args.env_file)
        if args.log_level:
            settings = replace(settings, log_level=parse_log_level(args.log_level))
    except (ConfigError, ValueError) as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    # In the sandbox the terminal is the chat: only warnings, unless asked for more.
    level = "WARNING" if args.sandbox and not args.log_level else settings.log_level
    configure_logging(
        level, secrets=[settings.telegram_bot_token or "", settings.smtp_password or ""]
    )

    if args.sandbox:
        from bot.app.sandbox import run_sandbox

        return asyncio.run(run_sandbox(settings, register_handlers))
    if getattr(args, "handler", None) is not None:
        return asyncio.run(args.handler(args, settings))
    if args.migrate_only:
        asyncio.run(_migrate(settings))
        print("database is at the latest schema")
        return 0
    try:
        token = settings.require_token()
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_CONFIG
    with (
        contextlib.suppress(KeyboardInterrupt),
        asyncio.Runner(loop_factory=event_loop_factory()) as runner,
    ):
        runner.run(_serve(settings, token, register_handlers))
    return 0
