"""Everything stored about one citizen, as one JSON document and their photos as zip files: what
/mydata sends to the citizen and `citizens export` writes for a request made by other channels.

The document holds the citizen's own data in full (their exact locations, the text as they wrote
it) and nothing that identifies staff: events say which kind of actor acted (moderator, official),
never who. Photo bytes are the stored, metadata-stripped copies, read one at a time.
"""

from __future__ import annotations

import asyncio
import json
import mimetypes
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from bot.catalog.commitments import title_of
from bot.i18n.translate import choose_locale
from bot.reports.drafting import Step
from bot.reports.public import timestamp
from storage.db import Database
from storage.models import Citizen, Draft, Report, ReportEvent, ReportQuestion
from storage.queries import citizen_data, citizens, commitments, drafts

# A bot may send documents up to 50 MB; each zip stays well below, with room for the request.
ZIP_PART_LIMIT = 45 * 1024 * 1024
# What an entry adds to an uncompressed zip besides its bytes and twice its name (local header,
# central directory entry, data descriptor, zip64 extras), and what the archive's end adds.
_ENTRY_OVERHEAD = 128
_ARCHIVE_OVERHEAD = 1024
_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}


@dataclass(frozen=True)
class PhotoFile:
    """One stored photo and its name in the zip."""

    name: str
    sha256: str
    size: int
    at: datetime

    @property
    def zip_size(self) -> int:
        return self.size + _ENTRY_OVERHEAD + 2 * len(self.name.encode())


@dataclass(frozen=True)
class CitizenData:
    document: dict[str, Any]
    photos: tuple[PhotoFile, ...]
    citizen: Citizen
    reports: int
    supports: int
    questions: int
    # The step of the report in progress; None when there is none.
    draft_step: str | None

    def json_bytes(self) -> bytes:
        return (json.dumps(self.document, ensure_ascii=False, indent=2) + "\n").encode()


def json_file_name(telegram_user_id: int) -> str:
    return f"mydata-{telegram_user_id}.json"


def zip_file_name(telegram_user_id: int, part: int = 1, parts: int = 1) -> str:
    if parts == 1:
        return f"mydata-{telegram_user_id}-photos.zip"
    return f"mydata-{telegram_user_id}-photos-{part}-of-{parts}.zip"


async def collect(
    db: Database,
    telegram_user_id: int,
    *,
    default_locale: str,
    now: datetime,
    locale: str | None = None,
) -> CitizenData | None:
    """The citizen's data, commitment titles in `locale` (default: the citizen's own language);
    None when nothing at all is stored about this Telegram user."""
    async with db.read() as session:
        citizen = await citizens.by_telegram_id(session, telegram_user_id)
        if citizen is None:
            return None
        own = await citizen_data.reports_of(session, citizen.id)
        events = await citizen_data.events_of(session, citizen.id)
        supports = await citizen_data.supports_of(session, citizen.id)
        questions = await citizen_data.questions_of(session, citizen.id)
        draft = await drafts.get(session, citizen.id)
        draft_commitment = None
        if draft is not None and draft.data.get("commitment_id"):
            draft_commitment = await commitments.by_id(session, draft.data["commitment_id"])
        hashes = [photo.content_sha256 for report, _ in own for photo in report.photos]
        hashes += [p["sha256"] for p in _draft_photos(draft)]
        media = await citizen_data.media_details(session, hashes)
    locale = locale or choose_locale(citizen.language, citizen.telegram_language, default_locale)
    photos: list[PhotoFile] = []

    def photo_entry(name: str, sha256: str, file_id: str, at: datetime) -> dict[str, Any]:
        details = media.get(sha256)
        if details is None:  # the bytes are no longer kept
            return {"file": None, "telegram_file_id": file_id, "sha256": sha256}
        name += (
            _EXTENSIONS.get(details.mime_type) or mimetypes.guess_extension(details.mime_type) or ""
        )
        photos.append(PhotoFile(name, sha256, details.size, at))
        return {
            "file": name,
            "telegram_file_id": file_id,
            "sha256": sha256,
            "mime_type": details.mime_type,
            "size": details.size,
            "width": details.width,
            "height": details.height,
        }

    history: dict[int, list[dict[str, Any]]] = {}
    for event in events:
        history.setdefault(event.report_id, []).append(_event(event))
    reports = []
    for report, merged_into in own:
        entry = _report(report, merged_into, title_of(report.commitment, locale, default_locale))
        entry["photos"] = [
            photo_entry(
                f"photos/{report.reference}-{photo.position + 1}",
                photo.content_sha256,
                photo.telegram_file_id,
                report.created_at,
            )
            for photo in report.photos
        ]
        entry["events"] = history.get(report.id, [])
        reports.append(entry)
    draft_entry = None
    if draft is not None:
        draft_entry = {
            "step": draft.step,
            "commitment": (
                {
                    "code": draft_commitment.code,
                    "title": title_of(draft_commitment, locale, default_locale),
                }
                if draft_commitment is not None
                else None
            ),
            "data": draft.data,
            "photos": [
                photo_entry(f"photos/draft-{n}", p["sha256"], p["file_id"], draft.updated_at)
                for n, p in enumerate(_draft_photos(draft), 1)
            ],
            "created_at": timestamp(draft.created_at),
            "updated_at": timestamp(draft.updated_at),
        }
    document = {
        "exported_at": timestamp(now.astimezone(UTC)),
        "telegram_user_id": citizen.telegram_user_id,
        "language": citizen.language,
        "telegram_language": citizen.telegram_language,
        "consent_at": timestamp(citizen.consent_at),
        "created_at": timestamp(citizen.created_at),
        "reports": reports,
        "supported_reports": [
            {"reference": reference, "supported_at": timestamp(at)} for reference, at in supports
        ],
        "draft": draft_entry,
        "questions": [_question(question, reference) for question, reference in questions],
    }
    in_progress = draft is not None and draft.step != Step.SENT
    return CitizenData(
        document=document,
        photos=tuple(photos),
        citizen=citizen,
        reports=len(reports),
        supports=len(supports),
        questions=len(questions),
        draft_step=draft.step if in_progress and draft is not None else None,
    )


