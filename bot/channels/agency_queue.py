"""Queueing for the agency's own system (webhook) and its mailboxes (e-mail).

Both are queued in the transaction of the change that causes them, keyed by the event (and the
agency or address), so the same event never queues the same delivery twice. Which changes
reach which channel is decided in bot/reports/effects.py.

- Webhook: every report delivered to the agency (approved, rerouted to it, reopened) and every
  later public status change, except changes the agency's own system made through the status
  endpoint (it already has the answer to its request).
- E-mail: only the reports delivered to the agency, one message per address; status changes
  reach mailboxes through the digest (bot/digests/channels.py), not one e-mail each.
"""

from __future__ import annotations

import hashlib

from sqlalchemy.ext.asyncio import AsyncSession

from bot.outbox.queue import Kind, enqueue
from bot.reports.lifecycle import ActorKind
from storage.models import Agency, Report, ReportEvent

# Who made a change through the status endpoint (bot/channels/web.py), as recorded on the event.
AGENCY_ACTOR = ActorKind.AGENCY


def webhook_key(event_id: int, agency_id: int) -> str:
    """The outbox idempotency key of a webhook delivery (as enqueue stores it: kind, then our
    key); sent as its Idempotency-Key header, the same on every attempt."""
    return f"{Kind.AGENCY_WEBHOOK.value}:{event_id}:{agency_id}"


def address_tag(address: str) -> str:
    """A short stand-in for an address in idempotency keys, whatever the address's length."""
    return hashlib.sha256(address.lower().encode()).hexdigest()[:16]


def has_webhook(agency: Agency) -> bool:
    # Never unsigned: a URL without its secret is not a channel yet.
    return bool(agency.webhook_url and agency.webhook_secret)


async def queue_webhook_in(
    session: AsyncSession, report: Report, event: ReportEvent, agency: Agency
) -> bool:
    if not has_webhook(agency):
        return False
    payload = {"report_id": report.id, "event_id": event.id, "agency_id": agency.id}
    await enqueue(
        session, Kind.AGENCY_WEBHOOK, f"{event.id}:{agency.id}", payload, event.created_at
    )
    return True


async def queue_emails_in(
    session: AsyncSession, report: Report, event: ReportEvent, agency: Agency
) -> int:
    """One e-mail per address (no address sees the others); returns how many."""
    addresses = list(dict.fromkeys(agency.emails or []))
    for address in addresses:
        tag = address_tag(address)
        payload = {
            "report_id": report.id,
            "event_id": event.id,
            "agency_id": agency.id,
            "to": address,
        }
        await enqueue(session, Kind.AGENCY_EMAIL, f"{event.id}:{tag}", payload, event.created_at)
    return len(addresses)
