"""The report state machine: the one place that says which status may follow which.

Every change of status goes through `transition`, which checks it, stores it as an append-only
event, and updates the report in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n.translate import N_, _
from storage.models import Report, ReportEvent
from storage.queries import reports as report_queries


class Status(StrEnum):
    DRAFT = "draft"
    PENDING_REVIEW = "pending_review"
    PUBLISHED = "published"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"
    NOT_RESPONSIBLE = "not_responsible"
    NO_ACTION = "no_action"
    WITHDRAWN = "withdrawn"  # the citizen withdrew it when erasing their data (/forget)


_AGENCY_ANSWERS = {
    Status.ACKNOWLEDGED,
    Status.IN_PROGRESS,
    Status.RESOLVED,
    Status.NOT_RESPONSIBLE,
    Status.NO_ACTION,
}

ALLOWED: dict[Status, frozenset[Status]] = {
    Status.DRAFT: frozenset({Status.PENDING_REVIEW}),
    Status.PENDING_REVIEW: frozenset({Status.PUBLISHED, Status.REJECTED, Status.DUPLICATE}),
    Status.PUBLISHED: frozenset(_AGENCY_ANSWERS | {Status.DUPLICATE}),
    Status.ACKNOWLEDGED: frozenset(_AGENCY_ANSWERS - {Status.ACKNOWLEDGED} | {Status.DUPLICATE}),
    Status.IN_PROGRESS: frozenset({Status.RESOLVED, Status.NOT_RESPONSIBLE, Status.NO_ACTION}),
    Status.RESOLVED: frozenset({Status.REOPENED}),
    # A reopened report is back in the agency's hands, as if just published.
    Status.REOPENED: frozenset(_AGENCY_ANSWERS | {Status.DUPLICATE}),
    # "Not ours" goes back to the moderators, who reroute it (published again).
    Status.NOT_RESPONSIBLE: frozenset({Status.PUBLISHED}),
    Status.REJECTED: frozenset(),
    Status.DUPLICATE: frozenset(),
    Status.NO_ACTION: frozenset({Status.REOPENED}),
    Status.WITHDRAWN: frozenset(),
}
# A citizen who erases their data (/forget) may withdraw any report not yet closed for good.
ALLOWED = {
    status: following | {Status.WITHDRAWN} if following else following
    for status, following in ALLOWED.items()
}

PUBLIC_OPEN = frozenset(
    {Status.PUBLISHED, Status.ACKNOWLEDGED, Status.IN_PROGRESS, Status.REOPENED}
)
PUBLIC_CLOSED = frozenset(
    {Status.RESOLVED, Status.DUPLICATE, Status.NOT_RESPONSIBLE, Status.NO_ACTION}
)
PUBLIC = PUBLIC_OPEN | PUBLIC_CLOSED
# No way out: nothing more can happen to such a report, not even an event that keeps the status.
FINAL = frozenset(status for status, following in ALLOWED.items() if not following)
# What an agency (an official in Telegram, or its own system) may answer with.
AGENCY_ANSWERS = frozenset(_AGENCY_ANSWERS)
# Events about the report's sender, not the report: recorded whatever its status, even FINAL
# (a spammer's rejected report is where a moderator blocks them; bot/citizens/blocking.py).
SENDER_ACTIONS = frozenset({"blocked", "unblocked"})
# A moderator hides a report's photos from the public, or shows them again: wherever they are, or
# may become, public (waiting for review, or public, a merged report's too, closed for good as it
# is); never on a rejected or withdrawn report, whose photos nobody outside the staff sees.
PHOTO_ACTIONS = frozenset({"photos_hidden", "photos_shown"})
PHOTO_STATUSES = frozenset(PUBLIC | {Status.PENDING_REVIEW})

_LABELS = {
    # Translators: a report's status, shown after "Status:" and in notices; lower case.
    Status.DRAFT: N_("draft"),
    Status.PENDING_REVIEW: N_("received, waiting for review"),
    Status.PUBLISHED: N_("published, sent to the agency"),
    Status.ACKNOWLEDGED: N_("acknowledged by the agency"),
    Status.IN_PROGRESS: N_("in progress"),
    Status.RESOLVED: N_("resolved"),
    Status.REOPENED: N_("reopened"),
    Status.REJECTED: N_("not published"),
    Status.DUPLICATE: N_("merged with another report"),
    Status.NOT_RESPONSIBLE: N_("the agency says it is not responsible"),
    Status.NO_ACTION: N_("closed without action"),
    Status.WITHDRAWN: N_("withdrawn by the citizen"),
}


class InvalidTransition(ValueError):
    def __init__(self, current: str, wanted: str) -> None:
        super().__init__(f"a report that is {current} cannot become {wanted}")
        self.current = current
        self.wanted = wanted


def status_label(status: str) -> str:
    """The status in the reader's language."""
    return _(_LABELS[Status(status)])


def can_transition(current: str, wanted: str) -> bool:
    return Status(wanted) in ALLOWED[Status(current)]


class ActorKind(StrEnum):
    CITIZEN = "citizen"
    MODERATOR = "moderator"
    OFFICIAL = "official"  # an agency's official, in Telegram
    AGENCY = "agency"  # an agency's own system, through the signed status endpoint
    SYSTEM = "system"


@dataclass(frozen=True)
class Actor:
    """Who acted: their kind, an id, and for staff a name."""

    kind: ActorKind
    id: int | None
    name: str | None = None


async def record_creation(
    session: AsyncSession, report: Report, *, actor_id: int | None, at: datetime
) -> ReportEvent:
    """The first event of a report: a citizen's draft became a report waiting for review."""
    return await report_queries.add_event(
        session,
        report.id,
        actor_kind=ActorKind.CITIZEN,
        actor_id=actor_id,
        from_status=Status.DRAFT,
        to_status=Status.PENDING_REVIEW,
        note=None,
        at=at,
        action="created",
    )


async def transition(
    session: AsyncSession,
    report: Report,
    wanted: Status,
    *,
    actor: Actor,
    at: datetime,
    note: str | None = None,
) -> ReportEvent:
    """Move a report to `wanted`, or raise InvalidTransition leaving everything unchanged."""
    current = report.status
    if not can_transition(current, wanted):
        raise InvalidTransition(current, wanted)
    report.status = wanted
    return await _event(session, report, "status", actor, at, current, note)


async def record_action(
    session: AsyncSession,
    report: Report,
    action: str,
    *,
    actor: Actor,
    at: datetime,
    note: str | None = None,
) -> ReportEvent:
    """An event that keeps the status (redacted, moved, asked, answered, supported)."""
    if action in PHOTO_ACTIONS:
        if report.status not in PHOTO_STATUSES:
            raise InvalidTransition(report.status, action)
    elif report.status in FINAL and action not in SENDER_ACTIONS:
        raise InvalidTransition(report.status, action)
    return await _event(session, report, action, actor, at, report.status, note)


async def _event(
    session: AsyncSession,
    report: Report,
    action: str,
    actor: Actor,
    at: datetime,
    from_status: str,
    note: str | None,
) -> ReportEvent:
    """Append the event (the report's status is already the new one)."""
    if action not in SENDER_ACTIONS:  # the report itself, as the public sees it, is unchanged
        report.updated_at = at
    return await report_queries.add_event(
        session,
        report.id,
        actor_kind=actor.kind,
        actor_id=actor.id,
        actor_name=actor.name,
        from_status=from_status,
        to_status=report.status,
        note=note,
        at=at,
        action=action,
    )
