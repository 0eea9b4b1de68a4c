"""The outbox senders of the agency's own channels (webhook, e-mail), merged into
bot/channels/telegram.py's build_senders."""

from __future__ import annotations

import logging

from bot.channels.mail import send_email
from bot.channels.webhook import send_webhook
from bot.core.services import Services
from bot.outbox.dispatcher import Outgoing, Sender
from bot.outbox.queue import Kind
from storage.queries import agencies as agency_queries

log = logging.getLogger(__name__)


def build_agency_senders(services: Services) -> dict[str, Sender]:
    async def agency_webhook(message: Outgoing) -> None:
        await send_webhook(services, message)

    async def agency_email(message: Outgoing) -> None:
        await send_email(services, message)

    return {Kind.AGENCY_WEBHOOK: agency_webhook, Kind.AGENCY_EMAIL: agency_email}


async def warn_about_channels(services: Services) -> None:
    """At start: say which agencies will not get their e-mail, instead of failing quietly."""
    if services.settings.mail_enabled:
        return
    async with services.db.read() as session:
        codes = await agency_queries.codes_with_emails(session)
    if codes:
        log.warning(
            "SMTP_HOST is not set: agencies with e-mail addresses will not get mail (%s)",
            ", ".join(codes),
        )
