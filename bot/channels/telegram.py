"""Senders for the outbox: each renders its message in the reader's language and sends it.

Photos leave the bot only as the cleaned bytes stored at intake (no EXIF, no GPS), never as the
citizen's original Telegram file. A card goes out in parts (voice note, photos, text), each part
recorded as Telegram accepts it (see _send_card); a staff card for a report with one photo and
no voice note is that photo with the card as its caption, one message (see _send_caption_card).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from html import escape
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import (
    Bot,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    Message,
    ReplyParameters,
)
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot.catalog.commitments import title_of
from bot.channels.agency_senders import build_agency_senders
from bot.channels.buttons import fix_button
from bot.channels.cards import (
    Card,
    build_card,
    build_official_card,
    edit_card,
    fits_caption,
    lost_parts_note,
)
from bot.citizens import blocking
from bot.core.services import Services
from bot.digests.delivery import digest_senders
from bot.i18n.translate import _, choose_locale, use_locale
from bot.outbox.dispatcher import OnSent, Outgoing, Parts, PermanentFailure, Sender
from bot.outbox.queue import Kind, is_paid_broadcast
from bot.reports.lifecycle import Status, status_label
from bot.reports.moderation import REJECT_REASONS
from storage.models import Citizen, Commitment, Report
from storage.queries import media
from storage.queries import moderation as queries
from storage.queries.citizens import without_telegram

MAX_ALBUM = 10
# How long a one-message card waits for Telegram's answer (PTB's default is 5 s): a slow answer
# that comes late would otherwise be taken for a failure, and the retry would post a second card.
CAPTION_CARD_READ_TIMEOUT = 60.0


def citizen_locale(services: Services, citizen: Citizen) -> str:
    return choose_locale(
        citizen.language, citizen.telegram_language, services.settings.default_locale
    )


class TelegramSenders:
    """One sender per kind of message the bot sends on its own in Telegram; each renders the
    message in its reader's language when it is sent."""

    def __init__(self, services: Services, bot: Bot) -> None:
        self._services = services
        self._bot = bot

    async def moderation_card(self, message: Outgoing) -> OnSent | None:
        chat_id = self._services.settings.moderator_chat_id
        if chat_id is None:
            raise PermanentFailure("MODERATOR_CHAT_ID is not set")
        report_id = int(message.payload["report_id"])
        async with self._services.db.read() as session:
            existing = await queries.card_of(session, report_id)
        if existing is not None:  # sent before a crash: bring it up to date instead
            await self.card_refresh(message)
            return None
        card = await build_card(self._services, report_id)
        if card is None:
            raise PermanentFailure(f"report {report_id} is gone")
        with use_locale(self._services.settings.staff_locale):
            posted = await _send_card(
                self._bot, self._services, chat_id, card, message.parts, caption_ok=True
            )
        services = self._services

        async def record(session: AsyncSession) -> None:
            # In the transaction that marks the card sent: no moment when it is out but unknown.
            await queries.save_card(
                session,
                report_id,
                chat_id,
                posted.message_id,
                services.clock(),
                photos_lost=posted.photos_lost,
                voice_lost=posted.voice_lost,
                caption=posted.caption,
            )

        return record

    async def card_refresh(self, message: Outgoing) -> None:
        report_id = int(message.payload["report_id"])
        async with self._services.db.read() as session:
            where = await queries.card_of(session, report_id)
        if where is None:
            return  # no card was posted (no staff group then): nothing to redraw
        card = await build_card(self._services, report_id)
        if card is None:
            raise PermanentFailure(f"report {report_id} is gone")
        await edit_card(self._bot, where.chat_id, where.message_id, card)

    async def status_notice(self, message: Outgoing) -> None:
        payload = message.payload
        async with self._services.db.read() as session:
            citizen = await session.get(Citizen, int(payload["citizen_id"]))
            report = await session.get(Report, int(payload["report_id"]))
            commitment = await session.get(Commitment, report.commitment_id) if report else None
        if citizen is None or report is None or commitment is None:
            raise PermanentFailure("citizen or report is gone")
        if without_telegram(citizen.id):
            return  # a stand-in (bot/reports/notices.py queues nothing for one): nobody to tell
        locale = citizen_locale(self._services, citizen)
        with use_locale(locale):
            if payload.get("moved"):
                title = title_of(commitment, locale, self._services.settings.default_locale)
                text = moved_notice_text(report.reference, commitment.code, title)
            else:
                text = status_notice_text(report.reference, payload)
        paid = is_paid_broadcast(payload, self._services.settings.paid_broadcast_from)
        await self._bot.send_message(citizen.telegram_user_id, text, allow_paid_broadcast=paid)

    async def citizen_question(self, message: Outgoing) -> None:
        question_id = int(message.payload["question_id"])
        async with self._services.db.read() as session:
            question = await queries.question(session, question_id)
            if question is None:
                raise PermanentFailure(f"question {question_id} is gone")
            citizen = await session.get(Citizen, question.citizen_id)
            reference = await queries.reference_of(session, question.report_id)
        if citizen is None or reference is None:
            raise PermanentFailure("citizen or report is gone")
        if without_telegram(citizen.id):
            raise PermanentFailure("a stand-in has no Telegram chat to ask in")
        with use_locale(citizen_locale(self._services, citizen)):
            text = _(
                "❓ A moderator has a question about your report {reference}:\n\n"
                "<blockquote>{question}</blockquote>\n\n"
                "Please reply to this message with your answer."
            ).format(reference=reference, question=escape(question.question))
            placeholder = _("Your answer")
        sent = await self._bot.send_message(
            citizen.telegram_user_id,
            text,
            reply_markup=ForceReply(input_field_placeholder=placeholder),
        )
        async with self._services.db.write() as session:
            await queries.set_question_message(session, question_id, sent.message_id)

    async def agency_telegram(self, message: Outgoing) -> None:
        payload = message.payload
        chat_id = int(payload["telegram_user_id"])
        locale = choose_locale(
            payload.get("language"), None, self._services.settings.default_locale
        )
        card = await build_official_card(self._services, int(payload["report_id"]), locale)
        if card is None:
            raise PermanentFailure(f"report {payload['report_id']} is gone")
        with use_locale(locale):
            await _send_card(self._bot, self._services, chat_id, card, message.parts)

    async def fix_check(self, message: Outgoing) -> None:
        report_id = int(message.payload["report_id"])
        async with self._services.db.read() as session:
            report = await queries.report_with_details(session, report_id)
            citizen = await session.get(Citizen, report.citizen_id) if report else None
        if report is None or citizen is None:
            raise PermanentFailure(f"report {report_id} or its author is gone")
        if report.status != Status.RESOLVED or without_telegram(citizen.id):
            return  # reopened or moved on meanwhile, or a stand-in: nothing to ask
        with use_locale(citizen_locale(self._services, citizen)):
            text = _(
                "🔧 The agency said your report {reference} is resolved. Is it really fixed?"
            ).format(reference=report.reference)
            markup = InlineKeyboardMarkup(
                [
                    [
                        InlineKeyboardButton(
                            _("✅ Yes, it is fixed"),
                            callback_data=fix_button(report_id, fixed=True),
                        ),
                        InlineKeyboardButton(
                            _("❌ No, it is not fixed"),
                            callback_data=fix_button(report_id, fixed=False),
                        ),
                    ]
                ]
            )
        await self._bot.send_message(citizen.telegram_user_id, text, reply_markup=markup)

    async def block_notice(self, message: Outgoing) -> None:
        blocked = bool(message.payload["blocked"])
        async with self._services.db.read() as session:
            citizen = await session.get(Citizen, int(message.payload["citizen_id"]))
        if citizen is None:
            raise PermanentFailure("citizen is gone")
        if without_telegram(citizen.id):
            return  # a stand-in: nobody to tell
        if (citizen.blocked_at is not None) != blocked:
            return  # undone before it could be said: there is nothing to tell any more
        with use_locale(citizen_locale(self._services, citizen)):
            text = blocking.notice_text(blocked)
        await self._bot.send_message(citizen.telegram_user_id, text)


