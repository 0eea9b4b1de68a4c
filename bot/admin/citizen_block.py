"""`citizens block|unblock|list`: stop (or allow again) new reports from one citizen.

The admin sees Telegram ids here; moderators, in the staff group, never do. Blocking refuses the
citizen's new reports only: what they already sent goes on as before, and their draft is kept.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from bot.admin.common import AdminError, UsageError, admin_command, open_database
from bot.admin.roles import user_id
from bot.citizens import blocking
from bot.core.settings import Settings
from bot.i18n.translate import ngettext
from bot.reports.moderation import TextInvalid


def register(actions: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    block = actions.add_parser(
        "block",
        help="refuse new reports from a citizen",
        description="Refuse new reports from a citizen (their sent reports and draft stay); "
        "they are told once, politely, without the reason.",
    )
    block.add_argument("user_id", metavar="USER_ID", help="the citizen's Telegram user id")
    block.add_argument(
        "--reason", required=True, help="why, for the staff's record (the citizen never sees it)"
    )
    block.set_defaults(handler=run_block)
    unblock = actions.add_parser(
        "unblock",
        help="accept new reports from a blocked citizen again",
        description="Accept new reports from a blocked citizen again; they are told so.",
    )
    unblock.add_argument("user_id", metavar="USER_ID", help="the citizen's Telegram user id")
    unblock.set_defaults(handler=run_unblock)
    listing = actions.add_parser(
        "list",
        help="list citizens; --blocked: the blocked ones",
        description="List blocked citizens: internal id, Telegram id, since when, by whom, why.",
    )
    listing.add_argument(
        "--blocked", action="store_true", help="only blocked citizens (the only listing there is)"
    )
    listing.set_defaults(handler=run_list)


def _not_found(uid: int) -> AdminError:
    return AdminError(f"no citizen with Telegram user id {uid} has used the bot; nothing changed")


@admin_command
async def run_block(args: argparse.Namespace, settings: Settings) -> int:
    uid = user_id(args.user_id)
    try:
        reason = blocking.clean_reason(args.reason)
    except TextInvalid:
        raise UsageError(
            f"--reason must be some text of at most {blocking.MAX_REASON} characters"
        ) from None
    async with open_database(settings) as db:
        try:
            done = await blocking.block_citizen(
                db, uid, reason, datetime.now(UTC), settings.moderator_chat_id
            )
        except blocking.CitizenNotFound:
            raise _not_found(uid) from None
    print(f"blocked {uid}: {reason}" if done else f"{uid} was already blocked; nothing changed")
    return 0


@admin_command
async def run_unblock(args: argparse.Namespace, settings: Settings) -> int:
    uid = user_id(args.user_id)
    async with open_database(settings) as db:
        try:
            done = await blocking.unblock_citizen(
                db, uid, datetime.now(UTC), settings.moderator_chat_id
            )
        except blocking.CitizenNotFound:
            raise _not_found(uid) from None
    if not done:
        raise AdminError(f"{uid} is not blocked; nothing changed")
    print(f"unblocked {uid}: new reports are accepted again")
    return 0


@admin_command
async def run_list(args: argparse.Namespace, settings: Settings) -> int:
    async with open_database(settings) as db:
        blocked = await blocking.blocked_citizens(db)
    if not blocked:
        print("no citizen is blocked")
        return 0
    print(f"{'id':<8} {'telegram id':<20} {'blocked since':<22} {'by':<22} reason")
    for citizen in blocked:
        since = citizen.blocked_at.strftime("%Y-%m-%d %H:%M UTC")
        by = f"moderator {citizen.blocked_by}" if citizen.blocked_by else "admin"
        reason = blocking.reason_label(citizen.reason)
        print(f"{citizen.id:<8} {citizen.telegram_user_id:<20} {since:<22} {by:<22} {reason}")
    count = len(blocked)
    print(
        ngettext("{count} blocked citizen", "{count} blocked citizens", count).format(count=count)
    )
    return 0
