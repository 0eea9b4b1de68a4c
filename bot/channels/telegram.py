"""Senders for the outbox: each renders its message in the reader's language and sends it.

Photos leave the bot only as the cleaned bytes stored at intake (no EXIF, no GPS), never as the
citizen's original Telegram file.
"""

from __future__ import annotations

from html import escape
from typing import Any

from telegram import (
    Bot,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    Message,
)

from bot.catalog.commitments import title_of
from bot.channels.agency_senders import build_agency_senders
from bot.channels.buttons import fix_button
from bot.channels.cards import Card, build_card, build_official_card
from bot.core.services import Services
from bot.digests.delivery import digest_senders
from bot.i18n.translate import _, choose_locale, use_locale
from bot.outbox.dispatcher import Outgoing, PermanentFailure, Sender
from bot.outbox.queue import Kind
from bot.reports.lifecycle import Status, status_label
from bot.reports.moderation import REJECT_REASONS
from storage.models import Citizen, Commitment, Report
from storage.queries import media
from storage.queries import moderation as queries

MAX_ALBUM = 10


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

    async def moderation_card(self, message: Outgoing) -> None:
        chat_id = self._services.settings.moderator_chat_id
        if chat_id is None:
            raise PermanentFailure("MODERATOR_CHAT_ID is not set")
        report_id = int(message.payload["report_id"])
        async with self._services.db.read() as session:
            existing = await queries.card_of(session, report_id)
        if existing is not None:  # sent before a crash: bring it up to date instead
            await self.card_refresh(message)
            return
        card = await build_card(self._services, report_id)
        if card is None:
            raise PermanentFailure(f"report {report_id} is gone")
        posted = await _send_card(self._bot, self._services, chat_id, card)
        async with self._services.db.write() as session:
            await queries.save_card(
                session, report_id, chat_id, posted.message_id, self._services.clock()
            )

    async def card_refresh(self, message: Outgoing) -> None:
        report_id = int(message.payload["report_id"])
        async with self._services.db.read() as session:
            where = await queries.card_of(session, report_id)
        if where is None:
            return  # no card was posted (no staff group then): nothing to redraw
        card = await build_card(self._services, report_id)
        if card is None:
            raise PermanentFailure(f"report {report_id} is gone")
        await self._bot.edit_message_text(
            card.text, chat_id=where.chat_id, message_id=where.message_id, reply_markup=card.markup
        )

    async def status_notice(self, message: Outgoing) -> None:
        payload = message.payload
        async with self._services.db.read() as session:
            citizen = await session.get(Citizen, int(payload["citizen_id"]))
            report = await session.get(Report, int(payload["report_id"]))
            commitment = await session.get(Commitment, report.commitment_id) if report else None
        if citizen is None or report is None or commitment is None:
            raise PermanentFailure("citizen or report is gone")
        locale = citizen_locale(self._services, citizen)
        with use_locale(locale):
            if payload.get("moved"):
                title = title_of(commitment, locale, self._services.settings.default_locale)
                text = moved_notice_text(report.reference, commitment.code, title)
            else:
                text = status_notice_text(report.reference, payload)
        await self._bot.send_message(citizen.telegram_user_id, text)

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
        await _send_card(self._bot, self._services, chat_id, card)

    async def fix_check(self, message: Outgoing) -> None:
        report_id = int(message.payload["report_id"])
        async with self._services.db.read() as session:
            report = await queries.report_with_details(session, report_id)
            citizen = await session.get(Citizen, report.citizen_id) if report else None
        if report is None or citizen is None:
            raise PermanentFailure(f"report {report_id} or its author is gone")
        if report.status != Status.RESOLVED:
            return  # reopened or moved on meanwhile: nothing to ask any more
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


async def _send_card(bot: Bot, services: Services, chat_id: int, card: Card) -> Message:
    """The voice note and the cleaned photos first, then the card answering them."""
    reply_to = None
    if card.voice_file_id:
        # Voice notes are forwarded as recorded: the reader listens to them here.
        voice = await bot.send_voice(chat_id, card.voice_file_id)
        reply_to = voice.message_id
    if card.photo_hashes:
        photos = await _photo_bytes(services, card.photo_hashes[:MAX_ALBUM])
        if len(photos) == 1:
            sent = [await bot.send_photo(chat_id, photos[0])]
        else:
            sent = list(await bot.send_media_group(chat_id, [InputMediaPhoto(p) for p in photos]))
        reply_to = sent[0].message_id
    return await bot.send_message(
        chat_id, card.text, reply_markup=card.markup, reply_to_message_id=reply_to
    )


async def _photo_bytes(services: Services, hashes: list[str]) -> list[bytes]:
    async with services.db.read() as session:
        files = [await media.get(session, sha) for sha in hashes]
    return [f.content for f in files if f is not None]
