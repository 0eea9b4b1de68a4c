"""What follows each change to a report: the one table, and the one function that carries it out.

A change is a status transition (from, to, who acted) or an event that keeps the status (an action
such as "moved" or "supported", and who acted). Callers change a report through `change_status` or
`record`, never assembling the effects themselves. Every effect is queued in the caller's
transaction (the outbox), so it happens exactly when the change commits, and each outbox message is
keyed by the event, so nothing is ever queued twice for one change.

To find out what happens when, say, an official marks a report resolved: look up
(IN_PROGRESS, RESOLVED, OFFICIAL) in TRANSITIONS below.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.agency_queue import queue_webhook_in
from bot.core.services import Services
from bot.outbox.queue import Kind, enqueue
from bot.reports.agency_delivery import deliver_to_agency_in
from bot.reports.lifecycle import (
    AGENCY_ANSWERS,
    ALLOWED,
    Actor,
    ActorKind,
    Status,
    record_action,
    transition,
)
from bot.reports.notices import queue_status_notices
from storage.models import Report, ReportEvent
from storage.queries import agencies as agency_queries
from storage.queries.citizens import without_telegram


class Effect(StrEnum):
    """Everything a change can set in motion, in the order it is queued."""

    POST_CARD = "post_card"  # a new report's card for the staff group
    TELL_AUTHOR = "tell_author"  # a status notice to the author alone
    TELL_FOLLOWERS = "tell_followers"  # a status notice to the author and every supporter
    TELL_AUTHOR_MOVED = "tell_author_moved"  # the author hears which commitment it went to
    ASK_CITIZEN = "ask_citizen"  # a moderator's question, sent to the author
    REFRESH_CARD = "refresh_card"  # redraw the staff card (and a merge target's)
    SEND_TO_AGENCY = "send_to_agency"  # the whole report: each official, the webhook, e-mail
    AGENCY_WEBHOOK = "agency_webhook"  # the new status, for the agency's own system
    SCHEDULE_FIX_CHECK = "schedule_fix_check"  # "is it fixed?" to the author, some days later


E = Effect
S = Status
CITIZEN, MODERATOR, OFFICIAL, AGENCY = (
    ActorKind.CITIZEN,
    ActorKind.MODERATOR,
    ActorKind.OFFICIAL,
    ActorKind.AGENCY,
)

# An agency's answer (from an official in Telegram, or from its own system): everyone who follows
# the report hears it. The webhook is not told what the agency's own system just said.
_ANSWER = frozenset({E.TELL_FOLLOWERS, E.REFRESH_CARD})
_ANSWER_IN_TELEGRAM = _ANSWER | {E.AGENCY_WEBHOOK}


def _agency_answers() -> dict[tuple[Status, Status, ActorKind], frozenset[Effect]]:
    rows: dict[tuple[Status, Status, ActorKind], frozenset[Effect]] = {}
    for current in (S.PUBLISHED, S.ACKNOWLEDGED, S.IN_PROGRESS, S.REOPENED):
        for answer in sorted(ALLOWED[current] & AGENCY_ANSWERS):
            fix_check = {E.SCHEDULE_FIX_CHECK} if answer == S.RESOLVED else set()
            rows[(current, answer, OFFICIAL)] = _ANSWER_IN_TELEGRAM | fix_check
            rows[(current, answer, AGENCY)] = _ANSWER | fix_check
    return rows


def _withdrawals() -> dict[tuple[Status, Status, ActorKind], frozenset[Effect]]:
    """The citizen withdraws their reports as they erase their data (/forget, bot/citizens/):
    the moderators' card shows it, and an agency that had the report hears through its own
    system (officials and mailboxes get no message for any later status change either); the
    citizen, erased, is told nothing, nor are supporters. A report under review never reached
    the agency."""
    rows: dict[tuple[Status, Status, ActorKind], frozenset[Effect]] = {}
    for current, following in ALLOWED.items():
        if S.WITHDRAWN in following:
            reached_agency = current not in (S.DRAFT, S.PENDING_REVIEW)
            effects = {E.REFRESH_CARD, E.AGENCY_WEBHOOK} if reached_agency else {E.REFRESH_CARD}
            rows[(current, S.WITHDRAWN, CITIZEN)] = frozenset(effects)
    return rows


# (from, to, who acted) -> what follows. A transition missing here is a programming error.
TRANSITIONS: Mapping[tuple[Status, Status, ActorKind], frozenset[Effect]] = {
    # A citizen confirms their draft.
    (S.DRAFT, S.PENDING_REVIEW, CITIZEN): frozenset({E.POST_CARD}),
    # Moderators' decisions on a new report; the author alone hears (supporters follow it once
    # it is public). Approval sends the report to the agency, webhook included.
    (S.PENDING_REVIEW, S.PUBLISHED, MODERATOR): frozenset(
        {E.TELL_AUTHOR, E.REFRESH_CARD, E.SEND_TO_AGENCY}
    ),
    (S.PENDING_REVIEW, S.REJECTED, MODERATOR): frozenset({E.TELL_AUTHOR, E.REFRESH_CARD}),
    (S.PENDING_REVIEW, S.DUPLICATE, MODERATOR): frozenset({E.TELL_AUTHOR, E.REFRESH_CARD}),
    # A public report merged into another: the agency had it, so its system hears.
    **{
        (current, S.DUPLICATE, MODERATOR): frozenset(
            {E.TELL_AUTHOR, E.REFRESH_CARD, E.AGENCY_WEBHOOK}
        )
        for current in (S.PUBLISHED, S.ACKNOWLEDGED, S.REOPENED)
    },
    # "Not ours", rerouted by moving it: the new agency gets the whole report (the author hears
    # of the move itself, see ACTIONS).
    (S.NOT_RESPONSIBLE, S.PUBLISHED, MODERATOR): frozenset({E.REFRESH_CARD, E.SEND_TO_AGENCY}),
    **_agency_answers(),
    # The author says it is not fixed: followers hear, and the agency gets the report again.
    (S.RESOLVED, S.REOPENED, CITIZEN): frozenset(
        {E.TELL_FOLLOWERS, E.REFRESH_CARD, E.SEND_TO_AGENCY}
    ),
    (S.NO_ACTION, S.REOPENED, CITIZEN): frozenset(
        {E.TELL_FOLLOWERS, E.REFRESH_CARD, E.SEND_TO_AGENCY}
    ),
    **_withdrawals(),
}

# (action, who acted) -> what follows, for events that keep the status.
ACTIONS: Mapping[tuple[str, ActorKind], frozenset[Effect]] = {
    ("moved", MODERATOR): frozenset({E.TELL_AUTHOR_MOVED, E.REFRESH_CARD}),
    ("redacted", MODERATOR): frozenset({E.REFRESH_CARD}),
    ("question", MODERATOR): frozenset({E.ASK_CITIZEN, E.REFRESH_CARD}),
    ("answer", CITIZEN): frozenset({E.REFRESH_CARD}),
    ("supported", CITIZEN): frozenset({E.REFRESH_CARD}),
    ("confirmed_fixed", CITIZEN): frozenset({E.REFRESH_CARD}),
    # The sender blocked or unblocked from this card (the citizen's notice: bot/citizens/blocking.py).
    ("blocked", MODERATOR): frozenset({E.REFRESH_CARD}),
    ("unblocked", MODERATOR): frozenset({E.REFRESH_CARD}),
    # Its photos hidden from the public or shown again (bot/reports/moderation.py).
    ("photos_hidden", MODERATOR): frozenset({E.REFRESH_CARD}),
    ("photos_shown", MODERATOR): frozenset({E.REFRESH_CARD}),
    # Retention deleted a rejected report's content (bot/citizens/retention.py): the card
    # is drawn again without it.
    ("purged", ActorKind.SYSTEM): frozenset({E.REFRESH_CARD}),
}


class NoEffectsDeclared(LookupError):
    """A change nobody decided the consequences of: add its row to the table."""


def effects_of(event: ReportEvent) -> frozenset[Effect]:
    kind = ActorKind(event.actor_kind)
    if event.action in ("status", "created"):
        key = (Status(event.from_status or Status.DRAFT), Status(event.to_status), kind)
        if key not in TRANSITIONS:
            raise NoEffectsDeclared(key)
        return TRANSITIONS[key]
    if (event.action, kind) not in ACTIONS:
        raise NoEffectsDeclared((event.action, kind))
    return ACTIONS[(event.action, kind)]


@dataclass(frozen=True)
class Details:
    """What some effects need beyond the report and the event."""

    reason: str | None = None  # a rejection's reason code
    merged_into: Report | None = None  # the report a duplicate was merged into
    question_id: int | None = None  # the moderator's question to send


@dataclass(frozen=True)
class _Change:
    services: Services
    session: AsyncSession
    report: Report
    event: ReportEvent
    details: Details


async def change_status(
    services: Services,
    session: AsyncSession,
    report: Report,
    wanted: Status,
    actor: Actor,
    *,
    note: str | None = None,
    details: Details | None = None,
) -> ReportEvent:
    """Move the report to `wanted` and queue everything that follows, in the caller's transaction.
    Raises InvalidTransition (nothing changed) when the state machine refuses."""
    event = await transition(session, report, wanted, actor=actor, at=services.clock(), note=note)
    await carry_out(services, session, report, event, details)
    return event


async def record(
    services: Services,
    session: AsyncSession,
    report: Report,
    action: str,
    actor: Actor,
    *,
    note: str | None = None,
    details: Details | None = None,
) -> ReportEvent:
    """Record an event that keeps the status and queue what follows it."""
    event = await record_action(
        session, report, action, actor=actor, at=services.clock(), note=note
    )
    await carry_out(services, session, report, event, details)
    return event


async def carry_out(
    services: Services,
    session: AsyncSession,
    report: Report,
    event: ReportEvent,
    details: Details | None = None,
) -> None:
    """Queue the effects the table declares for this event, in Effect order."""
    change = _Change(services, session, report, event, details or Details())
    declared = effects_of(event)
    for effect in Effect:
        if effect in declared:
            await _QUEUE[effect](change)


# --- each effect, queued ----------------------------------------------------------------------


async def _post_card(change: _Change) -> None:
    if change.services.settings.moderator_chat_id is None:
        return
    report = change.report
    await enqueue(
        change.session,
        Kind.MODERATION_CARD,
        str(report.id),
        {"report_id": report.id},
        change.event.created_at,
    )


async def _tell_author(change: _Change) -> None:
    merged_into = change.details.merged_into
    await queue_status_notices(
        change.session,
        change.report,
        change.event,
        supporters=False,
        reason=change.details.reason,
        merged_into=merged_into.reference if merged_into else None,
    )


async def _tell_followers(change: _Change) -> None:
    await queue_status_notices(change.session, change.report, change.event, supporters=True)


async def _tell_author_moved(change: _Change) -> None:
    await queue_status_notices(
        change.session, change.report, change.event, supporters=False, moved=True
    )


async def _ask_citizen(change: _Change) -> None:
    question_id = change.details.question_id
    if question_id is None:
        raise ValueError("a question needs its question_id")
    await enqueue(
        change.session,
        Kind.CITIZEN_QUESTION,
        str(question_id),
        {"question_id": question_id},
        change.event.created_at,
    )


async def _refresh_card(change: _Change) -> None:
    if change.services.settings.moderator_chat_id is None:
        return
    targets = [change.report]
    if change.details.merged_into is not None:
        targets.append(change.details.merged_into)
    for report in targets:
        await enqueue(
            change.session,
            Kind.CARD_REFRESH,
            f"{report.id}:{change.event.id}",
            {"report_id": report.id},
            change.event.created_at,
        )


async def _send_to_agency(change: _Change) -> None:
    await deliver_to_agency_in(
        change.session,
        change.report,
        change.event,
        email=change.services.settings.mail_enabled,
    )


async def _agency_webhook(change: _Change) -> None:
    agency = await agency_queries.of_commitment(change.session, change.report.commitment_id)
    if agency is not None:
        await queue_webhook_in(change.session, change.report, change.event, agency)


async def _schedule_fix_check(change: _Change) -> None:
    if without_telegram(change.report.citizen_id):
        return  # the author erased their data, or a partner sent it: nobody to ask
    event = change.event
    ask_at = event.created_at + timedelta(days=change.services.settings.fix_check_days)
    await enqueue(
        change.session, Kind.FIX_CHECK, str(event.id), {"report_id": change.report.id}, ask_at
    )


_QUEUE: Mapping[Effect, Callable[[_Change], Awaitable[None]]] = {
    Effect.POST_CARD: _post_card,
    Effect.TELL_AUTHOR: _tell_author,
    Effect.TELL_FOLLOWERS: _tell_followers,
    Effect.TELL_AUTHOR_MOVED: _tell_author_moved,
    Effect.ASK_CITIZEN: _ask_citizen,
    Effect.REFRESH_CARD: _refresh_card,
    Effect.SEND_TO_AGENCY: _send_to_agency,
    Effect.AGENCY_WEBHOOK: _agency_webhook,
    Effect.SCHEDULE_FIX_CHECK: _schedule_fix_check,
}
