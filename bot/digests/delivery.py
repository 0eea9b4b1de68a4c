"""Getting digests to agencies: the schedule job, the outbox messages, and the Telegram copy.

Two steps through the outbox, so that several bot processes send each digest once:
1. Every minute the schedule job queues one AGENCY_DIGEST message per agency whose period has
   ended, keyed "<agency id>:<period start>": the outbox's unique key makes a second process's
   (or a second tick's) attempt a no-op.
2. Its sender fans the digest out to the agency's channels (officials in Telegram, the webhook,
   each e-mail address: bot/digests/channels.py), one message per reader, each with its own key,
   so a failing chat or mailbox is retried without repeating the others.
The figures are built when a copy is sent, in that reader's language.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Bot
from telegram.ext import Application

from bot.core.jobs import run_every
from bot.core.services import Services
from bot.digests.channels import digest_channel_senders, queue_channel_copies_in
from bot.digests.figures import Digest, UnknownAgency, build_digest
from bot.digests.schedule import Period, current_period, scheduled_period
from bot.digests.text import csv_caption, render_digest
from bot.i18n.translate import _, choose_locale, use_locale
from bot.outbox.dispatcher import Outgoing, PermanentFailure, Sender
from bot.outbox.queue import FAN_OUT, Kind, enqueue, is_paid_broadcast
from storage.queries import agencies as agency_queries
from storage.queries import digests as queries
from storage.queries import officials as official_queries

log = logging.getLogger(__name__)

JOB_NAME = "digests"
JOB_INTERVAL_SECONDS = 60


def _key(agency_id: int, period: Period) -> str:
    return f"{agency_id}:{period.start.isoformat()}"


def _period_of(payload: dict[str, Any]) -> Period:
    return Period(datetime.fromisoformat(payload["start"]), datetime.fromisoformat(payload["end"]))


async def queue_due_digests(services: Services) -> int:
    """Queue the digest of every agency whose period has ended and is not queued yet; returns
    how many this call queued. Safe to run in every process at once."""
    now = services.clock()
    due: dict[str, tuple[int, Period]] = {}
    async with services.db.read() as session:
        for agency in await queries.scheduled_agencies(session):
            period = scheduled_period(
                now,
                agency.digest_frequency,
                agency.digest_time,
                agency.digest_weekday,
                agency.timezone,
            )
            # An agency created after the period ended has nothing to report for it.
            if period is not None and period.end >= agency.created_at:
                due[f"{Kind.AGENCY_DIGEST.value}:{_key(agency.id, period)}"] = (agency.id, period)
        queued = await queries.existing_outbox_keys(session, list(due))
    missing = [value for key, value in due.items() if key not in queued]
    if not missing:
        return 0
    async with services.write_then_deliver() as session:
        for agency_id, period in missing:
            payload = {
                "agency_id": agency_id,
                "start": period.start.isoformat(),
                "end": period.end.isoformat(),
            }
            await enqueue(session, Kind.AGENCY_DIGEST, _key(agency_id, period), payload, now)
    log.info("queued %d digests", len(missing))
    return len(missing)


async def queue_digest_deliveries_in(
    session: AsyncSession, agency_id: int, period: Period, now: datetime, *, email: bool = False
) -> int:
    """Queue one copy of the agency's digest per reader; returns how many.

    Telegram: each official of the agency, in their language, keyed
    "<agency id>:<period start>:<chat id>". Webhook and (with `email`, i.e. SMTP configured)
    each e-mail address: bot/digests/channels.py, keyed "<agency id>:<period start>:<channel>".
    """
    copies = 0
    agency = await agency_queries.by_id(session, agency_id)
    if agency is not None:
        period_payload = {
            "agency_id": agency_id,
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
        }
        copies += await queue_channel_copies_in(session, agency, period_payload, now, email=email)
    officials = await official_queries.of_agency(session, agency_id)
    for official in officials:
        payload = {
            "agency_id": agency_id,
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
            "language": official.language,
            FAN_OUT: len(officials),
        }
        await enqueue(
            session,
            Kind.DIGEST_TELEGRAM,
            f"{_key(agency_id, period)}:{official.telegram_user_id}",
            payload,
            now,
            chat_id=official.telegram_user_id,
        )
    return copies + len(officials)


async def send_digest(bot: Bot, chat_id: int, digest: Digest, *, paid: bool = False) -> None:
    """The message, the chart as a photo and the CSV as a document, in the digest's locale;
    as paid broadcasts when `paid`."""
    with use_locale(digest.locale):
        text = render_digest(digest)
        chart_caption = _("Reports per commitment and status")
        caption = csv_caption(digest)
    await bot.send_message(chat_id, text, allow_paid_broadcast=paid)
    await bot.send_photo(
        chat_id, digest.chart_png, caption=chart_caption, allow_paid_broadcast=paid
    )
    await bot.send_document(
        chat_id,
        digest.csv,
        filename=digest.csv_filename,
        caption=caption,
        allow_paid_broadcast=paid,
    )


async def current_digests(services: Services, telegram_user_id: int, locale: str) -> list[Digest]:
    """/digest: the current digest of every agency this person is an official of (none if they
    are not one)."""
    now = services.clock()
    async with services.db.read() as session:
        agencies = await queries.agencies_of_official(session, telegram_user_id)
    digests = []
    for agency in agencies:
        period = current_period(
            now, agency.digest_frequency, agency.digest_time, agency.digest_weekday, agency.timezone
        )
        digests.append(
            await build_digest(
                services.db,
                agency.id,
                period.start,
                period.end,
                locale,
                grid_m=services.settings.public_location_grid_m,
                base_url=services.settings.public_base_url,
            )
        )
    return digests


def digest_senders(services: Services, bot: Bot) -> dict[str, Sender]:
    async def agency_digest(message: Outgoing) -> None:
        period = _period_of(message.payload)
        async with services.write_then_deliver() as session:
            await queue_digest_deliveries_in(
                session,
                int(message.payload["agency_id"]),
                period,
                services.clock(),
                email=services.settings.mail_enabled,
            )

    async def digest_telegram(message: Outgoing) -> None:
        if message.chat_id is None:
            raise PermanentFailure("a Telegram digest without a chat")
        payload = message.payload
        period = _period_of(payload)
        locale = choose_locale(payload.get("language"), None, services.settings.default_locale)
        try:
            digest = await build_digest(
                services.db,
                int(payload["agency_id"]),
                period.start,
                period.end,
                locale,
                grid_m=services.settings.public_location_grid_m,
                base_url=services.settings.public_base_url,
            )
        except UnknownAgency as error:
            raise PermanentFailure(f"agency {error} is gone") from None
        paid = is_paid_broadcast(payload, services.settings.paid_broadcast_from)
        await send_digest(bot, message.chat_id, digest, paid=paid)

    return {
        Kind.AGENCY_DIGEST: agency_digest,
        Kind.DIGEST_TELEGRAM: digest_telegram,
        **digest_channel_senders(services),
    }


def schedule_digests(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Check the schedules every minute, starting right away, so a restarted bot catches up
    with a period that ended while it was down."""
    run_every(application, JOB_NAME, queue_due_digests, interval=JOB_INTERVAL_SECONDS, first=1)
