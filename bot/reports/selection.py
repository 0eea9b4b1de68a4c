"""Which reports an export holds, from the admin's options (`export`) or a download's query
(/data/reports.csv): one parser for both, so the CLI and the web mean the same by each filter.

Filters: a commitment code, an agency code, statuses (public ones unless private), and a
created-at window (`since` inclusive, `until` inclusive of its whole day when it is a date).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from bot.reports.lifecycle import PUBLIC, Status
from storage.db import Database
from storage.queries import agencies as agency_queries
from storage.queries import commitments as commitment_queries
from storage.queries.exports import ReportFilter

Spell = Callable[[str], str]  # how the caller names a filter: "--since" (CLI), "since" (URL)


class SelectionError(ValueError):
    """A filter value is wrong; the message names the filter, as the caller spells it, and what
    is expected."""

    def __init__(self, message: str, *, private: bool = False) -> None:
        super().__init__(message)
        self.private = private  # a status allowed with the admin's --include-private only


class UnknownCode(SelectionError):
    """A commitment or agency code that names nothing."""


@dataclass(frozen=True)
class Selection:
    """The filters as given, before the codes are looked up."""

    commitment: str | None = None
    agency: str | None = None
    statuses: tuple[str, ...] = ()  # each may be a comma list
    since: str | None = None
    until: str | None = None
    include_private: bool = False


def statuses(
    wanted: tuple[str, ...] | list[str] | None, include_private: bool, spell: Spell = str
) -> frozenset[str]:
    known = {s.value for s in Status}
    allowed = known if include_private else {s.value for s in PUBLIC}
    if not wanted:
        return frozenset(allowed)
    chosen = {s.strip().lower() for item in wanted for s in item.split(",") if s.strip()}
    for status in sorted(chosen):
        if status not in known:
            raise SelectionError(
                f"{spell('status')}: unknown status {status!r}; known: {', '.join(sorted(allowed))}"
            )
        if status not in allowed:
            raise SelectionError(f"{spell('status')}: {status} is not public", private=True)
    return frozenset(chosen)


def moment(raw: str, name: str, *, end: bool) -> datetime:
    """`name` is the filter as the caller spells it."""
    # A date (a whole day: an end includes it) or an ISO date-time (UTC unless it says).
    text = raw.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return start + timedelta(days=1) if end else start
        value = datetime.fromisoformat(text)
    except ValueError:
        raise SelectionError(f"{name}: expected a date such as 2024-01-31, got {raw!r}") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


async def report_filter(db: Database, selection: Selection, spell: Spell = str) -> ReportFilter:
    """The selection checked and its codes looked up; raises SelectionError (UnknownCode)."""
    chosen = statuses(selection.statuses, selection.include_private, spell)
    since = moment(selection.since, spell("since"), end=False) if selection.since else None
    until = moment(selection.until, spell("until"), end=True) if selection.until else None
    if since and until and since >= until:
        raise SelectionError(f"{spell('since')} must come before {spell('until')}")
    commitment_id = agency_id = None
    async with db.read() as session:
        if selection.commitment:
            commitment = await commitment_queries.by_code(session, selection.commitment.strip())
            if commitment is None:
                raise UnknownCode(f"unknown commitment {selection.commitment!r}")
            commitment_id = commitment.id
        if selection.agency:
            agency = await agency_queries.by_code(session, selection.agency.strip())
            if agency is None:
                raise UnknownCode(f"unknown agency {selection.agency!r}")
            agency_id = agency.id
    return ReportFilter(
        statuses=chosen,
        commitment_id=commitment_id,
        agency_id=agency_id,
        since=since,
        until=until,
        include_citizen=selection.include_private,
    )
