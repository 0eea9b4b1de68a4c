"""`citizens forget USER_ID [--withdraw]`: erase a citizen's data on their behalf, as /forget
does in the bot (bot/citizens/erasure.py), for a request that arrived by another channel."""

from __future__ import annotations

import argparse
from dataclasses import fields

from bot.admin.common import AdminError, admin_command, open_database
from bot.admin.roles import user_id
from bot.citizens import erasure
from bot.core.services import Services
from bot.core.settings import Settings


def register(actions: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = actions.add_parser(
        "forget",
        help="erase a citizen's data; their reports stay anonymous, or are withdrawn",
        description=(
            "Erase everything stored about the citizen with this Telegram user id, in one "
            "transaction: no row keeps their id. Their reports stay as anonymous public record, "
            "or with --withdraw each one not yet closed becomes 'withdrawn' (never public; the "
            "moderators' card and the agency's webhook are told). Staff roles are not touched."
        ),
    )
    parser.add_argument("user_id", metavar="USER_ID", help="the Telegram user id, e.g. 123456789")
    parser.add_argument(
        "--withdraw", action="store_true", help="withdraw their reports that are not closed yet"
    )
    parser.set_defaults(handler=run_forget)


@admin_command
async def run_forget(args: argparse.Namespace, settings: Settings) -> int:
    uid = user_id(args.user_id)
    async with open_database(settings) as db:
        erased = await erasure.erase(
            Services(settings=settings, db=db), uid, withdraw=args.withdraw
        )
    if erased is None:
        raise AdminError(f"no citizen with Telegram user id {uid} is stored: nothing to erase")
    print(f"erased citizen {uid}" + (", reports withdrawn" if args.withdraw else ""))
    for field in fields(erased):
        print(f"  {field.name.replace('_', ' ')}: {getattr(erased, field.name)}")
    return 0
