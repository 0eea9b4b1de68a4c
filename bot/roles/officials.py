"""Agency officials: invite links created by an admin, redeemed by the official in Telegram.

Only a hash of each token is stored, so a leaked database cannot be used to join an agency.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from storage.db import Database
from storage.models import Agency
from storage.queries import invites, officials

TOKEN_BYTES = 24  # 32 url-safe characters: "join_" + token fits Telegram's 64-character payload


class InviteStatus(StrEnum):
    JOINED = "joined"
    ALREADY_USED = "already_used"
    EXPIRED = "expired"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class InviteResult:
    status: InviteStatus
    agency_code: str | None = None
    agency_names: dict[str, str] | None = None


@dataclass(frozen=True)
class NewInvite:
    token: str
    expires_at: datetime


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_invite(
    db: Database, agency: Agency, now: datetime, valid_for: timedelta
) -> NewInvite:
    """A fresh single-use token for `agency`; the caller shows it once, we keep its hash."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    expires_at = now + valid_for
    async with db.write() as session:
        await invites.add(session, agency.id, hash_token(token), now, expires_at)
    return NewInvite(token, expires_at)


async def redeem_invite(
    db: Database,
    token: str,
    telegram_user_id: int,
    now: datetime,
    language: str | None = None,
) -> InviteResult:
    """Use the invite and record the official, in one transaction; of two people redeeming one
    token at the same moment, exactly one joins (the claim is a single conditional UPDATE)."""
    token_hash = hash_token(token.strip())
    async with db.write() as session:
        if await invites.claim(session, token_hash, telegram_user_id, now):
            agency = await invites.agency_of(session, token_hash)
            assert agency is not None  # the invite row references it with a foreign key
            await officials.add_if_absent(session, agency.id, telegram_user_id, language, now)
            return InviteResult(InviteStatus.JOINED, agency.code, dict(agency.names or {}))
        invite = await invites.by_hash(session, token_hash)
    if invite is None:
        return InviteResult(InviteStatus.UNKNOWN)
    if invite.used_at is not None:
        return InviteResult(InviteStatus.ALREADY_USED)
    return InviteResult(InviteStatus.EXPIRED)
