"""What the public pages read: commitments with their counts, a commitment's scorecard, a report
with its history, and agencies' responsiveness, aggregated in SQL.

Which statuses are public, open or an answer, and whose notes are public, are the caller's to say
(bot/reports/lifecycle.py, bot/reports/public.py); this module turns them into SQL. Every query
reaches reports through ix_reports_commitment_status_created (per commitment: its months and its
newest reports come from the index alone) or aggregates in the database; none loads a
commitment's or an agency's reports into Python. Report rows carry the report's own columns
(storage/queries/exports.py report_columns), for the one public serializer to shape.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Agency, Commitment, Report, ReportEvent
from storage.queries.commitments import search_conditions
from storage.queries.digests import Median, seconds_between
from storage.queries.exports import report_columns, supporter_count

# --- the list of commitments --------------------------------------------------------------------


@dataclass(frozen=True)
class CommitmentFilter:
    query: str = ""  # words, folded as the bot's search folds them
    theme: str | None = None
    agency_id: int | None = None


def _count_in(statuses: Collection[str]) -> Any:
    # count(*), not count(id): PostgreSQL's indexes hold no id, so counting ids visits the table
    # where the index alone would do.
    return (
        select(func.count())
        .select_from(Report)
        .where(Report.commitment_id == Commitment.id, Report.status.in_(sorted(statuses)))
        .correlate(Commitment)
        .scalar_subquery()
    )


async def commitments(
    session: AsyncSession,
    where: CommitmentFilter,
    open_statuses: Collection[str],
    resolved_statuses: Collection[str],
    offset: int,
    limit: int,
) -> tuple[Sequence[Row], int]:
    """A page of commitments (by code, an exact code match first) with their agency's names and
    how many of their reports are open and resolved; and how many commitments match."""
    conditions: list[ColumnElement[bool]] = search_conditions(where.query)
    if where.theme is not None:
        conditions.append(Commitment.theme == where.theme)
    if where.agency_id is not None:
        conditions.append(Commitment.agency_id == where.agency_id)
    total = await session.scalar(select(func.count()).select_from(Commitment).where(*conditions))
    exact = func.lower(Commitment.code) == where.query.strip().lower()
    rows = await session.execute(
        select(
            Commitment,
            Agency.names.label("agency_names"),
            Agency.code.label("agency_code"),
            _count_in(open_statuses).label("open_count"),
            _count_in(resolved_statuses).label("resolved_count"),
        )
        .outerjoin(Agency, Agency.id == Commitment.agency_id)
        .where(*conditions)
        .order_by(exact.desc(), Commitment.code)
        .offset(offset)
        .limit(limit)
    )
    return rows.all(), total or 0


async def themes(session: AsyncSession) -> list[str]:
    rows = await session.scalars(
        select(Commitment.theme).where(Commitment.theme.is_not(None)).distinct()
    )
    return sorted(t for t in rows.all() if t)


async def agencies_with_commitments(session: AsyncSession) -> Sequence[Agency]:
    """The agencies responsible for at least one commitment, by code."""
    rows = await session.scalars(
        select(Agency)
        .where(Agency.id.in_(select(Commitment.agency_id).where(Commitment.agency_id.is_not(None))))
        .order_by(Agency.code)
    )
    return rows.all()


async def agency_by_code(session: AsyncSession, code: str) -> Agency | None:
    return await session.scalar(select(Agency).where(Agency.code == code))


# --- one commitment --------------------------------------------------------------------------------


async def commitment(session: AsyncSession, code: str) -> Row | None:
    """The commitment with this code (any letter case) and its agency's names."""
    statement = select(
        Commitment, Agency.names.label("agency_names"), Agency.code.label("agency_code")
    ).outerjoin(Agency, Agency.id == Commitment.agency_id)
    row = (await session.execute(statement.where(Commitment.code == code))).first()
    if row is None:
        row = (
            await session.execute(
                statement.where(func.lower(Commitment.code) == code.lower()).limit(1)
            )
        ).first()
    return row


