"""`roles grant|revoke|list`: staff roles held by Telegram users."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from bot.admin.common import AdminError, UsageError, admin_command, open_database
from bot.core.settings import Settings
from storage.queries import roles as queries

ROLES = ("moderator", "admin")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "roles",
        help="grant, revoke and list moderator and admin roles",
        description="Staff roles, by Telegram user id (a user can learn theirs from @userinfobot).",
    )
    commands = parser.add_subparsers(dest="roles_command", metavar="ACTION", required=True)
    for action, verb in (("grant", "give"), ("revoke", "take away")):
        sub = commands.add_parser(action, help=f"{verb} a role", description=f"{verb} a role.")
        sub.add_argument("user_id", metavar="USER_ID", help="the Telegram user id, e.g. 123456789")
        sub.add_argument("role", metavar="ROLE", help=" or ".join(ROLES))
        sub.set_defaults(handler=run_grant if action == "grant" else run_revoke)
    listing = commands.add_parser("list", help="who holds which role")
    listing.add_argument("--role", help="only this role")
    listing.set_defaults(handler=run_list)


def user_id(raw: str) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        value = 0
    if value <= 0 or value >= 2**63:
        raise UsageError(
            f"USER_ID must be a positive whole number (a Telegram user id), got {raw!r}"
        )
    return value


def role(raw: str) -> str:
    name = raw.strip().lower()
    if name not in ROLES:
        raise UsageError(f"unknown role {raw!r}; expected {' or '.join(ROLES)}")
    return name


@admin_command
async def run_grant(args: argparse.Namespace, settings: Settings) -> int:
    uid, name = user_id(args.user_id), role(args.role)
    async with open_database(settings) as db, db.write() as session:
        granted = await queries.grant(session, uid, name, datetime.now(UTC))
    print(f"granted {name} to {uid}" if granted else f"{uid} already holds {name}")
    return 0


@admin_command
async def run_revoke(args: argparse.Namespace, settings: Settings) -> int:
    uid, name = user_id(args.user_id), role(args.role)
    async with open_database(settings) as db, db.write() as session:
        revoked = await queries.revoke(session, uid, name)
    if not revoked:
        raise AdminError(f"{uid} does not hold {name}; nothing was changed")
    print(f"revoked {name} from {uid}")
    return 0


@admin_command
async def run_list(args: argparse.Namespace, settings: Settings) -> int:
    only = role(args.role) if args.role else None
    async with open_database(settings) as db, db.read() as session:
        held = await queries.all_roles(session, only)
    if not held:
        print("nobody holds " + (only or "any role") + "; grant one with: roles grant USER_ID ROLE")
        return 0
    for item in held:
        since = item.granted_at.strftime("%Y-%m-%d %H:%M UTC")
        print(f"{item.role:<10} {item.telegram_user_id:<20} since {since}")
    return 0
