"""What Open311 GeoReport v2 reads: commitments as services, public reports as service requests.

Which statuses are public, and which actors' notes are public, are the caller's to say (the report
lifecycle lives in bot/); this module only turns them into SQL. Rows carry the report's own columns
(storage/queries/exports.py report_columns), for the one public serializer to shape.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Agency, Commitment, Report, ReportEvent
from storage.queries.exports import report_columns, supporter_count


@dataclass(frozen=True)
class RequestQuery:
    statuses: frozenset[str]  # the public statuses wanted (open, closed or both)
    note_actor_kinds: frozenset[str]  # whose event notes are public (the agency's answers)
    references: tuple[str, ...] = ()  # when given, these and nothing else (dates, codes ignored)
    commitment_codes: tuple[str, ...] = ()
    start: datetime | None = None  # requested on or after
    end: datetime | None = None  # requested on or before
    offset: int = 0
    limit: int = 1000


def _request_columns(note_actor_kinds: Collection[str]) -> list[Any]:
    supporters = supporter_count()
    latest_note = (
        select(ReportEvent.note)
        .where(
            ReportEvent.report_id == Report.id,
            ReportEvent.actor_kind.in_(sorted(note_actor_kinds)),
            ReportEvent.note.is_not(None),
        )
        .order_by(ReportEvent.created_at.desc(), ReportEvent.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return [
        *report_columns(),
        Commitment.titles.label("commitment_titles"),
        Commitment.short_titles.label("commitment_short_titles"),
        Agency.names.label("agency_names"),
        Agency.code.label("agency_code"),
        supporters.label("supporter_count"),
        latest_note.label("status_notes"),
    ]


async def service_requests(session: AsyncSession, query: RequestQuery) -> Sequence[Row]:
    """Public reports matching `query`, newest request first; at most query.limit rows."""
    statement = (
        select(*_request_columns(query.note_actor_kinds))
        .join(Commitment, Commitment.id == Report.commitment_id)
        .outerjoin(Agency, Agency.id == Commitment.agency_id)
        .where(Report.status.in_(sorted(query.statuses)))
    )
    if query.references:
        statement = statement.where(Report.reference.in_(query.references))
    else:
        if query.commitment_codes:
            codes = sorted({code.lower() for code in query.commitment_codes})
            statement = statement.where(func.lower(Commitment.code).in_(codes))
        if query.start is not None:
            statement = statement.where(Report.created_at >= query.start)
        if query.end is not None:
            statement = statement.where(Report.created_at <= query.end)
    statement = (
        statement.order_by(Report.created_at.desc(), Report.id.desc())
        .offset(query.offset)
        .limit(query.limit)
    )
    return (await session.execute(statement)).all()


async def services(session: AsyncSession, code: str | None = None) -> Sequence[Row]:
    """Every commitment (or the one with `code`, any letter case) with its agency's names."""
    statement = select(Commitment, Agency.names.label("agency_names")).outerjoin(
        Agency, Agency.id == Commitment.agency_id
    )
    if code is not None:
        statement = statement.where(func.lower(Commitment.code) == code.lower())
    return (await session.execute(statement.order_by(Commitment.code))).all()
