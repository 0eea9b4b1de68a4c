"""Queueing what the bot sends on its own, in the same transaction as the change that causes it.

Each message has an idempotency key made from its cause (report, event), so the same cause
never queues it twice; the dispatcher (bot/outbox/dispatcher.py) delivers it later, with retries.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.queries import outbox as queries

# In a payload: how many people the same cause fans out to (one notice per follower, one digest
# per official), for the choice of a paid broadcast at sending time.
FAN_OUT = "fan_out"


def is_paid_broadcast(payload: dict[str, Any], paid_from: int) -> bool:
    """Whether this message goes as a Telegram paid broadcast (TELEGRAM_PAID_BROADCAST_FROM):
    only a fan-out to at least `paid_from` people, since each paid message costs 0.1 Star."""
    return paid_from > 0 and int(payload.get(FAN_OUT, 1)) >= paid_from


class Kind(StrEnum):
    MODERATION_CARD = "moderation_card"  # a new report's card for the staff group
    CARD_REFRESH = "card_refresh"  # redraw a card after something changed
    STATUS_NOTICE = "status_notice"  # tell a citizen (or supporter) their report changed
    CITIZEN_QUESTION = "citizen_question"  # a moderator's question to the citizen
    AGENCY_TELEGRAM = "agency_telegram"  # an approved report for one official, in Telegram
    AGENCY_WEBHOOK = "agency_webhook"  # a report or its new status, POSTed to the agency's system
    AGENCY_EMAIL = "agency_email"  # an approved report for one of the agency's e-mail addresses
    FIX_CHECK = "fix_check"  # some days after "resolved": is it really fixed?
    AGENCY_DIGEST = "agency_digest"  # an agency's digest for one period, fanned out on sending
    DIGEST_TELEGRAM = "digest_telegram"  # one official's copy of a digest, in Telegram
    DIGEST_EMAIL = "digest_email"  # a digest for one of the agency's e-mail addresses
    DIGEST_WEBHOOK = "digest_webhook"  # a digest POSTed to the agency's system
    BLOCK_NOTICE = "block_notice"  # a citizen hears new reports are (again) accepted or not


async def enqueue(
    session: AsyncSession,
    kind: Kind,
    key: str,
    payload: dict[str, Any],
    now: datetime,
    *,
    chat_id: int | None = None,
) -> None:
    await queries.add(
        session,
        kind=kind.value,
        key=f"{kind.value}:{key}",
        payload=payload,
        chat_id=chat_id,
        not_before=now,
    )
