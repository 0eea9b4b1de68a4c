"""`citizens`: a citizen's rights and limits from the admin CLI (export, forget, block), for
requests that arrive by other channels than the bot. Each action lives in its own module."""

from __future__ import annotations

import argparse
from types import ModuleType

from bot.admin import citizen_block, citizen_export, citizen_forget

# Each module has register(actions) adding one `citizens ACTION` subcommand.
ACTION_MODULES: tuple[ModuleType, ...] = (citizen_export, citizen_forget, citizen_block)


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "citizens",
        help="a citizen's data and limits: export, forget, block",
        description="Act on one citizen's data on their behalf, by their Telegram user id.",
    )
    actions = parser.add_subparsers(dest="citizens_action", metavar="ACTION", required=True)
    for module in ACTION_MODULES:
        module.register(actions)
