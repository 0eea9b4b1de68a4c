"""`stats`: how many reports in which status, on which commitments and agencies, and how much
the outbox still has to deliver."""

from __future__ import annotations

import argparse
import json
from typing import Any

from bot.admin.common import admin_command, open_database, positive_int
from bot.admin.outbox import failed_deliveries, per_kind_and_agency
from bot.core.settings import Settings
from bot.reports.lifecycle import Status
from storage.db import Database
from storage.queries import stats as queries

NO_AGENCY = "(no agency)"


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "stats",
        help="reports per status, commitment and agency; failed deliveries; outbox backlog",
        description="Counts for a quick health check of the deployment.",
    )
    parser.add_argument(
        "--top", default="10", metavar="N", help="how many commitments to list (default 10)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(handler=run_stats)


async def collect(db: Database, top: int) -> dict[str, Any]:
    async with db.read() as session:
        per_status = await queries.reports_per_status(session)
        commitments = await queries.top_commitments(session, top)
        agencies = await queries.reports_per_agency(session)
        outbox = await queries.outbox_per_status(session)
    failed = per_kind_and_agency(await failed_deliveries(db))
    # Every known status is listed, with 0 where there are none, in lifecycle order.
    ordered = {s.value: per_status.pop(s.value, 0) for s in Status} | per_status
    return {
        "reports_total": sum(ordered.values()),
        "reports_per_status": ordered,
        "top_commitments": [{"code": c, "reports": n} for c, n in commitments],
        "reports_per_agency": [{"agency": a, "reports": n} for a, n in agencies],
        "outbox": {"pending": outbox.get("pending", 0), "failed": outbox.get("failed", 0)},
        "failed_deliveries": [{"kind": k, "agency": a, "count": n} for k, a, n in failed],
    }


def _table(title: str, rows: list[tuple[str, int]]) -> list[str]:
    if not rows:
        return [title, "  (none)"]
    width = max(len(name) for name, _ in rows)
    return [title, *(f"  {name:<{width}}  {count:>9}" for name, count in rows)]


@admin_command
async def run_stats(args: argparse.Namespace, settings: Settings) -> int:
    top = positive_int("--top", args.top)
    async with open_database(settings) as db:
        figures = await collect(db, top)
    if args.json:
        print(json.dumps(figures, indent=2, ensure_ascii=False))
        return 0
    lines = _table(
        f"reports per status (total {figures['reports_total']})",
        list(figures["reports_per_status"].items()),
    )
    lines += _table(
        f"top {top} commitments by reports",
        [(c["code"], c["reports"]) for c in figures["top_commitments"]],
    )
    lines += _table(
        "reports per agency",
        [(a["agency"] or NO_AGENCY, a["reports"]) for a in figures["reports_per_agency"]],
    )
    lines += _table(
        "failed deliveries per kind and agency (details: outbox failed)",
        [
            (f"{f['kind']} {f['agency'] or NO_AGENCY}", f["count"])
            for f in figures["failed_deliveries"]
        ],
    )
    lines += _table("outbox backlog", list(figures["outbox"].items()))
    print("\n".join(lines))
    return 0
