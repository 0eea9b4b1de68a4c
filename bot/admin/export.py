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
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import Row

from bot.admin.common import AdminError, UsageError, admin_command, open_database
from bot.core.settings import Settings
from bot.reports import public
from bot.reports.lifecycle import PUBLIC, Status
from storage.db import Database
from storage.queries import agencies as agency_queries
from storage.queries import commitments as commitment_queries
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


def statuses(wanted: list[str] | None, include_private: bool) -> frozenset[str]:
    known = {s.value for s in Status}
    allowed = known if include_private else {s.value for s in PUBLIC}
    if not wanted:
        return frozenset(allowed)
    chosen = {s.strip().lower() for item in wanted for s in item.split(",") if s.strip()}
    for status in sorted(chosen):
        if status not in known:
            raise UsageError(
                f"--status: unknown status {status!r}; known: {', '.join(sorted(known))}"
            )
        if status not in allowed:
            raise UsageError(
                f"--status: {status} is not public; add --include-private to export it"
            )
    return frozenset(chosen)


def moment(raw: str, option: str, *, end: bool) -> datetime:
    """A date (a whole day: --until includes it) or an ISO date-time (UTC unless it says)."""
    text = raw.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return start + timedelta(days=1) if end else start
        value = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option}: expected a date such as 2024-01-31, got {raw!r}") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _private(row: Row) -> dict[str, Any]:
    """--include-private: the internal citizen id and the text as written."""
    return {"citizen_id": row.citizen_id, "original_text": row.text}


async def export_reports(
    db: Database, where: ReportFilter, fmt: str, out: TextIO, grid_m: float
) -> int:
    """Write the reports matching `where`; returns how many. Locations are coarsened to cells of
    `grid_m` metres, except in a private export (never for publication), which keeps them exact."""
    private = where.include_citizen
    audience = public.PRIVATE if private else public.Audience.public(grid_m)
    async with db.read() as session:
        rows = stream_reports(session, where, BATCH_SIZE)
        if fmt == "geojson":
            return await public.write_geojson(rows, out, audience, _private if private else None)
        extra = (PRIVATE_FIELDS, _private) if private else None
        return await public.write_csv(rows, out, audience, extra)


async def _filter(db: Database, args: argparse.Namespace) -> ReportFilter:
    since = moment(args.since, "--since", end=False) if args.since else None
    until = moment(args.until, "--until", end=True) if args.until else None
    if since and until and since >= until:
        raise UsageError("--since must come before --until")
    commitment_id = agency_id = None
    async with db.read() as session:
        if args.commitment:
            commitment = await commitment_queries.by_code(session, args.commitment.strip())
            if commitment is None:
                raise AdminError(f"unknown commitment {args.commitment!r}")
            commitment_id = commitment.id
        if args.agency:
            agency = await agency_queries.by_code(session, args.agency.strip())
            if agency is None:
                raise AdminError(f"unknown agency {args.agency!r}; see: agencies list")
            agency_id = agency.id
    return ReportFilter(
        statuses=statuses(args.status, args.include_private),
        commitment_id=commitment_id,
        agency_id=agency_id,
        since=since,
        until=until,
        include_citizen=args.include_private,
    )


@admin_command
async def run_export(args: argparse.Namespace, settings: Settings) -> int:
    statuses(args.status, args.include_private)  # fail on a bad status before touching files
    grid = settings.public_location_grid_m
    async with open_database(settings) as db:
        where = await _filter(db, args)
        if args.out == "-":
            await export_reports(db, where, args.format, sys.stdout, grid)
            sys.stdout.flush()
            return 0
        # Write beside the target and rename at the end: a failed export leaves no half file.
        target = Path(args.out)
        partial = target.with_name(target.name + ".tmp")
        try:
            with partial.open("w", encoding="utf-8", newline="") as out:
                count = await export_reports(db, where, args.format, out, grid)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
    print(f"exported {count} reports to {target} ({args.format})")
    return 0
