"""The command line: run the bot (default), the offline sandbox, or an admin command."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, NoReturn

from bot.admin import add_admin_commands
from bot.app import web_only
from bot.app.application import HandlerRegistrar
from bot.core.logging_setup import configure_logging
from bot.core.services import Services
from bot.core.settings import (
    ConfigError,
    Settings,
    load_settings,
    parse_log_level,
    settings_help,
)
from storage.db import Database

log = logging.getLogger(__name__)

DESCRIPTION = f"""\
Commitment Watch: a Telegram bot through which citizens report on public commitments.

Without a command, runs the bot: long polling by default, webhooks when WEBHOOK_URL is set.
Configuration comes from environment variables or a .env file (the environment wins):
{settings_help()}
"""

EXIT_CONFIG = 2
EXIT_USAGE = 2
EXIT_STARTUP = 3  # Telegram unreachable, or the token refused


class CommandLineParser(argparse.ArgumentParser):
    """Errors are one line, `error: ... (try PROG --help)`, exit status 2, for the program and
    every subcommand (subparsers are made of the same class). Each parser records its own prog
    as `command_prog`; the innermost chosen wins, so a handler knows which --help to suggest."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.set_defaults(command_prog=self.prog)

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> argparse.Namespace:
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            # Left over after the innermost subcommand: suggest that subcommand's help.
            self.fail(f"unrecognized arguments: {' '.join(extras)}", parsed.command_prog)
        return parsed

    def error(self, message: str) -> NoReturn:
        self.fail(message, self.prog)

    def fail(self, message: str, prog: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"error: {message} (try {prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = CommandLineParser(
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
    web_only.register(subparsers)
    return parser


async def _serve(settings: Settings, token: str, register_handlers: HandlerRegistrar) -> None:
    from bot.app.runner import BotRunner

    database = Database(settings.database_url, pool_size=settings.database_pool_size)
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
    from bot.app.runner import StartupError

    with (
        contextlib.suppress(KeyboardInterrupt),
        asyncio.Runner(loop_factory=event_loop_factory()) as runner,
    ):
        try:
            runner.run(_serve(settings, token, register_handlers))
        except StartupError as exc:
            print(f"cannot start: {exc}", file=sys.stderr)
            return EXIT_STARTUP
    return 0
