"""What a citizen can see of their own reports: the list, and one report with its history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.catalog.commitments import title_of
from bot.core.services import Services
from bot.reports import public
from bot.reports.lifecycle import PHOTO_ACTIONS, PUBLIC, SENDER_ACTIONS
from storage.models import ReportEvent
from storage.queries import citizens, reports

PAGE_SIZE = 5


@dataclass(frozen=True)
class ReportLine:
    reference: str
    commitment_title: str
    status: str
    created_at: datetime
    # When the citizen added their voice to someone else's report; None for their own.
    supported_at: datetime | None = None


@dataclass(frozen=True)
class ReportPage:
    lines: list[ReportLine]
    page: int
    sent: int
    supported: int = 0

    @property
    def total(self) -> int:
        return self.sent + self.supported

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))


@dataclass(frozen=True)
class ReportDetail:
    line: ReportLine
    kind: str
    text: str | None
    has_voice: bool
    latitude: float | None
    longitude: float | None
    photo_count: int
    history: Sequence[ReportEvent]


async def list_reports(services: Services, user_id: int, page: int, locale: str) -> ReportPage:
    """The citizen's reports and the ones they support, newest first, a page at a time."""
    page = max(0, page)
    async with services.db.read() as session:
        citizen = await citizens.by_telegram_id(session, user_id)
        if citizen is None:
            return ReportPage([], 0, 0)
        rows, sent, supported = await reports.of_citizen(
            session, citizen.id, page * PAGE_SIZE, PAGE_SIZE
        )
    default = services.settings.default_locale
    lines = [
        ReportLine(
            r.reference, title_of(r.commitment, locale, default), r.status, r.created_at, since
        )
        for r, since in rows
    ]
    return ReportPage(lines, page, sent, supported)


async def report_detail(
    services: Services, user_id: int, reference: str, locale: str
) -> ReportDetail | None:
    """One of the citizen's own reports, or one they support as the public sees it (its public
    text once published, its coarse place, its status history with the agency's notes only);
    None for anyone else's (never reveal who wrote what)."""
    async with services.db.read() as session:
        citizen = await citizens.by_telegram_id(session, user_id)
        if citizen is None:
            return None
        report = await reports.by_reference_of_citizen(session, reference, citizen.id)
        supported_at = None
        if report is None:
            backed = await reports.by_reference_supported_by(session, reference, citizen.id)
            if backed is None:
                return None
            report, supported_at = backed
        # Blocking its sender, hiding its photos: the staff's record, not the report's story.
        staff_only = SENDER_ACTIONS | PHOTO_ACTIONS
        history = [
            e for e in await reports.events(session, report.id) if e.action not in staff_only
        ]
    default = services.settings.default_locale
    line = ReportLine(
        report.reference,
        title_of(report.commitment, locale, default),
        report.status,
        report.created_at,
        supported_at,
    )
    if supported_at is None:
        return ReportDetail(
            line=line,
            kind=report.kind,
            text=report.text,
            has_voice=report.voice_file_id is not None,
            latitude=report.latitude,
            longitude=report.longitude,
            photo_count=len(report.photos),
            history=history,
        )
    source = public.source_of(report)
    latitude, longitude = public.location(
        source, public.Audience.public(services.settings.public_location_grid_m)
    )
    return ReportDetail(
        line=line,
        kind=report.kind,
        text=public.public_text(source) if report.status in PUBLIC else None,
        has_voice=report.voice_file_id is not None,
        latitude=latitude,
        longitude=longitude,
        photo_count=len(report.photos),
        history=[_public_event(event) for event in history],
    )


def _public_event(event: ReportEvent) -> ReportEvent:
    """The event as a supporter may see it: the agency's notes, nobody else's."""
    if event.actor_kind in public.PUBLIC_NOTE_ACTORS:
        return event
    return ReportEvent(created_at=event.created_at, to_status=event.to_status, note=None)
