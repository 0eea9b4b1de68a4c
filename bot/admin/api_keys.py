"""`api-keys create|list|revoke`: Open311 API keys for partner channels (a partner's web form,
an SMS gateway, a call centre) that file reports into the moderation queue (POST requests.json).

The key is printed once, by `create`, and never again: only its hash is stored. `list` shows the
partners and their dates, never a key or a hash. A revoked key is refused from then on; its
partner keeps its name, as the author of the reports it filed.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from bot.admin.common import AdminError, UsageError, admin_command, open_database
from bot.core.settings import Settings
from bot.i18n.translate import ngettext
from bot.roles import partners


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "api-keys",
        help="Open311 API keys for partner channels: create, list, revoke",
        description="Partner channels (a web form, an SMS gateway, a call centre) file reports "
        "over Open311 POST with an API key; their reports wait for review like any other.",
    )
    actions = parser.add_subparsers(dest="api_keys_action", metavar="ACTION", required=True)
    create = actions.add_parser(
        "create",
        help="make a key for a new partner and print it (once: only its hash is kept)",
        description="Make a key for a new partner; the key is printed once and cannot be "
        "shown again. Give it to the partner over a safe channel.",
    )
    create.add_argument(
        "name", metavar="NAME", help="the partner's name, shown on its reports' cards"
    )
    create.set_defaults(handler=run_create)
    listing = actions.add_parser(
        "list",
        help="partners with when their key was made, last used and revoked",
        description="Partners by name: created, last used (when it last filed a report), "
        "revoked. Never a key.",
    )
    listing.set_defaults(handler=run_list)
    revoke = actions.add_parser(
        "revoke",
        help="refuse a partner's key from now on",
        description="Refuse a partner's key from now on; the reports it filed stay.",
    )
    revoke.add_argument("name", metavar="NAME", help="the partner's name")
    revoke.set_defaults(handler=run_revoke)


@admin_command
async def run_create(args: argparse.Namespace, settings: Settings) -> int:
    try:
        name = partners.clean_name(args.name)
    except partners.InvalidName as exc:
        raise UsageError(str(exc)) from None
    async with open_database(settings) as db:
        try:
            key = await partners.create(db, name, datetime.now(UTC))
        except partners.PartnerExists:
            raise AdminError(
                f"a partner named {name!r} already has a key (revoked ones keep their name); "
                "choose another name, e.g. with a year"
            ) from None
    print(f"created an API key for {name}; it is shown this once and cannot be shown again:")
    print(key)
    return 0


def _when(moment: datetime | None, never: str = "never") -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment is not None else never


@admin_command
async def run_list(args: argparse.Namespace, settings: Settings) -> int:
    async with open_database(settings) as db:
        keys = await partners.listing(db)
    if not keys:
        print("no partner has an API key; make one with: api-keys create NAME")
        return 0
    width = max(len("partner"), *(len(k.name) for k in keys))
    print(f"{'partner':<{width}}  {'created':<20}  {'last used':<20}  revoked")
    for key in keys:
        print(
            f"{key.name:<{width}}  {_when(key.created_at):<20}  {_when(key.last_used_at):<20}  "
            f"{_when(key.revoked_at, 'no')}"
        )
    count = len(keys)
    print(ngettext("{count} partner", "{count} partners", count).format(count=count))
    return 0


@admin_command
async def run_revoke(args: argparse.Namespace, settings: Settings) -> int:
    async with open_database(settings) as db:
        try:
            await partners.revoke(db, args.name, datetime.now(UTC))
        except partners.UnknownPartner:
            raise AdminError(
                f"no partner named {args.name!r}; see api-keys list; nothing changed"
            ) from None
        except partners.AlreadyRevoked:
            raise AdminError(
                f"the key of {args.name!r} was already revoked; nothing changed"
            ) from None
    print(f"revoked the API key of {args.name}: it is refused from now on")
    return 0