def _draft_photos(draft: Draft | None) -> list[dict[str, Any]]:
    return list(draft.data.get("photos", [])) if draft is not None else []


def _report(report: Report, merged_into: str | None, title: str) -> dict[str, Any]:
    return {
        "reference": report.reference,
        "commitment": {"code": report.commitment.code, "title": title},
        "kind": report.kind,
        "language": report.language,
        "text": report.text,
        # What a moderator made public instead of the text as written; None: not redacted.
        "public_text": report.public_text,
        "voice_note": (
            {"telegram_file_id": report.voice_file_id, "duration_s": report.voice_duration}
            if report.voice_file_id
            else None
        ),
        "location": (
            {
                "latitude": report.latitude,
                "longitude": report.longitude,
                "accuracy_m": report.accuracy_m,
            }
            if report.latitude is not None and report.longitude is not None
            else None
        ),
        "status": report.status,
        "duplicate_of": merged_into,
        "created_at": timestamp(report.created_at),
        "updated_at": timestamp(report.updated_at),
    }


def _event(event: ReportEvent) -> dict[str, Any]:
    # Which kind of actor, never who: no staff id or name leaves with the citizen's data.
    return {
        "action": event.action,
        "by": event.actor_kind,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "note": event.note,
        "at": timestamp(event.created_at),
    }


def _question(question: ReportQuestion, reference: str) -> dict[str, Any]:
    return {
        "reference": reference,
        "question": question.question,
        "asked_at": timestamp(question.asked_at),
        "answer": question.answer,
        "answered_at": timestamp(question.answered_at),
    }


def split(photos: Sequence[PhotoFile], limit: int | None) -> list[tuple[PhotoFile, ...]]:
    """The photos in as few zips as fit under `limit` bytes each (None: one zip), in order. A
    photo is never split: each is far below the limit (Telegram hands bots files up to 20 MB)."""
    if limit is None:
        return [tuple(photos)] if photos else []
    parts: list[tuple[PhotoFile, ...]] = []
    current: list[PhotoFile] = []
    size = _ARCHIVE_OVERHEAD
    for photo in photos:
        if current and size + photo.zip_size > limit:
            parts.append(tuple(current))
            current, size = [], _ARCHIVE_OVERHEAD
        current.append(photo)
        size += photo.zip_size
    if current:
        parts.append(tuple(current))
    return parts


async def write_zip(db: Database, photos: Sequence[PhotoFile], out: IO[bytes]) -> int:
    """Write the photos' stored bytes into a zip on `out`, one photo in memory at a time;
    returns how many were written (a photo deleted meanwhile is left out)."""
    written = 0
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        for photo in photos:
            async with db.read() as session:
                content = await citizen_data.media_content(session, photo.sha256)
            if content is None:
                continue
            at = photo.at.astimezone(UTC)
            info = zipfile.ZipInfo(photo.name, date_time=at.timetuple()[:6])
            # Off the event loop: tens of megabytes to disk must not hold other chats back.
            await asyncio.to_thread(archive.writestr, info, content)
            written += 1
    return written
