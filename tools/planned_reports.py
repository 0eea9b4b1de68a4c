"""Public reports with chosen times, written straight into a database: a report, its events
(created, then each status with who moved it, when and the public note) and its supporters, as if
they had come through the bot over months. For the public pages' tests (tests/support/web_pages.py,
whose medians are asserted exactly) and the screenshot's demo world (tools/screenshot.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from storage.db import Database
from storage.models import Citizen, Commitment, Report, ReportEvent, ReportSupporter

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)


@dataclass(frozen=True)
class Planned:
    reference: str
    status: str
    # (to_status, when, actor kind, note) after creation (pending_review at created)
    history: tuple[tuple[str, datetime, str, str | None], ...]
    text: str | None = "Pothole by the market."
    public_text: str | None = None
    created: datetime = T0
    place: tuple[float, float] | None = (10.5731, 7.4412)
    supporters: int = 0
    kind: str = "problem"


async def add_reports(
    db: Database, commitment_code: str, plan: list[Planned], citizen: Citizen | None = None
) -> Citizen:
    """Write the planned reports of one commitment, with their events; returns their author."""
    async with db.write() as session:
        commitment = await session.scalar(
            select(Commitment).where(Commitment.code == commitment_code)
        )
        assert commitment is not None
        if citizen is None:
            citizen = Citizen(telegram_user_id=8_800_001, language="en")
            session.add(citizen)
            await session.flush()
        for item in plan:
            last = item.history[-1][1] if item.history else item.created
            report = Report(
                reference=item.reference,
                commitment_id=commitment.id,
                citizen_id=citizen.id,
                kind=item.kind,
                text=item.text,
                public_text=item.public_text,
                language="en",
                latitude=item.place[0] if item.place else None,
                longitude=item.place[1] if item.place else None,
                status=item.status,
                created_at=item.created,
                updated_at=last,
            )
            session.add(report)
            await session.flush()
            session.add(
                ReportEvent(
                    report_id=report.id,
                    actor_kind="citizen",
                    actor_id=citizen.telegram_user_id,
                    action="created",
                    from_status="draft",
                    to_status="pending_review",
                    created_at=item.created,
                )
            )
            previous = "pending_review"
            for to_status, at, actor, note in item.history:
                session.add(
                    ReportEvent(
                        report_id=report.id,
                        actor_kind=actor,
                        actor_id=1,
                        action="status",
                        from_status=previous,
                        to_status=to_status,
                        note=note,
                        created_at=at,
                    )
                )
                previous = to_status
            for _n in range(item.supporters):
                session.add(ReportSupporter(report_id=report.id, citizen_id=None, created_at=last))
    return citizen
