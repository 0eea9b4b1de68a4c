"""`agencies list|add|edit|invite-official`: who receives reports, when and how."""

from __future__ import annotations

import argparse
import difflib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.admin import agency_options as opt
from bot.admin.common import (
    AdminError,
    UsageError,
    admin_command,
    open_database,
    require_bot_username,
)
from bot.catalog.deeplinks import deep_link, invite_payload
from bot.core.settings import Settings
from bot.i18n.translate import ngettext
from bot.roles.officials import create_invite
from storage.models import Agency
from storage.queries import agencies as queries
from storage.text import fold_text


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "agencies",
        help="list, add and edit agencies; invite their officials",
        description="Agencies receive the approved reports on their commitments, and a digest.",
    )
    commands = parser.add_subparsers(dest="agencies_command", metavar="ACTION", required=True)

    listing = commands.add_parser(
        "list",
        help="agencies with their schedule, channels and number of commitments",
        description="Agencies by code, then how many were listed. Filters combine.",
    )
    listing.add_argument(
        "--country",
        help="only agencies with a commitment in this country or locality (any letter case), "
        "e.g. Nigeria",
    )
    listing.add_argument(
        "--search",
        metavar="TEXT",
        help="only agencies whose code or name (any language) contains TEXT, ignoring letter "
        "case and accents",
    )
    listing.set_defaults(handler=run_list)

    add = commands.add_parser(
        "add",
        help="add an agency",
        description="Add an agency.",
        usage="%(prog)s CODE --name LANG=TEXT [--name LANG=TEXT ...] [options]",
    )
    _settings_options(add, editing=False)
    add.set_defaults(handler=run_add)

    edit = commands.add_parser(
        "edit",
        help="change an agency",
        description="Change an agency; options not given keep their values.",
        usage="%(prog)s CODE [options]",
    )
    _settings_options(edit, editing=True)
    edit.set_defaults(handler=run_edit)

    invite = commands.add_parser(
        "invite-official",
        help="print a single-use, expiring link that makes its user an official of the agency",
        description="Print a deep link; the first Telegram user to open it before it expires "
        "becomes an official of the agency. Needs BOT_USERNAME.",
    )
    invite.add_argument("agency", metavar="AGENCY", help="the agency's code")
    invite.add_argument(
        "--expires-in",
        default="72h",
        metavar="DURATION",
        help="how long the link works, e.g. 30m, 72h, 7d (default 72h, at most 30d)",
    )
    invite.set_defaults(handler=run_invite)


def _settings_options(parser: argparse.ArgumentParser, *, editing: bool) -> None:
    parser.add_argument("code", nargs="?", metavar="CODE", help="the agency's code, e.g. kd-mow")
    # The spelling before the commands agreed on a positional CODE; still accepted.
    parser.add_argument("--code", dest="code_option", help=argparse.SUPPRESS)
    parser.add_argument(
        "--name",
        action="append",
        default=[],
        metavar="LANG=TEXT",
        help="the name in one language, e.g. --name en='Ministry of Works' (repeatable)"
        + ("; LANG= with no text removes that language" if editing else ""),
    )
    parser.add_argument("--timezone", help="IANA time zone for the digest, e.g. Africa/Lagos")
    parser.add_argument("--digest", choices=opt.DIGESTS, help="how often the digest goes out")
    parser.add_argument("--digest-time", metavar="HH:MM", help="local time of the digest")
    parser.add_argument(
        "--digest-weekday", metavar="DAY", help="day of a weekly digest: mon, tue, ..., sun"
    )
    parser.add_argument("--webhook-url", help="https:// URL that receives reports as JSON")
    parser.add_argument(
        "--webhook-secret",
        metavar="SECRET",
        help="shared secret that signs webhook calls (at least 16 characters; - reads it from "
        "standard input); never printed back",
    )
    parser.add_argument(
        "--email", action="append", default=[], help="an address that receives reports (repeatable)"
    )
    if editing:
        parser.add_argument(
            "--clear-emails", action="store_true", help="remove all addresses (before any --email)"
        )
        parser.add_argument(
            "--clear-webhook", action="store_true", help="remove the webhook URL and secret"
        )


def _changes(args: argparse.Namespace) -> dict[str, Any]:
    """The validated settings given on the command line, as model attribute values."""
    changes: dict[str, Any] = {}
    if args.timezone is not None:
        changes["timezone"] = opt.timezone(args.timezone)
    if args.digest is not None:
        changes["digest_frequency"] = args.digest
    if args.digest_time is not None:
        changes["digest_time"] = opt.digest_time(args.digest_time)
    if args.digest_weekday is not None:
        changes["digest_weekday"] = opt.weekday(args.digest_weekday)
    if args.webhook_url is not None:
        changes["webhook_url"] = opt.webhook_url(args.webhook_url)
    if args.webhook_secret is not None:
        changes["webhook_secret"] = opt.webhook_secret(args.webhook_secret)
    return changes


def _code_argument(args: argparse.Namespace, command: str) -> str:
    """CODE, or the old `--code CODE`; one of them, once."""
    given = [c for c in (args.code, args.code_option) if c is not None]
    if not given:
        raise UsageError(
            f"give the agency's CODE, e.g. agencies {command} kd-mow"
            + (" --name en='Ministry of Works'" if command == "add" else " --digest off")
        )
    if len(given) == 2 and given[0].strip() != given[1].strip():
        raise UsageError(f"the code is given twice ({given[0]} and {given[1]}); give it once")
    return given[0]


