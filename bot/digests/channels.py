"""Digests for the agency's mailboxes and its own system, in the deployment's DEFAULT_LOCALE.

- E-mail: one message per address and period, the Telegram digest's text as plain text with an
  HTML alternative, the chart (PNG) and the period's reports (CSV) attached. Sent and retried
  like report e-mails (bot/channels/mail.py).
- Webhook: a signed JSON POST (bot/channels/webhook.py's headers and answers) with "type":
  "digest", the period, the figures as numbers (durations in seconds and ISO 8601) and the CSV as
  a string; no chart.
"""

from __future__ import annotations

import html
import json
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.agency_queue import address_tag, has_webhook
from bot.channels.mail import mail, smtp_send
from bot.channels.webhook import post_signed
from bot.core.services import Services
from bot.digests.figures import Digest, ListedReport, UnknownAgency, build_digest
from bot.digests.text import csv_caption, render_digest
from bot.i18n.formatting import format_date
from bot.i18n.translate import _, use_locale
from bot.outbox.dispatcher import Outgoing, PermanentFailure, Sender
from bot.outbox.queue import Kind, enqueue
from storage.models import Agency
from storage.queries import agencies as agency_queries
from storage.queries import digests as queries


def iso_duration(seconds: float | None) -> str | None:
    """ISO 8601, e.g. 64 hours -> "P2DT16H"; whole seconds."""
    if seconds is None:
        return None
    days, rest = divmod(round(seconds), 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    date = f"{days}D" if days else ""
    time = "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (secs, "S")) if n)
    if not date and not time:
        return "PT0S"
    return f"P{date}" + (f"T{time}" if time else "")


def _median(median: queries.Median) -> dict[str, Any]:
    return {
        "seconds": median.seconds,
        "iso": iso_duration(median.seconds),
        "count": median.count,
    }


def _listed(report: ListedReport) -> dict[str, Any]:
    item: dict[str, Any] = {
        "reference": report.reference,
        "commitment": report.commitment_code,
        "text": report.text,
        "status": report.status,
    }
    if report.waiting is not None:
        seconds = report.waiting / timedelta(seconds=1)
        item |= {"waiting_seconds": seconds, "waiting": iso_duration(seconds)}
    else:
        item["supporters"] = report.supporters
    return item


def digest_document(digest: Digest, sent_at_iso: str) -> dict[str, Any]:
    """The webhook's JSON document (before signing)."""
    return {
        "type": "digest",
        "agency": digest.agency_code,
        "period": {
            "start": digest.start.isoformat(),
            "end": digest.end.isoformat(),
            "timezone": digest.timezone,
        },
        "commitments": [
            {
                "code": f.code,
                "title": f.title,
                "new": f.new,
                "open": f.open,
                "resolved": f.resolved,
                "reopened": f.reopened,
                "by_status": f.by_status,
            }
            for f in digest.commitments
        ],
        "median_acknowledge": _median(digest.median_acknowledge),
        "median_resolve": _median(digest.median_resolve),
        "oldest_unanswered": [_listed(r) for r in digest.oldest_unanswered],
        "most_supported": [_listed(r) for r in digest.most_supported],
        "csv_filename": digest.csv_filename,
        "csv_rows": digest.csv_rows,
        "csv": digest.csv.decode("utf-8"),
        "sent_at": sent_at_iso,
    }


def compose_digest_email(services: Services, digest: Digest, to: str) -> EmailMessage:
    """The digest e-mail for one address, in the digest's locale."""
    with use_locale(digest.locale):
        subject = _("Digest for {agency}, {start} to {end}").format(
            agency=digest.agency_name,
            start=format_date(digest.start, digest.timezone),
            end=format_date(digest.end, digest.timezone),
        )
        lines = [*render_digest(digest).split("\n"), "", csv_caption(digest)]
        footer = _("Sent automatically by Commitment Watch to {agency}.").format(
            agency=html.escape(digest.agency_name)
        )
    attachments = [
        (f"{digest.csv_filename.removesuffix('.csv')}.png", "image/png", digest.chart_png),
        (digest.csv_filename, "text/csv", digest.csv),
    ]
    return mail(services.settings, digest.locale, to, subject, lines, footer, attachments)


def _key(payload: dict[str, Any], channel: str) -> str:
    """Keyed "<agency id>:<period start>:<channel>", like bot/digests/delivery.py's keys."""
    return f"{payload['agency_id']}:{payload['start']}:{channel}"


async def queue_channel_copies_in(
    session: AsyncSession, agency: Agency, payload: dict[str, Any], now: datetime, *, email: bool
) -> int:
    """Queue the webhook copy and (with `email`) one copy per address; `payload` holds the
    agency id and the period. Returns how many."""
    queued = 0
    if has_webhook(agency):
        await enqueue(session, Kind.DIGEST_WEBHOOK, _key(payload, "webhook"), payload, now)
        queued += 1
    for address in dict.fromkeys(agency.emails or []) if email else []:
        key = _key(payload, f"email:{address_tag(address)}")
        await enqueue(session, Kind.DIGEST_EMAIL, key, payload | {"to": address}, now)
        queued += 1
    return queued


async def _digest_of(services: Services, payload: dict[str, Any]) -> Digest:
    start, end = (datetime.fromisoformat(payload[name]) for name in ("start", "end"))
    try:
        return await build_digest(
            services.db,
            int(payload["agency_id"]),
            start,
            end,
            services.settings.default_locale,
            grid_m=services.settings.public_location_grid_m,
            base_url=services.settings.public_base_url,
        )
    except UnknownAgency as error:
        raise PermanentFailure(f"agency {error} is gone") from None


def digest_channel_senders(services: Services) -> dict[str, Sender]:
    async def digest_email(message: Outgoing) -> None:
        if not services.settings.mail_enabled:
            raise PermanentFailure("SMTP_HOST is not set")
        digest = await _digest_of(services, message.payload)
        await smtp_send(
            services.settings, compose_digest_email(services, digest, message.payload["to"])
        )

    async def digest_webhook(message: Outgoing) -> None:
        async with services.db.read() as session:
            agency = await agency_queries.by_id(session, int(message.payload["agency_id"]))
        if agency is None:
            raise PermanentFailure(f"agency {message.payload['agency_id']} is gone")
        if not (has_webhook(agency) and agency.webhook_url and agency.webhook_secret):
            raise PermanentFailure(f"agency {agency.code} no longer has a webhook")
        digest = await _digest_of(services, message.payload)
        now = services.clock()
        document = digest_document(digest, now.isoformat())
        body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
        # As the outbox stores it: the same on every attempt.
        key = f"{Kind.DIGEST_WEBHOOK.value}:{_key(message.payload, 'webhook')}"
        await post_signed(
            services.http, agency.webhook_url, agency.webhook_secret, body, key, message, now
        )

    return {Kind.DIGEST_EMAIL: digest_email, Kind.DIGEST_WEBHOOK: digest_webhook}