def build_senders(services: Services, bot: Bot) -> dict[str, Sender]:
    """Every outbox kind and its sender: Telegram's, the agencies' channels and the digests."""
    senders = TelegramSenders(services, bot)
    return {
        Kind.FIX_CHECK: senders.fix_check,
        Kind.AGENCY_TELEGRAM: senders.agency_telegram,
        Kind.MODERATION_CARD: senders.moderation_card,
        Kind.CARD_REFRESH: senders.card_refresh,
        Kind.STATUS_NOTICE: senders.status_notice,
        Kind.CITIZEN_QUESTION: senders.citizen_question,
        Kind.BLOCK_NOTICE: senders.block_notice,
        **build_agency_senders(services),
        **digest_senders(services, bot),
    }


def moved_notice_text(reference: str, code: str, title: str) -> str:
    """A moderator moved the report to the commitment it is really about."""
    return _(
        "Your report {reference} is about another commitment than the one it was sent "
        "under, so a moderator moved it to: {title} ({code}). Nothing else changes for you."
    ).format(reference=reference, title=escape(title), code=escape(code))


def status_notice_text(reference: str, payload: dict[str, Any]) -> str:
    """What a citizen is told when their report changes, in the current locale."""
    status = payload["status"]
    if status == Status.PUBLISHED:
        return _(
            "✅ Your report {reference} was approved and published. It is on its way to the "
            "agency responsible; I will tell you when they answer."
        ).format(reference=reference)
    if status == Status.REJECTED:
        reason = payload.get("reason") or ""
        return _(
            "Your report {reference} was not published. Reason: {reason}.\n"
            "If you think this is a mistake, you can send a new report with /report."
        ).format(reference=reference, reason=escape(_(REJECT_REASONS.get(reason, reason))))
    if status == Status.DUPLICATE:
        return _(
            "Your report {reference} describes the same thing as report {other}, so the two "
            "were merged. You now follow {other} and will hear about it."
        ).format(reference=reference, other=escape(payload.get("merged_into") or "?"))
    if payload.get("supporter"):
        return _("A report you support, {reference}, is now: {status}.").format(
            reference=reference, status=escape(status_label(status))
        )
    return _("Your report {reference} is now: {status}.").format(
        reference=reference, status=escape(status_label(status))
    )