@admin_command
async def run_add(args: argparse.Namespace, settings: Settings) -> int:
    code = opt.agency_code(_code_argument(args, "add"))
    names = {k: v for k, v in opt.names(args.name).items() if v}
    if not names:
        raise UsageError("--name: give the agency's name in at least one language, e.g. en=...")
    changes = _changes(args)
    emails = [opt.email(e) for e in args.email]
    async with open_database(settings) as db, db.write() as session:
        if await queries.by_code(session, code) is not None:
            raise AdminError(f"agency {code} already exists; change it with: agencies edit")
        now = datetime.now(UTC)
        agency = Agency(code=code, names=names, emails=emails, created_at=now, updated_at=now)
        for name, value in changes.items():
            setattr(agency, name, value)
        await queries.add(session, agency)
    print(f"added agency {code}")
    return 0


@admin_command
async def run_edit(args: argparse.Namespace, settings: Settings) -> int:
    code = _code_argument(args, "edit").strip()
    names = opt.names(args.name)
    changes = _changes(args)
    emails = [opt.email(e) for e in args.email]
    if not (names or changes or emails or args.clear_emails or args.clear_webhook):
        raise UsageError("nothing to change: give at least one option (see agencies edit --help)")
    if args.clear_webhook and ("webhook_url" in changes or "webhook_secret" in changes):
        raise UsageError("--clear-webhook cannot be combined with --webhook-url/--webhook-secret")
    async with open_database(settings) as db, db.write() as session:
        agency = await _existing(session, code)
        if names:
            merged = {**(agency.names or {}), **names}
            merged = {lang: text for lang, text in merged.items() if text}
            if not merged:
                raise UsageError("--name: an agency needs a name in at least one language")
            agency.names = merged
        if args.clear_webhook:
            changes.update(webhook_url=None, webhook_secret=None)
        for name, value in changes.items():
            setattr(agency, name, value)
        if args.clear_emails or emails:
            kept = [] if args.clear_emails else list(agency.emails or [])
            agency.emails = kept + [e for e in emails if e not in kept]
        agency.updated_at = datetime.now(UTC)
    print(f"updated agency {code}")
    return 0


async def _existing(session: AsyncSession, code: str) -> Agency:
    agency = await queries.by_code(session, code)
    if agency is None:
        codes = await queries.all_codes(session)
        close = difflib.get_close_matches(code, codes, n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else "; see: agencies list"
        raise AdminError(f"unknown agency {code!r}{hint}")
    return agency


@admin_command
async def run_invite(args: argparse.Namespace, settings: Settings) -> int:
    username = require_bot_username(settings)
    validity = opt.invite_validity(args.expires_in)
    async with open_database(settings) as db:
        async with db.read() as session:
            agency = await _existing(session, args.agency.strip())
        invite = await create_invite(db, agency, datetime.now(UTC), validity)
    print(deep_link(username, invite_payload(invite.token)))
    expires = invite.expires_at.strftime("%Y-%m-%d %H:%M UTC")
    print(f"single use, for agency {agency.code}, expires {expires}")
    return 0


@admin_command
async def run_list(args: argparse.Namespace, settings: Settings) -> int:
    async with open_database(settings) as db, db.read() as session:
        overview = await queries.overview(session)
        countries = await queries.countries(session) if args.country is not None else {}
    if not overview:
        print("no agencies yet; add one with: agencies add CODE --name en=NAME")
        return 0
    shown = overview
    if args.country is not None:
        wanted = fold_text(args.country)
        shown = [
            item
            for item in shown
            if any(fold_text(c) == wanted for c in countries.get(item.agency.id, ()))
        ]
    if args.search is not None:
        needle = fold_text(args.search)
        shown = [item for item in shown if needle in _searchable(item.agency)]
    for item in shown:
        print("\n".join(describe(item.agency, item.commitments, item.officials, item.partner_in)))
    total = len(overview)
    if args.country is None and args.search is None:
        print(ngettext("{count} agency", "{count} agencies", total).format(count=total))
    else:
        print(
            ngettext("{count} of {total} agency", "{count} of {total} agencies", total).format(
                count=len(shown), total=total
            )
        )
    return 0


def _searchable(agency: Agency) -> str:
    return fold_text(" ".join([agency.code, *(agency.names or {}).values()]))


def describe(agency: Agency, commitments: int, officials: int, partner_in: int = 0) -> list[str]:
    names = "; ".join(f"{text} [{lang}]" for lang, text in sorted((agency.names or {}).items()))
    channels = [
        ngettext("{count} official in Telegram", "{count} officials in Telegram", officials).format(
            count=officials
        )
    ]
    if agency.webhook_url:
        channels.append(
            f"webhook {agency.webhook_url} (secret {opt.mask_secret(agency.webhook_secret)})"
        )
    if agency.emails:
        channels.append("email " + ", ".join(agency.emails))
    return [
        f"{agency.code}  {names}",
        f"  time zone:   {agency.timezone}",
        f"  digest:      {schedule(agency)}",
        f"  channels:    {'; '.join(channels)}",
        f"  commitments: {commitments}",
        *([f"  partner in:  {partner_in}"] if partner_in else []),
    ]


def schedule(agency: Agency) -> str:
    at = agency.digest_time.strftime("%H:%M") if agency.digest_time else "08:00"
    if agency.digest_frequency == "weekly":
        return f"weekly, {opt.WEEKDAYS[agency.digest_weekday]} at {at}"
    if agency.digest_frequency == "daily":
        return f"daily at {at}"
    return "off"
