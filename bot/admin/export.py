"""`export`: reports as open data (CSV or GeoJSON), streamed so that a million reports take as
little memory as ten.

Only public fields and public statuses by default, locations coarsened to PUBLIC_LOCATION_GRID_M;
citizens' Telegram ids are never exported, and --include-private adds only the internal citizen id
(to group one person's reports), the text as written and the exact point.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import Row

from bot.admin.common import AdminError, UsageError, admin_command, open_database
from bot.core.settings import Settings
from bot.i18n.translate import ngettext
from bot.reports import public, selection
from bot.reports.lifecycle import PUBLIC
from bot.reports.selection import Selection
from storage.db import Database
from storage.queries.exports import ReportFilter, stream_reports

PUBLIC_FIELDS = public.FIELD_NAMES  # declared in bot/reports/public.py
PRIVATE_FIELDS = ("citizen_id", "original_text")
BATCH_SIZE = 1000


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "export",
        help="export reports as open data (CSV or GeoJSON)",
        description="Export reports, streamed in constant memory. By default only public "
        f"statuses ({', '.join(sorted(PUBLIC))}) and public fields; no citizen is identified.",
    )
    parser.add_argument("--format", choices=("csv", "geojson"), default="csv")
    parser.add_argument("--commitment", metavar="CODE", help="only reports on this commitment")
    parser.add_argument(
        "--agency", metavar="CODE", help="only reports on this agency's commitments"
    )
    parser.add_argument(
        "--status", nargs="+", metavar="S", help="only these statuses (default: all public ones)"
    )
    parser.add_argument("--since", metavar="DATE", help="created on or after, e.g. 2024-01-31")
    parser.add_argument("--until", metavar="DATE", help="created on or before, e.g. 2024-12-31")
    parser.add_argument(
        "--include-private",
        action="store_true",
        help="also non-public statuses (draft, pending_review, rejected), the internal "
        "citizen id, the text as written and exact locations; never for publication",
    )
    parser.add_argument(
        "--out", default="-", metavar="FILE", help="write here instead of standard output (-)"
    )
    parser.set_defaults(handler=run_export)


def _private(row: Row) -> dict[str, Any]:
    """--include-private: the internal citizen id and the text as written."""
    return {"citizen_id": row.citizen_id, "original_text": row.text}


async def export_reports(
    db: Database,
    where: ReportFilter,
    fmt: str,
    out: TextIO,
    grid_m: float,
    base_url: str | None = None,
) -> int:
    """Write the reports matching `where`; returns how many. Locations are coarsened to cells of
    `grid_m` metres, except in a private export (never for publication), which keeps them exact.
    Photo links (media_url) start with `base_url` (PUBLIC_BASE_URL); without it there are none."""
    private = where.include_citizen
    audience = public.PRIVATE if private else public.Audience.public(grid_m)
    audience = audience.linking_to(base_url)
    async with db.read() as session:
        rows = stream_reports(session, where, BATCH_SIZE)
        if fmt == "geojson":
            return await public.write_geojson(rows, out, audience, _private if private else None)
        extra = (PRIVATE_FIELDS, _private) if private else None
        return await public.write_csv(rows, out, audience, extra)


def _selection(args: argparse.Namespace) -> Selection:
    return Selection(
        commitment=args.commitment,
        agency=args.agency,
        statuses=tuple(args.status or ()),
        since=args.since,
        until=args.until,
        include_private=args.include_private,
    )


def _cli_spelling(name: str) -> str:
    return f"--{name}"


@contextmanager
def _as_usage_errors() -> Iterator[None]:
    """The selection's errors in the command line's words, with its hints."""
    try:
        yield
    except selection.UnknownCode as unknown:
        hint = "; see: agencies list" if str(unknown).startswith("unknown agency") else ""
        raise AdminError(f"{unknown}{hint}") from None
    except selection.SelectionError as error:
        hint = "; add --include-private to export it" if error.private else ""
        raise UsageError(f"{error}{hint}") from None


async def _filter(db: Database, args: argparse.Namespace) -> ReportFilter:
    with _as_usage_errors():
        return await selection.report_filter(db, _selection(args), _cli_spelling)


@admin_command
async def run_export(args: argparse.Namespace, settings: Settings) -> int:
    with _as_usage_errors():  # a bad status fails before the database is opened
        selection.statuses(args.status, args.include_private, _cli_spelling)
    grid, base = settings.public_location_grid_m, settings.public_base_url
    async with open_database(settings) as db:
        where = await _filter(db, args)
        if args.out == "-":
            await export_reports(db, where, args.format, sys.stdout, grid, base)
            sys.stdout.flush()
            return 0
        # Write beside the target and rename at the end: a failed export leaves no half file.
        target = Path(args.out)
        partial = target.with_name(target.name + ".tmp")
        try:
            with partial.open("w", encoding="utf-8", newline="") as out:
                count = await export_reports(db, where, args.format, out, grid, base)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
    exported = ngettext(
        "exported {count} report to {target} ({format})",
        "exported {count} reports to {target} ({format})",
        count,
    )
    print(exported.format(count=count, target=target, format=args.format))
    return 0
