"""`serve-web`: the web server alone, as a read-only process (the public pages, Open311 and the
open data): no Telegram, no outbox, no scheduled jobs, no bot token. Several of these can stand
behind a load balancer beside the bot's workers, on the same database.

It never changes the schema (the bot, or `--migrate-only`, does): it refuses to start on a
database that is not at the latest schema. The agencies' status endpoint is a write and is not
served here (it stays with the bot's own web server).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from bot.channels.web.server import AgencyWebServer
from bot.core.services import Services
from bot.core.settings import Settings
from storage.db import Database
from storage.migrate import current_revision, head_revision

log = logging.getLogger(__name__)

EXIT_CONFIG = 2


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "serve-web",
        help="the public web server alone (pages, Open311, open data), read-only; needs WEB_PORT",
        description="Serve the public web pages, Open311 and the open-data files on "
        "WEB_LISTEN:WEB_PORT from the database, without Telegram: no bot token, no outbox, no "
        "scheduled jobs, nothing written. The database must be at the latest schema (run "
        "run_bot.py --migrate-only, or the bot, first). Stops on Ctrl-C or SIGTERM.",
    )
    parser.set_defaults(handler=serve_web)


async def serve_web(args: argparse.Namespace, settings: Settings) -> int:
    if settings.web_port is None:
        print(
            "WEB_PORT is required for serve-web: the port the web server listens on, "
            "e.g. WEB_PORT=8080",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    database = Database(settings.database_url, pool_size=settings.database_pool_size)
    try:
        if await current_revision(database) != head_revision():
            print(
                "the database is not at the latest schema: run run_bot.py --migrate-only (or "
                "start the bot) first; serve-web never changes the schema",
                file=sys.stderr,
            )
            return EXIT_CONFIG
        server = AgencyWebServer(Services(settings=settings, db=database), read_only=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await server.start()
        print(f"serving the public web pages on {settings.web_listen}:{server.port}", flush=True)
        try:
            await stop.wait()
        finally:
            await server.stop()
    finally:
        await database.dispose()
    return 0