@dataclass(frozen=True)
class PostedCard:
    message_id: int  # the card's text, which carries the buttons (or the photo it captions)
    photos_lost: int  # photos Telegram refused for good, or whose tries ran out
    voice_lost: bool
    caption: bool = False  # the card is the caption of its one photo


async def _send_card(
    bot: Bot,
    services: Services,
    chat_id: int,
    card: Card,
    parts: Parts,
    *,
    caption_ok: bool = False,
) -> PostedCard:
    """The voice note and the cleaned photos first, then the card answering them.

    Each part is recorded as soon as Telegram accepts it, and a retry starts after the last one
    recorded: nothing is posted twice. A part Telegram refuses for good (or that runs out of
    tries) is left out, and the card says so (in the current locale). With caption_ok, a card
    with one photo and no voice note that fits a caption is one message instead."""
    if caption_ok:
        posted = await _send_caption_card(bot, services, chat_id, card, parts)
        if posted is not None:
            return posted
    media: list[int] = []
    if card.voice_file_id:
        # Voice notes are forwarded as recorded: the reader listens to them here.
        voice = card.voice_file_id
        ids = await _part(parts, "voice", lambda: _ids(bot.send_voice(chat_id, voice)))
        media = ids or media
    photos_lost = 0
    if card.photo_hashes:
        photo_ids, photos_lost = await _send_photos(
            bot, services, chat_id, card.photo_hashes[:MAX_ALBUM], parts
        )
        media = photo_ids or media
    voice_lost = parts.lost("voice")
    text = card.text
    note = lost_parts_note(photos_lost, voice_lost)
    if note:
        text = f"{text}\n{note}"
    reply = ReplyParameters(media[0], allow_sending_without_reply=True) if media else None
    sent = await bot.send_message(chat_id, text, reply_markup=card.markup, reply_parameters=reply)
    return PostedCard(sent.message_id, photos_lost, voice_lost)


