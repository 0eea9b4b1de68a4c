"""Admin command line: catalog import, agencies, roles, QR codes, export, stats, outbox,
citizens, partners' API keys, purge."""

from __future__ import annotations

import argparse

from bot.admin import (
    agencies,
    api_keys,
    citizens,
    export,
    importer,
    outbox,
    purge,
    qr,
    roles,
    stats,
)


def add_admin_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register every admin subcommand; each sets `handler`: async (args, settings) -> int."""
    for module in (importer, agencies, roles, qr, export, stats, outbox, citizens, api_keys, purge):
        module.register(subparsers)
