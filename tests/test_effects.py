"""What follows each change to a report: every allowed transition, walked against a real database.

For each transition the test builds a report in the `from` status (an author and one supporter,
an agency with one official, a signed webhook and one e-mail address, a staff group), makes the
change through bot/reports/effects.py, and reads back what the outbox now holds. The expected
messages are written out here, independently of the effects table.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.core.services import Services
from bot.core.settings import Settings
from bot.outbox.queue import Kind
from bot.reports.effects import ACTIONS, TRANSITIONS, Details, NoEffectsDeclared, change_status
from bot.reports.effects import record as record_event
from bot.reports.lifecycle import ALLOWED, Actor, ActorKind, InvalidTransition, Status
from storage.db import Database
from storage.models import Agency, Citizen, Official, OutboxMessage, Report, ReportSupporter
from storage.queries import moderation as queries

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
S = Status
M, OFF, A, C = ActorKind.MODERATOR, ActorKind.OFFICIAL, ActorKind.AGENCY, ActorKind.CITIZEN

# Outbox messages per transition, with one author, one supporter, one official, a webhook and one
# e-mail address. Notices: 1 = the author alone, 2 = author and supporter.
AGENCY_GETS_REPORT = {Kind.AGENCY_TELEGRAM: 1, Kind.AGENCY_WEBHOOK: 1, Kind.AGENCY_EMAIL: 1}
EXPECTED: dict[tuple[Status, Status, ActorKind], dict[Kind, int]] = {
    (S.DRAFT, S.PENDING_REVIEW, C): {Kind.MODERATION_CARD: 1},
    (S.PENDING_REVIEW, S.PUBLISHED, M): {
        Kind.STATUS_NOTICE: 1,
        Kind.CARD_REFRESH: 1,
        **AGENCY_GETS_REPORT,  # the webhook once, though the notice path used to ask too
    },
    (S.PENDING_REVIEW, S.REJECTED, M): {Kind.STATUS_NOTICE: 1, Kind.CARD_REFRESH: 1},
    (S.PENDING_REVIEW, S.DUPLICATE, M): {Kind.STATUS_NOTICE: 1, Kind.CARD_REFRESH: 2},
    (S.PUBLISHED, S.DUPLICATE, M): {
        Kind.STATUS_NOTICE: 1,
        Kind.CARD_REFRESH: 2,
        Kind.AGENCY_WEBHOOK: 1,
    },
    (S.ACKNOWLEDGED, S.DUPLICATE, M): {
        Kind.STATUS_NOTICE: 1,
        Kind.CARD_REFRESH: 2,
        Kind.AGENCY_WEBHOOK: 1,
    },
    (S.REOPENED, S.DUPLICATE, M): {
        Kind.STATUS_NOTICE: 1,
        Kind.CARD_REFRESH: 2,
        Kind.AGENCY_WEBHOOK: 1,
    },
    (S.NOT_RESPONSIBLE, S.PUBLISHED, M): {Kind.CARD_REFRESH: 1, **AGENCY_GETS_REPORT},
    (S.RESOLVED, S.REOPENED, C): {
        Kind.STATUS_NOTICE: 2,
        Kind.CARD_REFRESH: 1,
        **AGENCY_GETS_REPORT,
    },
    (S.NO_ACTION, S.REOPENED, C): {
        Kind.STATUS_NOTICE: 2,
        Kind.CARD_REFRESH: 1,
        **AGENCY_GETS_REPORT,
    },
}
for _current in (S.PUBLISHED, S.ACKNOWLEDGED, S.IN_PROGRESS, S.REOPENED):
    for _answer in (S.ACKNOWLEDGED, S.IN_PROGRESS, S.RESOLVED, S.NOT_RESPONSIBLE, S.NO_ACTION):
        if _answer not in ALLOWED[_current]:
            continue
        fix_check = {Kind.FIX_CHECK: 1} if _answer == S.RESOLVED else {}
        # An official's answer in Telegram is news for the agency's own system; an answer the
        # system itself posted is not sent back to it.
        EXPECTED[(_current, _answer, OFF)] = {
            Kind.STATUS_NOTICE: 2,
            Kind.CARD_REFRESH: 1,
            Kind.AGENCY_WEBHOOK: 1,
            **fix_check,
        }
        EXPECTED[(_current, _answer, A)] = {
            Kind.STATUS_NOTICE: 2,
            Kind.CARD_REFRESH: 1,
            **fix_check,
        }
# The citizen withdraws (/forget): the card shows it; an agency that had the report hears.
for _current, _following in ALLOWED.items():
    if S.WITHDRAWN in _following:
        EXPECTED[(_current, S.WITHDRAWN, C)] = (
            {Kind.CARD_REFRESH: 1}
            if _current in (S.DRAFT, S.PENDING_REVIEW)
            else {Kind.CARD_REFRESH: 1, Kind.AGENCY_WEBHOOK: 1}
        )

EXPECTED_ACTIONS: dict[tuple[str, ActorKind], dict[Kind, int]] = {
    ("moved", M): {Kind.STATUS_NOTICE: 1, Kind.CARD_REFRESH: 1},
    ("redacted", M): {Kind.CARD_REFRESH: 1},
    ("question", M): {Kind.CITIZEN_QUESTION: 1, Kind.CARD_REFRESH: 1},
    ("answer", C): {Kind.CARD_REFRESH: 1},
    ("supported", C): {Kind.CARD_REFRESH: 1},
    ("confirmed_fixed", C): {Kind.CARD_REFRESH: 1},
    # The citizen's notice of a block is queued by bot/citizens/blocking.py, not by the event.
    ("blocked", M): {Kind.CARD_REFRESH: 1},
    ("unblocked", M): {Kind.CARD_REFRESH: 1},
    ("photos_hidden", M): {Kind.CARD_REFRESH: 1},
    ("photos_shown", M): {Kind.CARD_REFRESH: 1},
    ("purged", ActorKind.SYSTEM): {Kind.CARD_REFRESH: 1},
}


def test_every_allowed_transition_has_its_effects_declared() -> None:
    allowed = {(current, wanted) for current, nexts in ALLOWED.items() for wanted in nexts}
    declared = {(current, wanted) for current, wanted, _kind in TRANSITIONS}
    assert declared == allowed
    assert set(TRANSITIONS) == set(EXPECTED)
    assert set(ACTIONS) == set(EXPECTED_ACTIONS)


async def _world(
    db: Database, commitment_id: int, status: Status, *, staff_chat: bool = True
) -> tuple[Services, int]:
    """A report in `status` with an author, a supporter, and an agency with every channel."""
    settings = Settings(
        database_url="unused",
        moderator_chat_id=-100123 if staff_chat else None,
        smtp_host="127.0.0.1",
    )
    services = Services(settings=settings, db=db, clock=lambda: NOW)
    async with db.write() as session:
        agency = await session.scalar(select(Agency).where(Agency.code == "kaduna-works"))
        assert agency is not None
        agency.webhook_url = "http://127.0.0.1:9/hook"
        agency.webhook_secret = "secret"
        agency.emails = ["works@example.org"]
        session.add(Official(agency_id=agency.id, telegram_user_id=7001, language="en"))
        author, supporter = Citizen(telegram_user_id=8001), Citizen(telegram_user_id=8002)
        session.add_all([author, supporter])
        await session.flush()
        report = Report(
            reference=f"CW-{status.value[:6].upper()}",
            commitment_id=commitment_id,
            citizen_id=author.id,
            kind="problem",
            text="The culvert is cracked.",
            language="en",
            latitude=10.5,
            longitude=7.4,
            status=status,
            created_at=NOW,
            updated_at=NOW,
        )
        session.add(report)
        await session.flush()
        session.add(ReportSupporter(report_id=report.id, citizen_id=supporter.id, created_at=NOW))
        return services, report.id


async def _queued(db: Database) -> Counter[str]:
    async with db.read() as session:
        kinds = await session.scalars(select(OutboxMessage.kind))
        return Counter(kinds.all())


def _merge_target(report: Report) -> Report:
    return Report(
        reference="CW-TARGET",
        commitment_id=report.commitment_id,
        citizen_id=report.citizen_id,
        kind="problem",
        text="Same culvert.",
        language="en",
        status=Status.PUBLISHED,
        created_at=NOW,
        updated_at=NOW,
    )


@pytest.mark.parametrize(
    ("current", "wanted", "kind"), sorted(EXPECTED), ids=lambda v: getattr(v, "value", v)
)
async def test_each_transition_queues_what_follows(
    database: Database,
    catalog_ids: dict[str, int],
    current: Status,
    wanted: Status,
    kind: ActorKind,
) -> None:
    services, report_id = await _world(database, next(iter(catalog_ids.values())), current)
    async with services.write_then_deliver() as session:
        report = await queries.report_for_update(session, report_id)
        assert report is not None
        details = None
        if wanted == S.DUPLICATE:
            target = _merge_target(report)
            session.add(target)
            await session.flush()
            details = Details(merged_into=target)
        await change_status(
            services, session, report, wanted, Actor(kind, 1, "Someone"), details=details
        )
    expected = {k.value: n for k, n in EXPECTED[(current, wanted, kind)].items()}
    assert dict(await _queued(database)) == expected
    async with database.read() as session:
        stored = await session.get(Report, report_id)
        assert stored is not None and stored.status == wanted


@pytest.mark.parametrize(("action", "kind"), sorted(EXPECTED_ACTIONS))
async def test_each_action_queues_what_follows(
    database: Database, catalog_ids: dict[str, int], action: str, kind: ActorKind
) -> None:
    status = S.RESOLVED if action == "confirmed_fixed" else S.PUBLISHED
    services, report_id = await _world(database, next(iter(catalog_ids.values())), status)
    async with services.write_then_deliver() as session:
        report = await queries.report_for_update(session, report_id)
        assert report is not None
        details = Details(question_id=1) if action == "question" else None
        await record_event(services, session, report, action, Actor(kind, 1), details=details)
    expected = {k.value: n for k, n in EXPECTED_ACTIONS[(action, kind)].items()}
    assert dict(await _queued(database)) == expected


async def test_without_a_staff_group_no_card_is_queued(
    database: Database, catalog_ids: dict[str, int]
) -> None:
    services, report_id = await _world(
        database, next(iter(catalog_ids.values())), S.PENDING_REVIEW, staff_chat=False
    )
    async with services.write_then_deliver() as session:
        report = await queries.report_for_update(session, report_id)
        assert report is not None
        await change_status(
            services, session, report, S.REJECTED, Actor(M, 1), details=Details("spam")
        )
    assert dict(await _queued(database)) == {Kind.STATUS_NOTICE.value: 1}


async def test_an_undeclared_change_is_refused_and_a_refused_one_leaves_nothing(
    database: Database, catalog_ids: dict[str, int]
) -> None:
    services, report_id = await _world(database, next(iter(catalog_ids.values())), S.PUBLISHED)
    # A citizen cannot answer for the agency: nobody declared what would follow.
    with pytest.raises(NoEffectsDeclared):
        async with services.write_then_deliver() as session:
            report = await queries.report_for_update(session, report_id)
            assert report is not None
            await change_status(services, session, report, S.RESOLVED, Actor(C, 1))
    # The state machine refuses: nothing changes and nothing is queued.
    with pytest.raises(InvalidTransition):
        async with services.write_then_deliver() as session:
            report = await queries.report_for_update(session, report_id)
            assert report is not None
            await change_status(services, session, report, S.REJECTED, Actor(M, 1))
    assert dict(await _queued(database)) == {}
    async with database.read() as session:
        stored = await session.get(Report, report_id)
        assert stored is not None and stored.status == S.PUBLISHED