async def _send_caption_card(
    bot: Bot, services: Services, chat_id: int, card: Card, parts: Parts
) -> PostedCard | None:
    """The report's one photo with the card as its caption and the buttons on it: one message
    of the staff group's 20 a minute instead of two. None when the card is not of that shape
    (a voice note, several photos or none, a text too long for a caption), or when Telegram
    refuses the photo for good or its tries run out: the card then goes as text, as before.

    A single part: it is recorded (where, and that it is a caption) in the transaction that
    marks the card sent, so a retry after a crash finds it and redraws it instead."""
    hashes = list(dict.fromkeys(card.photo_hashes))
    if card.voice_file_id or len(hashes) != 1 or not fits_caption(card.text):
        return None
    name = f"photo:{hashes[0]}"
    if name in parts:
        return None  # an earlier try left it out: the text card, with its note
    files = await _photo_bytes(services, hashes)
    if not files:
        return None  # deleted since: the text card says a photo is missing
    try:
        sent = await bot.send_photo(
            chat_id,
            files[hashes[0]],
            caption=card.text,
            reply_markup=card.markup,
            read_timeout=CAPTION_CARD_READ_TIMEOUT,
        )
    except (RetryAfter, Forbidden):
        raise
    except BadRequest as error:
        if not any(word in error.message.lower() for word in ("caption", "entities")):
            # The photo will never be taken: the card goes as text, saying so.
            await parts.give_up(name, repr(error), refused=True)
        return None  # (or the caption would not be: the photo, then the card, as before)
    except (TelegramError, OSError) as error:
        if not parts.last_try:
            raise  # the whole card again, on the retry schedule
        await parts.give_up(name, repr(error))
        return None
    return PostedCard(sent.message_id, 0, False, caption=True)


async def _send_photos(
    bot: Bot, services: Services, chat_id: int, hashes: list[str], parts: Parts
) -> tuple[list[int], int]:
    """(the message ids of the photos posted, how many could not be): one album when there
    are several; an album Telegram refuses is tried photo by photo, to leave out only the
    photos it will not take."""
    unique = list(dict.fromkeys(hashes))
    files = await _photo_bytes(services, unique)
    lost = len(unique) - len(files)  # deleted since (a moderator hid it, or the schedule did)
    if not files:
        return [], lost
    if len(files) == 1:
        ((sha, data),) = files.items()
        ids = await _part(parts, f"photo:{sha}", partial(_send_photo, bot, chat_id, data))
        return ids or [], lost + (ids is None)
    album = [InputMediaPhoto(data) for data in files.values()]
    ids = await _part(parts, "album", lambda: _ids(bot.send_media_group(chat_id, album)))
    if ids is not None:
        return ids, lost
    if not parts.done["album"].get("refused"):
        return [], lost + len(files)  # its tries ran out: Telegram is not taking photos now
    posted: list[int] = []
    for sha, data in files.items():
        one = await _part(parts, f"photo:{sha}", partial(_send_photo, bot, chat_id, data))
        posted.extend(one or [])
        lost += one is None
    return posted, lost


async def _part(
    parts: Parts, name: str, send: Callable[[], Awaitable[list[int]]]
) -> list[int] | None:
    """Send one optional part once: its message ids, or None if it is left out."""
    if name in parts:
        return parts.ids(name)
    try:
        ids = await send()
    except (RetryAfter, Forbidden):
        raise  # wait as Telegram asks; a bot removed from the chat cannot post the card either
    except BadRequest as error:  # this part will never be taken (a photo's dimensions, ...)
        await parts.give_up(name, repr(error), refused=True)
        return None
    except (TelegramError, OSError) as error:
        if not parts.last_try:
            raise  # a 5xx or a dropped connection: this part again, on the retry schedule
        await parts.give_up(name, repr(error))
        return None
    await parts.accepted(name, ids)
    return ids


async def _send_photo(bot: Bot, chat_id: int, data: bytes) -> list[int]:
    return [(await bot.send_photo(chat_id, data)).message_id]


async def _ids(sending: Awaitable[Message | Sequence[Message]]) -> list[int]:
    sent = await sending
    return [m.message_id for m in sent] if isinstance(sent, Sequence) else [sent.message_id]


async def _photo_bytes(services: Services, hashes: list[str]) -> dict[str, bytes]:
    async with services.db.read() as session:
        files = {sha: await media.get(session, sha) for sha in hashes}
    return {sha: f.content for sha, f in files.items() if f is not None}
