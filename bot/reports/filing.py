"""Filing a report: what a citizen's confirmed draft and a partner channel's Open311 POST both
become. One path for both: the report waits for review, its first event is recorded, and what
follows (the moderation card in the staff group, through the outbox) is queued in the same
transaction by the effects table (bot/reports/effects.py). Nothing is public before a moderator
approves it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.services import Services
from bot.reports.effects import carry_out
from bot.reports.lifecycle import Status, record_creation
from bot.reports.references import new_reference
from storage.models import Report, ReportPhoto
from storage.queries import reports


@dataclass(frozen=True)
class Filing:
    """What a report is made of; photos are already stored (storage/queries/media.py)."""

    citizen_id: int
    commitment_id: int
    kind: str
    language: str
    text: str | None = None
    voice: dict[str, Any] | None = None  # {"file_id", "unique_id", "duration"}
    latitude: float | None = None
    longitude: float | None = None
    accuracy_m: float | None = None
    photos: Sequence[dict[str, Any]] = ()  # {"file_id", "unique_id", "size", "sha256"}


async def file_report(services: Services, session: AsyncSession, filing: Filing) -> Report:
    """Add the report, pending review, in the caller's write transaction (opened with
    services.write_then_deliver(), so the card goes out on commit); returns it."""
    now = services.clock()
    voice = filing.voice or {}
    report = Report(
        reference=await _unused_reference(session),
        commitment_id=filing.commitment_id,
        citizen_id=filing.citizen_id,
        kind=filing.kind,
        text=filing.text,
        voice_file_id=voice.get("file_id"),
        voice_file_unique_id=voice.get("unique_id"),
        voice_duration=voice.get("duration"),
        language=filing.language,
        latitude=filing.latitude,
        longitude=filing.longitude,
        accuracy_m=filing.accuracy_m,
        status=Status.PENDING_REVIEW,
        created_at=now,
        updated_at=now,
    )
    photos = [
        ReportPhoto(
            position=position,
            telegram_file_id=p["file_id"],
            telegram_file_unique_id=p["unique_id"],
            size=p["size"],
            content_sha256=p["sha256"],
        )
        for position, p in enumerate(filing.photos)
    ]
    await reports.add(session, report, photos)
    created = await record_creation(session, report, actor_id=filing.citizen_id, at=now)
    # The card reaches the staff group through the outbox, committed with the report.
    await carry_out(services, session, report, created)
    return report


async def _unused_reference(session: AsyncSession) -> str:
    for _attempt in range(10):
        reference = new_reference()
        if not await reports.reference_exists(session, reference):
            return reference
    raise RuntimeError("could not find an unused reference")  # ~never at a billion references
