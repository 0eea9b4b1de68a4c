"""`purge [--dry-run]`: delete now what the retention settings say is due (the bot does it every
hour by itself); with --dry-run, list what would go and change nothing.

The listing never shows personal data: drafts by their age and step, reports by reference."""

from __future__ import annotations

import argparse
from datetime import datetime

from bot.admin.common import admin_command, open_database
from bot.citizens.retention import Purge, plan, purge
from bot.core.services import Services
from bot.core.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "purge",
        help="delete old drafts and rejected reports' content now (retention)",
        description=(
            "Delete abandoned drafts older than DRAFT_RETENTION_DAYS with their photos, the "
            "text, photos and voice note of reports rejected more than REJECTED_RETENTION_DAYS "
            "ago (the report, its reference and history stay), and stored photos nothing "
            "uses any more. The bot does this every hour by itself."
        ),
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="list what would be deleted; change nothing"
    )
    parser.set_defaults(handler=run_purge)


def _days(at: datetime, now: datetime) -> int:
    return max(0, (now - at).days)


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def describe(result: Purge) -> list[str]:
    """The report printed by `purge`, in plain lines, without personal data."""
    verb = "would be deleted" if result.dry_run else "deleted"
    lines = []
    if result.draft_days == 0:
        lines.append("drafts: kept forever (DRAFT_RETENTION_DAYS=0)")
    else:
        lines.append(
            f"drafts unchanged for more than {result.draft_days} days, {verb}: {len(result.drafts)}"
        )
        for draft in result.drafts:
            lines.append(
                f"  idle {_days(draft.updated_at, result.now)} days, at step {draft.step}, "
                + _plural(draft.photos, "photo", "photos")
            )
    if result.rejected_days == 0:
        lines.append("rejected reports: content kept forever (REJECTED_RETENTION_DAYS=0)")
    else:
        lines.append(
            f"rejected reports more than {result.rejected_days} days ago whose text, photos "
            f"and voice note {verb}: {len(result.reports)}"
        )
        for report in result.reports:
            content = [_plural(report.photos, "photo", "photos")]
            content += ["text"] if report.text else []
            content += ["voice note"] if report.voice else []
            lines.append(
                f"  {report.reference}  rejected {report.rejected_at:%Y-%m-%d} "
                f"({_days(report.rejected_at, result.now)} days ago): {', '.join(content)}"
            )
    lines.append(f"stored photos nothing uses any more, {verb}: {result.media}")
    if result.dry_run:
        lines.append("dry run: nothing was changed; run `purge` without --dry-run to delete")
    return lines


@admin_command
async def run_purge(args: argparse.Namespace, settings: Settings) -> int:
    async with open_database(settings) as db:
        services = Services(settings=settings, db=db)
        result = await (plan(services) if args.dry_run else purge(services))
    print("\n".join(describe(result)))
    return 0