def _month(session: AsyncSession, column: Any) -> Any:
    """ "YYYY-MM" of a UTC timestamp."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM")
    return func.substr(column, 1, 7)  # SQLite stores "YYYY-MM-DD HH:MM:SS..." in UTC


async def monthly_counts(
    session: AsyncSession, commitment_id: int, statuses: Collection[str]
) -> list[tuple[str, str, int]]:
    """(month the reports came in, their status now, how many), oldest month first."""
    month = _month(session, Report.created_at).label("month")
    rows = await session.execute(
        select(month, Report.status, func.count())
        .where(Report.commitment_id == commitment_id, Report.status.in_(sorted(statuses)))
        .group_by(month, Report.status)
        .order_by(month)
    )
    return [(m, status, n) for m, status, n in rows.all()]


async def reports_of(
    session: AsyncSession,
    commitment_id: int,
    statuses: Collection[str],
    offset: int,
    limit: int,
) -> tuple[Sequence[Row], int]:
    """A page of the commitment's reports in `statuses`, newest first, with their supporter
    counts; and how many there are."""
    condition = and_(Report.commitment_id == commitment_id, Report.status.in_(sorted(statuses)))
    total = await session.scalar(select(func.count()).select_from(Report).where(condition))
    rows = await session.execute(
        select(*report_columns(), supporter_count().label("supporter_count"))
        .join(Commitment, Commitment.id == Report.commitment_id)
        .where(condition)
        .order_by(Report.created_at.desc(), Report.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return rows.all(), total or 0


# How many of the newest notes, of every report, the latest answers are first looked for in.
RECENT_NOTES = 2000


async def latest_notes(
    session: AsyncSession,
    commitment_id: int,
    statuses: Collection[str],
    actor_kinds: Collection[str],
    limit: int,
    recent: int = RECENT_NOTES,
) -> Sequence[Row]:
    """The latest notes by `actor_kinds` (the agency's answers) on the commitment's reports in
    `statuses`: reference, to_status, note, created_at; newest first.

    First among the `recent` newest notes of all reports (ix_report_events_noted, a short
    walk back whatever the commitment's size): if `limit` of them are the commitment's, no older
    note can come before them, so they are the answer. Otherwise (a commitment with few reports,
    or none answered lately) through the commitment's own reports, which are then few or quiet."""
    noted = and_(ReportEvent.actor_kind.in_(sorted(actor_kinds)), ReportEvent.note.is_not(None))
    newest = (
        select(
            ReportEvent.id,
            ReportEvent.report_id,
            ReportEvent.to_status,
            ReportEvent.note,
            ReportEvent.created_at,
        )
        .where(noted)
        .order_by(ReportEvent.created_at.desc(), ReportEvent.id.desc())
        .limit(recent)
        .subquery("newest")
    )
    # From each recent note to its report by primary key, never the other way round: the
    # commitment's reports may be many.
    counted = (
        select(Report.id)
        .where(
            Report.id == newest.c.report_id,
            Report.commitment_id == commitment_id,
            Report.status.in_(sorted(statuses)),
        )
        .exists()
    )
    reference = select(Report.reference).where(Report.id == newest.c.report_id).scalar_subquery()
    found = (
        await session.execute(
            select(
                reference.label("reference"),
                newest.c.to_status,
                newest.c.note,
                newest.c.created_at,
            )
            .where(counted)
            .order_by(newest.c.created_at.desc(), newest.c.id.desc())
            .limit(limit)
        )
    ).all()
    if len(found) == limit:
        return found
    rows = await session.execute(
        select(Report.reference, ReportEvent.to_status, ReportEvent.note, ReportEvent.created_at)
        .join(Report, Report.id == ReportEvent.report_id)
        .where(
            Report.commitment_id == commitment_id,
            Report.status.in_(sorted(statuses)),
            noted,
        )
        .order_by(ReportEvent.created_at.desc(), ReportEvent.id.desc())
        .limit(limit)
    )
    return rows.all()


# --- one report --------------------------------------------------------------------------------------


async def report(session: AsyncSession, reference: str, statuses: Collection[str]) -> Row | None:
    """The report with this reference if it is in `statuses`: its own columns, its id, its
    supporter count and its commitment's titles."""
    row = await session.execute(
        select(
            *report_columns(),
            Report.id.label("report_id"),
            supporter_count().label("supporter_count"),
            Commitment.titles.label("commitment_titles"),
            Commitment.short_titles.label("commitment_short_titles"),
        )
        .join(Commitment, Commitment.id == Report.commitment_id)
        .where(Report.reference == reference, Report.status.in_(sorted(statuses)))
    )
    return row.first()


async def history(
    session: AsyncSession,
    report_id: int,
    actions: Collection[str],
    note_actor_kinds: Collection[str],
) -> Sequence[Row]:
    """The report's events of these actions, oldest first: created_at, to_status, and the note
    only where its actor is one of `note_actor_kinds` (None otherwise: a moderator's reasons
    never leave the database through here)."""
    note = case((ReportEvent.actor_kind.in_(sorted(note_actor_kinds)), ReportEvent.note))
    rows = await session.execute(
        select(ReportEvent.created_at, ReportEvent.to_status, note.label("note"))
        .where(ReportEvent.report_id == report_id, ReportEvent.action.in_(sorted(actions)))
        .order_by(ReportEvent.created_at, ReportEvent.id)
    )
    return rows.all()


# --- responsiveness ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResponsivenessSets:
    """The statuses the figures count with (bot/reports/lifecycle.py says which)."""

    counted: frozenset[str]  # the reports that count: public, not merged into another
    published: str
    answers: frozenset[str]  # the agency's answers: the first one answers a report
    resolved: str
    closed: frozenset[str]  # what the agency closes with that citizens can reopen
    reopened: str


@dataclass(frozen=True)
class Counts:
    published: int  # reports ever published
    answered: int  # of them, answered by the agency
    closed: int  # closed by the agency (resolved or no action) at least once
    reopened: int  # of them, reopened by citizens ("closed but not fixed")
    to_answer: Median  # from first publication to the first answer
    to_resolve: Median  # from first publication to the first resolution


async def responsiveness(
    session: AsyncSession,
    sets: ResponsivenessSets,
    *,
    commitment_id: int | None = None,
    by_agency: bool = False,
) -> dict[int | None, Counts]:
    """The figures over one set of reports: a commitment's (commitment_id), or every agency's
    (by_agency: keyed by agency id). One statement: one pass over the status events of the
    counted reports (ix_report_events_report_action: report_id, action, to_status, created_at,
    so the events are read from the index alone), grouped per report into a common table the
    database computes once, then per group the counts and the two medians (window functions)."""
    dialect = session.get_bind().dialect.name
    group = Commitment.agency_id if by_agency else literal(0)

    def first(condition: ColumnElement[bool]) -> Any:
        return func.min(case((condition, ReportEvent.created_at)))

    def ever(condition: ColumnElement[bool]) -> Any:
        return func.max(case((condition, 1), else_=0))

    per_report = (
        select(
            group.label("g"),
            first(ReportEvent.to_status == sets.published).label("published_at"),
            first(ReportEvent.to_status.in_(sorted(sets.answers))).label("answered_at"),
            first(ReportEvent.to_status == sets.resolved).label("resolved_at"),
            ever(ReportEvent.to_status.in_(sorted(sets.closed))).label("closed"),
            ever(ReportEvent.to_status == sets.reopened).label("reopened"),
        )
        .select_from(Report)
        .join(ReportEvent, and_(ReportEvent.report_id == Report.id, ReportEvent.action == "status"))
        .where(Report.status.in_(sorted(sets.counted)))
        .group_by(Report.id, group)
    )
    if by_agency:
        per_report = per_report.join(Commitment, Commitment.id == Report.commitment_id)
    if commitment_id is not None:
        per_report = per_report.where(Report.commitment_id == commitment_id)
    firsts = per_report.cte("firsts")
    published = firsts.c.published_at.is_not(None)
    totals = (
        select(
            firsts.c.g,
            func.count().label("n"),
            func.count(firsts.c.answered_at).label("answered"),
            func.sum(firsts.c.closed).label("closed"),
            func.sum(case((and_(firsts.c.closed == 1, firsts.c.reopened == 1), 1), else_=0)).label(
                "reopened"
            ),
        )
        .where(published)
        .group_by(firsts.c.g)
        .subquery("totals")
    )
    to_answer = _medians(
        select(
            firsts.c.g,
            seconds_between(dialect, firsts.c.answered_at, firsts.c.published_at).label("d"),
        ).where(published, firsts.c.answered_at >= firsts.c.published_at),
        "to_answer",
    )
    to_resolve = _medians(
        select(
            firsts.c.g,
            seconds_between(dialect, firsts.c.resolved_at, firsts.c.published_at).label("d"),
        ).where(published, firsts.c.resolved_at >= firsts.c.published_at),
        "to_resolve",
    )
    rows = await session.execute(
        select(
            totals.c.g,
            totals.c.n,
            totals.c.answered,
            totals.c.closed,
            totals.c.reopened,
            to_answer.c.d,
            to_answer.c.n,
            to_resolve.c.d,
            to_resolve.c.n,
        )
        .outerjoin(to_answer, to_answer.c.g.is_not_distinct_from(totals.c.g))
        .outerjoin(to_resolve, to_resolve.c.g.is_not_distinct_from(totals.c.g))
    )
    found: dict[int | None, Counts] = {}
    for g, n, answered, closed, reopened, answer_d, answer_n, resolve_d, resolve_n in rows:
        key = g if by_agency else commitment_id
        found[key] = Counts(
            n,
            answered,
            closed or 0,
            reopened or 0,
            _median(answer_d, answer_n),
            _median(resolve_d, resolve_n),
        )
    return found


def _medians(durations: Any, name: str) -> Any:
    """The median duration per group of (g, d) rows, as a subquery of (g, d, n): the middle row,
    or the mean of the two middle ones."""
    inner = durations.subquery()
    ranked = select(
        inner.c.g,
        inner.c.d,
        func.row_number().over(partition_by=inner.c.g, order_by=inner.c.d).label("rn"),
        func.count().over(partition_by=inner.c.g).label("n"),
    ).subquery()
    return (
        select(ranked.c.g, func.avg(ranked.c.d).label("d"), func.max(ranked.c.n).label("n"))
        .where(ranked.c.rn * 2 >= ranked.c.n, ranked.c.rn * 2 <= ranked.c.n + 2)
        .group_by(ranked.c.g)
        .subquery(name)
    )


def _median(seconds: Any, count: Any) -> Median:
    if seconds is None:
        return Median(None, 0)
    # julianday() arithmetic is off by microseconds; durations are shown in hours or days.
    return Median(round(float(seconds), 3), int(count))


async def agencies(session: AsyncSession, ids: Collection[int]) -> Sequence[Agency]:
    rows = await session.scalars(select(Agency).where(Agency.id.in_(sorted(ids))))
    return rows.all()


# --- the map ----------------------------------------------------------------------------------------


async def located_reports(
    session: AsyncSession, statuses: Collection[str], limit: int, since: datetime | None = None
) -> Sequence[Row]:
    """Reports in `statuses` that have a place, newest first, at most `limit`, with their
    commitment's titles (for the map's list)."""
    statement = (
        select(
            *report_columns(),
            Commitment.titles.label("commitment_titles"),
            Commitment.short_titles.label("commitment_short_titles"),
        )
        .join(Commitment, Commitment.id == Report.commitment_id)
        .where(Report.status.in_(sorted(statuses)), Report.latitude.is_not(None))
        .order_by(Report.created_at.desc(), Report.id.desc())
        .limit(limit)
    )
    if since is not None:
        statement = statement.where(Report.created_at >= since)
    return (await session.execute(statement)).all()
