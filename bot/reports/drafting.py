"""The citizen's report in progress, kept in the database at every step.

Each change is one write transaction that locks the draft, checks that the change fits the step
(and, for buttons, the draft version the button was drawn for), applies it and bumps the version.
A restart, or another worker, therefore continues the same conversation, and a stale, repeated or
forged button cannot change a newer draft or create a second report.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.catalog.commitments import distance_if_far_from
from bot.catalog.geo import valid_coordinates
from bot.core.services import Services
from bot.i18n.translate import N_
from bot.reports import daily_limit, moderation
from bot.reports.duplicates import NearbyReport, nearby_open_reports
from bot.reports.filing import Filing, file_report
from bot.reports.photos import CleanImage
from storage.models import Citizen, Draft, Report
from storage.queries import citizens, drafts, media, reports
from storage.queries import commitments as commitment_queries
from storage.queries import moderation as moderation_queries

MIN_TEXT = 10
MAX_TEXT = 2_000
MAX_PHOTOS = 5

# Letters by their category that show as nothing (Hangul fillers) and the blank Braille pattern,
# which people send as an "empty" message.
_INVISIBLE = frozenset("\u115f\u1160\u3164\uffa0\u2800")
# A keycap emoji (1️⃣, #️⃣) holds a digit, but it is a picture, not a number.
_KEYCAP = re.compile("[0-9#*]\ufe0f?\u20e3")


def is_blank(text: str) -> bool:
    """Nothing to read: white space, control and format characters (zero-width space,
    joiners) and the invisible fillers only."""
    return all(
        ch in _INVISIBLE or ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf") for ch in text
    )


def has_words(text: str) -> bool:
    """Whether the text holds a letter or a digit, in any script (Unicode categories L* and N*):
    emoji, punctuation and symbols alone are not a description."""
    return any(
        unicodedata.category(ch)[0] in "LN" and ch not in _INVISIBLE for ch in _KEYCAP.sub("", text)
    )


class Step(StrEnum):
    COMMITMENT = "commitment"
    KIND = "kind"
    DESCRIPTION = "description"
    LOCATION = "location"
    PHOTOS = "photos"
    SUMMARY = "summary"
    SENT = "sent"


# In a draft's data at the location step: a far location waiting for the citizen's "yes".
UNCONFIRMED_LOCATION = "unconfirmed_location"

ORDER = (Step.COMMITMENT, Step.KIND, Step.DESCRIPTION, Step.LOCATION, Step.PHOTOS, Step.SUMMARY)
EDITABLE = frozenset(ORDER[:-1])


class Kind(StrEnum):
    PROBLEM = "problem"
    PROGRESS = "progress"
    STALLED = "stalled"
    QUESTION = "question"
    PRAISE = "praise"


KIND_LABELS = {
    # Translators: this and the next four are buttons; keep the emoji and keep them short.
    Kind.PROBLEM: N_("⚠️ A problem"),
    Kind.PROGRESS: N_("🏗 Progress seen"),
    Kind.STALLED: N_("⏸ Not started or stalled"),
    Kind.QUESTION: N_("❓ A question"),
    Kind.PRAISE: N_("👏 Praise"),
}


@dataclass(frozen=True)
class DraftView:
    """A read-only snapshot of a draft for rendering."""

    step: Step
    version: int
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def commitment_id(self) -> int | None:
        return self.data.get("commitment_id")

    @property
    def kind(self) -> str | None:
        return self.data.get("kind")

    @property
    def text(self) -> str | None:
        return self.data.get("text")

    @property
    def voice(self) -> dict[str, Any] | None:
        return self.data.get("voice")

    @property
    def location(self) -> dict[str, Any] | None:
        return self.data.get("location")

    @property
    def location_to_confirm(self) -> dict[str, Any] | None:
        """A location far from the commitment's area, kept until the citizen confirms it
        (lat, lon, accuracy and distance_m, its distance from the commitment's point)."""
        return self.data.get(UNCONFIRMED_LOCATION)

    @property
    def photos(self) -> list[dict[str, Any]]:
        return list(self.data.get("photos", []))

    @property
    def search(self) -> dict[str, Any] | None:
        return self.data.get("search")

    @property
    def reference(self) -> str | None:
        return self.data.get("reference")

    @property
    def holds_work(self) -> bool:
        """Whether cancelling would lose something the citizen made: photos, a description
        (text or voice) or a location. A commitment and a kind are chosen again in two taps."""
        return bool(self.photos or self.text or self.voice or self.location)


@dataclass(frozen=True)
class CitizenState:
    """What an update starts from; stale as soon as the update changes the draft."""

    language: str | None
    consented: bool
    draft: DraftView | None
    blocked: bool = False  # new reports are not accepted from them (bot/citizens/blocking.py)


class DraftError(Exception):
    """Base for everything a citizen can do wrong; handlers turn these into polite replies."""


class NoConsent(DraftError):
    pass


class NoDraft(DraftError):
    pass


class SenderBlocked(DraftError):
    """A moderator or admin blocked this citizen: no new report, the draft is kept."""


class AlreadySent(DraftError):
    def __init__(self, reference: str | None) -> None:
        super().__init__(reference)
        self.reference = reference


class StaleButton(DraftError):
    def __init__(self, view: DraftView) -> None:
        super().__init__(view.step)
        self.view = view


class WrongStep(DraftError):
    def __init__(self, view: DraftView) -> None:
        super().__init__(view.step)
        self.view = view


class TextTooShort(DraftError):
    pass


class TextWithoutWords(DraftError):
    """Only emoji, punctuation or symbols: no letter or digit in any script."""


class TextTooLong(DraftError):
    def __init__(self, length: int) -> None:
        super().__init__(length)
        self.length = length


class LocationImpossible(DraftError):
    pass


class LocationOutsideRegion(DraftError):
    pass


class TooManyPhotos(DraftError):
    def __init__(self, view: DraftView) -> None:
        super().__init__(view.step)
        self.view = view


class DuplicatePhoto(DraftError):
    """The same photo again: the same Telegram file, or the same picture once cleaned."""


class UnknownCommitment(DraftError):
    pass


class DailyLimitReached(DraftError):
    """REPORTS_PER_DAY sent in the last 24 hours: nothing was sent, the draft is kept as it is."""

    def __init__(self, reached: daily_limit.DailyLimit) -> None:
        super().__init__(reached.sent)
        self.reached = reached


class SupportRefusal(StrEnum):
    OWN = "own"  # the citizen's own report
    ALREADY = "already"  # they support it already
    CLOSED = "closed"  # no longer open for voices
    GONE = "gone"  # erased since it was offered


class CannotSupport(DraftError):
    """ "Add my voice" that cannot be recorded; nothing changed, the draft is kept as it was."""

    def __init__(self, reason: SupportRefusal, reference: str | None, view: DraftView) -> None:
        super().__init__(reason)
        self.reason, self.reference, self.view = reason, reference, view


class Incomplete(DraftError):
    def __init__(self, view: DraftView) -> None:
        super().__init__(view.step)
        self.view = view


def _view(draft: Draft) -> DraftView:
    return DraftView(Step(draft.step), draft.version, dict(draft.data or {}))


def next_step(data: dict[str, Any], done: Step) -> Step:
    """After finishing `done`: back to the summary when editing, else the next step in order."""
    if data.get("editing") and _complete(data):
        return Step.SUMMARY
    return ORDER[ORDER.index(done) + 1]


def _complete(data: dict[str, Any]) -> bool:
    return bool(
        data.get("commitment_id") and data.get("kind") and (data.get("text") or data.get("voice"))
    )


Mutation = Callable[[dict[str, Any], Step], Step]


# --- consent and lookup -------------------------------------------------------------


async def accept_privacy(
    services: Services, telegram_user_id: int, language_code: str | None
) -> None:
    async with services.db.write() as session:
        await citizens.get_or_create_with_consent(
            session, telegram_user_id, language_code, services.clock()
        )


async def state(services: Services, telegram_user_id: int) -> CitizenState:
    """The chosen language, consent and draft in progress, in one read at an update's start."""
    async with services.db.read() as session:
        citizen = await citizens.by_telegram_id(session, telegram_user_id)
        if citizen is None:
            return CitizenState(None, False, None)
        draft = await drafts.get(session, citizen.id)
    view = None if draft is None or draft.step == Step.SENT else _view(draft)
    consented = citizen.consent_at is not None
    blocked = citizen.blocked_at is not None
    return CitizenState(citizen.language, consented, view if consented else None, blocked)


async def current(services: Services, telegram_user_id: int) -> DraftView | None:
    async with services.db.read() as session:
        citizen = await citizens.by_telegram_id(session, telegram_user_id)
        if citizen is None:
            return None
        draft = await drafts.get(session, citizen.id)
    if draft is None or draft.step == Step.SENT:
        return None
    return _view(draft)


async def raise_for_missing(services: Services, telegram_user_id: int) -> None:
    """Explain why there is no draft in progress: no consent, already sent, or none."""
    async with services.db.read() as session:
        citizen = await citizens.by_telegram_id(session, telegram_user_id)
        if citizen is None or citizen.consent_at is None:
            raise NoConsent()
        draft = await drafts.get(session, citizen.id)
    if draft is not None and draft.step == Step.SENT:
        raise AlreadySent(draft.data.get("reference"))
    raise NoDraft()


# --- starting, cancelling ---------------------------------------------------------------


async def begin(
    services: Services, telegram_user_id: int, chat_id: int, commitment_id: int | None = None
) -> tuple[DraftView, bool]:
    """Start a draft, or keep the one in progress. Returns (draft, resumed)."""
    async with services.db.write() as session:
        citizen = await _consenting_citizen(session, telegram_user_id)
        draft = await drafts.for_update(session, citizen.id)
        if draft is not None and draft.step not in (Step.SENT, Step.COMMITMENT):
            return _view(draft), True
        data: dict[str, Any] = {}
        step = Step.COMMITMENT
        if commitment_id is not None:
            data["commitment_id"] = commitment_id
            step = Step.KIND
        if draft is None:
            draft = Draft(citizen_id=citizen.id, chat_id=chat_id, step=step, data=data)
            draft.version = 1
            draft.created_at = services.clock()
            session.add(draft)
        else:
            # Keep counting versions, so buttons of the previous draft stay stale.
            draft.step, draft.data, draft.chat_id = step, data, chat_id
            draft.version += 1
            draft.created_at = services.clock()
        draft.updated_at = services.clock()  # by the services' clock, for retention
        await session.flush()
        return _view(draft), False


async def cancel(services: Services, telegram_user_id: int, version: int | None = None) -> bool:
    """Throw the draft away; False if there was none. With `version` (a confirmation button),
    a draft that changed since the button was drawn is kept (StaleButton)."""
    async with services.db.write() as session:
        citizen = await citizens.by_telegram_id(session, telegram_user_id)
        if citizen is None:
            return False
        draft = await drafts.for_update(session, citizen.id)
        if draft is None or draft.step == Step.SENT:
            return False
        if version is not None and draft.version != version:
            raise StaleButton(_view(draft))
        await drafts.remove(session, citizen.id)
        return True


# --- the steps ----------------------------------------------------------------------------


async def choose_commitment(
    services: Services, user_id: int, version: int, commitment_id: int
) -> DraftView:
    async with services.db.read() as session:
        commitment = await commitment_queries.by_id(session, commitment_id)
    if commitment is None:
        raise UnknownCommitment()

    def apply(data: dict[str, Any], step: Step) -> Step:
        data["commitment_id"] = commitment_id
        data.pop("search", None)
        location = data.get("location")
        if data.get("editing") and location:
            # Another commitment for a report that has a location: far from the new one's
            # area, the location waits for the citizen's yes again.
            far = distance_if_far_from(commitment, location["lat"], location["lon"])
            if far is not None:
                del data["location"]
                data[UNCONFIRMED_LOCATION] = location | {"distance_m": far}
                return Step.LOCATION
        return next_step(data, Step.COMMITMENT)

    return await _mutate(services, user_id, apply, version=version, steps={Step.COMMITMENT})


async def set_search(services: Services, user_id: int, search: dict[str, Any]) -> DraftView:
    def apply(data: dict[str, Any], step: Step) -> Step:
        data["search"] = search
        return step

    return await _mutate(services, user_id, apply, steps={Step.COMMITMENT})


async def choose_kind(services: Services, user_id: int, version: int, kind: str) -> DraftView:
    kind = Kind(kind)  # ValueError for forged data; handlers treat it as a stale button

    def apply(data: dict[str, Any], step: Step) -> Step:
        data["kind"] = kind.value
        return next_step(data, Step.KIND)

    return await _mutate(services, user_id, apply, version=version, steps={Step.KIND})


def check_text(text: str) -> str:
    """A description as it is kept (stripped), or TextWithoutWords, TextTooShort, TextTooLong."""
    text = text.strip()
    if not has_words(text):
        raise TextWithoutWords()
    if len(text) < MIN_TEXT:
        raise TextTooShort()
    if len(text) > MAX_TEXT:
        raise TextTooLong(len(text))
    return text


async def describe_text(services: Services, user_id: int, text: str) -> DraftView:
    text = check_text(text)

    def apply(data: dict[str, Any], step: Step) -> Step:
        data["text"] = text
        data.pop("voice", None)
        return next_step(data, Step.DESCRIPTION)

    return await _mutate(services, user_id, apply, steps={Step.DESCRIPTION})


async def describe_voice(
    services: Services, user_id: int, file_id: str, file_unique_id: str, duration: int
) -> DraftView:
    def apply(data: dict[str, Any], step: Step) -> Step:
        data["voice"] = {"file_id": file_id, "unique_id": file_unique_id, "duration": duration}
        data.pop("text", None)
        return next_step(data, Step.DESCRIPTION)

    return await _mutate(services, user_id, apply, steps={Step.DESCRIPTION})


def check_location(services: Services, latitude: float, longitude: float) -> None:
    if not valid_coordinates(latitude, longitude):
        raise LocationImpossible()
    if not services.settings.region_bounds.contains(latitude, longitude):
        raise LocationOutsideRegion()


async def set_location(
    services: Services, user_id: int, latitude: float, longitude: float, accuracy_m: float | None
) -> DraftView:
    """Take the location, or, when it lies far outside the chosen commitment's area, keep it
    aside at the location step until the citizen confirms it (view.location_to_confirm)."""
    check_location(services, latitude, longitude)
    async with services.db.write() as session:
        citizen = await _consenting_citizen(session, user_id)
        draft = await _locked_draft(session, citizen, steps={Step.LOCATION})
        data = dict(draft.data)
        commitment = await commitment_queries.by_id(session, data.get("commitment_id") or 0)
        far = None if commitment is None else distance_if_far_from(commitment, latitude, longitude)
        location = {"lat": latitude, "lon": longitude, "accuracy": accuracy_m}
        if far is None:
            data.pop(UNCONFIRMED_LOCATION, None)
            data["location"] = location
            draft.step = next_step(data, Step.LOCATION)
            if draft.step == Step.SUMMARY:
                data.pop("editing", None)
        else:
            data[UNCONFIRMED_LOCATION] = location | {"distance_m": far}
        draft.data = data
        draft.version += 1
        return _view(draft)


async def confirm_location(services: Services, user_id: int, version: int) -> DraftView:
    """ "Yes, it is here": the far location is taken and the report goes on."""

    def apply(data: dict[str, Any], step: Step) -> Step:
        pending = data.pop(UNCONFIRMED_LOCATION, None)
        if pending is None:
            raise _NothingToConfirm()
        data["location"] = {k: pending[k] for k in ("lat", "lon", "accuracy")}
        return next_step(data, Step.LOCATION)

    return await _answer_location_question(services, user_id, version, apply)


async def reject_location(services: Services, user_id: int, version: int) -> DraftView:
    """ "No, send another location": the far one is dropped; the location is asked again."""

    def apply(data: dict[str, Any], step: Step) -> Step:
        if data.pop(UNCONFIRMED_LOCATION, None) is None:
            raise _NothingToConfirm()
        return step

    return await _answer_location_question(services, user_id, version, apply)


class _NothingToConfirm(Exception):
    """A "yes" or "no" on the current draft with no far location waiting: a forged press."""


async def _answer_location_question(
    services: Services, user_id: int, version: int, apply: Mutation
) -> DraftView:
    try:
        return await _mutate(services, user_id, apply, version=version, steps={Step.LOCATION})
    except _NothingToConfirm:
        view = await current(services, user_id)
        assert view is not None  # locked and found at the location step a moment ago
        raise StaleButton(view) from None


async def skip_location(services: Services, user_id: int) -> DraftView:
    def apply(data: dict[str, Any], step: Step) -> Step:
        data["location"] = None
        data.pop(UNCONFIRMED_LOCATION, None)
        return next_step(data, Step.LOCATION)

    return await _mutate(services, user_id, apply, steps={Step.LOCATION})


async def add_photo(
    services: Services, user_id: int, file_id: str, file_unique_id: str, image: CleanImage
) -> DraftView:
    """Store a cleaned photo and add it; the step stays at photos until the citizen is done."""
    async with services.db.write() as session:
        citizen = await _consenting_citizen(session, user_id)
        draft = await _locked_draft(session, citizen, steps={Step.PHOTOS})
        data = dict(draft.data)
        photos = list(data.get("photos", []))
        if any(p["unique_id"] == file_unique_id or p["sha256"] == image.sha256 for p in photos):
            raise DuplicatePhoto()
        if len(photos) >= MAX_PHOTOS:
            raise TooManyPhotos(_view(draft))
        await media.store(
            session,
            image.sha256,
            image.mime_type,
            image.width,
            image.height,
            image.content,
            services.clock(),
        )
        photos.append(
            {
                "file_id": file_id,
                "unique_id": file_unique_id,
                "size": len(image.content),
                "sha256": image.sha256,
            }
        )
        data["photos"] = photos
        draft.data = data
        draft.version += 1
        draft.updated_at = services.clock()
        return _view(draft)


async def photos_done(services: Services, user_id: int, version: int | None = None) -> DraftView:
    def apply(data: dict[str, Any], step: Step) -> Step:
        return Step.SUMMARY

    return await _mutate(services, user_id, apply, version=version, steps={Step.PHOTOS})


async def edit(services: Services, user_id: int, version: int, part: str) -> DraftView:
    target = Step(part)
    if target not in EDITABLE:
        raise ValueError(part)

    def apply(data: dict[str, Any], step: Step) -> Step:
        data["editing"] = True
        if target == Step.PHOTOS:
            data["photos"] = []  # editing photos means choosing them again
        return target

    return await _mutate(services, user_id, apply, version=version, steps={Step.SUMMARY})


async def confirm(services: Services, user_id: int, version: int, language: str) -> str:
    """Turn the draft into a report waiting for review; returns its reference."""
    async with services.write_then_deliver() as session:
        citizen = await _consenting_citizen(session, user_id)
        draft = await _locked_draft(session, citizen, version=version, steps={Step.SUMMARY})
        view = _view(draft)
        if not _complete(view.data):
            raise Incomplete(view)
        reached = await daily_limit.reached_in(session, services, citizen.id)
        if reached is not None:
            raise DailyLimitReached(reached)
        commitment = await commitment_queries.by_id(session, view.data["commitment_id"])
        if commitment is None:
            raise UnknownCommitment()
        location = view.location or {}
        report = await file_report(
            services,
            session,
            Filing(
                citizen_id=citizen.id,
                commitment_id=commitment.id,
                kind=view.data["kind"],
                language=language,
                text=view.text,
                voice=view.voice,
                latitude=location.get("lat"),
                longitude=location.get("lon"),
                accuracy_m=location.get("accuracy"),
                photos=view.photos,
            ),
        )
        reference, now = report.reference, report.created_at
        # Keep the finished draft as a marker, so its old buttons answer "already sent".
        draft.step = Step.SENT
        draft.data = {"reference": reference}
        draft.version += 1
        draft.updated_at = now
        return reference


async def possible_duplicates(
    services: Services, user_id: int, view: DraftView, limit: int = 3
) -> list[NearbyReport]:
    """Other citizens' open reports on the draft's commitment near its location: offered as
    "someone already reported this here". Never the citizen's own."""
    location = view.location
    if not location or not view.commitment_id:
        return []
    async with services.db.read() as session:
        citizen = await citizens.by_telegram_id(session, user_id)
    return await nearby_open_reports(
        services.db,
        view.commitment_id,
        location["lat"],
        location["lon"],
        radius_m=services.settings.duplicate_radius_m,
        limit=limit,
        exclude_citizen_id=citizen.id if citizen else None,
    )


async def support_existing(services: Services, user_id: int, version: int, report_id: int) -> str:
    """Instead of a new report, add the citizen's voice to the open one nearby; the draft
    ends here. Returns the supported report's reference. CannotSupport (the draft kept) when
    the voice cannot be recorded."""
    async with services.write_then_deliver() as session:
        citizen = await _consenting_citizen(session, user_id)
        draft = await _locked_draft(session, citizen, version=version, steps={Step.PHOTOS})
        report = await moderation_queries.report_for_update(session, report_id)
        refusal = await _support_refusal(session, report, citizen)
        if refusal is not None:
            raise CannotSupport(refusal, report.reference if report else None, _view(draft))
        reference = await moderation.support_in(services, session, report_id, citizen.id)
        draft.step = Step.SENT
        draft.data = {"reference": reference, "supported": True}
        draft.version += 1
        draft.updated_at = services.clock()
        return reference


# --- internals -----------------------------------------------------------------------------


async def _support_refusal(
    session: AsyncSession, report: Report | None, citizen: Citizen
) -> SupportRefusal | None:
    if report is None:
        return SupportRefusal.GONE
    if report.citizen_id == citizen.id:
        return SupportRefusal.OWN
    if await reports.is_supporter(session, report.id, citizen.id):
        return SupportRefusal.ALREADY
    if report.status not in moderation.SUPPORTABLE:
        return SupportRefusal.CLOSED
    return None


async def _consenting_citizen(session: AsyncSession, user_id: int) -> Citizen:
    citizen = await citizens.by_telegram_id(session, user_id)
    if citizen is None or citizen.consent_at is None:
        raise NoConsent()
    if citizen.blocked_at is not None:
        raise SenderBlocked()  # every change to a draft, so nothing new reaches moderators
    return citizen


async def _locked_draft(
    session: AsyncSession,
    citizen: Citizen,
    *,
    version: int | None = None,
    steps: Iterable[Step] = (),
) -> Draft:
    draft = await drafts.for_update(session, citizen.id)
    if draft is None:
        raise NoDraft()
    if draft.step == Step.SENT:
        raise AlreadySent(draft.data.get("reference"))
    if version is not None and draft.version != version:
        raise StaleButton(_view(draft))
    allowed = set(steps)
    if allowed and Step(draft.step) not in allowed:
        raise WrongStep(_view(draft))
    return draft


async def _mutate(
    services: Services,
    user_id: int,
    apply: Mutation,
    *,
    version: int | None = None,
    steps: Iterable[Step] = (),
) -> DraftView:
    async with services.db.write() as session:
        citizen = await _consenting_citizen(session, user_id)
        draft = await _locked_draft(session, citizen, version=version, steps=steps)
        data = dict(draft.data)
        new_step = apply(data, Step(draft.step))
        if new_step == Step.SUMMARY:
            data.pop("editing", None)
        draft.data = data
        draft.step = new_step
        draft.version += 1
        draft.updated_at = services.clock()
        return _view(draft)
