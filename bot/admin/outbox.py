"""`outbox failed`: deliveries the dispatcher gave up on, with the agency and the last error."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from dataclasses import asdict, dataclass

from bot.admin.common import admin_command, open_database, positive_int
from bot.core.settings import Settings
from bot.i18n.translate import ngettext
from storage.db import Database
from storage.queries import failed_deliveries as queries


@dataclass(frozen=True)
class FailedDelivery:
    id: int
    kind: str
    agency: str | None  # the agency it was for (or whose report it concerned), if any
    attempts: int
    created_at: str
    last_error: str | None


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "outbox",
        help="messages the bot could not deliver",
        description="What the outbox dispatcher gave up on after its retries.",
    )
    commands = parser.add_subparsers(dest="outbox_command", metavar="ACTION", required=True)
    failed = commands.add_parser(
        "failed",
        help="failed deliveries, newest first, with their agency and last error",
        description="Failed deliveries, newest first: kind, agency, attempts and last error.",
    )
    failed.add_argument("--limit", default="50", metavar="N", help="at most N (default 50)")
    failed.add_argument("--json", action="store_true", help="print JSON instead of lines")
    failed.set_defaults(handler=run_failed)


async def failed_deliveries(db: Database, limit: int | None = None) -> list[FailedDelivery]:
    async with db.read() as session:
        rows = await queries.failed(session, limit)
        payloads = [r.payload or {} for r in rows]
        by_agency = await queries.agency_codes(
            session, (int(p["agency_id"]) for p in payloads if "agency_id" in p)
        )
        by_report = await queries.agency_codes_of_reports(
            session, (int(p["report_id"]) for p in payloads if "report_id" in p)
        )
    found = []
    for row, payload in zip(rows, payloads, strict=True):
        # A message addressed to an agency names it; others belong to their report's agency.
        if "agency_id" in payload:
            agency = by_agency.get(int(payload["agency_id"]))
        else:
            agency = by_report.get(int(payload.get("report_id") or 0))
        found.append(
            FailedDelivery(
                row.id,
                row.kind,
                agency,
                row.attempts,
                row.created_at.strftime("%Y-%m-%d %H:%M UTC"),
                row.last_error,
            )
        )
    return found


def per_kind_and_agency(failed: list[FailedDelivery]) -> list[tuple[str, str | None, int]]:
    """(kind, agency, count), most first."""
    counts = Counter((f.kind, f.agency) for f in failed)
    return sorted(
        ((kind, agency, n) for (kind, agency), n in counts.items()),
        key=lambda item: (-item[2], item[0], item[1] or ""),
    )


@admin_command
async def run_failed(args: argparse.Namespace, settings: Settings) -> int:
    limit = positive_int("--limit", args.limit)
    async with open_database(settings) as db:
        failed = await failed_deliveries(db, limit)
    if args.json:
        print(json.dumps([asdict(f) for f in failed], indent=2, ensure_ascii=False))
        return 0
    if not failed:
        print("no failed deliveries")
        return 0
    for item in failed:
        print(
            f"#{item.id}  {item.kind}  agency {item.agency or '(none)'}  "
            + ngettext("{count} attempt", "{count} attempts", item.attempts).format(
                count=item.attempts
            )
            + f"  queued {item.created_at}"
        )
        print(f"  last error: {item.last_error or '(none recorded)'}")
    return 0
