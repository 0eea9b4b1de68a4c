"""What the public pages read, fast at a million reports (bench/pages_bench.py) and exact: the
scorecard's latest agency answers the same whichever way they are found, and on SQLite the
indexes of migration 0012 in the plans of the pages' queries."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, select, update

from bot.reports import public, responsiveness
from bot.reports.lifecycle import PUBLIC
from storage.db import Database
from storage.models import Commitment, Report
from storage.queries import scorecards as queries
from tests.support.web_pages import T0, H, Planned, add_commitments, add_reports
from tests.web.test_pages import ROAD, known_set

OTHER = "PG-000"


def answered(reference: str, hours: int, note: str) -> Planned:
    return Planned(
        reference,
        "acknowledged",
        (("published", T0, "moderator", None), ("acknowledged", T0 + hours * H, "agency", note)),
    )


async def two_commitments(db: Database) -> dict[str, int]:
    """ROAD: seven answers with notes, 1 to 7 hours after T0, and a moderator's rejection reason
    (never an answer); OTHER: twenty newer answers. The newest of ROAD's is on a report withdrawn
    since."""
    await add_commitments(db, 1)
    road = [answered(f"CW-KNZZ{c}Z", n + 1, f"road answer {n + 1}") for n, c in enumerate("234567")]
    road.append(answered("CW-KNZZ8Z", 7, "road answer 7, withdrawn since"))
    road.append(Planned("CW-KNZZ9Z", "rejected", (("rejected", T0 + 9 * H, "moderator", "spam"),)))
    author = await add_reports(db, ROAD, road)
    other = [answered(f"CW-KN{a}{b}YZ", 10 + n, "other") for n, (a, b) in enumerate(pairs(20))]
    await add_reports(db, OTHER, other, citizen=author)
    async with db.write() as session:
        await session.execute(
            update(Report).where(Report.reference == "CW-KNZZ8Z").values(status="withdrawn")
        )
        ids = await session.execute(select(Commitment.code, Commitment.id))
        return {code: id_ for code, id_ in ids.all()}


def pairs(n: int) -> list[tuple[str, str]]:
    symbols = "23456789"
    return [(symbols[i // len(symbols)], symbols[i % len(symbols)]) for i in range(n)]


@pytest.mark.both_databases
async def test_latest_answers_are_the_same_whichever_way_they_are_found(
    database: Database, catalog_ids: dict[str, int]
) -> None:
    ids = await two_commitments(database)
    expected = [f"road answer {n}" for n in (6, 5, 4, 3, 2)]
    async with database.read() as session:
        for recent in (0, 1, 5, 20, 25, 26, 30, 1000):
            # 0: straight through the commitment's reports; from 26 (OTHER's twenty, the
            # withdrawn one and five): the five are among the recent notes; less: not all of
            # them, so through the commitment's reports after all.
            with statements(database) as seen:
                rows = await queries.latest_notes(
                    session, ids[ROAD], PUBLIC, public.PUBLIC_NOTE_ACTORS, 5, recent=recent
                )
            assert [r.note for r in rows] == expected, recent
            selects = [s for s, _ in seen if s.startswith("SELECT")]
            assert len(selects) == (1 if recent >= 26 else 2), recent
            assert rows[0].reference == "CW-KNZZ7Z" and rows[0].to_status == "acknowledged"
        few = await queries.latest_notes(
            session, ids[ROAD], PUBLIC, public.PUBLIC_NOTE_ACTORS, 10, recent=25
        )
        assert [r.note for r in few] == [f"road answer {n}" for n in range(6, 0, -1)]


@contextmanager
def statements(db: Database) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        seen.append((statement, parameters))

    event.listen(db.engine.sync_engine, "before_cursor_execute", keep)
    try:
        yield seen
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", keep)


async def plans(db: Database, seen: list[tuple[str, Any]]) -> list[str]:
    """SQLite's plan of each SELECT seen, its lines joined."""
    found = []
    async with db.engine.connect() as conn:
        raw = await conn.get_raw_connection()
        for statement, parameters in seen:
            if statement.lstrip().upper().startswith(("SELECT", "WITH")):
                cursor = await raw.driver_connection.execute(  # type: ignore[union-attr]
                    "EXPLAIN QUERY PLAN " + statement, parameters
                )
                found.append(" | ".join(row[3] for row in await cursor.fetchall()))
    return found


async def test_the_pages_queries_read_the_indexes_of_migration_0012(
    database: Database, catalog_ids: dict[str, int]
) -> None:
    await add_reports(database, ROAD, known_set())
    road = catalog_ids[ROAD]
    with statements(database) as seen:
        async with database.read() as session:
            await queries.responsiveness(session, responsiveness.SETS, commitment_id=road)
            await queries.responsiveness(session, responsiveness.SETS, by_agency=True)
            await queries.monthly_counts(session, road, PUBLIC)
            await queries.reports_of(session, road, PUBLIC, 0, 20)
            await queries.latest_notes(session, road, PUBLIC, public.PUBLIC_NOTE_ACTORS, 1)
    one, every, months, count, page, notes = await plans(database, seen)
    # The status events from the index alone, per commitment and for every agency.
    for plan in (one, every):
        assert "COVERING INDEX ix_report_events_report_action" in plan
    # A commitment's months from the index alone; its newest reports through it.
    assert "COVERING INDEX ix_reports_commitment_status_created" in months
    assert "COVERING INDEX ix_reports_commitment_status_created" in count
    assert "ix_reports_commitment_status_created" in page
    # The latest answers: back through the newest notes, then each one's report by its key.
    assert "SCAN report_events USING INDEX ix_report_events_noted" in notes
    assert "SEARCH reports USING INTEGER PRIMARY KEY" in notes
