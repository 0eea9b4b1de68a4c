"""What every admin command shares: one-line errors with an exit status, and the database."""

from __future__ import annotations

import argparse
import functools
import logging
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from sqlalchemy.exc import SQLAlchemyError

from bot.core.settings import Settings
from storage.db import Database
from storage.migrate import upgrade_to_head

EXIT_FAILURE = 1
EXIT_USAGE = 2

Handler = Callable[[argparse.Namespace, Settings], Awaitable[int]]

BOT_USERNAME_HELP = (
    "BOT_USERNAME is not set: links need the bot's @username; set BOT_USERNAME "
    "(environment or .env file), e.g. BOT_USERNAME=commitment_watch_bot"
)


class AdminError(Exception):
    """A failure the user can act on; printed as one line, never as a traceback."""

    exit_code = EXIT_FAILURE


class UsageError(AdminError):
    """A value on the command line is wrong."""

    exit_code = EXIT_USAGE


def admin_command(func: Handler) -> Handler:
    """Turn expected failures into `error: ...` on stderr and a non-zero exit status."""

    @functools.wraps(func)
    async def run(args: argparse.Namespace, settings: Settings) -> int:
        try:
            return await func(args, settings)
        except UsageError as exc:
            # A wrong value on the command line: say where to read how it is given.
            prog = getattr(args, "command_prog", None)
            return fail(f"{exc} (try {prog} --help)" if prog else str(exc), exc.exit_code)
        except AdminError as exc:
            return fail(str(exc), exc.exit_code)
        except SQLAlchemyError as exc:
            # The driver's first line says what went wrong (locked, no such table, ...).
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            return fail(f"database error: {reason}")
        except BrokenPipeError:
            # The reader went away (e.g. `| head`): stop quietly, as other command-line tools do.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return EXIT_FAILURE
        except OSError as exc:
            return fail(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc))

    return run


def fail(message: str, exit_code: int = EXIT_FAILURE) -> int:
    print(f"error: {message}", file=sys.stderr)
    return exit_code


@asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[Database]:
    """The database at the latest schema, as the bot itself would open it."""
    # Alembic announces each step at INFO; an admin command's output should be its own.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    database = Database(settings.database_url)
    try:
        await upgrade_to_head(database)
        yield database
    finally:
        await database.dispose()


def require_bot_username(settings: Settings) -> str:
    if not settings.bot_username:
        raise AdminError(BOT_USERNAME_HELP)
    return settings.bot_username


def positive_int(option: str, raw: object) -> int:
    """An option that must be a whole number of at least 1, or a UsageError naming it."""
    try:
        value = int(str(raw))
    except ValueError:
        value = 0
    if value < 1:
        raise UsageError(f"{option}: expected a whole number of at least 1, got {raw!r}")
    return value
