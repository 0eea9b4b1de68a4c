"""The webhook channel: a report's public fields POSTed as JSON to the agency's own system.

The report's fields are the public shape of bot/reports/public.py. The raw body is signed with
HMAC-SHA256 and the agency's secret (header X-CommitmentWatch-Signature-256: sha256=<hex>);
Idempotency-Key is the same on every attempt of one delivery, so a receiver that gets it twice can
tell. Only public fields leave the bot: never
who the citizen is, never a photo.

Answers: 2xx is delivered; 410 Gone is a permanent failure (the receiver says the endpoint is gone
for good); anything else (other 4xx such as a rotated secret or a 404 during a deploy, 5xx,
timeouts, refused connections) is retried on the agency schedule (bot/outbox/dispatcher.py), since an
admin can usually fix those before the schedule runs out. Redirects are not followed: a signed
report goes only where the admin pointed it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

import aiohttp

from bot.catalog.commitments import title_of
from bot.channels.agency_queue import webhook_key
from bot.core.http import HttpClient
from bot.core.services import Services
from bot.outbox.dispatcher import Outgoing, PermanentFailure, TemporaryFailure
from bot.reports import public
from storage.models import Report, ReportEvent
from storage.queries import agencies as agency_queries
from storage.queries import moderation as queries
from storage.queries import reports as report_queries

SIGNATURE_HEADER = "X-CommitmentWatch-Signature-256"
TIMEOUT = aiohttp.ClientTimeout(total=15)
USER_AGENT = "CommitmentWatch-Webhook/1"


def sign(secret: str, body: bytes) -> str:
    """The signature header's value for `body`."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signature_valid(secret: str, body: bytes, header: str | None) -> bool:
    """Constant-time check of a signature header against the raw body."""
    return header is not None and hmac.compare_digest(sign(secret, body), header.strip())


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def public_report(services: Services, report: Report, supporters: int) -> dict[str, Any]:
    """The report's public fields (bot/reports/public.py), for the agency: nothing about its
    author."""
    locale = services.settings.default_locale
    title = title_of(report.commitment, locale, locale)
    return public.agency_document(public.source_of(report), title, len(report.photos), supporters)


def webhook_body(
    services: Services,
    agency_code: str,
    report: Report,
    event: ReportEvent,
    supporters: int,
    sent_at: datetime,
) -> bytes:
    document = {
        "agency": agency_code,
        # What caused this delivery; by whom only as a kind (moderator, official, citizen).
        "event": {
            "id": event.id,
            "status": event.to_status,
            "previous_status": event.from_status,
            "at": _iso(event.created_at),
            "by": event.actor_kind,
        },
        "report": public_report(services, report, supporters),
        # Inside the signed body, so a receiver can refuse old replays.
        "sent_at": _iso(sent_at),
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


async def send_webhook(services: Services, message: Outgoing) -> None:
    payload = message.payload
    report_id, event_id = int(payload["report_id"]), int(payload["event_id"])
    async with services.db.read() as session:
        agency = await agency_queries.by_id(session, int(payload["agency_id"]))
        report = await queries.report_with_details(session, report_id)
        events = await report_queries.events(session, report_id) if report else []
        supporters = await queries.supporter_count(session, report_id) if report else 0
    event = next((e for e in events if e.id == event_id), None)
    if agency is None or report is None or event is None:
        raise PermanentFailure(f"agency, report {report_id} or event {event_id} is gone")
    if not (agency.webhook_url and agency.webhook_secret):
        raise PermanentFailure(f"agency {agency.code} no longer has a webhook")
    now = services.clock()
    body = webhook_body(services, agency.code, report, event, supporters, now)
    await post_signed(
        services.http,
        agency.webhook_url,
        agency.webhook_secret,
        body,
        webhook_key(event.id, agency.id),
        message,
        now,
    )


async def post_signed(
    http: HttpClient,
    url: str,
    secret: str,
    body: bytes,
    idempotency_key: str,
    message: Outgoing,
    now: datetime,
) -> None:
    """POST a signed JSON body through the application's one HTTP session; 2xx is delivered,
    410 fails for good, anything else is retried. Shared by report and digest webhooks."""
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: sign(secret, body),
        "Idempotency-Key": idempotency_key,
        "X-CommitmentWatch-Delivery": str(message.id),
        "X-CommitmentWatch-Attempt": str(message.attempts + 1),
        "X-CommitmentWatch-Timestamp": str(int(now.timestamp())),
    }
    try:
        async with http.session().post(
            url, data=body, headers=headers, allow_redirects=False, timeout=TIMEOUT
        ) as r:
            status, reason = r.status, r.reason or ""
            answer = (await r.text(errors="replace"))[:200]
    except (aiohttp.ClientError, TimeoutError) as error:
        # The URL is the admin's to see (`agencies list`); the error says only what went wrong.
        raise TemporaryFailure(f"webhook unreachable: {type(error).__name__}: {error}") from None
    if 200 <= status < 300:
        return
    summary = f"webhook answered HTTP {status} {reason}: {answer}".strip().rstrip(":")
    if status == 410:
        raise PermanentFailure(summary)
    raise TemporaryFailure(summary)
