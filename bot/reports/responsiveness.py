"""An agency's responsiveness over a set of reports, as the public pages show it: the same figures
for one commitment (its scorecard) and for every agency (the agencies' table).

Over the reports that are public now, merged duplicates left out (their answer is the other
report's):
- median time to first answer: from a report's first publication to the agency's first answer of
  any kind (acknowledged, in progress, resolved, not ours, no action), over the reports answered;
- median time to resolution: from first publication to the first "resolved", over those resolved;
- share answered: of the reports ever published, those the agency answered;
- share reopened: of the reports the agency closed (resolved, or closed without action), those a
  citizen reopened as not fixed (bot/reports/fix_check.py).
Each figure comes with the count it is over, and is only shown over at least PUBLIC_MIN_SAMPLE
reports: below that, "too few reports" (a median of two says little about an agency).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.reports.lifecycle import AGENCY_ANSWERS, PUBLIC, Status
from storage.db import Database
from storage.queries import scorecards as queries

SETS = queries.ResponsivenessSets(
    counted=frozenset(PUBLIC - {Status.DUPLICATE}),
    published=Status.PUBLISHED,
    answers=frozenset(AGENCY_ANSWERS),
    resolved=Status.RESOLVED,
    closed=frozenset({Status.RESOLVED, Status.NO_ACTION}),
    reopened=Status.REOPENED,
)


@dataclass(frozen=True)
class Duration:
    seconds: float | None  # None when there are too few reports (or none)
    count: int  # the reports it is the median of
    enough: bool


@dataclass(frozen=True)
class Share:
    part: int
    whole: int
    enough: bool

    @property
    def ratio(self) -> float | None:
        return self.part / self.whole if self.enough and self.whole else None


@dataclass(frozen=True)
class Figures:
    to_answer: Duration
    to_resolve: Duration
    answered: Share  # of the published reports
    reopened: Share  # of the reports the agency closed


def _figures(counts: queries.Counts | None, minimum: int) -> Figures:
    if counts is None:
        counts = queries.Counts(0, 0, 0, 0, queries.Median(None, 0), queries.Median(None, 0))

    def duration(median: queries.Median) -> Duration:
        enough = median.count >= minimum
        return Duration(median.seconds if enough else None, median.count, enough)

    return Figures(
        to_answer=duration(counts.to_answer),
        to_resolve=duration(counts.to_resolve),
        answered=Share(counts.answered, counts.published, counts.published >= minimum),
        reopened=Share(counts.reopened, counts.closed, counts.closed >= minimum),
    )


async def of_commitment(db: Database, commitment_id: int, minimum: int) -> Figures:
    async with db.read() as session:
        found = await queries.responsiveness(session, SETS, commitment_id=commitment_id)
    return _figures(found.get(commitment_id), minimum)


async def of_agencies(db: Database, minimum: int) -> dict[int, Figures]:
    """Figures of every agency with at least one counted report, by agency id."""
    async with db.read() as session:
        found = await queries.responsiveness(session, SETS, by_agency=True)
    return {g: _figures(c, minimum) for g, c in found.items() if g is not None}
